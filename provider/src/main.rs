//! `terraform-provider-pgha`: serves the provider to Terraform, or generates its docs.
//!
//! Terraform starts the binary without arguments and with go-plugin's magic cookie in the
//! environment; anything else is a person at a terminal, who gets usage instead of a gRPC
//! server waiting silently for a handshake.

use std::path::PathBuf;
use std::process::ExitCode;

use terraform_provider_pgha::{docs, logging, provider, tfplugin};

const USAGE: &str = "\
usage:
  terraform-provider-pgha                 (started by Terraform; serves the provider)
  terraform-provider-pgha docs [--out DIR] [--examples DIR] [--check]
      Generate Registry docs (default --out docs, --examples examples) from the provider's
      schema; with --check, write nothing and exit 1 if DIR is stale.
  terraform-provider-pgha --version";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve(),
        Some("docs") => docs_command(&args[1..]),
        Some("--version") => {
            println!("terraform-provider-pgha {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown argument {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn serve() -> ExitCode {
    if !tfplugin::started_by_terraform() {
        eprintln!(
            "This binary is a plugin for Terraform and is started by Terraform, not by hand.\n\
             To use it, add the pgha provider to a configuration's required_providers.\n{USAGE}"
        );
        return ExitCode::from(1);
    }
    logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(tfplugin::serve(provider::PghaProvider)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "provider server failed");
            eprintln!("provider server failed: {e}");
            ExitCode::from(1)
        }
    }
}

fn docs_command(args: &[String]) -> ExitCode {
    let mut out = PathBuf::from("docs");
    let mut examples = PathBuf::from("examples");
    let mut check = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--out" | "--examples" => {
                let Some(value) = iter.next() else {
                    eprintln!("{arg} needs a directory\n{USAGE}");
                    return ExitCode::from(2);
                };
                if arg == "--out" {
                    out = PathBuf::from(value);
                } else {
                    examples = PathBuf::from(value);
                }
            }
            other => {
                eprintln!("unknown docs argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let result = provider::schemas()
        .map_err(docs::DocsError::Schema)
        .and_then(|schemas| docs::generate(&schemas, &examples));
    let generated = match result {
        Ok(d) => d,
        Err(e) => {
            eprintln!("docs: {e}");
            return ExitCode::from(1);
        }
    };
    if check {
        match docs::stale(&out, &generated) {
            Ok(problems) if problems.is_empty() => ExitCode::SUCCESS,
            Ok(problems) => {
                for p in problems {
                    eprintln!("{p}");
                }
                eprintln!("docs are stale: run `terraform-provider-pgha docs`");
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("docs: {e}");
                ExitCode::from(1)
            }
        }
    } else {
        match docs::write(&out, &generated) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("docs: {e}");
                ExitCode::from(1)
            }
        }
    }
}
