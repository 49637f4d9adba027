//! Acceptance-test harness: runs the real `terraform` binary against this provider.
//!
//! Each [`Workspace`] is its own temporary directory with its own CLI configuration, whose
//! `dev_overrides` point Terraform at the provider binary cargo built for this test run, so
//! tests run in parallel without sharing state and need no `terraform init` (dev overrides
//! skip installation; the built-in `terraform_data` needs none either). Every command runs with
//! a timeout in its own process group; after each command the harness checks that no process
//! is left running in the workspace (Terraform must have stopped the provider), and dropping a
//! workspace kills anything that is.
//!
//! ```ignore
//! let ws = Workspace::new(r#"resource "terraform_data" "a" { input = "alpha" }"#);
//! ws.apply();
//! assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);
//! ```
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// Terraform binary under test; `PGHA_TERRAFORM` overrides it.
pub fn terraform_binary() -> PathBuf {
    std::env::var_os("PGHA_TERRAFORM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/terraform"))
}

/// The provider binary cargo built for this test run.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-pgha"))
}

/// How long one Terraform command may take before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

/// Result of one Terraform command.
#[derive(Debug)]
pub struct Run {
    /// What was run, for failure messages.
    pub command: String,
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
}

impl Run {
    /// Panic with the full output unless the command succeeded.
    pub fn success(self) -> Self {
        assert_eq!(
            self.code,
            Some(0),
            "{} failed:\n{}",
            self.command,
            self.describe()
        );
        self
    }
    /// Panic with the full output unless the command failed.
    pub fn failure(self) -> Self {
        assert_ne!(
            self.code,
            Some(0),
            "{} unexpectedly succeeded:\n{}",
            self.command,
            self.describe()
        );
        self
    }
    /// stdout and stderr together.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    /// [`Run::output`] with Terraform's box drawing and line wrapping undone, for phrase
    /// matching.
    pub fn flat(&self) -> String {
        self.output()
            .replace(['│', '╷', '╵'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
    fn describe(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Outcome of `terraform plan -detailed-exitcode`.
#[derive(Debug, PartialEq, Eq)]
pub enum PlanOutcome {
    /// Exit code 0: the plan is empty.
    NoChanges,
    /// Exit code 2: the plan has changes.
    Changes,
    /// Exit code 1 (or a signal): the plan failed; holds the output.
    Error(String),
}

/// A Terraform working directory with the provider wired in through dev overrides.
pub struct Workspace {
    dir: tempfile::TempDir,
    cli_config: PathBuf,
}

impl Workspace {
    /// A workspace whose `main.tf` is `config`; `providers.tf` declares the pgha provider.
    pub fn new(config: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("pgha-acc-")
            .tempdir()
            .expect("create a temporary directory");
        let overrides = provider_binary()
            .parent()
            .expect("the provider binary lives in a directory")
            .to_owned();
        let cli_config = dir.path().join("terraform.rc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{}\" = {}\n  }}\n  direct {{}}\n}}\n",
                terraform_provider_pgha::PROVIDER_SOURCE,
                Json::String(overrides.display().to_string()),
            ),
        )
        .expect("write the CLI configuration");
        let ws = Self { dir, cli_config };
        ws.write(
            "providers.tf",
            "terraform {\n  required_providers {\n    pgha = { source = \"pgha/pgha\" }\n  }\n}\n",
        );
        ws.set_config(config);
        ws
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file in the workspace.
    pub fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.path().join(name), contents).expect("write a workspace file");
    }

    /// Replace `main.tf`.
    pub fn set_config(&self, config: &str) {
        self.write("main.tf", config);
    }

    /// Run `terraform <args>` in the workspace, wait (with a timeout), and check that nothing
    /// it started is still running.
    pub fn terraform(&self, args: &[&str]) -> Run {
        self.terraform_with_env(args, &[])
    }

    /// Like [`Workspace::terraform`], with extra environment variables (`TF_LOG`, ...).
    /// Variables that would change Terraform's behaviour are cleared first.
    pub fn terraform_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let command = format!("terraform {}", args.join(" "));
        let mut cmd = Command::new(terraform_binary());
        for var in [
            "TF_LOG",
            "TF_LOG_PATH",
            "TF_LOG_PROVIDER",
            "TF_LOG_CORE",
            "TF_CLI_ARGS",
            "TF_DATA_DIR",
            "TF_WORKSPACE",
            "TF_PLUGIN_CACHE_DIR",
            "PLUGIN_LOG_FILE",
        ] {
            cmd.env_remove(var);
        }
        cmd.args(args)
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            // Set on purpose: diagnostics must not grow backtraces when users set it.
            .env("RUST_BACKTRACE", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.run(cmd, command)
    }

    fn run(&self, mut cmd: Command, command: String) -> Run {
        use std::os::unix::process::CommandExt;
        // Own process group, so a timeout can kill Terraform and the provider it started.
        cmd.process_group(0);
        let mut child = cmd.spawn().expect("start terraform");
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let code = wait_with_timeout(&mut child, COMMAND_TIMEOUT, &command);
        let run = Run {
            command,
            code,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        };
        let leftovers = wait_for_no_processes(self.path(), Duration::from_secs(5));
        assert!(
            leftovers.is_empty(),
            "{} left processes running in {}: {leftovers:?}",
            run.command,
            self.path().display()
        );
        run
    }

    /// `terraform apply -auto-approve`, which must succeed.
    pub fn apply(&self) -> Run {
        self.terraform(&["apply", "-auto-approve", "-no-color"])
            .success()
    }

    /// `terraform destroy -auto-approve`, which must succeed.
    pub fn destroy(&self) -> Run {
        self.terraform(&["destroy", "-auto-approve", "-no-color"])
            .success()
    }

    /// `terraform plan -detailed-exitcode`.
    pub fn plan_outcome(&self) -> PlanOutcome {
        let run = self.terraform(&["plan", "-detailed-exitcode", "-no-color"]);
        match run.code {
            Some(0) => PlanOutcome::NoChanges,
            Some(2) => PlanOutcome::Changes,
            _ => PlanOutcome::Error(run.output()),
        }
    }

    /// Human-readable `terraform plan` output (must succeed).
    pub fn plan_text(&self) -> Run {
        self.terraform(&["plan", "-no-color"]).success()
    }

    /// The machine-readable plan: `plan -out` then `show -json` of the saved plan.
    /// Note: this JSON contains sensitive values in clear text (marked in `*_sensitive`).
    pub fn plan_json(&self) -> Json {
        self.terraform(&["plan", "-no-color", "-out=tfplan"])
            .success();
        let show = self.terraform(&["show", "-json", "tfplan"]).success();
        serde_json::from_str(&show.stdout).expect("show -json prints JSON")
    }

    /// The streamed UI messages of `terraform plan -json` (one JSON object per line).
    pub fn plan_stream(&self) -> (Run, Vec<Json>) {
        let run = self.terraform(&["plan", "-json"]);
        let messages = run
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (run, messages)
    }

    /// `terraform show -json` of the current state.
    pub fn state_json(&self) -> Json {
        let show = self.terraform(&["show", "-json"]).success();
        serde_json::from_str(&show.stdout).expect("show -json prints JSON")
    }

    /// `terraform validate -json` (whatever its exit code) parsed.
    pub fn validate_json(&self) -> Json {
        let run = self.terraform(&["validate", "-json", "-no-color"]);
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!("validate -json output is not JSON ({e}):\n{}", run.output())
        })
    }

    /// `terraform import ADDRESS ID` (result returned unchecked).
    pub fn import(&self, address: &str, id: &str) -> Run {
        self.terraform(&["import", "-no-color", address, id])
    }

    /// `terraform state rm ADDRESS`, which must succeed.
    pub fn state_rm(&self, address: &str) -> Run {
        self.terraform(&["state", "rm", "-no-color", address])
            .success()
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        // Best effort after a failed assertion: nothing may outlive the test.
        for pid in processes_in(self.path()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// A resource change from `show -json` of a plan, by address.
pub fn resource_change<'a>(plan: &'a Json, address: &str) -> &'a Json {
    plan["resource_changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["address"] == address))
        .unwrap_or_else(|| panic!("no resource change for {address} in plan:\n{plan:#}"))
}

/// The actions (`["create"]`, `["update"]`, `["delete","create"]`, ...) planned for `address`.
pub fn actions(plan: &Json, address: &str) -> Vec<String> {
    resource_change(plan, address)["change"]["actions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A resource's attribute values from `show -json` of the state.
pub fn state_attributes<'a>(state: &'a Json, address: &str) -> &'a Json {
    state["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["address"] == address))
        .map(|r| &r["values"])
        .unwrap_or_else(|| panic!("{address} not in state:\n{state:#}"))
}

/// Whether `diagnostics` (JSON diagnostics of `validate -json` or `plan -json`) hold an error
/// whose summary starts with `code` and whose range starts on `line`.
pub fn has_error_at(diagnostics: &[Json], code: &str, line: u64) -> bool {
    diagnostics.iter().any(|d| {
        d["severity"] == "error"
            && d["summary"].as_str().is_some_and(|s| s.starts_with(code))
            && d["range"]["start"]["line"] == line
    })
}

/// The 1-based line in `text` of the first line containing `needle` after the first line
/// containing `after` (to find, say, the second `key = "a"`).
pub fn line_of(text: &str, after: &str, needle: &str) -> u64 {
    let start = text.lines().position(|l| l.contains(after)).unwrap_or(0);
    text.lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i as u64 + 1)
        .unwrap_or_else(|| panic!("{needle:?} not found after {after:?}"))
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn wait_with_timeout(child: &mut Child, timeout: Duration, command: &str) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                // Kill the whole group: Terraform and any provider it started.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.wait();
                panic!("{command} timed out after {timeout:?}");
            }
        }
    }
}

/// PIDs of processes whose working directory is `dir` (Terraform runs providers there).
pub fn processes_in(dir: &Path) -> Vec<u32> {
    let Ok(canonical) = dir.canonicalize() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == canonical)
        })
        .collect()
}

fn wait_for_no_processes(dir: &Path, grace: Duration) -> Vec<u32> {
    let deadline = Instant::now() + grace;
    loop {
        let left = processes_in(dir);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
