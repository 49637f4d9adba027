//! `pgha`: validate a cluster specification, render every host's files, lint hand-written files.
//!
//! Exit codes: 0 success (warnings allowed), 1 errors found (nothing rendered), 2 a file could
//! not be read or written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use pgha_config::diagnostic::{has_errors, Location, Severity};
use pgha_config::{Cluster, Diagnostic, HostPlan};

#[derive(Parser)]
#[command(
    name = "pgha",
    version,
    about = "Model, validate, render and lint a Patroni + etcd + pgBackRest PostgreSQL cluster"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One line per finding, for people.
    Human,
    /// One JSON document on stdout, for tools.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check a cluster specification and report every problem.
    Validate {
        /// The cluster specification (YAML).
        #[arg(long)]
        spec: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Write every host's files under OUT/<host>/ plus OUT/<host>/cloud-init.yaml.
    Render {
        /// The cluster specification (YAML).
        #[arg(long)]
        spec: PathBuf,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Check hand-written files: patroni.yml, etcd env files, pgbackrest.conf, crontabs, shell
    /// scripts, systemd units.
    Lint {
        /// Files to check; their stanza names are also compared with each other.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

/// A failure that stops the command before any verdict: exit code 2.
struct IoFailure(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { spec, format } => validate(&spec, format),
        Command::Render { spec, out, format } => render(&spec, &out, format),
        Command::Lint { files, format } => lint(&files, format),
    };
    match result {
        Ok(code) => code,
        Err(IoFailure(message)) => {
            eprintln!("pgha: {message}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &Path) -> Result<String, IoFailure> {
    std::fs::read_to_string(path)
        .map_err(|e| IoFailure(format!("cannot read {}: {e}", path.display())))
}

/// Reads and parses a spec; a parse error becomes one diagnostic at the file's line and column.
fn load(spec: &Path) -> Result<Result<Cluster, Diagnostic>, IoFailure> {
    let text = read(spec)?;
    Ok(Cluster::from_yaml(&text).map_err(|e| {
        let (line, column) = e.line_column().unwrap_or((0, 0));
        let message = match &e {
            pgha_config::SpecError::Parse { message, .. } => message.clone(),
        };
        Diagnostic::new(
            "C001",
            Severity::Error,
            Location::File {
                file: spec.display().to_string(),
                line,
                column,
            },
            message,
        )
        .with_hint("see examples/seed/cluster.yaml and docs/cluster-spec.md for the format")
    }))
}

fn summary(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    (errors, warnings)
}

fn print_human(diagnostics: &[Diagnostic]) {
    let mut err = std::io::stderr().lock();
    for d in diagnostics {
        let _ = writeln!(err, "{d}");
    }
    let (errors, warnings) = summary(diagnostics);
    if errors + warnings > 0 {
        let _ = writeln!(err, "{errors} error(s), {warnings} warning(s)");
    }
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_string())
    );
}

fn diagnostics_json(diagnostics: &[Diagnostic]) -> serde_json::Value {
    let (errors, warnings) = summary(diagnostics);
    serde_json::json!({
        "diagnostics": diagnostics,
        "errors": errors,
        "warnings": warnings,
    })
}

fn verdict(diagnostics: &[Diagnostic]) -> ExitCode {
    if has_errors(diagnostics) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn validate(spec: &Path, format: Format) -> Result<ExitCode, IoFailure> {
    let diagnostics = match load(spec)? {
        Ok(cluster) => pgha_config::validate(&cluster),
        Err(d) => vec![d],
    };
    match format {
        Format::Human => {
            print_human(&diagnostics);
            if !has_errors(&diagnostics) {
                println!("{}: valid", spec.display());
            }
        }
        Format::Json => print_json(&diagnostics_json(&diagnostics)),
    }
    Ok(verdict(&diagnostics))
}

fn render(spec: &Path, out: &Path, format: Format) -> Result<ExitCode, IoFailure> {
    let cluster = match load(spec)? {
        Ok(c) => c,
        Err(d) => {
            report_refusal(&[d], format);
            return Ok(ExitCode::from(1));
        }
    };
    let (hosts, warnings) = match pgha_config::render_cluster(&cluster) {
        Ok(ok) => ok,
        Err(refused) => {
            report_refusal(&refused.0, format);
            return Ok(ExitCode::from(1));
        }
    };
    let mut written = Vec::new();
    for host in &hosts {
        written.push(write_host(out, host)?);
    }
    match format {
        Format::Human => {
            print_human(&warnings);
            for (host, files) in hosts.iter().zip(&written) {
                let bundle = pgha_config::bundle::bundle(host);
                let size = pgha_config::bundle::metadata_size(
                    &pgha_config::cloud_init::render(host),
                    bundle.as_ref(),
                );
                println!(
                    "{} ({:?}): {} files; metadata {} bytes (user_data {} after base64, {} {}) of OCI's {}",
                    host.host,
                    host.role,
                    files.len(),
                    size.total(),
                    size.user_data,
                    pgha_config::bundle::METADATA_KEY,
                    size.bundle,
                    pgha_config::bundle::OCI_METADATA_LIMIT
                );
            }
            println!("rendered {} hosts into {}", hosts.len(), out.display());
        }
        Format::Json => {
            let hosts: Vec<_> = hosts
                .iter()
                .zip(&written)
                .map(|(h, files)| {
                    serde_json::json!({"host": h.host, "role": h.role, "address": h.address, "files": files})
                })
                .collect();
            let mut v = diagnostics_json(&warnings);
            v["hosts"] = serde_json::Value::Array(hosts);
            print_json(&v);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report_refusal(diagnostics: &[Diagnostic], format: Format) {
    match format {
        Format::Human => {
            print_human(diagnostics);
            eprintln!("pgha: nothing rendered; fix the errors above");
        }
        Format::Json => print_json(&diagnostics_json(diagnostics)),
    }
}

/// Writes one host's files under `out/<host>/` with their modes, and its cloud-config as
/// `out/<host>/cloud-init.yaml`. Returns the paths written.
fn write_host(out: &Path, host: &HostPlan) -> Result<Vec<String>, IoFailure> {
    let base = out.join(&host.host);
    let mut written = Vec::new();
    let mut files: Vec<(PathBuf, &str, u32)> = host
        .files
        .iter()
        .map(|f| {
            (
                base.join(f.path.trim_start_matches('/')),
                f.content.as_str(),
                f.mode,
            )
        })
        .collect();
    let cloud_config = pgha_config::cloud_init::render(host);
    files.push((base.join("cloud-init.yaml"), cloud_config.as_str(), 0o600));
    // The metadata value the host's reconcile unit reads (`metadata.pgha_bundle` on OCI).
    let bundle = pgha_config::bundle::bundle(host);
    if let Some(b) = &bundle {
        files.push((
            base.join(pgha_config::bundle::METADATA_KEY),
            b.encoded.as_str(),
            0o600,
        ));
    }
    for (path, content, mode) in files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| IoFailure(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, content)
            .map_err(|e| IoFailure(format!("cannot write {}: {e}", path.display())))?;
        set_mode(&path, mode)?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), IoFailure> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| IoFailure(format!("cannot set mode of {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), IoFailure> {
    Ok(())
}

fn lint(paths: &[PathBuf], format: Format) -> Result<ExitCode, IoFailure> {
    let mut files = Vec::new();
    for p in paths {
        files.push((p.display().to_string(), read(p)?));
    }
    let diagnostics = pgha_config::lint::lint_files(&files);
    match format {
        Format::Human => {
            print_human(&diagnostics);
            if !has_errors(&diagnostics) {
                println!("{} file(s): no errors", files.len());
            }
        }
        Format::Json => print_json(&diagnostics_json(&diagnostics)),
    }
    Ok(verdict(&diagnostics))
}
