//! Host firewalls: open exactly the ports a host's role serves, in the firewall its image runs.
//!
//! - **firewalld** (OCI's Oracle Linux images, only `ssh` open): each port added to the
//!   permanent configuration, then `--reload` so it is in effect now and after a reboot.
//! - **iptables** (OCI's Ubuntu images: `/etc/iptables/rules.v4` ends `INPUT` with a REJECT
//!   after the SSH rule): an ACCEPT rule per port inserted at the top of `INPUT`, so before the
//!   REJECT, each only if it is not there yet; then the rules are saved where
//!   `netfilter-persistent` loads them at boot.
//!
//! The rules live in a rendered script (`pgha-firewall`), run by cloud-init before the services
//! start; running it again changes nothing.

use crate::cluster::Cluster;
use crate::host::{FileKind, RenderedFile};
use crate::platform::FirewallKind;

/// A TCP port a host serves, with what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Port number.
    pub port: u16,
    /// What listens on it (a comment in the script).
    pub service: &'static str,
}

/// Path of the firewall script.
pub fn script_path(cluster: &Cluster) -> String {
    format!("{}/pgha-firewall", cluster.layout().script_dir)
}

/// The firewall script opening `ports` (TCP) in the platform's firewall; `None` when the
/// platform has no firewall or the host is not provisioned (a test host with a `root`).
pub fn script(cluster: &Cluster, ports: &[Port]) -> Option<RenderedFile> {
    let kind = cluster.platform.firewall_kind();
    if !cluster.platform.provisions() || kind == FirewallKind::None || ports.is_empty() {
        return None;
    }
    let mut s = String::new();
    s.push_str("#!/usr/bin/env bash\n");
    s.push_str(&format!(
        "# Opens the ports of this host of cluster {} and nothing else; rendered by pgha.\n",
        cluster.name
    ));
    for p in ports {
        s.push_str(&format!("#   {}/tcp  {}\n", p.port, p.service));
    }
    s.push_str("set -euo pipefail\n\n");
    let list: Vec<String> = ports.iter().map(|p| p.port.to_string()).collect();
    s.push_str(&format!("ports=({})\n\n", list.join(" ")));
    s.push_str("log() { printf 'pgha-firewall: %s\\n' \"$*\" >&2; }\n\n");
    match kind {
        FirewallKind::Firewalld => s.push_str(
            r#"if ! command -v firewall-cmd >/dev/null; then
    log "firewall-cmd is not installed: no firewalld to open ports in"
    exit 0
fi
if [[ "$(firewall-cmd --state 2>/dev/null || true)" != running ]]; then
    # Not running now: write the permanent configuration it loads when it starts.
    for port in "${ports[@]}"; do
        firewall-offline-cmd --add-port="$port/tcp"
    done
    log "firewalld is not running; opened ${ports[*]} in its permanent configuration"
    exit 0
fi
for port in "${ports[@]}"; do
    firewall-cmd --permanent --add-port="$port/tcp" >/dev/null
done
firewall-cmd --reload >/dev/null
log "opened ${ports[*]} (tcp) in firewalld"
"#,
        ),
        FirewallKind::Iptables => s.push_str(
            r#"for port in "${ports[@]}"; do
    rule=(INPUT -p tcp -m state --state NEW -m tcp --dport "$port" -j ACCEPT)
    # Inserted at the top of INPUT: before the image's REJECT rule.
    if ! iptables -C "${rule[@]}" 2>/dev/null; then
        iptables -I "${rule[@]}"
    fi
done
# Saved where the image loads its rules at boot.
if command -v netfilter-persistent >/dev/null; then
    netfilter-persistent save >/dev/null 2>&1
else
    mkdir -p /etc/iptables
    iptables-save >/etc/iptables/rules.v4
fi
log "opened ${ports[*]} (tcp) in iptables and saved the rules"
"#,
        ),
        FirewallKind::None => {}
    }
    Some(RenderedFile {
        path: script_path(cluster),
        content: s,
        mode: 0o700,
        owner: "root".to_string(),
        group: "root".to_string(),
        sensitive: false,
        kind: FileKind::Shell,
    })
}
