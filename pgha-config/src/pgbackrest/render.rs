//! Renders pgBackRest's configuration, the bootstrap and backup scripts and the schedule.
//!
//! Every function here is a pure function of the cluster (and, where a file differs per host,
//! of the node), so the Terraform resource `pgha_pgbackrest_stanza` can export the same commands
//! the database hosts use and a stanza name is written exactly once.
//!
//! Every command passes `--config=<layout.pgbackrest_config>` and `--stanza=<stanza>`: the
//! config path moves under a test `root`, and an explicit stanza never depends on a default.

use crate::cluster::Cluster;
use crate::host::{FileKind, RenderedFile};
use crate::patroni::PatroniNode;
use crate::pgbackrest::{Repository, ScheduleKind};
use crate::platform::Layout;
use crate::schedule::parse_cron_expression;
use crate::secret::Secret;

/// The PostgreSQL log files the clean-up job deletes (`log_filename` must start like this; the
/// default `postgresql-%Y-%m-%d_%H%M%S.log` and the tutorial's `postgresql-%u.log` both do).
pub const LOG_FILE_PATTERN: &str = "postgresql-*";

/// Quotes `word` for bash so it is read back as exactly one word with exactly this text: bare
/// when it only has characters no shell treats specially, otherwise in single quotes (a `'` in
/// the text becomes `'\''`). The empty string is `''`.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Quotes `value` in single quotes whatever it holds (a `'` becomes `'\''`): for the right-hand
/// side of a variable assignment, where a bare word that looks like a command (`admin`,
/// `postgres`) would read as a mistake to people and to shellcheck (SC2209).
pub fn shell_assign(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Joins `words` into one shell command line, each word through [`shell_quote`].
pub fn shell_join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `value` can be written as a pgBackRest INI value: pgBackRest's INI format has no
/// quoting or escaping at all, so a line break would start a new option and leading or trailing
/// blanks are trimmed away. Validation rejects values for which this is false.
pub fn ini_value_is_safe(value: &str) -> bool {
    !value.contains(['\n', '\r', '\0']) && value.trim() == value
}

/// The value as written into the INI file. Validation has already rejected unsafe values; as a
/// last line of defence a value is cut at its first line break so it can never inject an option.
fn ini_value(value: &str) -> &str {
    value.split(['\n', '\r', '\0']).next().unwrap_or("")
}

/// `[pgbackrest, --config=…, --stanza=…]`: the start of every pgBackRest command we render.
pub fn base_command(cluster: &Cluster) -> Vec<String> {
    let layout = cluster.layout();
    vec![
        layout.pgbackrest_bin.clone(),
        format!("--config={}", layout.pgbackrest_config),
        format!("--stanza={}", cluster.stanza_name()),
    ]
}

fn command_with(cluster: &Cluster, tail: &[&str]) -> String {
    let mut words = base_command(cluster);
    words.extend(tail.iter().map(|s| s.to_string()));
    shell_join(&words)
}

/// PostgreSQL's `archive_command`: `pgbackrest --config=… --stanza=… archive-push %p`.
/// (`%p` is a path relative to the data directory PostgreSQL substitutes; it never needs
/// quoting.)
pub fn archive_command(cluster: &Cluster) -> String {
    format!("{} archive-push %p", command_with(cluster, &[]))
}

/// PostgreSQL's `restore_command` (Patroni's `recovery_conf.restore_command`):
/// `pgbackrest --config=… --stanza=… archive-get %f "%p"`, as pgBackRest itself writes it.
pub fn restore_command(cluster: &Cluster) -> String {
    format!("{} archive-get %f \"%p\"", command_with(cluster, &[]))
}

/// The command of Patroni's `pgbackrest` replica creation method: a delta restore of the newest
/// backup into the node's data directory (`pg1-path` from the configuration), recreating the
/// tablespace and `pg_wal` links. Used with `keep_data: true` (so `--delta` can reuse what is
/// there) and `no_params: true` (pgBackRest rejects Patroni's `--scope=`/`--role=` arguments).
pub fn create_replica_command(cluster: &Cluster) -> String {
    command_with(cluster, &["--delta", "--link-all", "restore"])
}

/// Path of the restore-based bootstrap script (Patroni's `bootstrap.pgbackrest.command`).
pub fn bootstrap_script_path(cluster: &Cluster) -> String {
    format!(
        "{}/pgbackrest-bootstrap.sh",
        cluster.layout().patroni_config_dir
    )
}

/// Path of the post-bootstrap script (Patroni's `bootstrap.post_bootstrap`).
pub fn post_bootstrap_script_path(cluster: &Cluster) -> String {
    format!("{}/post-bootstrap.sh", cluster.layout().patroni_config_dir)
}

/// Path of the backup wrapper the schedule runs (`pgha-backup full|diff|incr`).
pub fn backup_script_path(cluster: &Cluster) -> String {
    format!("{}/pgha-backup", cluster.layout().script_dir)
}

/// Path of the PostgreSQL log clean-up script.
pub fn log_cleanup_script_path(cluster: &Cluster) -> String {
    format!("{}/pgha-log-cleanup", cluster.layout().script_dir)
}

/// Path of the environment file the secret resolver writes and services and jobs load.
pub fn secrets_env_path(cluster: &Cluster) -> String {
    format!("{}/secrets.env", cluster.layout().pgha_dir)
}

fn inline(secret: Option<&Secret>) -> Option<&str> {
    secret.and_then(Secret::inline)
}

/// Whether pgbackrest.conf holds a secret (an inline S3 key or cipher pass phrase).
pub fn config_is_sensitive(cluster: &Cluster) -> bool {
    let s = &cluster.secrets;
    let s3 = matches!(cluster.pgbackrest.repository, Repository::S3(_))
        && (inline(s.s3_key.as_ref()).is_some() || inline(s.s3_key_secret.as_ref()).is_some());
    let cipher =
        cluster.pgbackrest.cipher_type.is_some() && inline(s.repo_cipher_pass.as_ref()).is_some();
    s3 || cipher
}

/// The `[global]` section of pgbackrest.conf, its `[global]` line included: repository, retention,
/// parallelism, encryption and paths, the same on every database host. [`config`] adds the
/// host's stanza section after it.
pub fn global_section(cluster: &Cluster) -> String {
    let layout = cluster.layout();
    let stanza = &cluster.pgbackrest;
    let secrets = &cluster.secrets;
    let mut global: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| global.push((k.to_string(), v));
    match &stanza.repository {
        Repository::S3(s3) => {
            put("repo1-type", "s3".to_string());
            put("repo1-s3-bucket", s3.bucket.clone());
            if let Some(endpoint) = s3.endpoint_host() {
                put("repo1-s3-endpoint", endpoint);
            }
            put("repo1-s3-region", s3.region.clone());
            put("repo1-s3-uri-style", "path".to_string());
            if let Some(port) = s3.port {
                put("repo1-storage-port", port.to_string());
            }
            if !s3.verify_tls {
                put("repo1-storage-verify-tls", "n".to_string());
            }
            if let Some(ca) = &s3.ca_file {
                put("repo1-storage-ca-file", ca.clone());
            }
            if let Some(key) = inline(secrets.s3_key.as_ref()) {
                put("repo1-s3-key", key.to_string());
            }
            if let Some(secret) = inline(secrets.s3_key_secret.as_ref()) {
                put("repo1-s3-key-secret", secret.to_string());
            }
            put("repo1-path", s3.path.clone());
        }
        Repository::Posix(posix) => {
            put("repo1-type", "posix".to_string());
            put("repo1-path", posix.path.clone());
        }
    }
    put("repo1-retention-full", stanza.retention_full.to_string());
    if let Some(diff) = stanza.retention_diff {
        put("repo1-retention-diff", diff.to_string());
    }
    if let Some(cipher) = &stanza.cipher_type {
        put("repo1-cipher-type", cipher.clone());
        if let Some(pass) = inline(secrets.repo_cipher_pass.as_ref()) {
            put("repo1-cipher-pass", pass.to_string());
        }
    }
    put("process-max", stanza.process_max.to_string());
    put("start-fast", "y".to_string());
    put("log-path", layout.pgbackrest_log_dir.clone());
    put("log-level-console", "info".to_string());
    put("log-level-file", "detail".to_string());
    put("lock-path", layout.pgbackrest_lock_dir.clone());
    if stanza.archive_async {
        put("archive-async", "y".to_string());
        put("spool-path", layout.pgbackrest_spool_dir.clone());
    }
    for (k, v) in &stanza.options {
        // An extra option replaces one of ours with the same name rather than repeating it
        // (pgBackRest refuses an option given twice in a section).
        global.retain(|(name, _)| name != k);
        global.push((k.clone(), v.clone()));
    }

    let mut out = String::from("[global]\n");
    for (k, v) in &global {
        out.push_str(&format!("{k}={}\n", ini_value(v)));
    }
    out
}

/// pgbackrest.conf for the database host `node`.
///
/// `[global]` holds the repository, retention, parallelism, encryption and the host's paths;
/// the stanza section holds this node's PostgreSQL. Secrets given by reference are left out:
/// pgBackRest reads `PGBACKREST_REPO1_S3_KEY`, `PGBACKREST_REPO1_S3_KEY_SECRET` and
/// `PGBACKREST_REPO1_CIPHER_PASS` from the environment (secrets.env).
pub fn config(cluster: &Cluster, node: &PatroniNode) -> String {
    let layout = cluster.layout();
    let mut out = String::new();
    out.push_str(&format!(
        "# pgBackRest configuration of stanza {} on {}, rendered by pgha.\n",
        cluster.stanza_name(),
        node.name
    ));
    out.push_str(&global_section(cluster));
    out.push('\n');
    out.push_str(&format!("[{}]\n", ini_value(cluster.stanza_name())));
    out.push_str(&format!("pg1-path={}\n", ini_value(&layout.pg_data_dir)));
    out.push_str(&format!("pg1-port={}\n", node.pg_port));
    out.push_str(&format!(
        "pg1-socket-path={}\n",
        ini_value(&layout.pg_socket_dir)
    ));
    out.push_str(&format!(
        "pg1-user={}\n",
        ini_value(&cluster.patroni.users.superuser)
    ));
    out
}

/// The rendered pgbackrest.conf of `node` (mode 0640, owner postgres).
pub fn config_file(cluster: &Cluster, node: &PatroniNode) -> RenderedFile {
    let layout = cluster.layout();
    RenderedFile {
        path: layout.pgbackrest_config.clone(),
        content: config(cluster, node),
        mode: 0o640,
        owner: layout.postgres_user.clone(),
        group: layout.postgres_user.clone(),
        sensitive: config_is_sensitive(cluster),
        kind: FileKind::PgbackrestConf,
    }
}

/// The shell lines that load secrets.env into the environment when it exists. Every value in
/// it is written by [`crate::systemd::env_line`], which a shell reads back literally.
fn source_secrets(cluster: &Cluster) -> String {
    format!(
        "secrets_env={}\n\
         if [[ -r \"$secrets_env\" ]]; then\n\
         \x20   set -a\n\
         \x20   # shellcheck disable=SC1090\n\
         \x20   . \"$secrets_env\"\n\
         \x20   set +a\n\
         fi\n",
        shell_assign(&secrets_env_path(cluster))
    )
}

/// A bash array assignment `name=(word …)` of the base pgBackRest command.
fn pgbackrest_array(cluster: &Cluster) -> String {
    format!("pgbackrest=({})\n", shell_join(&base_command(cluster)))
}

/// The restore-based bootstrap script (Patroni's custom bootstrap `command`).
///
/// Patroni calls it with `--scope=<scope> --datadir=<data_dir>` (and any extra keys of the
/// method block as `--key=value`). When the stanza has a backup, it restores the newest one into
/// the data directory; Patroni then writes `recovery_conf` (restore_command, timeline `latest`)
/// and PostgreSQL replays the archive to its end and promotes. When the repository answers that
/// the stanza does not exist or has no backup yet (a brand-new cluster), it runs initdb with
/// the cluster's options instead, so the same configuration creates and re-creates the cluster.
/// Any other answer (repository unreachable, wrong credentials) exits non-zero: Patroni then
/// gives up the bootstrap, moves the data directory aside and exits, and systemd restarts it to
/// try again — creating a new cluster next to an existing backup would fork its history.
pub fn bootstrap_script(cluster: &Cluster) -> String {
    let layout = cluster.layout();
    let init = &cluster.patroni.initdb;
    let mut initdb = vec![
        format!("{}/initdb", layout.pg_bin_dir),
        format!("--username={}", cluster.patroni.users.superuser),
        format!("--encoding={}", init.encoding),
    ];
    if let Some(locale) = &init.locale {
        initdb.push(format!("--locale={locale}"));
    }
    if init.data_checksums {
        initdb.push("--data-checksums".to_string());
    }
    if let Some(wal) = &layout.pg_wal_dir {
        initdb.push(format!("--waldir={wal}"));
    }
    let mut s = String::new();
    s.push_str("#!/usr/bin/env bash\n");
    s.push_str(&format!(
        "# Patroni custom bootstrap for cluster {}, rendered by pgha.\n",
        cluster.name
    ));
    s.push_str(
        "# Restores the newest backup of the stanza into the data directory Patroni passes\n\
         # (--datadir=); a stanza without any backup means a new cluster, which is initdb'd.\n\
         # Any other failure exits non-zero so Patroni abandons this bootstrap attempt.\n",
    );
    s.push_str("set -euo pipefail\n\n");
    s.push_str(&pgbackrest_array(cluster));
    s.push_str(&format!("initdb=({})\n", shell_join(&initdb)));
    s.push_str(&format!(
        "expected_scope={}\n\n",
        shell_assign(&cluster.name)
    ));
    s.push_str(
        r#"log() { printf '%s pgbackrest-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

scope=""
datadir=""
for arg in "$@"; do
    case "$arg" in
        --scope=*) scope="${arg#--scope=}" ;;
        --datadir=*) datadir="${arg#--datadir=}" ;;
        *) log "ignoring argument $arg" ;;
    esac
