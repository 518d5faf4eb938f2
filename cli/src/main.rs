//! `fstore`: checks a `features.toml` registry, prints the Rust structs generated from it, or
//! prints its fingerprint. See the `fstore_cli` library for what each command prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Check an fstore feature registry (features.toml) and print what is built from it.
///
/// Run `fstore check` in the CI of every job that writes features and of every model server,
/// and compare `fstore fingerprint` with the `REGISTRY_FINGERPRINT` of the code the servers were
/// built from, to catch a schema that has drifted.
#[derive(Parser)]
#[command(name = "fstore", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the registry; print every problem at file:line:column.
    ///
    /// Prints `PATH: ok (N views, N features, fingerprint …)` and exits 0, or prints every
    /// problem as `file:line:column: message` to stderr and exits 1. Run it in the CI of the
    /// writers (batch and streaming jobs) and of the model servers: a registry that passes here
    /// is one the derive macro and the runtime accept.
    Check {
        /// The registry file.
        #[arg(default_value = "features.toml")]
        path: PathBuf,
    },
    /// Print the Rust structs generated from the registry.
    ///
    /// One `#[derive(FeatureView)]` struct per view, with the registry's descriptions as docs,
    /// formatted and headed `// @generated`. Redirect it into a checked-in file
    /// (`fstore codegen > src/features.rs`) and have CI fail when regenerating changes it.
    /// Exits 1 with every problem if the registry is invalid.
    Codegen {
        /// The registry file.
        #[arg(default_value = "features.toml")]
        path: PathBuf,
    },
    /// Print the registry's fingerprint, to detect schema drift.
    ///
    /// 16 hex digits that change whenever something stored or read changes (names, types,
    /// defaults, TTLs, namespace, version), and not for descriptions, comments or formatting.
    /// Compare it in CI with the `REGISTRY_FINGERPRINT` of the generated code, or between the
    /// writers' and the model servers' copies of the registry. Exits 1 with every problem if the
    /// registry is invalid.
    Fingerprint {
        /// The registry file.
        #[arg(default_value = "features.toml")]
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    let (Command::Check { path } | Command::Codegen { path } | Command::Fingerprint { path }) =
        &command;
    let registry = match fstore_cli::load(path) {
        Ok(registry) => registry,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let name = path.display().to_string();
    match command {
        Command::Check { .. } => println!("{}", fstore_cli::summary(&registry, &name)),
        Command::Codegen { .. } => print!("{}", fstore_cli::render(&registry, &name)),
        Command::Fingerprint { .. } => println!("{}", registry.fingerprint()),
    }
    ExitCode::SUCCESS
}
