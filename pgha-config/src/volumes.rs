//! Block volumes of the database hosts: PostgreSQL's data, WAL, server logs and temporary files,
//! each on a volume of its own (the tutorial's recommendation).
//!
//! cloud-init formats a volume only when it is blank (`fs_setup` with `overwrite: false`: a
//! volume that already has a file system, such as one re-attached to a replacement instance, is
//! left alone) and mounts it by its stable OCI device path (`/dev/oracleoci/oraclevd[b-z]`, the
//! `device` given at attachment) with `nofail`, so a missing volume does not stop the boot. The
//! database units carry `RequiresMountsFor=` their mount points: without the volume mounted they
//! do not start, and PostgreSQL never writes to the boot disk by accident.

use serde::{Deserialize, Serialize};

use crate::platform::PlatformPreset;

/// What a volume holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeRole {
    /// The data directory.
    Data,
    /// The WAL directory (`initdb --waldir`, a `pg_wal` link in the data directory).
    Wal,
    /// PostgreSQL's server logs (`log_directory`).
    Log,
    /// The temporary tablespace (`temp_tablespaces`).
    Temp,
}

impl VolumeRole {
    /// Every role, in mount order.
    pub const ALL: [VolumeRole; 4] = [
        VolumeRole::Data,
        VolumeRole::Wal,
        VolumeRole::Log,
        VolumeRole::Temp,
    ];

    /// The key in `platform.volumes`.
    pub fn key(self) -> &'static str {
        match self {
            VolumeRole::Data => "data",
            VolumeRole::Wal => "wal",
            VolumeRole::Log => "log",
            VolumeRole::Temp => "temp",
        }
    }

    /// The default mount point.
    pub fn default_mount_point(self) -> &'static str {
        match self {
            VolumeRole::Data => crate::defaults::DATA_MOUNT_POINT,
            VolumeRole::Wal => crate::defaults::WAL_MOUNT_POINT,
            VolumeRole::Log => crate::defaults::LOG_MOUNT_POINT,
            VolumeRole::Temp => crate::defaults::TEMP_MOUNT_POINT,
        }
    }

    /// The file-system label written when the volume is formatted (at most 12 characters, the
    /// XFS limit).
    pub fn label(self) -> &'static str {
        match self {
            VolumeRole::Data => "pgha-data",
            VolumeRole::Wal => "pgha-wal",
            VolumeRole::Log => "pgha-log",
            VolumeRole::Temp => "pgha-temp",
        }
    }
}

/// A file system cloud-init can create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Filesystem {
    /// XFS (Oracle Linux's default; `xfsprogs` is in OCI's Oracle Linux images).
    Xfs,
    /// ext4 (`e2fsprogs` is in every Debian and Ubuntu image).
    Ext4,
}

impl Filesystem {
    /// The name `mkfs.<name>` and fstab use.
    pub fn name(self) -> &'static str {
        match self {
            Filesystem::Xfs => "xfs",
            Filesystem::Ext4 => "ext4",
        }
    }

    /// The file system whose tools the preset's images ship: `disk_setup` runs before any
    /// package is installed, so it cannot be one that needs a package.
    pub fn for_preset(preset: PlatformPreset) -> Filesystem {
        if preset.is_el() {
            Filesystem::Xfs
        } else {
            Filesystem::Ext4
        }
    }
}

/// One block volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// The device, by a path that stays the same across reboots: on OCI the consistent device
    /// path chosen at attachment (`/dev/oracleoci/oraclevdb`).
    pub device: String,
    /// Where it is mounted; `/pgdata`, `/pgwal`, `/pglog`, `/pgtemp` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_point: Option<String>,
    /// The file system created on a blank volume; the preset's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<Filesystem>,
}

impl Volume {
    /// The mount point, given or default.
    pub fn mount_point(&self, role: VolumeRole) -> &str {
        self.mount_point
            .as_deref()
            .unwrap_or(role.default_mount_point())
    }
}

/// The volumes of every database host, by role. All optional: a role without a volume stays on
/// the boot disk at the preset's path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volumes {
    /// The data directory's volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Volume>,
    /// The WAL volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal: Option<Volume>,
    /// The server log volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<Volume>,
    /// The temporary tablespace's volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp: Option<Volume>,
}

impl Volumes {
    /// The volume of `role`, if any.
    pub fn get(&self, role: VolumeRole) -> Option<&Volume> {
        match role {
            VolumeRole::Data => self.data.as_ref(),
            VolumeRole::Wal => self.wal.as_ref(),
            VolumeRole::Log => self.log.as_ref(),
            VolumeRole::Temp => self.temp.as_ref(),
        }
    }

    /// The volumes present, in mount order.
    pub fn iter(&self) -> impl Iterator<Item = (VolumeRole, &Volume)> {
        VolumeRole::ALL
            .into_iter()
            .filter_map(|r| self.get(r).map(|v| (r, v)))
    }
}

/// A volume as cloud-init handles it: formatted when blank, then mounted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeMount {
    /// What it holds.
    pub role: VolumeRole,
    /// The device path.
    pub device: String,
    /// The mount point.
    pub mount_point: String,
    /// The file system (created only on a blank device).
    pub filesystem: Filesystem,
    /// The label given when formatting.
    pub label: String,
    /// fstab options.
    pub options: String,
}

/// fstab options of every volume: `nofail` so a missing volume does not drop the boot into
/// emergency mode (the units' `RequiresMountsFor=` keep PostgreSQL off the boot disk instead),
/// `noatime` because PostgreSQL never needs access times.
pub const MOUNT_OPTIONS: &str = "defaults,noatime,nofail";

/// The volumes a database host of `cluster` formats and mounts (none for a host with a `root`).
pub fn mounts(cluster: &crate::cluster::Cluster) -> Vec<VolumeMount> {
    let platform = &cluster.platform;
    if !platform.provisions() {
        return Vec::new();
    }
    platform
        .volumes
        .iter()
        .map(|(role, v)| VolumeMount {
            role,
            device: v.device.clone(),
            mount_point: v.mount_point(role).to_string(),
            filesystem: v
                .filesystem
                .unwrap_or(Filesystem::for_preset(platform.preset)),
            label: role.label().to_string(),
            options: MOUNT_OPTIONS.to_string(),
        })
        .collect()
}
