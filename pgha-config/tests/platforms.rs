//! What each platform's first boot installs, opens and mounts: golden cloud-init documents of
//! Oracle Linux 8, Oracle Linux 9 and Debian 12 hosts (with block volumes), and the platform facts
//! those images need, asserted one by one (Oracle Linux cannot be booted here; Debian's document
//! is also booted for real by tests/firstboot/run.sh).

mod common;

use std::process::Command;

use common::seed;
use pgha_config::cloud_init;
use pgha_config::diagnostic::Diagnostic;
use pgha_config::host::{FileKind, HostPlan, HostRole};
use pgha_config::platform::{FirewallKind, PlatformPreset};
use pgha_config::volumes::{Volume, Volumes};
use pgha_config::{render_cluster, Cluster};
use serde_norway::Value;

fn volumes() -> Volumes {
    let v = |letter: char| Volume {
        device: format!("/dev/oracleoci/oraclevd{letter}"),
        mount_point: None,
        filesystem: None,
    };
    Volumes {
        data: Some(v('b')),
        wal: Some(v('c')),
        log: Some(v('d')),
        temp: Some(v('e')),
    }
}

/// The seed on `preset`, with four block volumes.
fn on(preset: PlatformPreset) -> Cluster {
    let mut c = seed();
    c.platform.preset = preset;
    c.platform.volumes = volumes();
    match preset {
        PlatformPreset::Debian => c.postgres_version = 15,
        PlatformPreset::Ubuntu2404 => c.postgres_version = 16,
        _ => {}
    }
    if preset.is_apt() {
        c.patroni.version = 3;
    }
    c
}

fn plans(c: &Cluster) -> Vec<HostPlan> {
    match render_cluster(c) {
        Ok((plans, _)) => plans,
        Err(e) => panic!("render refused: {e}: {:#?}", e.0),
    }
}

fn host(c: &Cluster, role: HostRole) -> HostPlan {
    plans(c)
        .into_iter()
        .find(|p| p.role == role)
        .expect("a host of the role")
}

fn doc(c: &Cluster, role: HostRole) -> (String, Value) {
    let text = cloud_init::render(&host(c, role));
    let v: Value = serde_norway::from_str(&text).expect("YAML");
    (text, v)
}

