//! `fstore`: checks a `features.toml` registry, compares two versions of it, prints the Rust
//! structs generated from it, or prints its fingerprint; reads one entity (`get`) or inspects a
//! view's stored rows (`stats`) on a server, serves features over HTTP (`serve`), or bulk-loads a
//! file into a view (`load`). See the `fstore_cli` library for what each command prints.

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
    /// Serve features over HTTP, as Feast's feature server does, until SIGTERM or Ctrl-C.
    ///
    /// `POST /get-online-features` takes Feast's request, `{"features": ["view:feature", …],
    /// "entities": {"user_id": [ids]}, "full_feature_names": false}`, for one entity (named as
    /// in the registry, `user`, or as a Feast join key, `user_id`), with string or integer ids.
    /// It answers Feast's response, `{"metadata": {"feature_names": ["user_id", …]}, "results":
    /// [{"values", "statuses", "event_timestamps"}, …]}`: one result per column (the ids first,
    /// then each feature in the order asked for), one value per id, with its status (`PRESENT`,
    /// `NULL_VALUE`, `NOT_FOUND`, `OUTSIDE_MAX_AGE`) and the time its row was last written.
    /// Reads go through the dynamic API, so registry defaults and `max_age` apply.
    ///
    /// A request that cannot be answered gets 400 `{"error": "…"}` (an unknown view or feature
    /// comes with a did-you-mean), a body over the limit 413, a stored value that does not
    /// decode 500; 503 when the server cannot answer. `GET /health` is 200 when
    /// the server answers `PING`, else 503. `GET /metrics` is the Prometheus text format: the
    /// requests (`fstore_http_requests_total`, `fstore_http_request_duration_seconds`) and the
    /// store's calls (`fstore_call_duration_seconds`, …).
    ///
    /// Prints `fstore serve: listening on http://ADDR` to stderr. On SIGTERM or Ctrl-C, stops
    /// accepting, finishes the requests in flight (closing the connections still open after
    /// `--shutdown-timeout`), closes the store and exits 0. Exits 2 for an
    /// invalid registry, a missing URL, an unreachable server or an address it cannot listen on.
    Serve {
        /// The registry the data was written with.
        #[arg(default_value = "features.toml")]
        path: PathBuf,
        /// The address to listen on, `host:port` (port 0 picks a free one; the line printed at
        /// start says which).
        #[arg(long, value_name = "ADDR", default_value = fstore_cli::serve::DEFAULT_LISTEN)]
        listen: String,
        /// The most entity ids one request may ask for; a request with more gets 400.
        #[arg(long, value_name = "N", default_value_t = fstore_cli::serve::DEFAULT_MAX_ENTITIES)]
        max_entities: usize,
        /// How long to wait after SIGTERM for the requests in flight and the clients still
        /// connected before closing their connections, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = fstore_cli::serve::DEFAULT_SHUTDOWN_TIMEOUT.as_secs())]
        shutdown_timeout: u64,
        /// The server's URL, `redis://[user:password@]host[:port][/db]`, or a comma-separated
        /// list of cluster nodes; default: the VALKEY_URL environment variable (with the
        /// FSTORE_* settings of `Store::from_env`).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Bulk-load a CSV, JSON Lines or Parquet file into one view, checking every row first.
    ///
    /// The format is the file's extension (`.csv`, `.jsonl` or `.ndjson`, `.parquet`) or
    /// `--format`. Columns are the view's features plus the id column (`--id-column`); any
    /// other column is an error before anything is written (with a did-you-mean). Each row's
    /// cells are read as their registry type (CSV text as the stored text format: `28`,
    /// `1250.5`, `true`, a `float_list` as `[0.1,0.2]`; JSON and Parquet values of the matching
    /// type), then checked as the runtime checks a write: range, `len`, `vocab`, the entity id.
    /// An empty CSV cell, a JSON `null` or missing key and a Parquet null are absent: that
    /// feature is not written. A row that fails is rejected and the others are written, in
    /// pipelined batches of `--batch-size` entities, each entity one atomic write with the
    /// view's TTL; an entity the server refuses is rejected too. Progress goes to stderr (a bar
    /// on a terminal, else a line every 2 seconds); the summary to stdout: rows read, written
    /// and rejected, and the first 10 rejected rows as `file:line: reason` (Parquet: `file: row
    /// N`). Exits 0, 1 when rows were rejected (unless `--allow-rejects`), 2 for an unknown
    /// view or column, an invalid registry, a malformed or unreadable file (naming its line; the
    /// load stops there: the valid rows before it are written, none after, and loading again is
    /// safe), a missing URL or an unreachable server.
    Load(LoadArgs),
}

