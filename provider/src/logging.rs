//! Logging to Terraform's log: `tracing` events of this crate and of `tfplugin` go to stderr
//! as hclog JSON lines, which Terraform shows under `TF_LOG` (see [`tfplugin::logging`]).

/// Install the logger (once; later calls do nothing).
pub fn init() {
    tfplugin::logging::init(crate::PROVIDER_NAME, &[env!("CARGO_CRATE_NAME")]);
}