done
if [[ -z "$datadir" ]]; then
    log "no --datadir= argument; Patroni passes it unless no_params is set"
    exit 2
fi
if [[ -n "$scope" && "$scope" != "$expected_scope" ]]; then
    log "called for scope $scope, but this host belongs to $expected_scope"
    exit 2
fi

if ! info="$("${pgbackrest[@]}" --log-level-console=warn info 2>&1)"; then
    log "cannot read the repository: $info"
    exit 1
fi
case "$info" in
    *"status: ok"*)
        log "restoring the newest backup into $datadir"
        "${pgbackrest[@]}" --pg1-path="$datadir" --delta --link-all restore
        log "restore finished; PostgreSQL will replay the archive and promote"
        ;;
    *"(missing stanza path)"* | *"(no valid backups)"* | *"(missing stanza data)"*)
        log "the stanza has no backup yet: creating a new cluster with initdb in $datadir"
        "${initdb[@]}" --pgdata="$datadir"
        ;;
    *)
        log "unexpected repository state, refusing to bootstrap: $info"
        exit 1
        ;;
esac
"#,
    );
    s
}

/// The post-bootstrap script (Patroni's `bootstrap.post_bootstrap`), run once on the new
/// primary with the superuser's connection URL as `$1` (and PGPASSFILE in the environment).
///
/// Creates the admin role when one is configured (its password comes from `PGHA_ADMIN_PASSWORD`
/// into a psql variable through psql's backquote expansion, so it is never on a command line),
/// then `stanza-create` and, when the stanza has no backup yet, the first full backup. Every
/// step is idempotent. A failing role creation fails the bootstrap (Patroni retries it); a
/// failing backup step only logs, because the cluster must come up even when the object store
/// is briefly unreachable — the scheduled backup job creates the stanza and backs up later.
pub fn post_bootstrap_script(cluster: &Cluster) -> String {
    let layout = cluster.layout();
    let psql = format!("{}/psql", layout.pg_bin_dir);
    let mut s = String::new();
    s.push_str("#!/usr/bin/env bash\n");
    s.push_str(&format!(
        "# Patroni post_bootstrap for cluster {}, rendered by pgha.\n",
        cluster.name
    ));
    s.push_str(
        "# $1 is the superuser connection URL Patroni passes. Creates the admin role (if any),\n\
         # the pgBackRest stanza and the first full backup; safe to run again.\n",
    );
    s.push_str("set -euo pipefail\n\n");
    s.push_str(&pgbackrest_array(cluster));
    s.push_str(&format!("psql={}\n", shell_assign(&psql)));
    s.push_str(
        r#"conn="${1:?usage: post-bootstrap.sh CONNECTION_URL}"

log() { printf '%s post-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
"#,
    );
    if let Some(admin) = &cluster.patroni.admin_user {
        let options: Vec<String> = admin
            .options
            .iter()
            .filter(|o| !o.is_empty() && o.chars().all(|c| c.is_ascii_alphabetic()))
            .map(|o| o.to_ascii_uppercase())
            .collect();
        s.push_str(&format!(
            "\nadmin_name={}\nadmin_options={}\n",
            shell_assign(&admin.name),
            shell_assign(&options.join(" "))
        ));
        s.push_str(
            r#"if [[ -z "${PGHA_ADMIN_PASSWORD:-}" ]]; then
    log "PGHA_ADMIN_PASSWORD is not set: cannot create role $admin_name"
    exit 1
fi
export PGHA_ADMIN_PASSWORD
log "creating role $admin_name unless it exists"
# The password reaches psql through the environment: the backquoted command is expanded by
# the shell psql starts, and printf is a shell builtin, so no process has it in its arguments.
"$psql" "$conn" -X -q -v ON_ERROR_STOP=1 \
    -v "admin_name=$admin_name" -v "admin_options=$admin_options" <<'SQL'
\set admin_password `printf '%s' "$PGHA_ADMIN_PASSWORD"`
SELECT format('CREATE ROLE %I LOGIN %s PASSWORD %L', :'admin_name', :'admin_options', :'admin_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :'admin_name')
\gexec
SQL
"#,
        );
    }
    if !cluster.platform.extensions.is_empty() {
        let names: Vec<&str> = cluster
            .platform
            .extensions
            .iter()
            .map(|e| e.name())
            .collect();
        s.push_str(&format!("\nextensions=({})\n", names.join(" ")));
        s.push_str(
            r#"for ext in "${extensions[@]}"; do
    log "creating extension $ext unless it exists"
    "$psql" "$conn" -X -q -v ON_ERROR_STOP=1 -v "ext=$ext" <<'SQL'
SELECT format('CREATE EXTENSION IF NOT EXISTS %I', :'ext')
\gexec
SQL
done
"#,
        );
    }
    if let Some(dir) = &layout.temp_tablespace_dir {
        s.push_str(&format!(
            "\ntemp_tablespace={}\ntemp_dir={}\n",
            shell_assign(crate::defaults::TEMP_TABLESPACE),
            shell_assign(dir)
        ));
        s.push_str(
            r#"log "creating tablespace $temp_tablespace in $temp_dir unless it exists"
# temp_tablespaces names it in every node's configuration; every role may put temporary files
# there (CREATE on the tablespace is what temp_tablespaces needs).
"$psql" "$conn" -X -q -v ON_ERROR_STOP=1 -v "ts=$temp_tablespace" -v "dir=$temp_dir" <<'SQL'
SELECT format('CREATE TABLESPACE %I LOCATION %L', :'ts', :'dir')
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_tablespace WHERE spcname = :'ts')
\gexec
SELECT format('GRANT CREATE ON TABLESPACE %I TO PUBLIC', :'ts')
\gexec
SQL
"#,
        );
    }
    s.push_str(
        r#"
log "creating stanza (a no-op when it exists)"
if ! "${pgbackrest[@]}" stanza-create; then
    log "stanza-create failed; the scheduled backup job will retry"
    exit 0
fi
if ! info="$("${pgbackrest[@]}" --output=json info)"; then
    log "cannot read the repository; the scheduled backup job will take the first backup"
    exit 0
fi
if [[ "$info" == *'"backup":[]'* ]]; then
    log "taking the first full backup"
    if ! "${pgbackrest[@]}" --type=full backup; then
        log "the first full backup failed; the scheduled backup job will retry"
    fi
else
    log "the stanza already has a backup"
fi
log "done"
"#,
    );
    s
}

/// The backup wrapper `pgha-backup full|diff|incr`, run on every database host by the schedule.
///
/// It loads secrets.env when present, asks the local PostgreSQL over the unix socket whether it
/// is in recovery, and does nothing unless it is the primary; on the primary it makes sure the
/// stanza exists (idempotent) and takes the backup. Output goes to `pgha-backup.log` in the
/// pgBackRest log directory, so cron mails nothing and a timer's journal stays short.
pub fn backup_script(cluster: &Cluster, node: &PatroniNode) -> String {
    let layout = cluster.layout();
    let mut s = String::new();
    s.push_str("#!/usr/bin/env bash\n");
    s.push_str(&format!(
        "# pgBackRest backup of stanza {} when this host is the primary, rendered by pgha.\n",
        cluster.stanza_name()
    ));
    s.push_str("# Usage: pgha-backup full|diff|incr\n");
    s.push_str("set -euo pipefail\n\n");
    s.push_str(&pgbackrest_array(cluster));
    s.push_str(&format!(
        "psql={}\nsocket_dir={}\nport={}\nsuperuser={}\nlog_file={}\n\n",
        shell_assign(&format!("{}/psql", layout.pg_bin_dir)),
        shell_assign(&layout.pg_socket_dir),
        node.pg_port,
        shell_assign(&cluster.patroni.users.superuser),
        shell_assign(&format!("{}/pgha-backup.log", layout.pgbackrest_log_dir)),
    ));
    s.push_str(
        r#"type="${1:-}"
case "$type" in
    full | diff | incr) ;;
    *)
        echo "usage: $0 full|diff|incr" >&2
        exit 2
        ;;
esac

exec >>"$log_file" 2>&1
log() { printf '%s pgha-backup[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$$" "$*"; }

"#,
    );
    s.push_str(&source_secrets(cluster));
    s.push_str(
        r#"
if ! in_recovery="$("$psql" -X -A -t -q -h "$socket_dir" -p "$port" -U "$superuser" -d postgres \
    -c 'SELECT pg_catalog.pg_is_in_recovery()')"; then
    log "PostgreSQL is not answering on $socket_dir:$port; no $type backup here"
    exit 0
fi
if [[ "$in_recovery" != "f" ]]; then
    log "this host is a replica; no $type backup here"
    exit 0
fi
log "this host is the primary: starting a $type backup"
"${pgbackrest[@]}" stanza-create
"${pgbackrest[@]}" --type="$type" backup
log "$type backup finished"
"#,
    );
    s
}

