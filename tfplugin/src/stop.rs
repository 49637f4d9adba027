//! Terraform's `StopProvider`: a request (on Ctrl-C) to end long-running operations early.
//! The server keeps serving; operations that wait or retry should watch [`stopped`] or
//! check [`stop_requested`] and return an error diagnostic when it fires.

use std::sync::OnceLock;

use tokio_util::sync::CancellationToken;

fn token() -> &'static CancellationToken {
    static TOKEN: OnceLock<CancellationToken> = OnceLock::new();
    TOKEN.get_or_init(CancellationToken::new)
}

/// Whether Terraform has asked the provider to stop.
pub fn stop_requested() -> bool {
    token().is_cancelled()
}

/// Completes when Terraform asks the provider to stop (at once if it already has); use it in
/// `tokio::select!` next to a long wait.
pub async fn stopped() {
    token().cancelled().await;
}

/// Record Terraform's stop request.
pub(crate) fn request_stop() {
    token().cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_request_wakes_waiters_and_stays_set() {
        let waiter = tokio::spawn(stopped());
        request_stop();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("no panic");
        assert!(stop_requested());
        stopped().await;
    }
}
