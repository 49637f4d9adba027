//! cloud-init: one `#cloud-config` per host that writes its files, creates its accounts and
//! directories and starts its services in order.
