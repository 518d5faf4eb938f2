//! `fstore`: checks a `features.toml` registry, compares two versions of it, prints the Rust
//! structs generated from it, or prints its fingerprint; reads one entity (`get`) or inspects a
//! view's stored rows (`stats`) on a server. See the `fstore_cli` library for what each command
//! prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use fstore_cli::server::{self, OpsError, Server};
use fstore_cli::{ChangeKind, LoadError};

/// Check an fstore feature registry (features.toml) and print what is built from it.
///
/// Run `fstore check` in the CI of every job that writes features and of every model server,
/// and compare `fstore fingerprint` with the `REGISTRY_FINGERPRINT` of the code the servers were
/// built from, to catch a schema that has drifted. Run `fstore diff` (or `fstore check
/// --against`) on every change to the registry, to catch one that breaks the stored data.
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
    ///
    /// With `--against OLD.toml`, then compares the registry with OLD.toml as `fstore diff OLD.toml
    /// PATH` does, with its output and exit status (2 when either registry is invalid).
    Check {
        /// The registry file.
        #[arg(default_value = "features.toml")]
        path: PathBuf,
        /// Also compare the registry with this older one (such as the deployed copy), and exit 1
        /// if any change breaks the data stored under it.
        #[arg(long, value_name = "OLD.toml")]
        against: Option<PathBuf>,
        /// `text`, or `json` for CI tools: `{"ok":true,"views":N,…}` or
        /// `{"ok":false,"errors":[{"file","line","column","message"}]}` on stdout, and with
        /// `--against` the object `fstore diff --format json` prints.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Compare two registries; classify every change as safe or breaking for the stored data.
    ///
    /// Prints each change as `file:line:column: breaking: message` (or `safe:`), at its place in
    /// NEW.toml (in OLD.toml for something removed), then `N changes: B breaking, S safe`.
    /// Breaking: whatever makes readers or writers of the data stored under OLD.toml fail or see
    /// other values (a type, `len`, `encoding` or default changed, a feature or view removed, a
    /// required feature added, a `vocab` reordered, a `ttl` shortened, the `namespace` changed).
    /// A higher `[store] version` in NEW.toml moves every key to a fresh, empty key space, so
    /// then every change is safe for the old data, and the new keys need re-materialising.
    /// Exits 0 when nothing breaks, 1 when something does, 2 when a registry is invalid (with
    /// its problems, as `fstore check` prints them).
    Diff {
        /// The registry the stored data was written with (such as the deployed copy).
        #[arg(value_name = "OLD.toml")]
        old: PathBuf,
        /// The changed registry.
        #[arg(value_name = "NEW.toml")]
        new: PathBuf,
        /// `text`, or `json` for CI tools: `{"changes":[{"kind","file","line","column","view",
        /// "feature","message"}],"breaking":B,"safe":S}` on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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
    /// Print one entity's features as stored on the server, with their status, age and TTL.
    ///
    /// Reads through the dynamic API, as a reader would (defaults applied, every value decoded
    /// by its registry type), and prints one `feature = value  (STATUS)` line per feature
    /// (`PRESENT`, `NULL_VALUE`, `NOT_FOUND`), then `updated: 12.3s ago` (from `_updated_at`)
    /// and `ttl: 3587.7s` (or `no expiry`, a key that never expires). Exits 0 when the entity
    /// exists, 1 with `not found: KEY` when it does not, 2 for an unknown view or feature, a
    /// missing URL or an unreachable server.
    Get {
        /// The view.
        view: String,
        /// The entity id.
        id: String,
        /// Only these features, in this order (comma-separated).
        #[arg(long, value_name = "a,b", value_delimiter = ',')]
        features: Option<Vec<String>>,
        /// Print one JSON object: `{"view","id","key","found","features":{name:{"value",
        /// "status","defaulted"}},"updated_at","age_seconds","ttl_ms","expiry"}`.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Inspect a sample of a view's stored rows: TTLs, coverage, drift, malformed values, memory.
    ///
    /// Scans the view's keys (`SCAN` in batches, stopping after `--sample` keys, so the cost is
    /// bounded; the output says when it stopped early) and reports the TTL distribution, every
    /// key without a TTL (a defect: it never expires), how many rows hold each registry feature,
    /// stored fields the registry does not declare (drift), values that do not decode as their
    /// registry type, and the mean and largest `MEMORY USAGE` of up to 100 keys. Findings that
    /// need attention start with `WARNING:`. Exits 0, or 2 for an unknown view, a missing URL
    /// or an unreachable server.
    Stats {
        /// The view.
        view: String,
        /// The most keys to look at.
        #[arg(long, value_name = "N", default_value_t = fstore_cli::stats::DEFAULT_SAMPLE)]
        sample: usize,
        /// Print one JSON object (its fields are listed in the library's `Stats::json`).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// The server and registry `get` and `stats` read.
#[derive(Args)]
struct ServerArgs {
    /// The server's URL, `redis://[user:password@]host[:port][/db]` (one server, not a
    /// cluster); default: the VALKEY_URL environment variable.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The registry the data was written with.
    #[arg(long, value_name = "PATH", default_value = "features.toml")]
    registry: PathBuf,
}

/// How `check` and `diff` print their results.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Lines for people: `file:line:column: message`.
    Text,
    /// One JSON object on stdout, for CI tools.
    Json,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check {
            path,
            against: None,
            format,
        } => check(&path, format),
        Command::Check {
            path,
            against: Some(old),
            format,
        } => compare(&old, &path, format, true),
        Command::Diff { old, new, format } => compare(&old, &new, format, false),
        Command::Codegen { path } => match fstore_cli::load(&path) {
            Ok(registry) => {
                print!(
                    "{}",
                    fstore_cli::render(&registry, &path.display().to_string())
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&[e], Format::Text, ExitCode::FAILURE),
        },
        Command::Fingerprint { path } => match fstore_cli::load(&path) {
            Ok(registry) => {
                println!("{}", registry.fingerprint());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&[e], Format::Text, ExitCode::FAILURE),
        },
        Command::Get {
            view,
            id,
            features,
            json,
            server,
        } => on_server(server, async move |mut server| {
            let fields: Option<Vec<&str>> = features
                .as_ref()
                .map(|f| f.iter().map(String::as_str).collect());
            let entity = fstore_cli::get::get(&mut server, &view, &id, fields.as_deref()).await?;
            let now = server::now_ms();
            if json {
                println!("{}", entity.json(now));
            } else {
                print!("{}", entity.text(now));
            }
            Ok(if entity.found() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }),
        Command::Stats {
            view,
            sample,
            json,
            server,
        } => on_server(server, async move |mut server| {
            let stats = fstore_cli::stats::stats(&mut server, &view, sample).await?;
            if json {
                println!("{}", stats.json());
            } else {
                print!("{}", stats.text());
            }
            Ok(ExitCode::SUCCESS)
        }),
    }
}

/// Connects to the server `args` name, with their registry, and runs `op` on a one-thread
/// runtime; prints an error to stderr and exits 2 when anything fails.
fn on_server(
    args: ServerArgs,
    op: impl AsyncFnOnce(Server) -> Result<ExitCode, OpsError>,
) -> ExitCode {
    let run = async {
        let url = server::server_url(args.url)?;
        let registry = fstore_cli::load(&args.registry).map_err(OpsError::Registry)?;
        op(Server::connect(&url, registry).await?).await
    };
    let result = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run),
        Err(e) => Err(OpsError::Server(format!(
            "cannot start the async runtime: {e}"
        ))),
    };
    result.unwrap_or_else(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })
}

fn check(path: &Path, format: Format) -> ExitCode {
    let registry = match fstore_cli::load(path) {
        Ok(registry) => registry,
        Err(e) => return fail(&[e], format, ExitCode::FAILURE),
    };
    let name = path.display().to_string();
    match format {
        Format::Text => println!("{}", fstore_cli::summary(&registry, &name)),
        Format::Json => println!("{}", fstore_cli::summary_json(&registry, &name)),
    }
    ExitCode::SUCCESS
}

/// `fstore diff old new`, and `fstore check new --against old` (which first prints the check's
/// summary line).
fn compare(old: &Path, new: &Path, format: Format, check: bool) -> ExitCode {
    let (old, new) = match (fstore_cli::load(old), fstore_cli::load(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (old, new) => {
            let errors: Vec<LoadError> = [old.err(), new.err()].into_iter().flatten().collect();
            return fail(&errors, format, ExitCode::from(2));
        }
    };
    let changes = fstore_cli::diff(&old, &new);
    match format {
        Format::Text => {
            if check {
                println!("{}", fstore_cli::summary(&new, &new.file));
            }
            for change in &changes {
                println!("{change}");
            }
            println!("{}", fstore_cli::diff_summary(&changes));
        }
        Format::Json => println!("{}", fstore_cli::diff_json(&changes)),
    }
    if changes.iter().any(|c| c.kind == ChangeKind::Breaking) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints why registries could not be loaded (to stderr as text, to stdout as JSON) and returns
/// `status`.
fn fail(errors: &[LoadError], format: Format, status: ExitCode) -> ExitCode {
    match format {
        Format::Text => {
            for e in errors {
                eprintln!("{e}");
            }
        }
        Format::Json => println!("{}", fstore_cli::errors_json(errors)),
    }
    status
}
