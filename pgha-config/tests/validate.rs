//! Validation rules: for each rule one failing case (the rule fires with its code, severity and
//! model path) and one passing case (the rule stays quiet), each the seed example with one field
//! changed. Plus: the seed validates without errors, a loopback-only cluster is accepted, and
//! arbitrary values never make validation panic.

mod common;

use common::seed;
use pgha_config::diagnostic::{Diagnostic, Location, Severity};
use pgha_config::etcd::{EtcdApi, EtcdMember, EtcdTls};
use pgha_config::patroni::{AdminUser, PermanentSlot, PgValue, SlotKind, WatchdogMode};
use pgha_config::pgbackrest::{PosixRepository, Repository, S3Repository, ScheduleKind};
use pgha_config::secret::{RestApiAuth, Secret};
use pgha_config::Cluster;

use Severity::{Error, Info, Warning};

fn s3(c: &mut Cluster) -> &mut S3Repository {
    match &mut c.pgbackrest.repository {
        Repository::S3(s) => s,
        Repository::Posix(_) => panic!("the seed uses S3"),
    }
}

fn param(c: &mut Cluster, k: &str, v: PgValue) {
    c.patroni.parameters.insert(k.to_string(), v);
}

fn text(s: &str) -> PgValue {
    PgValue::Text(s.to_string())
}

fn inline(s: &str) -> Secret {
    Secret::Value(s.to_string())
}

const STRONG: &str = "q8#Lr2!vZx9@Tm4$";
const STRONG2: &str = "N3w&Pz7^Kd1*Wy5%";

/// Grows the cluster to `n` database nodes in three availability domains.
fn nodes(c: &mut Cluster, n: usize) {
    let template = c.nodes[0].clone();
    c.nodes.truncate(n);
    while c.nodes.len() < n {
        let i = c.nodes.len() + 1;
        let mut node = template.clone();
        node.name = format!("pg-db-{i:02}");
        node.address = format!("192.0.2.{}", 100 + i);
        node.availability_domain = Some(format!("AD{}", (i - 1) % 3 + 1));
        c.nodes.push(node);
    }
}

/// Sets `n` etcd members.
fn members(c: &mut Cluster, n: usize) {
    let template = c.etcd.members[0].clone();
    c.etcd.members.truncate(n);
    while c.etcd.members.len() < n {
        let i = c.etcd.members.len() + 1;
        c.etcd.members.push(EtcdMember {
            name: format!("pg-etcd-{i:02}"),
            address: format!("192.0.2.{}", 200 + i),
            availability_domain: Some(format!("AD{}", (i - 1) % 3 + 1)),
            ..template.clone()
        });
    }
}

fn loopback(c: &mut Cluster) {
    for (i, n) in c.nodes.iter_mut().enumerate() {
        n.address = format!("127.0.0.{}", 21 + i);
    }
    for (i, m) in c.etcd.members.iter_mut().enumerate() {
        m.address = format!("127.0.0.{}", 11 + i);
    }
}

type Mutation = fn(&mut Cluster);

struct Case {
    code: &'static str,
    severity: Severity,
    path: &'static str,
    bad: Mutation,
    good: Mutation,
}

const fn case(
    code: &'static str,
    severity: Severity,
    path: &'static str,
    bad: Mutation,
    good: Mutation,
) -> Case {
    Case {
        code,
        severity,
        path,
        bad,
        good,
    }
}

