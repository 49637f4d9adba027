//! cloud-init: one `#cloud-config` per host that writes its files, creates its accounts and
//! directories and starts its services in order.
//!
//! What happens on first boot, in cloud-init's module order:
//!
//! 0. Init stage, before anything else: `bootcmd` sets up the package repositories (each step
//!    through `cloud-init-per once`, so a reboot does not repeat it; a failed step is retried at
//!    the next boot); `write_files` without `defer` writes the few root-owned files a package's
//!    installation scripts read (Debian's `createcluster.conf`); `fs_setup` formats each block
//!    volume that has no file system yet (`overwrite: false`, and a `blkid -p` guard: one that has
//!    a file system is left alone) and `mounts` adds it to fstab with `nofail` and mounts it.
//! 1. `users` (init stage): the plan's service accounts, as system accounts, next to the image's
//!    `default` user (kept, so the operator can still log in).
//! 2. `packages` (final stage), with `package_update: true` so the package indexes are current.
//! 3. `write_files` with `defer: true` (final stage, after packages): every file is written after
//!    the packages are installed and the accounts exist. Non-deferred files would be written
//!    *before* `users` runs, so a file owned by `etcd` or `postgres` could not get its owner; and
//!    a package that starts its service on installation (Debian's `etcd-server`) must not find a
//!    half-written configuration of ours (our unit without its environment file yet).
//! 4. `runcmd` (run at the end of the final stage): directories with owner and mode
//!    (`install -d`, which also fixes directories a package or `write_files` already created),
//!    the plan's prepare commands, `systemctl daemon-reload`, then for each service in order
//!    `systemctl enable` and `systemctl restart`. `restart` rather than `enable --now`: a package
//!    may already have started the service with its own default configuration, and `--now` would
//!    leave that instance running. A `Type=notify` service (etcd) is restarted with `--no-block`:
//!    a new etcd member reports ready only once a quorum of members is up, and the other hosts
//!    may still be booting.
//!
//! File contents are written as plain YAML strings, not base64: the serializer quotes or
//! block-formats each string so it reads back byte for byte (the tests parse the document back
//! with serde_norway and with PyYAML, which cloud-init uses), and the plan output stays readable.
//! The seed's documents stay far below OCI's 32,000-byte `user_data` limit after base64 (the
//! test suite measures them), so no gzip is needed.

use serde::Serialize;

use crate::host::HostPlan;

/// The first line every cloud-config document must start with.
pub const HEADER: &str = "#cloud-config\n";

/// OCI's limit on `metadata.user_data`, in bytes, after base64 encoding.
pub const OCI_USER_DATA_LIMIT: usize = 32_000;