/// What `load` reads and where it writes.
#[derive(Args)]
struct LoadArgs {
    /// The view to write.
    view: String,
    /// The file to load.
    file: PathBuf,
    /// The column (JSON key) that holds the entity id.
    #[arg(long, value_name = "COL")]
    id_column: String,
    /// The file's format, when its extension does not say.
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<fstore_cli::load::FileFormat>,
    /// Entities per batch: one pipelined write of atomic per-entity writes.
    #[arg(
        long,
        value_name = "N",
        default_value_t = fstore_cli::load::DEFAULT_BATCH_SIZE,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    batch_size: usize,
    /// Check every row and write nothing (no server needed).
    #[arg(long)]
    dry_run: bool,
    /// Exit 0 even when rows were rejected (the valid rows are written either way).
    #[arg(long)]
    allow_rejects: bool,
    /// Write strings outside their feature's `vocab` instead of rejecting their row.
    #[arg(long)]
    allow_out_of_vocab: bool,
    /// The server's URL, `redis://[user:password@]host[:port][/db]`, or a comma-separated list
    /// of cluster nodes; default: the VALKEY_URL environment variable. Not needed with
    /// `--dry-run`.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The registry that declares the view.
    #[arg(long, value_name = "PATH", default_value = "features.toml")]
    registry: PathBuf,
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
        Command::Load(args) => load_file(args),
        Command::Serve {
            path,
            listen,
            max_entities,
            shutdown_timeout,
            url,
        } => serve(
            &path,
            &listen,
            max_entities,
            std::time::Duration::from_secs(shutdown_timeout),
            url,
        ),
    }
}

/// `fstore serve`: on a multi-threaded runtime, until SIGTERM or Ctrl-C; prints an error to
/// stderr and exits 2 when it cannot start or the server fails.
fn serve(
    path: &Path,
    listen: &str,
    max_entities: usize,
    shutdown_timeout: std::time::Duration,
    url: Option<String>,
) -> ExitCode {
    use fstore_cli::serve;
    let run = async {
        let registry = fstore_cli::load(path).map_err(OpsError::Registry)?;
        let store = serve::store_builder(url)?.build().await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| OpsError::Server(format!("cannot listen on {listen}: {e}")))?;
        let options = serve::Options::default()
            .max_entities(max_entities)
            .shutdown_timeout(shutdown_timeout)
            .metrics(serve::install_metrics()?);
        serve::serve(store, registry, listener, options).await
    };
    let result = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run),
        Err(e) => Err(OpsError::Server(format!(
            "cannot start the async runtime: {e}"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
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

/// `fstore load`: prints the summary to stdout and what went wrong to stderr. Exits 0, 1 when
/// rows were rejected (unless `--allow-rejects`), 2 when it cannot run or stops.
fn load_file(args: LoadArgs) -> ExitCode {
    let registry = match fstore_cli::load(&args.registry) {
        Ok(registry) => registry,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut options = fstore_cli::load::Options::new(args.view, args.id_column);
    options.format = args.format;
    options.batch_size = args.batch_size;
    options.dry_run = args.dry_run;
    options.allow_out_of_vocab = args.allow_out_of_vocab;
    let run = async {
        let store = if args.dry_run {
            fstore_runtime::Store::embedded()
        } else {
            load_store(args.url).await?
        };
        let store = store.with_registry(registry);
        Ok::<_, String>(fstore_cli::load::load(&store, &args.file, &options).await)
    };
    let result = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run),
        Err(e) => Err(format!("error: cannot start the async runtime: {e}")),
    };
    match result {
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
        Ok(Err(failure)) => {
            if failure.summary.read > 0 {
                print!("{}", failure.summary.text());
            }
            eprintln!("{}", failure.error);
            ExitCode::from(2)
        }
        Ok(Ok(summary)) => {
            print!("{}", summary.text());
            if summary.rejected == 0 || args.allow_rejects {
                return ExitCode::SUCCESS;
            }
            let rows = if summary.rejected == 1 { "row" } else { "rows" };
            eprintln!(
                "error: {} {rows} of {} rejected (listed above); the valid rows were {}; fix the \
                 file and load it again, or pass --allow-rejects to accept a partial load",
                summary.rejected,
                summary.file,
                if summary.dry_run {
                    "checked"
                } else {
                    "written"
                },
            );
            ExitCode::FAILURE
        }
    }
}

/// The store `load` writes to: `--url` or VALKEY_URL, one server or a comma-separated list of
/// cluster nodes.
async fn load_store(url: Option<String>) -> Result<fstore_runtime::Store, String> {
    let url = url
        .or_else(|| std::env::var(server::URL_VAR).ok())
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            format!(
                "error: no server to write to: pass `--url redis://host:port` or set {} \
                 (`--dry-run` needs none)",
                server::URL_VAR
            )
        })?;
    let builder = if url.contains(',') {
        let nodes: Vec<&str> = url.split(',').map(str::trim).collect();
        fstore_runtime::Store::cluster_builder(&nodes)
    } else {
        fstore_runtime::Store::builder(&url)
    };
    builder.build().await.map_err(|e| format!("error: {e}"))
}