fn cases() -> Vec<Case> {
    vec![
        // ---- cluster-wide
        case(
            "C001",
            Error,
            "name",
            |c| c.name = " pg-ha".into(),
            |c| c.name = "pg-ha".into(),
        ),
        case(
            "C001",
            Error,
            "name",
            |c| c.name = "<cluster>".into(),
            |c| c.name = "pgha1".into(),
        ),
        case(
            "C001",
            Error,
            "name",
            |c| c.name = "a/b".into(),
            |c| c.name = "a-b".into(),
        ),
        case(
            "C002",
            Warning,
            "name",
            |c| c.name = "PG_HA".into(),
            |c| c.name = "pg-ha-2".into(),
        ),
        case(
            "C003",
            Error,
            "namespace",
            |c| c.namespace = "/ser vice/".into(),
            |c| c.namespace = "/pgha/".into(),
        ),
        case(
            "C003",
            Warning,
            "namespace",
            |c| c.namespace = "service".into(),
            |c| c.namespace = "/service/".into(),
        ),
        case(
            "C004",
            Error,
            "postgres_version",
            |c| c.postgres_version = 12,
            |c| c.postgres_version = 13,
        ),
        case(
            "C004",
            Error,
            "postgres_version",
            |c| c.postgres_version = 19,
            |c| c.postgres_version = 18,
        ),
        case("C005", Error, "nodes", |c| c.nodes.clear(), |c| nodes(c, 1)),
        case(
            "C006",
            Error,
            "nodes[1].name",
            |c| c.nodes[1].name = "pg db".into(),
            |c| c.nodes[1].name = "pg.db_02".into(),
        ),
        case(
            "C006",
            Warning,
            "nodes[1].name",
            |c| c.nodes[1].name = "pg@db".into(),
            |c| c.nodes[1].name = "pg-db-2".into(),
        ),
        case(
            "C007",
            Error,
            "nodes[2].name",
            |c| c.nodes[2].name = "pg-db-01".into(),
            |c| c.nodes[2].name = "pg-db-04".into(),
        ),
        case(
            "C008",
            Error,
            "nodes[1].address",
            |c| c.nodes[1].address = "192.0.2.256".into(),
            |c| c.nodes[1].address = "db2.example.com".into(),
        ),
        case(
            "C008",
            Error,
            "etcd.members[0].address",
            |c| c.etcd.members[0].address = "<etcd-ip>".into(),
            |c| c.etcd.members[0].address = "2001:db8::4".into(),
        ),
        case(
            "C008",
            Error,
            "nodes[0].listen_address",
            |c| c.nodes[0].listen_address = Some("bad host".into()),
            |c| c.nodes[0].listen_address = Some("192.0.2.1".into()),
        ),
        case(
            "C009",
            Error,
            "nodes[0].address",
            |c| c.nodes[0].address = "0.0.0.0".into(),
            |c| c.nodes[0].listen_address = Some("0.0.0.0".into()),
        ),
        case(
            "C009",
            Error,
            "etcd.members[2].address",
            |c| c.etcd.members[2].address = "::".into(),
            |c| c.etcd.members[2].address = "192.0.2.9".into(),
        ),
        case(
            "C010",
            Error,
            "nodes[0].address",
            |c| c.nodes[0].address = "127.0.0.1".into(),
            loopback,
        ),
        case(
            "C010",
            Error,
            "etcd.members[1].address",
            |c| c.etcd.members[1].address = "localhost".into(),
            loopback,
        ),
        case(
            "C011",
            Error,
            "etcd.members[0].client_port",
            |c| {
                c.etcd.members[0].address = "192.0.2.1".into();
                c.etcd.members[0].client_port = 5432;
            },
            |c| c.etcd.members[0].address = "192.0.2.1".into(),
        ),
        case(
            "C011",
            Error,
            "nodes[0].restapi_port",
            |c| c.nodes[0].restapi_port = Some(5432),
            |c| c.nodes[0].restapi_port = Some(8009),
        ),
        case(
            "C012",
            Warning,
            "nodes[1].address",
            |c| c.nodes[1].address = "192.0.2.1".into(),
            |c| c.nodes[1].address = "192.0.2.7".into(),
        ),
        case(
            "C012",
            Warning,
            "etcd.members[1].address",
            |c| c.etcd.members[1].address = "192.0.2.4".into(),
            |_| {},
        ),
        case(
            "C013",
            Warning,
            "nodes",
            |c| {
                c.nodes
                    .iter_mut()
                    .for_each(|n| n.availability_domain = Some("AD1".into()))
            },
            |c| c.nodes[2].availability_domain = Some("AD1".into()),
        ),
        case(
            "C013",
            Warning,
            "etcd.members",
            |c| {
                c.etcd
                    .members
                    .iter_mut()
                    .for_each(|m| m.availability_domain = Some("AD2".into()))
            },
            |c| c.etcd.members[0].availability_domain = None,
        ),
        case(
            "C014",
            Error,
            "nodes[0].listen_address",
            |c| c.nodes[0].listen_address = Some("127.0.0.1".into()),
            |c| c.nodes[0].listen_address = Some("0.0.0.0".into()),
        ),
        case(
            "C015",
            Error,
            "etcd.members",
            |c| c.etcd.members.clear(),
            |c| members(c, 3),
        ),
        case(
            "C016",
            Error,
            "nodes[0].listen_address",
            |c| c.nodes[0].listen_address = Some("*".into()),
            |c| c.nodes[0].listen_address = Some("::".into()),
        ),
        case(
            "C017",
            Error,
            "nodes[0].pg_port",
            |c| c.nodes[0].pg_port = 0,
            |c| c.nodes[0].pg_port = 5433,
        ),
        case(
            "C026",
            Error,
            "platform.metadata_url",
            |c| c.platform.metadata_url = Some("169.254.169.254/opc/v2/instance/metadata".into()),
            |c| {
                c.platform.metadata_url =
                    Some("http://127.0.0.41/{host}/opc/v2/instance/metadata/pgha_bundle".into())
            },
        ),
        case(
            "C026",
            Error,
            "platform.reconcile_interval_seconds",
            |c| c.platform.reconcile_interval_seconds = Some(0),
            |c| c.platform.reconcile_interval_seconds = Some(5),
        ),
        case(
            "C018",
            Error,
            "log_cleanup.schedule",
            |c| c.log_cleanup.schedule = "8 0 * *".into(),
            |c| {
                c.log_cleanup.schedule = "8 0 * *".into();
                c.log_cleanup.retention_days = 0;
            },
        ),
        case(
            "C018",
            Error,
            "log_cleanup.schedule",
            |c| {
                c.pgbackrest.schedule.kind = ScheduleKind::SystemdTimer;
                c.log_cleanup.schedule = "8 0 1 * 1".into();
            },
            |c| {
                c.pgbackrest.schedule.kind = ScheduleKind::SystemdTimer;
                c.log_cleanup.schedule = "8 0 1 * *".into();
            },
        ),
        // ---- etcd
        case(
            "E001",
            Warning,
            "etcd.members",
            |c| members(c, 1),
            |c| members(c, 3),
        ),
        case(
            "E002",
            Warning,
            "etcd.members",
            |c| members(c, 4),
            |c| members(c, 5),
        ),
        case(
            "E003",
            Warning,
            "etcd.members",
            |c| members(c, 9),
            |c| members(c, 7),
        ),
        case(
            "E004",
            Error,
            "etcd.heartbeat_interval_ms",
            |c| c.etcd.heartbeat_interval_ms = 0,
            |c| c.etcd.heartbeat_interval_ms = 1,
        ),
        case(
            "E005",
            Error,
            "etcd.election_timeout_ms",
            |c| c.etcd.election_timeout_ms = 4999,
            |c| c.etcd.election_timeout_ms = 5000,
        ),
        case(
            "E006",
            Warning,
            "etcd.election_timeout_ms",
            |c| c.etcd.election_timeout_ms = 9999,
            |c| c.etcd.election_timeout_ms = 10000,
        ),
        case(
            "E007",
            Error,
            "etcd.election_timeout_ms",
            |c| c.etcd.election_timeout_ms = 50001,
            |c| c.etcd.election_timeout_ms = 50000,
        ),
        case(
            "E008",
            Error,
            "etcd.members[1].name",
            |c| c.etcd.members[1].name = " pg-etcd-02".into(),
            |c| c.etcd.members[1].name = "pg-etcd-02".into(),
        ),
        case(
            "E008",
            Error,
            "etcd.members[1].name",
            |c| c.etcd.members[1].name = "a=b".into(),
            |c| c.etcd.members[1].name = "a.b".into(),
        ),
        case(
            "E009",
            Error,
            "etcd.members[2].name",
            |c| c.etcd.members[2].name = "pg-etcd-01".into(),
            |c| c.etcd.members[2].name = "pg-etcd-09".into(),
        ),
        case(
            "E010",
            Warning,
            "etcd.api",
            |c| c.etcd.api = EtcdApi::V2,
            |c| c.etcd.api = EtcdApi::V3,
        ),
        case(
            "E011",
            Error,
            "etcd.tls.key_file",
            |c| {
                c.etcd.tls = Some(EtcdTls {
                    ca_file: "/etc/etcd/ca.crt".into(),
                    cert_file: "/etc/etcd/member.crt".into(),
                    key_file: "member.key".into(),
                    client_cert_auth: true,
                })
            },
            |c| {
                c.etcd.tls = Some(EtcdTls {
                    ca_file: "/etc/etcd/ca.crt".into(),
                    cert_file: "/etc/etcd/member.crt".into(),
                    key_file: "/etc/etcd/member.key".into(),
                    client_cert_auth: true,
                })
            },
        ),
        case(
            "E012",
            Error,
            "etcd.token",
            |c| c.etcd.token = Some(String::new()),
            |c| c.etcd.token = None,
        ),
        // ---- Patroni and PostgreSQL
        case(
            "P001",
            Error,
            "patroni.ttl",
            |c| {
                c.patroni.ttl = 30;
                c.patroni.retry_timeout = 11;
            },
            |c| {
                c.patroni.ttl = 30;
                c.patroni.retry_timeout = 10;
            },
        ),
        case(
            "P002",
            Error,
            "patroni.ttl",
            |c| {
                c.patroni.ttl = 19;
                c.patroni.loop_wait = 1;
                c.patroni.retry_timeout = 6;
            },
            |c| {
                c.patroni.ttl = 20;
                c.patroni.loop_wait = 1;
                c.patroni.retry_timeout = 6;
            },
        ),
        case(
            "P003",
            Error,
            "patroni.loop_wait",
            |c| c.patroni.loop_wait = 0,
            |c| c.patroni.loop_wait = 1,
        ),
        case(
            "P004",
            Error,
            "patroni.retry_timeout",
            |c| c.patroni.retry_timeout = 2,
            |c| c.patroni.retry_timeout = 3,
        ),
        case(
            "P005",
            Warning,
            "patroni.retry_timeout",
            |c| c.patroni.retry_timeout = 5,
            |c| c.patroni.retry_timeout = 6,
        ),
        case(
            "P006",
            Warning,
            "patroni.maximum_lag_on_failover",
            |c| c.patroni.maximum_lag_on_failover = 0,
            |c| c.patroni.maximum_lag_on_failover = 1,
        ),
        case(
            "P007",
            Error,
            "patroni.synchronous_mode_strict",
            |c| c.patroni.synchronous_mode_strict = true,
            |c| {
                c.patroni.synchronous_mode_strict = true;
                c.patroni.synchronous_mode = true;
            },
        ),
        case(
            "P008",
            Warning,
            "patroni.synchronous_mode",
            |c| {
                c.patroni.synchronous_mode = true;
                nodes(c, 1);
            },
            |c| c.patroni.synchronous_mode = true,
        ),
        case(
            "P008",
            Error,
            "patroni.synchronous_mode",
            |c| {
                c.patroni.synchronous_mode = true;
                c.patroni.synchronous_mode_strict = true;
                nodes(c, 1);
            },
            |c| {
                c.patroni.synchronous_mode = true;
                c.patroni.synchronous_mode_strict = true;
            },
        ),
        case(
            "P009",
            Warning,
            "patroni.synchronous_mode",
            |c| {
                c.patroni.synchronous_mode = true;
                c.nodes[1].tags.nosync = true;
                c.nodes[2].tags.nosync = true;
            },
            |c| {
                c.patroni.synchronous_mode = true;
                c.nodes[2].tags.nosync = true;
            },
        ),
        case(
            "P010",
            Error,
            "patroni.parameters.wal_log_hints",
            |c| {
                param(c, "wal_log_hints", PgValue::Bool(false));
                c.patroni.initdb.data_checksums = false;
            },
            |c| param(c, "wal_log_hints", PgValue::Bool(false)),
        ),
        case(
            "P011",
            Error,
            "patroni.parameters.full_page_writes",
            |c| param(c, "full_page_writes", text("off")),
            |c| param(c, "full_page_writes", text("on")),
        ),
        case(
            "P012",
            Error,
            "patroni.parameters.listen_addresses",
            |c| param(c, "listen_addresses", text("*")),
            |_| {},
        ),
        case(
            "P012",
            Error,
            "patroni.parameters.hba_file",
            |c| param(c, "hba_file", text("/etc/pg_hba.conf")),
            |_| {},
        ),
        case(
            "P012",
            Error,
            "patroni.parameters.hot_standby",
            |c| param(c, "hot_standby", PgValue::Bool(false)),
            |c| param(c, "hot_standby", PgValue::Bool(true)),
        ),
        case(
            "P012",
            Error,
            "patroni.parameters.synchronous_standby_names",
            |c| {
                c.patroni.synchronous_mode = true;
                param(c, "synchronous_standby_names", text("*"));
            },
            |c| param(c, "synchronous_standby_names", text("*")),
        ),
        case(
            "P013",
            Error,
            "patroni.parameters.primary_conninfo",
            |c| param(c, "primary_conninfo", text("host=x")),
            |c| param(c, "wal_compression", text("on")),
        ),
        case(
            "P014",
            Error,
            "patroni.parameters.archive_command",
            |c| param(c, "archive_command", text("cp %p /x/%f")),
            |c| param(c, "archive_mode", text("on")),
        ),
        case(
            "P014",
            Error,
            "patroni.parameters.restore_command",
            |c| param(c, "restore_command", text("cp /x/%f %p")),
            |c| param(c, "archive_mode", PgValue::Bool(true)),
        ),
        case(
            "P014",
            Error,
            "patroni.parameters.archive_mode",
            |c| param(c, "archive_mode", PgValue::Bool(false)),
            |c| param(c, "archive_mode", text("on")),
        ),
        case(
            "P014",
            Warning,
            "patroni.parameters.archive_mode",
            |c| param(c, "archive_mode", text("always")),
            |c| param(c, "archive_mode", text("on")),
        ),
        case(
            "P015",
            Error,
            "patroni.parameters.password_encryption",
            |c| param(c, "password_encryption", text("sha256")),
            |c| param(c, "password_encryption", text("SCRAM-SHA-256")),
        ),
        case(
            "P016",
            Warning,
            "patroni.parameters.password_encryption",
            |c| param(c, "password_encryption", text("md5")),
            |_| {},
        ),
        case(
            "P017",
            Error,
            "patroni.pg_hba[0]",
            |c| c.patroni.pg_hba = vec!["host all all 10.0.0.0/8".into()],
            |c| c.patroni.pg_hba = vec!["host all all 10.0.0.0/8 scram-sha-256".into()],
        ),
        case(
            "P017",
            Error,
            "patroni.pg_hba[1]",
            |c| {
                c.patroni.pg_hba = vec![
                    "local all all peer".into(),
                    "host all all 10.0.0.0/8 peer".into(),
                ]
            },
            |c| c.patroni.pg_hba = vec!["local all all peer".into()],
        ),
        case(
            "P018",
            Error,
            "patroni.pg_hba[0]",
            |c| c.patroni.pg_hba = vec!["host all all 10.0.0.0/8 trust".into()],
            |c| c.patroni.pg_hba = vec!["local all all trust".into()],
        ),
        case(
            "P018",
            Warning,
            "patroni.pg_hba[0]",
            |c| c.patroni.pg_hba = vec!["host all all 127.0.0.1/32 trust".into()],
            |c| c.patroni.pg_hba = vec!["host all all 127.0.0.1/32 scram-sha-256".into()],
        ),
        case(
            "P019",
            Warning,
            "patroni.pg_hba[0]",
            |c| c.patroni.pg_hba = vec!["host all all 10.0.0.0/8 password".into()],
            |c| c.patroni.pg_hba = vec!["hostssl all all 10.0.0.0/8 password".into()],
        ),
        case(
            "P020",
            Info,
            "patroni.pg_hba[0]",
            |c| c.patroni.pg_hba = vec!["host all all 10.0.0.0/8 md5".into()],
            |c| c.patroni.pg_hba = vec!["host all all 10.0.0.0/8 scram-sha-256".into()],
        ),
        case(
            "P020",
            Warning,
            "patroni.pg_hba[0]",
            |c| {
                c.postgres_version = 18;
                c.patroni.pg_hba = vec!["host all all 10.0.0.0/8 md5".into()];
            },
            |c| {
                c.postgres_version = 18;
                param(c, "password_encryption", text("md5"));
                c.patroni.pg_hba = vec!["host all all 10.0.0.0/8 md5".into()];
            },
        ),
        case(
            "P021",
            Error,
            "patroni.client_cidrs[0]",
            |c| c.patroni.client_cidrs = vec!["10.0.0.0/33".into()],
            |c| c.patroni.client_cidrs = vec!["10.0.0.0/8".into()],
        ),
        case(
            "P021",
            Error,
            "patroni.client_cidrs[0]",
            |c| c.patroni.client_cidrs = vec!["10.0.0.1".into()],
            |c| c.patroni.client_cidrs = vec!["10.0.0.1/32".into()],
        ),
        case(
            "P022",
            Error,
            "patroni.client_cidrs[0]",
            |c| c.patroni.client_cidrs = vec!["x.x.x.0/0".into()],
            |c| c.patroni.client_cidrs = vec!["10.1.2.0/24".into()],
        ),
        case(
            "P022",
            Error,
            "patroni.pg_hba[0]",
            |c| c.patroni.pg_hba = vec!["host all all x.x.x.0/0 md5".into()],
            |c| c.patroni.pg_hba = vec!["host all all 10.1.2.0/24 scram-sha-256".into()],
        ),
        case(
            "P023",
            Warning,
            "patroni.client_cidrs[0]",
            |c| c.patroni.client_cidrs = vec!["0.0.0.0/0".into()],
            |c| c.patroni.client_cidrs = vec!["0.0.0.0/1".into()],
        ),
        case(
            "P023",
            Warning,
            "patroni.pg_hba[0]",
            |c| c.patroni.pg_hba = vec!["host all all all scram-sha-256".into()],
            |c| c.patroni.pg_hba = vec!["host all all samenet scram-sha-256".into()],
        ),
        case(
            "P024",
            Error,
            "patroni.parameters.superuser_reserved_connections",
            |c| param(c, "superuser_reserved_connections", PgValue::Int(2000)),
            |c| param(c, "superuser_reserved_connections", PgValue::Int(1999)),
        ),
        case(
            "P024",
            Error,
            "patroni.parameters.superuser_reserved_connections",
            |c| {
                c.postgres_version = 16;
                param(c, "reserved_connections", PgValue::Int(1800));
            },
            |c| {
                c.postgres_version = 16;
                param(c, "reserved_connections", PgValue::Int(1799));
            },
        ),
        case(
            "P025",
            Error,
            "patroni.parameters.max_wal_senders",
            |c| {
                nodes(c, 5);
                param(c, "max_wal_senders", PgValue::Int(3));
            },
            |c| {
                nodes(c, 5);
                param(c, "max_wal_senders", PgValue::Int(5));
            },
        ),
        case(
            "P025",
            Warning,
            "patroni.parameters.max_wal_senders",
            |c| {
                nodes(c, 5);
                param(c, "max_wal_senders", PgValue::Int(4));
            },
            |c| {
                nodes(c, 4);
                param(c, "max_wal_senders", PgValue::Int(4));
            },
        ),
        case(
            "P026",
            Error,
            "patroni.parameters.max_replication_slots",
            |c| {
                nodes(c, 6);
                param(c, "max_replication_slots", PgValue::Int(4));
            },
            |c| {
                nodes(c, 6);
                param(c, "max_replication_slots", PgValue::Int(5));
            },
        ),
        case(
            "P027",
            Error,
            "patroni.parameters.wal_level",
            |c| param(c, "wal_level", text("minimal")),
            |c| param(c, "wal_level", text("logical")),
        ),
        case(
            "P028",
            Error,
            "nodes",
            |c| c.nodes.iter_mut().for_each(|n| n.tags.nofailover = true),
            |c| {
                c.nodes[0].tags.nofailover = true;
                c.nodes[1].tags.nofailover = true;
            },
        ),
        case(
            "P028",
            Error,
            "nodes",
            |c| {
                c.nodes.iter_mut().for_each(|n| n.tags.nofailover = true);
                c.nodes[0].tags.nofailover = false;
                c.nodes[0].tags.failover_priority = Some(0);
            },
            |c| {
                c.nodes.iter_mut().for_each(|n| n.tags.nofailover = true);
                c.nodes[0].tags.nofailover = false;
                c.nodes[0].tags.failover_priority = Some(1);
            },
        ),
        case(
            "P029",
            Error,
            "patroni.parameters.max_connections",
            |c| {
                param(c, "max_connections", PgValue::Int(20));
                param(c, "superuser_reserved_connections", PgValue::Int(3));
            },
            |c| {
                param(c, "max_connections", PgValue::Int(25));
                param(c, "superuser_reserved_connections", PgValue::Int(3));
            },
        ),
        case(
            "P029",
            Error,
            "patroni.parameters.wal_log_hints",
            |c| param(c, "wal_log_hints", text("maybe")),
            |c| param(c, "wal_log_hints", text("on")),
        ),
        case(
            "P029",
            Error,
            "patroni.parameters.wal_keep_size",
            |c| param(c, "wal_keep_size", text("8MB")),
            |c| param(c, "wal_keep_size", text("1GB")),
        ),
        case(
            "P030",
            Error,
            "nodes[0].parameters.max_connections",
            |c| {
                c.nodes[0]
                    .parameters
                    .insert("max_connections".into(), PgValue::Int(3000));
            },
            |c| {
                c.nodes[0]
                    .parameters
                    .insert("work_mem".into(), text("64MB"));
            },
        ),
        case(
            "P031",
            Warning,
            "patroni.watchdog",
            |c| c.patroni.watchdog = WatchdogMode::Required,
            |c| c.patroni.watchdog = WatchdogMode::Automatic,
        ),
        case(
            "P032",
            Error,
            "patroni.version",
            |c| c.patroni.version = 5,
            |c| c.patroni.version = 3,
        ),
        case(
            "P033",
            Error,
            "nodes[1].name",
            |c| c.nodes[1].name = "pg_db_01".into(),
            |c| {
                c.nodes[1].name = "pg_db_01".into();
                c.patroni.use_slots = false;
            },
        ),
        case(
            "P034",
            Warning,
            "patroni.client_cidrs[0]",
            |c| c.patroni.client_cidrs = vec!["192.0.2.1/24".into()],
            |c| c.patroni.client_cidrs = vec!["192.0.2.1/32".into()],
        ),
        case(
            "P035",
            Error,
            "patroni.parameters.superuser_reserved_connections",
            |c| param(c, "superuser_reserved_connections", text("lots")),
            |c| param(c, "superuser_reserved_connections", text("5")),
        ),
        case(
            "P036",
            Error,
            "patroni.users.replication",
            |c| c.patroni.users.replication = String::new(),
            |c| c.patroni.users.replication = "repl".into(),
        ),
        case(
            "P036",
            Error,
            "patroni.admin_user.name",
            |c| {
                c.patroni.admin_user = Some(AdminUser {
                    name: "db admin".into(),
                    options: vec![],
                })
            },
            |c| {
                c.patroni.admin_user = Some(AdminUser {
                    name: "dbadmin".into(),
                    options: vec![],
                })
            },
        ),
        case(
            "P037",
            Error,
            "patroni.parameters.log_directory",
            |c| param(c, "log_directory", text("/var/log/pg")),
            |c| param(c, "log_min_duration_statement", text("1s")),
        ),
        case(
            "P037",
            Error,
            "patroni.parameters.data_directory",
            |c| param(c, "data_directory", text("/data")),
            |_| {},
        ),
        case(
            "P038",
            Error,
            "patroni.pg_hba[0]",
            |c| {
                param(c, "password_encryption", text("md5"));
                c.patroni.pg_hba = vec!["host all all 10.0.0.0/8 scram-sha-256".into()];
            },
            |c| c.patroni.pg_hba = vec!["host all all 10.0.0.0/8 scram-sha-256".into()],
        ),
        case(
            "P039",
            Warning,
            "patroni.parameters.reserved_connections",
            |c| {
                c.postgres_version = 15;
                param(c, "reserved_connections", PgValue::Int(5));
            },
            |c| {
                c.postgres_version = 16;
                param(c, "reserved_connections", PgValue::Int(5));
            },
        ),
        case(
            "P040",
            Warning,
            "patroni.synchronous_node_count",
            |c| {
                c.patroni.synchronous_mode = true;
                c.patroni.synchronous_node_count = 3;
            },
            |c| {
                c.patroni.synchronous_mode = true;
                c.patroni.synchronous_node_count = 2;
            },
        ),
        case(
            "P041",
            Error,
            "patroni.slots.cdc-slot",
            |c| {
                c.patroni
                    .slots
                    .insert("cdc-slot".into(), Default::default());
            },
            |c| {
                c.patroni
                    .slots
                    .insert("cdc_slot".into(), Default::default());
            },
        ),
        case(
            "P042",
            Error,
            "patroni.slots.cdc",
            |c| {
                c.patroni.slots.insert(
                    "cdc".into(),
                    PermanentSlot {
                        kind: SlotKind::Logical,
                        database: Some("app".into()),
                        plugin: Some("pgoutput".into()),
                    },
                );
            },
            |c| {
                param(c, "wal_level", text("logical"));
                c.patroni.slots.insert(
                    "cdc".into(),
                    PermanentSlot {
                        kind: SlotKind::Logical,
                        database: Some("app".into()),
                        plugin: Some("pgoutput".into()),
                    },
                );
            },
        ),
        case(
            "P043",
            Warning,
            "patroni.member_slots_ttl",
            |c| {
                c.patroni.version = 3;
                c.patroni.member_slots_ttl = Some(0);
            },
            |c| c.patroni.member_slots_ttl = Some(0),
        ),
        // ---- pgBackRest
        case(
            "B001",
            Error,
            "pgbackrest.name",
            |c| c.pgbackrest.name = Some("<stanza-name>".into()),
            |c| c.pgbackrest.name = Some("pg-ha".into()),
        ),
        case(
            "B001",
            Error,
            "pgbackrest.name",
            |c| c.pgbackrest.name = Some("main:archive".into()),
            |c| c.pgbackrest.name = Some("main.archive".into()),
        ),
        case(
            "B001",
            Error,
            "name",
            |c| c.name = "pg+ha".into(),
            |c| {
                c.name = "pg+ha".into();
                c.pgbackrest.name = Some("pg-ha".into());
            },
        ),
        case(
            "B002",
            Warning,
            "pgbackrest.name",
            |c| c.pgbackrest.name = Some("global_qa".into()),
            |c| c.pgbackrest.name = Some("qa_global".into()),
        ),
        case(
            "B003",
            Error,
            "pgbackrest.repository.bucket",
            |c| s3(c).bucket = "bad bucket".into(),
            |c| s3(c).bucket = "pg.backup-1_x".into(),
        ),
        case(
            "B004",
            Error,
            "pgbackrest.repository.region",
            |c| s3(c).region = "US East".into(),
            |c| s3(c).region = "eu-frankfurt-1".into(),
        ),
        case(
            "B005",
            Error,
            "pgbackrest.repository.endpoint",
            |c| {
                s3(c).endpoint =
                    Some("https://ns.compat.objectstorage.us-ashburn-1.oraclecloud.com".into())
            },
            |c| {
                s3(c).endpoint = Some("ns.compat.objectstorage.us-ashburn-1.oraclecloud.com".into())
            },
        ),
        case(
            "B005",
            Error,
            "pgbackrest.repository.endpoint",
            |c| s3(c).endpoint = Some("s3.example.com/bucket".into()),
            |c| s3(c).endpoint = Some("s3.example.com".into()),
        ),
        case(
            "B005",
            Error,
            "pgbackrest.repository.endpoint",
            |c| s3(c).endpoint = Some("s3.example.com:9000".into()),
            |c| {
                s3(c).endpoint = Some("127.0.0.1".into());
                s3(c).port = Some(9000);
            },
        ),
        case(
            "B006",
            Error,
            "pgbackrest.repository.namespace",
            |c| s3(c).namespace = None,
            |c| {
                s3(c).namespace = None;
                s3(c).endpoint = Some("s3.example.com".into());
            },
        ),
        case(
            "B007",
            Error,
            "pgbackrest.repository.path",
            |c| s3(c).path = "backup".into(),
            |c| s3(c).path = "/backup/".into(),
        ),
        case(
            "B007",
            Error,
            "pgbackrest.repository.path",
            |c| {
                c.pgbackrest.repository = Repository::Posix(PosixRepository {
                    path: "/var//lib".into(),
                })
            },
            |c| {
                c.pgbackrest.repository = Repository::Posix(PosixRepository {
                    path: "/var/lib/pgbackrest".into(),
                })
            },
        ),
        case(
            "B008",
            Warning,
            "pgbackrest.repository.verify_tls",
            |c| s3(c).verify_tls = false,
            |c| s3(c).ca_file = Some("/etc/pki/ca.pem".into()),
        ),
        case(
            "B009",
            Error,
            "secrets.s3_key",
            |c| c.secrets.s3_key = None,
            |c| {
                c.secrets.s3_key = None;
                c.secrets.s3_key_secret = None;
                c.pgbackrest.repository = Repository::Posix(PosixRepository {
                    path: "/var/lib/pgbackrest".into(),
                });
            },
        ),
        case(
            "B009",
            Error,
            "secrets.s3_key_secret",
            |c| c.secrets.s3_key_secret = None,
            |_| {},
        ),
        case(
            "B010",
            Error,
            "pgbackrest.retention_full",
            |c| c.pgbackrest.retention_full = 0,
            |c| c.pgbackrest.retention_full = 1,
        ),
        case(
            "B010",
            Error,
            "pgbackrest.retention_full",
            |c| c.pgbackrest.retention_full = 10_000_000,
            |c| c.pgbackrest.retention_full = 9_999_999,
        ),
        case(
            "B011",
            Error,
            "pgbackrest.retention_diff",
            |c| c.pgbackrest.retention_diff = Some(0),
            |c| c.pgbackrest.retention_diff = Some(6),
        ),
        case(
            "B012",
            Error,
            "pgbackrest.process_max",
            |c| c.pgbackrest.process_max = 0,
            |c| c.pgbackrest.process_max = 1,
        ),
        case(
            "B012",
            Error,
            "pgbackrest.process_max",
            |c| c.pgbackrest.process_max = 1000,
            |c| c.pgbackrest.process_max = 999,
        ),
        case(
            "B013",
            Error,
            "pgbackrest.cipher_type",
            |c| c.pgbackrest.cipher_type = Some("aes-128".into()),
            |c| c.pgbackrest.cipher_type = Some("none".into()),
        ),
        case(
            "B014",
            Error,
            "secrets.repo_cipher_pass",
            |c| c.pgbackrest.cipher_type = Some("aes-256-cbc".into()),
            |c| {
                c.pgbackrest.cipher_type = Some("aes-256-cbc".into());
                c.secrets.repo_cipher_pass = Some(Secret::OciVault {
                    secret_id: "ocid1.vaultsecret.oc1.iad.cipher".into(),
                });
            },
        ),
        case(
            "B014",
            Warning,
            "secrets.repo_cipher_pass",
            |c| c.secrets.repo_cipher_pass = Some(inline(STRONG)),
            |_| {},
        ),
        case(
            "B015",
            Error,
            "pgbackrest.schedule.full",
            |c| c.pgbackrest.schedule.full = "0 1 * *".into(),
            |c| c.pgbackrest.schedule.full = "0 1 * * sun".into(),
        ),
        case(
            "B015",
            Error,
            "pgbackrest.schedule.incr",
            |c| c.pgbackrest.schedule.incr = Some("*/61 * * * *".into()),
            |c| c.pgbackrest.schedule.incr = Some("0 */6 * * *".into()),
        ),
        // A timer cannot run "the 1st or a Monday"; cron can.
        case(
            "B015",
            Error,
            "pgbackrest.schedule.diff",
            |c| {
                c.pgbackrest.schedule.kind = ScheduleKind::SystemdTimer;
                c.pgbackrest.schedule.diff = Some("0 1 1 * 1".into());
            },
            |c| c.pgbackrest.schedule.diff = Some("0 1 1 * 1".into()),
        ),
        case(
            "B016",
            Error,
            "pgbackrest.options.repo1-path",
            |c| {
                c.pgbackrest
                    .options
                    .insert("repo1-path".into(), "/x".into());
            },
            |c| {
                c.pgbackrest
                    .options
                    .insert("compress-type".into(), "zst".into());
            },
        ),
        case(
            "B016",
            Error,
            "pgbackrest.options.retention-full",
            |c| {
                c.pgbackrest
                    .options
                    .insert("retention-full".into(), "2".into());
            },
            |c| {
                c.pgbackrest
                    .options
                    .insert("repo1-bundle".into(), "y".into());
            },
        ),
        case(
            "B017",
            Error,
            "pgbackrest.options.compress-type",
            |c| {
                c.pgbackrest
                    .options
                    .insert("compress-type".into(), "zst\nrepo1-path=/x".into());
            },
            |c| {
                c.pgbackrest
                    .options
                    .insert("compress-type".into(), "zst".into());
            },
        ),
        case(
            "B018",
            Error,
            "pgbackrest.options.Compress_Type",
            |c| {
                c.pgbackrest
                    .options
                    .insert("Compress_Type".into(), "zst".into());
            },
            |c| {
                c.pgbackrest
                    .options
                    .insert("compress-level".into(), "3".into());
            },
        ),
        case(
            "B019",
            Error,
            "pgbackrest.repository.namespace",
            |c| s3(c).namespace = Some("my namespace".into()),
            |c| s3(c).namespace = Some("axaxnpcrorw5".into()),
        ),
        case(
            "B020",
            Error,
            "pgbackrest.repository.ca_file",
            |c| s3(c).ca_file = Some("ca.pem".into()),
            |c| s3(c).ca_file = Some("/etc/pki/ca.pem".into()),
        ),
        case(
            "B021",
            Error,
            "pgbackrest.repository.port",
            |c| s3(c).port = Some(0),
            |c| s3(c).port = Some(443),
        ),
        // ---- secrets
        case(
            "S001",
            Error,
            "secrets.superuser_password.value",
            |c| c.secrets.superuser_password = inline(""),
            |c| c.secrets.superuser_password = inline(STRONG),
        ),
        case(
            "S002",
            Error,
            "secrets.superuser_password.value",
            |c| c.secrets.superuser_password = inline("Password"),
            |c| c.secrets.superuser_password = inline(STRONG),
        ),
        case(
            "S002",
            Error,
            "secrets.admin_password.value",
            |c| c.secrets.admin_password = Some(inline("Admin")),
            |c| c.secrets.admin_password = Some(inline(STRONG)),
        ),
        case(
            "S002",
            Error,
            "secrets.restapi.password.value",
            |c| {
                c.secrets.restapi = Some(RestApiAuth {
                    username: "opsuser-2024".into(),
                    password: inline("OPSUSER-2024"),
                })
            },
            |c| {
                c.secrets.restapi = Some(RestApiAuth {
                    username: "opsuser-2024".into(),
                    password: inline(STRONG),
                })
            },
        ),
        case(
            "S003",
            Warning,
            "secrets.replication_password.value",
            |c| c.secrets.replication_password = inline("Sh0rt!pass"),
            |c| c.secrets.replication_password = inline("L0nger!passw"),
        ),
        case(
            "S004",
            Error,
            "secrets.s3_key.env_file.path",
            |c| {
                c.secrets.s3_key = Some(Secret::EnvFile {
                    path: "s3.env".into(),
                    variable: "S3_KEY".into(),
                })
            },
            |c| {
                c.secrets.s3_key = Some(Secret::EnvFile {
                    path: "/etc/pgha/s3.env".into(),
                    variable: "S3_KEY".into(),
                })
            },
        ),
        case(
            "S005",
            Error,
            "secrets.s3_key.env_file.variable",
            |c| {
                c.secrets.s3_key = Some(Secret::EnvFile {
                    path: "/etc/pgha/s3.env".into(),
                    variable: "1BAD-NAME".into(),
                })
            },
            |c| {
                c.secrets.s3_key = Some(Secret::EnvFile {
                    path: "/etc/pgha/s3.env".into(),
                    variable: "_GOOD_1".into(),
                })
            },
        ),
        case(
            "S006",
            Error,
            "secrets.superuser_password.oci_vault.secret_id",
            |c| {
                c.secrets.superuser_password = Secret::OciVault {
                    secret_id: "ocid1.vault.oc1.iad.x".into(),
                }
            },
            |c| {
                c.secrets.superuser_password = Secret::OciVault {
                    secret_id: "ocid1.vaultsecret.oc1.iad.amaaaaaa".into(),
                }
            },
        ),
        case(
            "S007",
            Warning,
            "secrets.replication_password.value",
            |c| {
                c.secrets.superuser_password = inline(STRONG);
                c.secrets.replication_password = inline(STRONG);
            },
            |c| {
                c.secrets.superuser_password = inline(STRONG);
                c.secrets.replication_password = inline(STRONG2);
            },
        ),
        case(
            "S008",
            Warning,
            "secrets.restapi",
            |c| c.secrets.restapi = None,
            |_| {},
        ),
        case(
            "S009",
            Warning,
            "secrets.s3_key_secret.value",
            |c| c.secrets.s3_key_secret = Some(inline("wJalrXUtnFEMI/K7MDENG")),
            |c| c.secrets.s3_key = Some(inline("AKIAEXAMPLEKEYID")),
        ),
        case(
            "S010",
            Error,
            "secrets.rewind_password",
            |c| c.secrets.rewind_password = None,
            |c| {
                c.secrets.rewind_password = None;
                c.patroni.use_pg_rewind = false;
            },
        ),
        case(
            "S011",
            Error,
            "secrets.admin_password",
            |c| c.secrets.admin_password = None,
            |c| {
                c.secrets.admin_password = None;
                c.patroni.admin_user = None;
            },
        ),
        case(
            "S012",
            Warning,
            "secrets.admin_password",
            |c| c.patroni.admin_user = None,
            |_| {},
        ),
        case(
            "S013",
            Error,
            "secrets.restapi.username",
            |c| {
                c.secrets.restapi = Some(RestApiAuth {
                    username: "pat:roni".into(),
                    password: inline(STRONG),
                })
            },
            |c| {
                c.secrets.restapi = Some(RestApiAuth {
                    username: "patroni".into(),
                    password: inline(STRONG),
                })
            },
        ),
        case(
            "S014",
            Error,
            "secrets.superuser_password.value",
            |c| c.secrets.superuser_password = inline("line-one-long\nline-two"),
            |c| c.secrets.superuser_password = inline("line-one-long line-two"),
        ),
    ]
}