#[derive(Serialize)]
struct CloudConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bootcmd: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fs_setup: Vec<FsSetup>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mounts: Vec<Vec<String>>,
    users: Vec<UserEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_update: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    packages: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    write_files: Vec<WriteFile>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    runcmd: Vec<Vec<String>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum UserEntry {
    /// The literal `default`: the image's default user.
    Default(&'static str),
    Account(Account),
}

#[derive(Serialize)]
struct Account {
    name: String,
    system: bool,
    homedir: String,
    /// True when the plan lists the home among its directories: `runcmd` then creates it with
    /// the owner and mode the plan wants (etcd's data directory must be 0700) instead of
    /// `useradd -m` copying /etc/skel into it. Otherwise useradd creates the home.
    no_create_home: bool,
    shell: String,
    lock_passwd: bool,
}

/// One `fs_setup` entry: a whole-device file system, created only when the device has none.
///
/// cloud-init's own check is not enough on its own (cloud-init 22.4's `cc_disk_setup.mkfs`,
/// the version tested here): with `partition: none` it runs mkfs on the raw device without
/// looking, whatever `overwrite` says (mkfs.ext4 then destroys a volume's data; only mkfs.xfs
/// refuses without `-f`); with `partition: any` it asks lsblk, whose FSTYPE comes from the udev
/// database, so where udev has not probed the device (a container, an early boot) a file system
/// goes unseen. So the entry keeps `partition: any` (cloud-init skips a device where lsblk does
/// see one) and its `cmd` formats only when `blkid -p` (a direct probe of the device) finds
/// nothing at all (exit status 2): no file system, no partition table, no RAID or LVM signature.
#[derive(Serialize)]
struct FsSetup {
    label: String,
    filesystem: String,
    device: String,
    partition: String,
    overwrite: bool,
    cmd: String,
}

/// The `fs_setup` command: cloud-init fills in `%(device)s` (the resolved device),
/// `%(label)s` and `%(filesystem)s` and runs it with a shell.
pub const FORMAT_IF_BLANK: &str = "blkid -p %(device)s >/dev/null 2>&1; \
     [ $? -ne 2 ] || mkfs.%(filesystem)s -L %(label)s %(device)s";

#[derive(Serialize)]
struct WriteFile {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
    content: String,
    owner: String,
    permissions: String,
    defer: bool,
}

/// Files above this size are written compressed (`encoding: gz+b64`): the reconcile script
/// alone would otherwise take half of OCI's metadata limit once `user_data` is base64-encoded.
pub const COMPRESS_ABOVE: usize = 4096;

/// `content` gzip-compressed (no time stamp, so the document is stable) and base64-encoded.
fn gz_b64(content: &str) -> String {
    use base64::Engine as _;
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into memory cannot fail.
    let _ = gz.write_all(content.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap_or_default())
}

/// What in the first-boot documents `before` and `after` differs, by cloud-config key
/// (`packages`, `users`, `write_files: /etc/systemd/system/patroni.service`, …), for a plan
/// that has to say why a host is replaced. Empty when both parse and are equal.
pub fn first_boot_differences(before: &str, after: &str) -> Vec<String> {
    let parse = |doc: &str| serde_norway::from_str::<serde_norway::Mapping>(doc).ok();
    let (Some(a), Some(b)) = (parse(before), parse(after)) else {
        return vec!["the document".to_string()];
    };
    let mut out = Vec::new();
    let files = |m: &serde_norway::Mapping| -> std::collections::BTreeMap<String, String> {
        m.get("write_files")
            .and_then(|v| v.as_sequence())
            .map(|seq| {
                seq.iter()
                    .filter_map(|f| {
                        let path = f.get("path")?.as_str()?.to_string();
                        Some((path, serde_norway::to_string(f).unwrap_or_default()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        if key == "write_files" {
            let (fa, fb) = (files(&a), files(&b));
            let mut paths: Vec<&String> = fa.keys().chain(fb.keys()).collect();
            paths.sort();
            paths.dedup();
            for p in paths {
                if fa.get(p) != fb.get(p) {
                    out.push(format!("write_files: {p}"));
                }
            }
        } else if a.get(key.as_str()) != b.get(key.as_str()) {
            out.push(key);
        }
    }
    out
}

/// The `#cloud-config` document of one host. The files of the host's bundle are not in it: the
/// reconcile unit writes them from the bundle at first boot, as it does later, so the document
/// changes only with what needs a new machine (and carrying the bundle twice, here and in the
/// metadata, would not fit OCI's metadata limit).
pub fn render(plan: &HostPlan) -> String {
    let mut users = vec![UserEntry::Default("default")];
    users.extend(plan.users.iter().map(|u| {
        UserEntry::Account(Account {
            name: u.name.clone(),
            system: true,
            homedir: u.home.clone(),
            no_create_home: plan.directories.iter().any(|d| d.path == u.home),
            shell: u.shell.clone(),
            lock_passwd: true,
        })
    }));

    let write_file = |f: &crate::host::RenderedFile, defer: bool| WriteFile {
        path: f.path.clone(),
        encoding: (f.content.len() > COMPRESS_ABOVE).then_some("gz+b64"),
        content: if f.content.len() > COMPRESS_ABOVE {
            gz_b64(&f.content)
        } else {
            f.content.clone()
        },
        owner: format!("{}:{}", f.owner, f.group),
        permissions: f.mode_string(),
        defer,
    };
    let write_files: Vec<WriteFile> = plan
        .early_files
        .iter()
        .map(|f| write_file(f, false))
        .chain(
            plan.files
                .iter()
                .filter(|f| !plan.is_live(&f.path))
                .map(|f| write_file(f, true)),
        )
        .collect();

    let fs_setup = plan
        .volumes
        .iter()
        .map(|v| FsSetup {
            label: v.label.clone(),
            filesystem: v.filesystem.name().to_string(),
            device: v.device.clone(),
            partition: "any".to_string(),
            overwrite: false,
            cmd: FORMAT_IF_BLANK.to_string(),
        })
        .collect();
    let mounts = plan
        .volumes
        .iter()
        .map(|v| {
            vec![
                v.device.clone(),
                v.mount_point.clone(),
                v.filesystem.name().to_string(),
                v.options.clone(),
                "0".to_string(),
                "2".to_string(),
            ]
        })
        .collect();

    let config = CloudConfig {
        bootcmd: plan.repository_setup.clone(),
        fs_setup,
        mounts,
        users,
        package_update: (!plan.packages.is_empty()).then_some(true),
        packages: plan.packages.clone(),
        write_files,
        runcmd: runcmd(plan),
    };
    // Serialising plain strings, booleans and lists cannot fail.
    let body = serde_norway::to_string(&config).unwrap_or_default();
    format!("{HEADER}{body}")
}

/// The commands `runcmd` runs, in order, as argument vectors (cloud-init quotes each word).
pub fn runcmd(plan: &HostPlan) -> Vec<Vec<String>> {
    let mut cmds: Vec<Vec<String>> = Vec::new();
    for d in &plan.directories {
        cmds.push(
            [
                "install",
                "-d",
                "-o",
                &d.owner,
                "-g",
                &d.group,
                "-m",
                &format!("{:04o}", d.mode),
                &d.path,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        );
    }
    cmds.extend(plan.prepare_commands.iter().cloned());
    if !plan.services.is_empty() {
        cmds.push(vec!["systemctl".to_string(), "daemon-reload".to_string()]);
    }
    for s in &plan.services {
        let unit = format!("{}.service", s.name);
        cmds.push(vec![
            "systemctl".to_string(),
            "enable".to_string(),
            unit.clone(),
        ]);
        let mut restart = vec!["systemctl".to_string(), "restart".to_string()];
        if s.service_type == "notify" {
            restart.push("--no-block".to_string());
        }
        restart.push(unit);
        cmds.push(restart);
    }
    cmds
}

/// Size of a rendered document in bytes, raw and as base64 (what OCI's `user_data` holds).
pub fn sizes(document: &str) -> (usize, usize) {
    let raw = document.len();
    (raw, raw.div_ceil(3) * 4)
}
