//! Serving a [`Provider`] to Terraform.

use crate::resource::Provider;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Placeholder until the transport lands.
    #[error("the plugin server is not implemented yet")]
    NotImplemented,
}

/// Serve `provider` to the Terraform process that started this one, until Terraform shuts
/// the plugin down.
pub async fn serve<P: Provider + 'static>(provider: P) -> Result<(), ServeError> {
    let _ = provider;
    Err(ServeError::NotImplemented)
}
