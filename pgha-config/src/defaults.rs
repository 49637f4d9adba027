//! Every default value of the model, in one place.
//!
//! The CLI's YAML form and the Terraform provider both fall back to these, so a default changes in
//! one spot and both front ends follow. Where a default differs from the upstream tool's own
//! default, the comment says why.

/// Patroni's own default DCS namespace.
pub const NAMESPACE: &str = "/service/";
/// PostgreSQL major version used when none is given.
pub const POSTGRES_VERSION: u32 = 17;
/// Oldest PostgreSQL major version we render for (oldest still supported upstream).
pub const POSTGRES_VERSION_MIN: u32 = 13;
/// Newest PostgreSQL major version we render for.
pub const POSTGRES_VERSION_MAX: u32 = 18;
/// PostgreSQL port.
pub const PG_PORT: u16 = 5432;

/// etcd client port.
pub const ETCD_CLIENT_PORT: u16 = 2379;
/// etcd peer port.
pub const ETCD_PEER_PORT: u16 = 2380;
/// etcd heartbeat interval in milliseconds: etcd's own default, right for hosts in one region
/// (OCI availability domains in a region are well under 1 ms apart).
pub const ETCD_HEARTBEAT_MS: u32 = 100;
/// etcd election timeout in milliseconds: etcd's own default, 10 heartbeats. The tutorial's 5000
/// makes every etcd leader loss cost five seconds of DCS unavailability.
pub const ETCD_ELECTION_TIMEOUT_MS: u32 = 1000;
/// How long a joining etcd member's host waits for its learner to catch up before it removes
/// it again (`pgha-etcd-promote`). A learner copies the leader's snapshot and log: for a
/// Patroni store (a few megabytes) that takes seconds; ten minutes covers a slow link.
pub const ETCD_PROMOTE_TIMEOUT_SECS: u32 = 600;
/// How long a joining etcd member's host waits for any member of the cluster to answer before
/// it bootstraps with the configured members instead (see `EtcdJoin::bootstrap_cluster`).
pub const ETCD_JOIN_FALLBACK_SECS: u32 = 60;

/// Patroni REST API port.
pub const RESTAPI_PORT: u16 = 8008;
/// Leader key TTL in seconds. Patroni's default is 30; 20 keeps `loop_wait + 2 * retry_timeout
/// <= ttl` with the values below and fails over about twice as fast. See docs/failover.md.
pub const TTL: u32 = 20;
/// Seconds between Patroni's HA loop runs (Patroni's default is 10).
pub const LOOP_WAIT: u32 = 5;
/// Seconds Patroni retries DCS and PostgreSQL operations before demoting (Patroni's default is
/// 10). Must stay above the etcd election timeout so an etcd leader change does not demote the
/// primary.
pub const RETRY_TIMEOUT: u32 = 5;
/// Largest replica lag in bytes that still allows the replica to be promoted (1 MiB, as in the
/// tutorial and Patroni's default).
pub const MAXIMUM_LAG_ON_FAILOVER: u64 = 1_048_576;
/// Synchronous standbys Patroni keeps with `synchronous_mode` (Patroni's default).
pub const SYNCHRONOUS_NODE_COUNT: u32 = 1;

/// Initial database encoding.
pub const INITDB_ENCODING: &str = "UTF8";
/// Superuser role name.
pub const SUPERUSER: &str = "postgres";
/// Replication role name.
pub const REPLICATION_USER: &str = "replicator";
/// Role pg_rewind connects as (PostgreSQL 11+ allows a non-superuser rewind role).
pub const REWIND_USER: &str = "rewind_user";

/// pgBackRest repository path inside the bucket.
pub const REPO_PATH: &str = "/backup";
/// Full backups kept (the tutorial's value).
pub const RETENTION_FULL: u32 = 10;
/// pgBackRest processes for backup and restore.
pub const PROCESS_MAX: u32 = 4;
/// Weekly full backup: Sunday 01:00, as in the tutorial.
pub const FULL_SCHEDULE: &str = "0 1 * * 0";
/// Differential backup Monday to Saturday 01:00, as in the tutorial.
pub const DIFF_SCHEDULE: &str = "0 1 * * 1-6";
/// Daily PostgreSQL log clean-up at 00:08 (the tutorial's line meant minute 8 but had four
/// fields).
pub const LOG_CLEANUP_SCHEDULE: &str = "8 0 * * *";
/// PostgreSQL log files older than this many days are deleted, as in the tutorial.
pub const LOG_RETENTION_DAYS: u32 = 15;
/// OCI region of the tutorial.
pub const OCI_REGION: &str = "us-ashburn-1";

/// The S3-compatible endpoint of OCI Object Storage for a namespace and region, as a bare host
/// (pgBackRest wants a host name in `repo1-s3-endpoint`, not a URL).
pub fn oci_s3_endpoint(namespace: &str, region: &str) -> String {
    format!("{namespace}.compat.objectstorage.{region}.oraclecloud.com")
}

/// Mount point of the data volume; the data directory is its `data` subdirectory.
pub const DATA_MOUNT_POINT: &str = "/pgdata";
/// Mount point of the WAL volume; the WAL directory is its `pg_wal` subdirectory.
pub const WAL_MOUNT_POINT: &str = "/pgwal";
/// Mount point of the server log volume; `log_directory` is its `log` subdirectory.
pub const LOG_MOUNT_POINT: &str = "/pglog";
/// Mount point of the temp volume; the temporary tablespace lives in its `tablespace`
/// subdirectory.
pub const TEMP_MOUNT_POINT: &str = "/pgtemp";
/// Name of the tablespace on the temp volume, set in `temp_tablespaces`.
pub const TEMP_TABLESPACE: &str = "pgha_temp";

/// Seconds the secret resolver keeps retrying a reference (OCI Vault, an environment file not
/// there yet) before it gives up and the database units stay stopped. An instance principal can
/// take a few minutes to become usable after a new dynamic group or policy is created.
pub const SECRET_RESOLVE_TIMEOUT_SECS: u32 = 900;