fn at(d: &Diagnostic) -> String {
    match &d.location {
        Location::Model(p) => p.to_string(),
        Location::File { .. } => String::from("<file>"),
    }
}

#[test]
fn every_rule_fires_on_its_failing_case_and_not_on_its_passing_case() {
    let mut failures = Vec::new();
    for (i, k) in cases().into_iter().enumerate() {
        let mut bad = seed();
        (k.bad)(&mut bad);
        let found = pgha_config::validate(&bad);
        let hit = found
            .iter()
            .find(|d| d.code == k.code && at(d) == k.path && d.severity == k.severity);
        match hit {
            None => failures.push(format!(
                "case {i} ({} {} at {}): not reported; got:\n  {}",
                k.code,
                k.severity,
                k.path,
                found
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            )),
            Some(d) => {
                if d.hint.as_deref().unwrap_or("").is_empty() || d.message.is_empty() {
                    failures.push(format!("case {i} ({}): no message or hint", k.code));
                }
            }
        }
        let mut good = seed();
        (k.good)(&mut good);
        let found = pgha_config::validate(&good);
        if let Some(d) = found.iter().find(|d| d.code == k.code && at(d) == k.path) {
            failures.push(format!("case {i} ({}): passing case reported {d}", k.code));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_code_has_a_case() {
    let codes: std::collections::BTreeSet<&str> = cases().iter().map(|c| c.code).collect();
    // C019–C025 (platform packages, volumes, firewall, extensions) are exercised per platform
    // in tests/platforms.rs.
    let expected: Vec<String> = (1..=18)
        .chain(26..=26)
        .map(|i| format!("C{i:03}"))
        .chain((1..=12).map(|i| format!("E{i:03}")))
        .chain((1..=43).map(|i| format!("P{i:03}")))
        .chain((1..=21).map(|i| format!("B{i:03}")))
        .chain((1..=14).map(|i| format!("S{i:03}")))
        .collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|c| !codes.contains(c.as_str()))
        .collect();
    assert!(missing.is_empty(), "codes without a case: {missing:?}");
}

#[test]
fn seed_example_has_no_errors_and_only_the_expected_warning() {
    let d = pgha_config::validate(&seed());
    let summary: Vec<String> = d
        .iter()
        .map(|x| format!("{} {} {}", x.code, x.severity, at(x)))
        .collect();
    assert_eq!(
        summary,
        vec!["E006 warning etcd.election_timeout_ms".to_string()],
        "{d:#?}"
    );
}

#[test]
fn a_loopback_only_cluster_is_accepted() {
    let mut c = seed();
    loopback(&mut c);
    let d = pgha_config::validate(&c);
    assert!(d.iter().all(|x| !x.is_error()), "{d:#?}");
    // One loopback host among remote ones is an error at that host.
    let mut c = seed();
    c.nodes[2].address = "127.0.0.23".into();
    let d = pgha_config::validate(&c);
    assert!(d
        .iter()
        .any(|x| x.code == "C010" && at(x) == "nodes[2].address"));
}

#[test]
fn the_tutorials_defects_are_all_reported_at_once() {
    let mut c = seed();
    c.etcd.members[1].name = " pg-etcd-02".into();
    c.pgbackrest.name = Some("<stanza-name>".into());
    c.log_cleanup.schedule = "8 0 * *".into();
    c.patroni.client_cidrs = vec!["x.x.x.0/0".into()];
    s3(&mut c).endpoint =
        Some("https://examplenamespace.compat.objectstorage.us-ashburn-1.oraclecloud.com".into());
    c.etcd.api = EtcdApi::V2;
    c.secrets.superuser_password = inline("password");
    c.secrets.admin_password = Some(inline("admin"));
    let d = pgha_config::validate(&c);
    let codes: Vec<&str> = d.iter().map(|x| x.code).collect();
    for code in ["E008", "B001", "C018", "P022", "B005", "E010", "S002"] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    assert_eq!(
        codes.iter().filter(|c| **c == "S002").count(),
        2,
        "{codes:?}"
    );
}

#[test]
fn diagnostics_come_in_a_stable_order() {
    let mut c = seed();
    c.nodes.iter_mut().for_each(|n| n.tags.nofailover = true);
    c.patroni.ttl = 5;
    c.pgbackrest.process_max = 0;
    assert_eq!(pgha_config::validate(&c), pgha_config::validate(&c));
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = PgValue> {
        prop_oneof![
            any::<bool>().prop_map(PgValue::Bool),
            any::<i64>().prop_map(PgValue::Int),
            any::<f64>().prop_map(PgValue::Float),
            ".{0,12}".prop_map(PgValue::Text),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn arbitrary_fields_never_panic(
            name in ".{0,20}",
            address in ".{0,40}",
            listen in proptest::option::of(".{0,20}"),
            member in ".{0,20}",
            ports in proptest::collection::vec(any::<u16>(), 4),
            numbers in proptest::collection::vec(any::<u32>(), 8),
            lag in any::<u64>(),
            hba in proptest::collection::vec(".{0,60}", 0..4),
            cidrs in proptest::collection::vec(".{0,24}", 0..4),
            params in proptest::collection::btree_map(
                prop_oneof![
                    Just("max_connections".to_string()),
                    Just("superuser_reserved_connections".to_string()),
                    Just("reserved_connections".to_string()),
                    Just("max_wal_senders".to_string()),
                    Just("max_replication_slots".to_string()),
                    Just("wal_level".to_string()),
                    Just("wal_keep_size".to_string()),
                    Just("wal_log_hints".to_string()),
                    Just("password_encryption".to_string()),
                    Just("archive_mode".to_string()),
                    "[a-z_]{1,12}",
                ],
                value(),
                0..6,
            ),
            schedule in ".{0,30}",
            endpoint in proptest::option::of(".{0,40}"),
            secret in ".{0,20}",
            node_count in 0usize..8,
        ) {
            let mut c = seed();
            nodes(&mut c, node_count.max(1));
            if node_count == 0 { c.nodes.clear(); }
            c.name = name;
            if let Some(n) = c.nodes.first_mut() {
                n.address = address;
                n.listen_address = listen;
                n.pg_port = ports[0];
                n.restapi_port = Some(ports[1]);
                n.tags.failover_priority = Some(numbers[7]);
            }
            c.etcd.members[0].name = member;
            c.etcd.members[0].client_port = ports[2];
            c.etcd.members[0].peer_port = ports[3];
            c.etcd.heartbeat_interval_ms = numbers[0];
            c.etcd.election_timeout_ms = numbers[1];
            c.patroni.ttl = numbers[2];
            c.patroni.loop_wait = numbers[3];
            c.patroni.retry_timeout = numbers[4];
            c.patroni.maximum_lag_on_failover = lag;
            c.patroni.synchronous_mode = numbers[5] % 2 == 0;
            c.patroni.synchronous_mode_strict = numbers[6] % 3 == 0;
            c.patroni.pg_hba = hba;
            c.patroni.client_cidrs = cidrs;
            c.patroni.parameters = params;
            c.postgres_version = numbers[5];
            c.pgbackrest.process_max = numbers[6];
            c.pgbackrest.retention_full = numbers[7];
            c.pgbackrest.schedule.full = schedule.clone();
            c.log_cleanup.schedule = schedule;
            s3(&mut c).endpoint = endpoint;
            c.secrets.superuser_password = inline(&secret);
            c.secrets.s3_key = Some(Secret::EnvFile { path: secret.clone(), variable: secret.clone() });
            c.secrets.replication_password = Secret::OciVault { secret_id: secret };
            let _ = pgha_config::validate(&c);
        }
    }
}

/// Findings end up in logs, CI output and Terraform diagnostics: none quotes an inline password.
#[test]
fn no_finding_quotes_an_inline_password() {
    for weak in ["changeme", "Password", "short-pw"] {
        let mut c = seed();
        c.secrets.superuser_password = inline(weak);
        let findings = pgha_config::validate(&c);
        assert!(
            findings
                .iter()
                .any(|f| f.code == "S002" || f.code == "S003"),
            "{weak}: {findings:?}"
        );
        for f in &findings {
            let text = format!("{} {}", f.message, f.hint.as_deref().unwrap_or(""));
            assert!(!text.contains(weak), "{}: {text}", f.code);
        }
    }
}