/// The log clean-up script: deletes PostgreSQL server logs (`postgresql-*`) older than the
/// configured number of days from the log directory, without descending into subdirectories.
pub fn log_cleanup_script(cluster: &Cluster) -> String {
    let layout = cluster.layout();
    let mut s = String::new();
    s.push_str("#!/usr/bin/env bash\n");
    s.push_str(&format!(
        "# Deletes PostgreSQL logs older than {} days, rendered by pgha.\n",
        cluster.log_cleanup.retention_days
    ));
    s.push_str("set -euo pipefail\n\n");
    s.push_str(&format!(
        "log_dir={}\ndays={}\n\n",
        shell_assign(&layout.pg_log_dir),
        cluster.log_cleanup.retention_days
    ));
    s.push_str(&format!(
        "find \"$log_dir\" -maxdepth 1 -type f -name {} -mtime +\"$days\" -print -delete\n",
        shell_quote(LOG_FILE_PATTERN)
    ));
    s
}

/// Converts a five-field cron schedule to a systemd `OnCalendar=` expression with the same
/// meaning, or `None` when there is none: when the expression is not valid cron, or when both
/// day of month and day of week are restricted (cron runs when *either* matches, systemd only
/// when both do). Validation (B015, C018) calls this to reject schedules a timer cannot express.
///
/// crontab(5) (Vixie cron, cronie, Debian's cron): a day field whose text starts with `*` makes
/// the two day fields combine with *and*, like systemd; `*/2` still selects only the odd days.
/// Steps, ranges and lists are expanded into lists (`*/15` minutes → `00,15,30,45`), days of
/// the week become names with ranges (`1-6` → `Mon..Sat`), and a field selecting every value
/// becomes `*`.
pub fn cron_to_on_calendar(expr: &str) -> Option<String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = parse_cron_expression(expr).ok()?;
    let dom_star = fields.get(2)?.starts_with('*');
    let dow_star = fields.get(4)?.starts_with('*');
    if !dom_star && !dow_star {
        return None;
    }
    let list = |set: &std::collections::BTreeSet<u32>, lo: u32, hi: u32| -> String {
        if (lo..=hi).all(|v| set.contains(&v)) {
            "*".to_string()
        } else {
            set.iter()
                .map(|v| format!("{v:02}"))
                .collect::<Vec<_>>()
                .join(",")
        }
    };
    let date = format!("*-{}-{}", list(&month, 1, 12), list(&dom, 1, 31));
    let time = format!("{}:{}:00", list(&hour, 0, 23), list(&minute, 0, 59));
    // Day of week 7 is Sunday too (the parser folds it onto 0).
    let days: Vec<u32> = (0..7).filter(|d| dow.contains(d)).collect();
    if days.len() == 7 {
        return Some(format!("{date} {time}"));
    }
    const NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let mut parts = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && days[j + 1] == days[j] + 1 {
            j += 1;
        }
        let first = NAMES.get(days[i] as usize)?;
        let last = NAMES.get(days[j] as usize)?;
        match j - i {
            0 => parts.push(first.to_string()),
            1 => parts.push(format!("{first},{last}")),
            _ => parts.push(format!("{first}..{last}")),
        }
        i = j + 1;
    }
    Some(format!("{} {date} {time}", parts.join(",")))
}