fn bootcmd(v: &Value) -> Vec<String> {
    v["bootcmd"]
        .as_sequence()
        .map(|s| {
            s.iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn packages(v: &Value) -> Vec<String> {
    v["packages"]
        .as_sequence()
        .map(|s| {
            s.iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

const PRESETS: [(&str, PlatformPreset); 4] = [
    ("ol8", PlatformPreset::OracleLinux8),
    ("ol9", PlatformPreset::OracleLinux9),
    ("debian", PlatformPreset::Debian),
    ("ubuntu2404", PlatformPreset::Ubuntu2404),
];

#[test]
fn cloud_init_documents_match_their_snapshots() {
    for (name, preset) in PRESETS {
        let c = on(preset);
        for (role, r) in [("etcd", HostRole::Etcd), ("db", HostRole::Database)] {
            let (text, _) = doc(&c, r);
            insta::assert_snapshot!(format!("{name}_{role}_cloud-config"), text);
        }
    }
}

#[test]
fn oracle_linux_sets_up_pgdg_and_epel_before_packages_and_disables_the_module_on_el8_only() {
    for (n, preset) in [
        (8, PlatformPreset::OracleLinux8),
        (9, PlatformPreset::OracleLinux9),
    ] {
        let c = on(preset);
        for role in [HostRole::Etcd, HostRole::Database] {
            let (_, v) = doc(&c, role);
            let cmds = bootcmd(&v);
            let joined = cmds.join("\n");
            assert!(
                joined.contains(&format!("dnf install -y https://download.postgresql.org/pub/repos/yum/reporpms/EL-{n}-$(uname -m)/pgdg-redhat-repo-latest.noarch.rpm")),
                "EL{n}: {joined}"
            );
            assert!(
                joined.contains(&format!("oracle-epel-release-el{n}")),
                "{joined}"
            );
            assert!(
                joined.contains(&format!("--set-enabled pgdg-rhel{n}-extras")),
                "{joined}"
            );
            let module = cmds
                .iter()
                .position(|c| c.ends_with("dnf -qy module disable postgresql"));
            if n == 8 {
                let repo = cmds
                    .iter()
                    .position(|c| c.contains("pgdg-redhat-repo"))
                    .unwrap();
                assert!(
                    module.is_some_and(|m| m > repo),
                    "EL8 disables the module: {joined}"
                );
            } else {
                assert!(
                    module.is_none(),
                    "EL9 has no postgresql module to disable: {joined}"
                );
            }
            // Every step runs once, not at every boot.
            assert!(
                cmds.iter().all(|c| c.starts_with("cloud-init-per once ")),
                "{joined}"
            );
        }
        let (_, db) = doc(&c, HostRole::Database);
        let pk = packages(&db);
        for p in [
            "postgresql17-server",
            "patroni",
            "patroni-etcd",
            "pgbackrest",
        ] {
            assert!(pk.contains(&p.to_string()), "EL{n} db: {pk:?}");
        }
        // The seed's passwords are Vault references: the OCI CLI from Oracle's developer repo.
        let cli = if n == 8 {
            "python36-oci-cli"
        } else {
            "python39-oci-cli"
        };
        assert!(pk.contains(&cli.to_string()), "{pk:?}");
        assert!(bootcmd(&db)
            .join("\n")
            .contains(&format!("oraclelinux-developer-release-el{n}")));
        let (_, etcd) = doc(&c, HostRole::Etcd);
        assert_eq!(packages(&etcd), ["etcd"]);
        let unit = host(&c, HostRole::Etcd);
        let unit = unit.file("/etc/systemd/system/etcd.service").unwrap();
        assert!(
            unit.content.contains("ExecStart=/usr/bin/etcd\n"),
            "{}",
            unit.content
        );
    }
    let (ol8, _) = doc(&on(PlatformPreset::OracleLinux8), HostRole::Database);
    let (ol9, _) = doc(&on(PlatformPreset::OracleLinux9), HostRole::Database);
    assert_ne!(ol8, ol9);
}

#[test]
fn debian_installs_debians_own_packages_and_keeps_postgresql_common_from_creating_a_cluster() {
    let c = on(PlatformPreset::Debian);
    let (_, db) = doc(&c, HostRole::Database);
    assert!(bootcmd(&db).is_empty(), "no repository to set up");
    let pk = packages(&db);
    for p in [
        "postgresql-15",
        "patroni",
        "python3-etcd",
        "pgbackrest",
        "python3-venv",
    ] {
        assert!(pk.contains(&p.to_string()), "{pk:?}");
    }
    let files = db["write_files"].as_sequence().unwrap();
    let early: Vec<&Value> = files
        .iter()
        .filter(|f| f["defer"].as_bool() == Some(false))
        .collect();
    assert_eq!(early.len(), 1);
    assert_eq!(
        early[0]["path"].as_str(),
        Some("/etc/postgresql-common/createcluster.conf")
    );
    assert!(early[0]["content"]
        .as_str()
        .unwrap()
        .contains("\ncreate_main_cluster = false\n"));
    // The OCI CLI (Vault references) into a venv, before the resolver runs.
    let runcmd = serde_norway::to_string(&db["runcmd"]).unwrap();
    assert!(runcmd.contains("/opt/pgha/oci-cli/bin/pip"), "{runcmd}");
    let plan = host(&c, HostRole::Database);
    let resolver = plan
        .file("/usr/local/libexec/pgha/pgha-resolve-secrets")
        .unwrap();
    assert!(resolver
        .content
        .contains("oci='/opt/pgha/oci-cli/bin/oci'\n"));
    let (_, etcd) = doc(&c, HostRole::Etcd);
    assert_eq!(packages(&etcd), ["etcd-server", "etcd-client"]);
}

#[test]
fn ubuntu_installs_ubuntus_packages_for_postgresql_16() {
    let c = on(PlatformPreset::Ubuntu2404);
    let (_, db) = doc(&c, HostRole::Database);
    let pk = packages(&db);
    for p in ["postgresql-16", "patroni", "python3-etcd", "pgbackrest"] {
        assert!(pk.contains(&p.to_string()), "{pk:?}");
    }
    assert!(bootcmd(&db).is_empty());
    let plan = host(&c, HostRole::Database);
    let yml = plan.file("/etc/patroni/patroni.yml").unwrap();
    assert!(
        yml.content
            .contains("bin_dir: /usr/lib/postgresql/16/bin\n"),
        "{}",
        yml.content
    );
    let mut c = c;
    c.postgres_version = 15;
    let diags = pgha_config::validate::validate(&c);
    assert!(
        diags
            .iter()
            .any(|d| d.code == "C019" && d.message.contains("Ubuntu 24.04")),
        "{diags:#?}"
    );
    let p: pgha_config::platform::Platform =
        serde_norway::from_str("preset: ubuntu-24.04\n").unwrap();
    assert_eq!(p.preset, PlatformPreset::Ubuntu2404);
}

#[test]
fn debian_refuses_a_postgresql_it_does_not_package_unless_the_user_brings_one() {
    let mut c = on(PlatformPreset::Debian);
    c.postgres_version = 17;
    let diags = pgha_config::validate::validate(&c);
    let d: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == "C019").collect();
    assert_eq!(d.len(), 1, "{diags:#?}");
    assert!(d[0].is_error());
    c.platform.paths.pg_bin_dir = Some("/usr/lib/postgresql/17/bin".to_string());
    let diags = pgha_config::validate::validate(&c);
    assert!(!diags.iter().any(|d| d.code == "C019"), "{diags:#?}");
    let (_, db) = doc(&c, HostRole::Database);
    assert!(
        !packages(&db).iter().any(|p| p.starts_with("postgresql-")),
        "the user's own PostgreSQL: {:?}",
        packages(&db)
    );
    // Patroni 4 on Debian 12 is only a warning (its package is 3.0.2).
    let mut c = on(PlatformPreset::Debian);
    c.patroni.version = 4;
    let diags = pgha_config::validate::validate(&c);
    let d: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == "C020").collect();
    assert_eq!(d.len(), 1, "{diags:#?}");
    assert!(!d[0].is_error());
}

/// The ports a host's firewall script opens, read from its `ports=(...)` line.
fn opened_ports(plan: &HostPlan) -> Option<(String, Vec<u16>)> {
    let f = plan.file("/usr/local/libexec/pgha/pgha-firewall")?;
    let line = f.content.lines().find(|l| l.starts_with("ports=("))?;
    let ports = line
        .trim_start_matches("ports=(")
        .trim_end_matches(')')
        .split_whitespace()
        .map(|p| p.parse().expect("port"))
        .collect();
    Some((f.content.clone(), ports))
}

#[test]
fn firewalls_open_exactly_the_ports_of_each_role() {
    for preset in [PlatformPreset::OracleLinux8, PlatformPreset::OracleLinux9] {
        let c = on(preset);
        for plan in plans(&c) {
            let (script, ports) = opened_ports(&plan).expect("a firewall script");
            let want: Vec<u16> = match plan.role {
                HostRole::Etcd => vec![2379, 2380],
                HostRole::Database => vec![5432, 8008],
            };
            assert_eq!(ports, want, "{}", plan.host);
            assert!(script.contains("firewall-cmd --permanent --add-port=\"$port/tcp\""));
            assert!(script.contains("firewall-cmd --reload"));
            // Run before any service starts.
            assert_eq!(
                plan.prepare_commands.first(),
                Some(&vec!["/usr/local/libexec/pgha/pgha-firewall".to_string()]),
                "{}",
                plan.host
            );
        }
    }
    // Debian images have no firewall by default; with OCI Ubuntu's iptables rules, ACCEPT rules
    // go before the REJECT and are saved.
    let mut c = on(PlatformPreset::Debian);
    assert!(plans(&c).iter().all(|p| opened_ports(p).is_none()));
    c.platform.firewall = Some(FirewallKind::Iptables);
    for plan in plans(&c) {
        let (script, ports) = opened_ports(&plan).expect("an iptables script");
        assert_eq!(ports.len(), 2, "{}", plan.host);
        assert!(script.contains("iptables -I \"${rule[@]}\""), "{script}");
        assert!(script.contains("netfilter-persistent save"), "{script}");
    }
    // OCI's Ubuntu images: iptables by default.
    let u = on(PlatformPreset::Ubuntu2404);
    for plan in plans(&u) {
        let (script, _) = opened_ports(&plan).expect("an iptables script on Ubuntu");
        assert!(script.contains("iptables -I \"${rule[@]}\""), "{script}");
    }
    // Hosts sharing a machine (a root) never touch its firewall.
    c.platform.root = Some("/tmp/hosts/x".to_string());
    assert!(plans(&c).iter().all(|p| opened_ports(p).is_none()));
}

#[test]
fn volumes_are_formatted_only_when_blank_mounted_nofail_and_required_by_patroni() {
    for (name, preset) in PRESETS {
        let c = on(preset);
        let (_, v) = doc(&c, HostRole::Database);
        let fs = v["fs_setup"].as_sequence().expect("fs_setup");
        assert_eq!(fs.len(), 4, "{name}");
        let want_fs = if preset.is_el() { "xfs" } else { "ext4" };
        for (f, letter) in fs.iter().zip(['b', 'c', 'd', 'e']) {
            assert_eq!(f["overwrite"].as_bool(), Some(false), "{name}");
            // `none` would skip cloud-init's existing-file-system check; the command probes the
            // device itself and formats only when blkid finds nothing (exit status 2).
            assert_eq!(f["partition"].as_str(), Some("any"));
            let cmd = f["cmd"].as_str().unwrap();
            assert!(
                cmd.starts_with("blkid -p %(device)s ") && cmd.contains("[ $? -ne 2 ] || mkfs."),
                "{cmd}"
            );
            assert_eq!(f["filesystem"].as_str(), Some(want_fs), "{name}");
            assert_eq!(
                f["device"].as_str(),
                Some(format!("/dev/oracleoci/oraclevd{letter}").as_str())
            );
        }
        let mounts = v["mounts"].as_sequence().expect("mounts");
        let points: Vec<&str> = mounts.iter().map(|m| m[1].as_str().unwrap()).collect();
        assert_eq!(points, ["/pgdata", "/pgwal", "/pglog", "/pgtemp"]);
        for m in mounts {
            assert!(m[3].as_str().unwrap().split(',').any(|o| o == "nofail"));
        }
        let plan = host(&c, HostRole::Database);
        let unit = plan.file("/etc/systemd/system/patroni.service").unwrap();
        assert!(
            unit.content
                .contains("RequiresMountsFor=/pgdata /pgwal /pglog /pgtemp\n"),
            "{}",
            unit.content
        );
        let yml = plan.file("/etc/patroni/patroni.yml").unwrap();
        let y: Value = serde_norway::from_str(&yml.content).unwrap();
        assert_eq!(y["postgresql"]["data_dir"].as_str(), Some("/pgdata/data"));
        assert_eq!(
            y["postgresql"]["parameters"]["log_directory"].as_str(),
            Some("/pglog/log")
        );
        assert_eq!(
            y["postgresql"]["parameters"]["temp_tablespaces"].as_str(),
            Some("pgha_temp")
        );
        let boot = plan.file("/etc/patroni/pgbackrest-bootstrap.sh").unwrap();
        assert!(boot.content.contains("--waldir=/pgwal/pg_wal"), "{name}");
        let post = plan.file("/etc/patroni/post-bootstrap.sh").unwrap();
        assert!(
            post.content.contains("temp_dir='/pgtemp/tablespace'\n"),
            "{}",
            post.content
        );
        assert!(post.content.contains("CREATE TABLESPACE %I LOCATION %L"));
        // The directories below the mount points get their owner after mounting (runcmd).
        for d in [
            "/pgdata/data",
            "/pgwal/pg_wal",
            "/pglog/log",
            "/pgtemp/tablespace",
        ] {
            let dir = plan.directories.iter().find(|x| x.path == d).expect(d);
            assert_eq!(dir.owner, "postgres");
        }
        // etcd hosts have no volumes.
        let (_, etcd) = doc(&c, HostRole::Etcd);
        assert!(etcd.get("fs_setup").is_none() && etcd.get("mounts").is_none());
    }
}

/// The `fs_setup` command, run the way cloud-init runs it (its `%` substitution, then `sh -c`), on
/// a blank image file and on one that has a file system: only the blank one is formatted.
#[test]
fn the_format_command_formats_only_a_blank_device() {
    let Ok(mkfs) = which("mkfs.ext4") else {
        panic!("mkfs.ext4 is needed (e2fsprogs)");
    };
    let tmp = tempfile::tempdir().unwrap();
    let run = |device: &std::path::Path, label: &str| {
        let cmd = cloud_init::FORMAT_IF_BLANK
            .replace("%(device)s", &device.to_string_lossy())
            .replace("%(label)s", label)
            .replace("%(filesystem)s", "ext4");
        // mkfs.ext4 asks before formatting a regular file; cloud-init hands it a block device.
        let cmd = cmd.replace(
            &format!("mkfs.ext4 -L {label}"),
            &format!("{mkfs} -q -F -L {label}"),
        );
        let o = Command::new("sh").arg("-c").arg(&cmd).output().unwrap();
        assert!(o.status.success(), "{cmd}: {o:?}");
    };
    let label_of = |device: &std::path::Path| {
        let o = Command::new("blkid")
            .args(["-p", "-s", "LABEL", "-o", "value"])
            .arg(device)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let blank = tmp.path().join("blank.img");
    let used = tmp.path().join("used.img");
    for f in [&blank, &used] {
        std::fs::File::create(f).unwrap().set_len(16 << 20).unwrap();
    }
    let o = Command::new(&mkfs)
        .args(["-q", "-F", "-L", "theirs"])
        .arg(&used)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    run(&blank, "pgha-data");
    run(&used, "pgha-wal");
    assert_eq!(
        label_of(&blank),
        "pgha-data",
        "the blank device is formatted"
    );
    assert_eq!(
        label_of(&used),
        "theirs",
        "the device with a file system is left alone"
    );
}

fn which(tool: &str) -> Result<String, ()> {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let p = format!("{dir}/{tool}");
        if std::path::Path::new(&p).exists() {
            return Ok(p);
        }
    }
    Err(())
}

#[test]
fn volume_mistakes_are_reported() {
    let mut c = on(PlatformPreset::OracleLinux9);
    if let Some(wal) = c.platform.volumes.wal.as_mut() {
        wal.device = "/dev/oracleoci/oraclevdb".to_string();
        wal.mount_point = Some("/pgdata/wal".to_string());
    }
    c.platform.paths.pg_log_dir = Some("/var/log/postgresql".to_string());
    let diags = pgha_config::validate::validate(&c);
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "C021").count(),
        2,
        "{diags:#?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == "C022").count(),
        1,
        "{diags:#?}"
    );
}

#[test]
fn documents_pass_cloud_init_schema_and_their_scripts_pass_shellcheck() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (name, preset) in PRESETS {
        for firewall in [None, Some(FirewallKind::Iptables)] {
            let mut c = on(preset);
            c.platform.firewall = firewall;
            for plan in plans(&c) {
                let text = cloud_init::render(&plan);
                let file = tmp.path().join(format!("{name}-{}.yaml", plan.host));
                std::fs::write(&file, &text).unwrap();
                let o = Command::new("cloud-init")
                    .args(["schema", "--config-file"])
                    .arg(&file)
                    .output()
                    .expect("cloud-init is installed (scripts/setup.sh)");
                let out = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                if !o.status.success() || out.to_lowercase().contains("deprecat") {
                    failures.push(format!("{name}/{}: {out}", plan.host));
                }
                for f in plan.files.iter().filter(|f| f.kind == FileKind::Python) {
                    let py = tmp.path().join("script.py");
                    std::fs::write(&py, &f.content).unwrap();
                    let o = Command::new("python3")
                        .args(["-m", "py_compile"])
                        .arg(&py)
                        .output()
                        .expect("python3 is installed");
                    if !o.status.success() || !f.content.starts_with("#!/") {
                        failures.push(format!(
                            "{name}/{}: python {}:\n{}",
                            plan.host,
                            f.path,
                            String::from_utf8_lossy(&o.stderr)
                        ));
                    }
                }
                for f in plan.files.iter().filter(|f| f.kind == FileKind::Shell) {
                    assert!(f.content.starts_with("#!"), "{}", f.path);
                    let sh = tmp.path().join("script.sh");
                    std::fs::write(&sh, &f.content).unwrap();
                    let o = Command::new("shellcheck")
                        .arg(&sh)
                        .output()
                        .expect("shellcheck is installed");
                    if !o.status.success() {
                        failures.push(format!(
                            "{name}/{}: shellcheck {}:\n{}",
                            plan.host,
                            f.path,
                            String::from_utf8_lossy(&o.stdout)
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn extensions_are_installed_preloaded_created_and_their_needs_checked() {
    use pgha_config::extensions::Extension;
    let mut c = on(PlatformPreset::OracleLinux9);
    c.platform.extensions = vec![Extension::Pgaudit, Extension::PgSqueeze];
    // pg_squeeze without logical decoding is refused.
    let diags = pgha_config::validate::validate(&c);
    assert!(
        diags.iter().any(|d| d.code == "C024" && d.is_error()),
        "{diags:#?}"
    );
    c.patroni.parameters.insert(
        "wal_level".to_string(),
        serde_norway::from_str("logical").unwrap(),
    );
    c.patroni.parameters.insert(
        "shared_preload_libraries".to_string(),
        serde_norway::from_str("pg_stat_statements").unwrap(),
    );
    let diags = pgha_config::validate::validate(&c);
    assert!(
        !diags
            .iter()
            .any(|d| d.code.starts_with("C02") && d.is_error()),
        "{diags:#?}"
    );
    let plan = host(&c, HostRole::Database);
    for p in ["pgaudit_17", "pg_squeeze_17"] {
        assert!(
            plan.packages.contains(&p.to_string()),
            "{:?}",
            plan.packages
        );
    }
    let yml = plan.file("/etc/patroni/patroni.yml").unwrap();
    let y: Value = serde_norway::from_str(&yml.content).unwrap();
    assert_eq!(
        y["postgresql"]["parameters"]["shared_preload_libraries"].as_str(),
        Some("pg_stat_statements,pgaudit,pg_squeeze")
    );
    let post = plan.file("/etc/patroni/post-bootstrap.sh").unwrap();
    assert!(
        post.content.contains("extensions=(pgaudit pg_squeeze)\n"),
        "{}",
        post.content
    );
    assert!(post.content.contains("CREATE EXTENSION IF NOT EXISTS %I"));
    // Debian 12 has pgaudit but no pg_squeeze.
    let mut d = on(PlatformPreset::Debian);
    d.platform.extensions = vec![Extension::Pgaudit, Extension::PgSqueeze];
    d.patroni.parameters.insert(
        "wal_level".to_string(),
        serde_norway::from_str("logical").unwrap(),
    );
    let diags = pgha_config::validate::validate(&d);
    let c025: Vec<&Diagnostic> = diags.iter().filter(|x| x.code == "C025").collect();
    assert_eq!(c025.len(), 1, "{diags:#?}");
    assert!(c025[0].is_error() && c025[0].message.contains("pg_squeeze"));
    d.platform.extensions = vec![Extension::Pgaudit];
    let plan = host(&d, HostRole::Database);
    assert!(plan.packages.contains(&"postgresql-15-pgaudit".to_string()));
    // The spelling in a specification.
    let p: pgha_config::platform::Platform =
        serde_norway::from_str("preset: debian\nextensions: [pgaudit, pg_squeeze]\n").unwrap();
    assert_eq!(p.extensions, [Extension::Pgaudit, Extension::PgSqueeze]);
}
