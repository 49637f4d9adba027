//! PostgreSQL extensions the hosts install and every database node preloads: the tutorial's
//! pgaudit and pg_squeeze, as a typed list (`platform.extensions`).
//!
//! Each one brings its package (per platform), its library in `shared_preload_libraries` (a
//! node-local parameter, merged with any the cluster's parameters already name), and a
//! `CREATE EXTENSION` in the post-bootstrap script; replicas get the catalog entry by
//! replication. pg_squeeze also needs `wal_level: logical` (it works from logical decoding),
//! which validation checks (C024).

use serde::{Deserialize, Serialize};

use crate::platform::PlatformPreset;

/// An extension pgha knows how to install and load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extension {
    /// Session and object audit logging (pgaudit).
    Pgaudit,
    /// Table and index reorganisation without long locks (pg_squeeze).
    PgSqueeze,
}

impl Extension {
    /// The name in `CREATE EXTENSION` and in `shared_preload_libraries`.
    pub fn name(self) -> &'static str {
        match self {
            Extension::Pgaudit => "pgaudit",
            Extension::PgSqueeze => "pg_squeeze",
        }
    }

    /// The key written in a specification.
    pub fn key(self) -> &'static str {
        match self {
            Extension::Pgaudit => "pgaudit",
            Extension::PgSqueeze => "pg_squeeze",
        }
    }

    /// Its package for PostgreSQL `v` on `preset`; `None` where the platform's repositories
    /// have none (Debian 12 and Ubuntu 24.04 package pgaudit, not pg_squeeze) or nothing is installed
    /// (`tutorial`).
    pub fn package(self, preset: PlatformPreset, v: u32) -> Option<String> {
        match (preset, self) {
            (PlatformPreset::OracleLinux8 | PlatformPreset::OracleLinux9, Extension::Pgaudit) => {
                Some(format!("pgaudit_{v}"))
            }
            (PlatformPreset::OracleLinux8 | PlatformPreset::OracleLinux9, Extension::PgSqueeze) => {
                Some(format!("pg_squeeze_{v}"))
            }
            (PlatformPreset::Debian | PlatformPreset::Ubuntu2404, Extension::Pgaudit) => {
                Some(format!("postgresql-{v}-pgaudit"))
            }
            _ => None,
        }
    }
}

/// `shared_preload_libraries` for a node: the libraries the cluster's parameters name (in
/// their order), then each extension's not already among them; `None` without extensions.
pub fn preload_libraries(existing: Option<&str>, extensions: &[Extension]) -> Option<String> {
    if extensions.is_empty() {
        return None;
    }
    let mut libs: Vec<String> = existing
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().trim_matches('\'').trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    for e in extensions {
        if !libs.iter().any(|l| l == e.name()) {
            libs.push(e.name().to_string());
        }
    }
    Some(libs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preload_keeps_the_clusters_libraries_and_adds_each_extension_once() {
        let exts = [Extension::Pgaudit, Extension::PgSqueeze];
        assert_eq!(preload_libraries(None, &[]), None);
        assert_eq!(
            preload_libraries(Some("pg_stat_statements, pgaudit"), &exts).as_deref(),
            Some("pg_stat_statements,pgaudit,pg_squeeze")
        );
        assert_eq!(
            preload_libraries(None, &exts).as_deref(),
            Some("pgaudit,pg_squeeze")
        );
    }

    #[test]
    fn packages_per_platform() {
        use PlatformPreset::*;
        assert_eq!(
            Extension::Pgaudit.package(OracleLinux9, 17).as_deref(),
            Some("pgaudit_17")
        );
        assert_eq!(
            Extension::PgSqueeze.package(OracleLinux8, 16).as_deref(),
            Some("pg_squeeze_16")
        );
        assert_eq!(
            Extension::Pgaudit.package(Debian, 15).as_deref(),
            Some("postgresql-15-pgaudit")
        );
        assert_eq!(Extension::PgSqueeze.package(Debian, 15), None);
    }
}