/// One scheduled job: its name, what it runs and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Unit base name (`pgha-backup-full`, `pgha-log-cleanup`).
    pub name: String,
    /// What the job does, for comments and unit descriptions.
    pub description: String,
    /// The five-field cron schedule.
    pub schedule: String,
    /// Program and arguments.
    pub command: Vec<String>,
}

/// The scheduled jobs of a database host: full, diff and incr backups (those configured) and the
/// log clean-up (unless its retention is 0).
pub fn jobs(cluster: &Cluster) -> Vec<Job> {
    let sched = &cluster.pgbackrest.schedule;
    let stanza = cluster.stanza_name();
    let mut out = Vec::new();
    let backups = [
        ("full", Some(&sched.full)),
        ("diff", sched.diff.as_ref()),
        ("incr", sched.incr.as_ref()),
    ];
    for (kind, schedule) in backups {
        if let Some(schedule) = schedule {
            out.push(Job {
                name: format!("pgha-backup-{kind}"),
                description: format!(
                    "pgBackRest {kind} backup of stanza {stanza} (only on the primary)"
                ),
                schedule: schedule.clone(),
                command: vec![backup_script_path(cluster), kind.to_string()],
            });
        }
    }
    if cluster.log_cleanup.retention_days > 0 {
        out.push(Job {
            name: "pgha-log-cleanup".to_string(),
            description: format!(
                "Delete PostgreSQL logs older than {} days",
                cluster.log_cleanup.retention_days
            ),
            schedule: cluster.log_cleanup.schedule.clone(),
            command: vec![log_cleanup_script_path(cluster)],
        });
    }
    out
}

