//! systemd units, rendered from a [`crate::host::Service`].