/// The cron.d file with every job, run as the PostgreSQL user (`%` is special in a cron
/// command, so it is escaped).
pub fn cron_d(cluster: &Cluster) -> String {
    let layout = cluster.layout();
    let mut s = String::new();
    s.push_str(&format!(
        "# Backups of stanza {} (they run only on the primary) and PostgreSQL log clean-up,\n\
         # rendered by pgha.\n",
        cluster.stanza_name()
    ));
    s.push_str("SHELL=/bin/bash\n");
    s.push_str("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
    for job in jobs(cluster) {
        s.push_str(&format!("# {}\n", job.description));
        s.push_str(&format!(
            "{} {} {}\n",
            job.schedule
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            layout.postgres_user,
            shell_join(&job.command).replace('%', "\\%")
        ));
    }
    s
}

/// The schedule's files: one cron.d file, or a oneshot service and a timer per job. A job whose
/// schedule has no `OnCalendar=` equivalent (validation reports it) gets no timer.
pub fn schedule_files(cluster: &Cluster) -> Vec<RenderedFile> {
    let layout = cluster.layout();
    let root_file = |path: String, content: String, kind: FileKind| RenderedFile {
        path,
        content,
        mode: 0o644,
        owner: "root".to_string(),
        group: "root".to_string(),
        sensitive: false,
        kind,
    };
    match cluster.pgbackrest.schedule.kind {
        ScheduleKind::Cron => vec![root_file(
            format!("{}/pgha-backup", layout.cron_dir),
            cron_d(cluster),
            FileKind::CronD,
        )],
        ScheduleKind::SystemdTimer => {
            let mut files = Vec::new();
            for job in jobs(cluster) {
                let Some(on_calendar) = cron_to_on_calendar(&job.schedule) else {
                    continue;
                };
                let service = crate::systemd::oneshot_service(
                    &job.name,
                    &job.description,
                    &layout.postgres_user,
                    &layout.postgres_user,
                    &job.command,
                    &[],
                );
                files.push(root_file(
                    format!("{}/{}.service", layout.systemd_dir, job.name),
                    crate::systemd::oneshot_unit(&service),
                    FileKind::SystemdUnit,
                ));
                files.push(root_file(
                    format!("{}/{}.timer", layout.systemd_dir, job.name),
                    crate::systemd::timer(&job.name, &job.description, &on_calendar),
                    FileKind::SystemdUnit,
                ));
            }
            files
        }
    }
}

/// The timer units to enable (`pgha-backup-full.timer`, …) when the schedule uses timers.
pub fn timer_units(cluster: &Cluster) -> Vec<String> {
    match cluster.pgbackrest.schedule.kind {
        ScheduleKind::Cron => Vec::new(),
        ScheduleKind::SystemdTimer => jobs(cluster)
            .into_iter()
            .filter(|j| cron_to_on_calendar(&j.schedule).is_some())
            .map(|j| format!("{}.timer", j.name))
            .collect(),
    }
}

fn script(path: String, content: String, owner: &str, mode: u32) -> RenderedFile {
    RenderedFile {
        path,
        content,
        mode,
        owner: owner.to_string(),
        group: owner.to_string(),
        sensitive: false,
        kind: FileKind::Shell,
    }
}

/// Every pgBackRest-related file of the database host `node`: pgbackrest.conf, the bootstrap
/// and post-bootstrap scripts, the backup wrapper, the log clean-up script and the schedule.
pub fn files(cluster: &Cluster, node: &PatroniNode) -> Vec<RenderedFile> {
    let layout: Layout = cluster.layout();
    let pg = layout.postgres_user.as_str();
    let mut out = vec![
        config_file(cluster, node),
        script(
            bootstrap_script_path(cluster),
            bootstrap_script(cluster),
            pg,
            0o750,
        ),
        script(
            post_bootstrap_script_path(cluster),
            post_bootstrap_script(cluster),
            pg,
            0o750,
        ),
        script(
            backup_script_path(cluster),
            backup_script(cluster, node),
            "root",
            0o755,
        ),
    ];
    if cluster.log_cleanup.retention_days > 0 {
        out.push(script(
            log_cleanup_script_path(cluster),
            log_cleanup_script(cluster),
            "root",
            0o755,
        ));
    }
    out.extend(schedule_files(cluster));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_words_bare_and_quotes_the_rest() {
        assert_eq!(shell_quote("/usr/bin/pgbackrest"), "/usr/bin/pgbackrest");
        assert_eq!(shell_quote("--stanza=pg-ha"), "--stanza=pg-ha");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's $x"), r"'it'\''s $x'");
    }

    #[test]
    fn cron_expressions_become_calendar_events() {
        assert_eq!(
            cron_to_on_calendar("0 1 * * 0").as_deref(),
            Some("Sun *-*-* 01:00:00")
        );
        assert_eq!(
            cron_to_on_calendar("0 1 * * 1-6").as_deref(),
            Some("Mon..Sat *-*-* 01:00:00")
        );
        assert_eq!(
            cron_to_on_calendar("8 0 * * *").as_deref(),
            Some("*-*-* 00:08:00")
        );
        assert_eq!(
            cron_to_on_calendar("*/15 * * * 7,1").as_deref(),
            Some("Sun,Mon *-*-* *:00,15,30,45:00")
        );
        assert_eq!(
            cron_to_on_calendar("0 3 1,15 * *").as_deref(),
            Some("*-*-01,15 03:00:00")
        );
        assert_eq!(cron_to_on_calendar("0 3 1 * 1"), None);
        assert_eq!(cron_to_on_calendar("0 3 * *"), None);
    }

    #[test]
    fn global_section_is_the_shared_part_of_every_node_config() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/seed/cluster.yaml"
        ))
        .unwrap();
        let cluster = Cluster::from_yaml(&text).unwrap();
        let global = global_section(&cluster);
        assert!(global.starts_with("[global]\nrepo1-type=s3\n"), "{global}");
        for node in &cluster.nodes {
            let conf = config(&cluster, node);
            let (_, rest) = conf.split_once('\n').unwrap();
            assert!(
                rest.starts_with(&format!("{global}\n[pg-ha-cluster]\n")),
                "{conf}"
            );
        }
    }

    #[test]
    fn ini_values_with_line_breaks_are_unsafe() {
        assert!(ini_value_is_safe("abc"));
        assert!(!ini_value_is_safe("a\nrepo1-path=/x"));
        assert!(!ini_value_is_safe(" a"));
        assert_eq!(ini_value("a\nb"), "a");
    }
}
