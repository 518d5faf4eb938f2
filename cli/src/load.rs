//! `fstore load VIEW FILE --id-column COL`: bulk-loads a CSV, JSON Lines or Parquet file into one
//! view of the registry.
//!
//! Every row is checked before anything of it is written: its cells are read as their
//! feature's registry type (text cells by the runtime's [`codec`], the
//! same text format every writer stores), then the row goes through the dynamic API's own
//! checks (those of [`Store::check_write`]: range, `len`, `vocab` on a store that refuses values
//! outside it, the entity id). A row that fails is *rejected*, with its place in the file and
//! the reason; the others are written in batches of [`Options::batch_size`] through
//! [`Store::write_batch`] (pipelined, each entity one atomic script call with its TTL), and an
//! entity the server refuses is a rejected row too. `write_batch` checks every row of a batch
//! before it sends any; only when it refuses one is each row of that batch checked on its own,
//! so that a valid file is checked once. While one batch is being written, the next is read.
//! Columns that are not features of the view (other than the id column) make the whole file an
//! error before anything is read.
//!
//! Cells: an empty CSV cell, a JSON `null` or a missing key, and a Parquet null are *absent*:
//! the feature is not written (a stored value stays as it was). A `float_list` in CSV is JSON
//! array text (`[0.1,0.2]`); in JSON Lines an array of numbers; in Parquet a list of `float` or
//! `double`. A row with no feature value at all is rejected.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use fstore_runtime::Store;
//!
//! let registry = fstore_cli::load(Path::new("features.toml"))?;
//! let store = Store::builder("redis://127.0.0.1:6379").build().await?.with_registry(registry);
//! let options = fstore_cli::load::Options::new("user_profile", "user_id");
//! let summary = fstore_cli::load::load(&store, Path::new("users.csv"), &options).await?;
//! print!("{}", summary.text());
//! # Ok(()) }
//! ```

mod csv_file;
mod jsonl_file;
#[cfg(feature = "parquet")]
mod parquet_file;

use std::fmt;
use std::io::IsTerminal as _;
use std::path::Path;
use std::time::{Duration, Instant};

use fstore_registry::{did_you_mean, Feature, FeatureType, View};
use fstore_runtime::codec::{self, ListEncoding, ListSpec};
use fstore_runtime::{FeatureValue, Store, Value, WriteOutcome};

/// Rows per [`Store::write_batch`] call unless `--batch-size` says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 1_000;

/// How many rejected rows the summary lists (all are counted).
pub const SHOWN_REJECTS: usize = 10;

/// How often the progress lines are printed when stderr is not a terminal.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// The formats `load` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    /// Comma-separated values with a header line (`.csv`).
    Csv,
    /// One JSON object per line (`.jsonl`, `.ndjson`).
    Jsonl,
    /// Apache Parquet (`.parquet`, `.pq`), with the `parquet` feature.
    Parquet,
}

impl FileFormat {
    /// The format of `path` by its extension (any case): `.csv`, `.jsonl`/`.ndjson`,
    /// `.parquet`/`.pq`; `None` for any other.
    ///
    /// ```
    /// use fstore_cli::load::FileFormat;
    /// use std::path::Path;
    ///
    /// assert_eq!(FileFormat::from_path(Path::new("users.CSV")), Some(FileFormat::Csv));
    /// assert_eq!(FileFormat::from_path(Path::new("a/b.ndjson")), Some(FileFormat::Jsonl));
    /// assert_eq!(FileFormat::from_path(Path::new("users.json")), None);
    /// ```
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(FileFormat::Csv),
            "jsonl" | "ndjson" => Some(FileFormat::Jsonl),
            "parquet" | "pq" => Some(FileFormat::Parquet),
            _ => None,
        }
    }
}

/// What to load, and how.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The view to write.
    pub view: String,
    /// The column (JSON key) that holds the entity id.
    pub id_column: String,
    /// The file's format; `None`: by its extension ([`FileFormat::from_path`]).
    pub format: Option<FileFormat>,
    /// Rows per [`Store::write_batch`] call (at least 1).
    pub batch_size: usize,
    /// Check every row and write nothing.
    pub dry_run: bool,
    /// Write strings outside their feature's `vocab` (by default such a row is rejected).
    pub allow_out_of_vocab: bool,
    /// Report progress on stderr: a bar when it is a terminal, a line every
    /// [`PROGRESS_EVERY`] otherwise.
    pub progress: bool,
}

impl Options {
    /// Loading into `view` with ids from `id_column`: format by extension, batches of
    /// [`DEFAULT_BATCH_SIZE`], out-of-vocabulary strings rejected, progress on stderr.
    pub fn new(view: impl Into<String>, id_column: impl Into<String>) -> Options {
        Options {
            view: view.into(),
            id_column: id_column.into(),
            format: None,
            batch_size: DEFAULT_BATCH_SIZE,
            dry_run: false,
            allow_out_of_vocab: false,
            progress: true,
        }
    }
}

/// Where a row is in its file: a line (CSV, where a quoted cell may span lines, the line it
/// starts on; JSON Lines) or a row number counted from 1 (Parquet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// A line number, from 1.
    Line(u64),
    /// A row number, from 1.
    Row(u64),
}

impl Place {
    /// `users.csv:7`, or `items.parquet: row 7`.
    pub fn in_file(self, file: &str) -> String {
        match self {
            Place::Line(line) => format!("{file}:{line}"),
            Place::Row(row) => format!("{file}: row {row}"),
        }
    }
}

/// A row that was not written, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Where it is in the file.
    pub place: Place,
    /// Why it was not written.
    pub reason: String,
}

/// What a load did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Summary {
    /// The file, as given.
    pub file: String,
    /// The view.
    pub view: String,
    /// Rows read (valid or not).
    pub read: u64,
    /// Rows that passed every check (with `--dry-run`: would be written).
    pub valid: u64,
    /// Rows the server applied.
    pub written: u64,
    /// Rows rejected: by the checks, or refused by the server.
    pub rejected: u64,
    /// The first [`SHOWN_REJECTS`] rejected rows, in file order (whether the checks rejected
    /// them or the server refused them).
    pub rejects: Vec<Reject>,
    /// Nothing was written (`--dry-run`).
    pub dry_run: bool,
    /// How long it took.
    pub elapsed: Duration,
}

impl Summary {
    fn new(file: &str, view: &str, dry_run: bool) -> Summary {
        Summary {
            file: file.to_owned(),
            view: view.to_owned(),
            read: 0,
            valid: 0,
            written: 0,
            rejected: 0,
            rejects: Vec::new(),
            dry_run,
            elapsed: Duration::ZERO,
        }
    }

    /// Rows per second over the whole load.
    pub fn rows_per_second(&self) -> f64 {
        self.read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// What `fstore load` prints: one line of counts, then the first rejected rows with their
    /// place and reason.
    ///
    /// ```text
    /// users.csv -> user_profile: 12 rows read, 10 written, 2 rejected (0.1s, 120 rows/s)
    /// rejected:
    ///   users.csv:3: `age`: "abc" is not an int: not a decimal integer
    ///   users.csv:9: invalid entity id "" for view `user_profile`: the empty string is not an entity id
    /// ```
    pub fn text(&self) -> String {
        let done = if self.dry_run {
            format!("{} valid (dry run: nothing written)", self.valid)
        } else {
            format!("{} written", self.written)
        };
        let mut out = format!(
            "{} -> {}: {} read, {done}, {} rejected ({:.1}s, {:.0} rows/s)\n",
            self.file,
            self.view,
            rows(self.read),
            self.rejected,
            self.elapsed.as_secs_f64(),
            self.rows_per_second(),
        );
        if self.rejected > 0 {
            out.push_str("rejected:\n");
            for reject in &self.rejects {
                out.push_str(&format!(
                    "  {}: {}\n",
                    reject.place.in_file(&self.file),
                    reject.reason
                ));
            }
            let more = self.rejected.saturating_sub(self.rejects.len() as u64);
            if more > 0 {
                out.push_str(&format!("  ... and {more} more\n"));
            }
        }
        out
    }
}

/// Why a load could not run, or stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// It cannot run as asked: an unknown view, a format that cannot be told, Parquet without
    /// the `parquet` feature, a store without a registry. Nothing was read.
    Usage(String),
    /// The file cannot be opened or read, its columns do not fit the view (an unknown column,
    /// no id column, a column named twice, a Parquet column of the wrong type), or it is
    /// malformed at `place`. The load stops there: the valid rows before it are written, none
    /// after.
    File {
        /// The file, as given.
        file: String,
        /// Where, when the problem is at one row.
        place: Option<Place>,
        /// What is wrong.
        message: String,
    },
    /// Writing failed: the server became unreachable, or a batch was cut short (the message
    /// says which rows may or may not be written).
    Store(String),
}

impl fmt::Display for Error {
    /// One `error:` line, naming the file and line where there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) | Error::Store(message) => write!(f, "error: {message}"),
            Error::File {
                file,
                place: Some(place),
                message,
            } => write!(f, "error: {}: {message}", place.in_file(file)),
            Error::File {
                file,
                place: None,
                message,
            } => write!(f, "error: {file}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// A load that could not run or stopped: why, and what it had done until then.
#[derive(Debug)]
pub struct Failure {
    /// Why.
    pub error: Error,
    /// The rows read, written and rejected before it stopped.
    pub summary: Summary,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Loads the file at `path` into `options.view` of the registry attached to `store`.
///
/// With `options.dry_run` nothing is sent: the store may be [`Store::embedded`] with the
/// registry attached. Out-of-vocabulary strings are rejected unless
/// `options.allow_out_of_vocab` (whatever `store`'s own setting).
///
/// # Errors
/// A [`Failure`] with the [`Error`] and the counts until then; rejected rows are not errors
/// (see [`Summary::rejected`]).
pub async fn load(store: &Store, path: &Path, options: &Options) -> Result<Summary, Failure> {
    let file = path.display().to_string();
    let started = Instant::now();
    let mut summary = Summary::new(&file, &options.view, options.dry_run);
    let mut loader = match Loader::new(store, &file, options) {
        Ok(loader) => loader,
        Err(error) => return Err(Failure { error, summary }),
    };
    let result = loader.run(path, options).await;
    loader.reader.progress.finish();
    loader.fill(&mut summary);
    summary.elapsed = started.elapsed();
    match result {
        Ok(()) => Ok(summary),
        Err(error) => Err(Failure { error, summary }),
    }
}

/// One row read from the file, its cells typed by the registry.
pub(crate) struct Row<'v> {
    place: Place,
    id: String,
    features: Vec<(&'v str, Value)>,
}

/// A reader of one format: the next row, a row rejected while reading its cells, or the end;
/// `Err` when the file is malformed.
pub(crate) trait Source<'v> {
    /// The next row.
    fn next_row(&mut self) -> Result<Option<Result<Row<'v>, Reject>>, Error>;

    /// How far it is: bytes read (CSV, JSON Lines) or rows (Parquet), out of [`Source::total`].
    fn position(&self) -> u64;

    /// The file's size in [`Source::position`]'s unit, if known.
    fn total(&self) -> Option<u64>;
}

/// How many rows the reader reads between two yields to the runtime while a batch is being
/// written: often enough that the write's pipeline is sent and its replies read on a
/// current-thread runtime, rarely enough to cost nothing.
const YIELD_EVERY: u32 = 64;

/// The checks of one view: the runtime's own ([`Store::check_write`]), with reasons worded for
/// a person at a command line.
#[derive(Clone)]
struct Checks<'s> {
    /// The store whose checks and writes apply (refusing out-of-vocabulary strings unless
    /// allowed).
    store: Store,
    /// The same store writing out-of-vocabulary strings: to tell a vocabulary refusal.
    lenient: Store,
    view: &'s View,
}

impl Checks<'_> {
    /// Checks `row` exactly as a write of it is checked; `Err` with the reason.
    fn check(&self, row: &Row<'_>) -> Result<(), String> {
        self.store
            .check_write(&self.view.name, &row.id, &row.features)
            .map_err(|e| self.reason(row, e))
    }

    /// Why the runtime refused `row`: a value as "`feature`: expected …, found …"; a string
    /// outside its `vocab` with the way to write it anyway; any other error as the runtime
    /// says it.
    fn reason(&self, row: &Row<'_>, error: fstore_runtime::Error) -> String {
        let fstore_runtime::Error::InvalidValue {
            feature,
            expected,
            found,
            ..
        } = &error
        else {
            return error.to_string();
        };
        let vocab = self.view.feature(feature).and_then(|f| f.vocab.as_ref());
        if let Some(vocab) = vocab.filter(|_| self.store.refuses_out_of_vocab()) {
            // Refused only for the vocabulary when a store that writes such values accepts it.
            if self
                .lenient
                .check_write(&self.view.name, &row.id, &row.features)
                .is_ok()
            {
                let vocab: Vec<String> = vocab.iter().map(|v| format!("`{v}`")).collect();
                return format!(
                    "`{feature}`: {found} is not in the feature's vocab ({}); pass \
                     --allow-out-of-vocab to write it anyway",
                    vocab.join(", ")
                );
            }
        }
        // "an `int` (`Value::Int`)": the API's type is no help here.
        let expected = match expected.find(" (`Value::") {
            Some(at) if expected.ends_with("`)") => &expected[..at],
            _ => expected.as_str(),
        };
        format!("`{feature}`: expected {expected}, found {found}")
    }
}

/// Reads rows into a batch; counts and reports.
struct Reader<'s> {
    checks: Checks<'s>,
    /// The rows not yet handed to the writer.
    batch: Vec<Row<'s>>,
    batch_size: usize,
    dry_run: bool,
    read: u64,
    valid: u64,
    written: u64,
    rejected: u64,
    /// The first [`SHOWN_REJECTS`] rejected rows, in file order.
    rejects: Vec<Reject>,
    progress: Progress,
}

/// Loads a file: the [`Reader`] fills one batch while the previous one is being written.
struct Loader<'s> {
    /// The checks the writer applies to a batch the runtime refused.
    checks: Checks<'s>,
    file: &'s str,
    reader: Reader<'s>,
}

/// What writing one batch did.
struct Written {
    /// Rows that passed the checks.
    valid: u64,
    /// Rows the server applied.
    written: u64,
    /// Rows the checks rejected or the server refused.
    rejects: Vec<Reject>,
    /// Why the load must stop, if it must.
    error: Option<Error>,
}

impl<'s> Loader<'s> {
    fn new(store: &'s Store, file: &'s str, options: &Options) -> Result<Loader<'s>, Error> {
        let registry = store.registry().ok_or_else(|| {
            Error::Usage("the store has no registry attached (`Store::with_registry`)".to_owned())
        })?;
        let view = registry.view(&options.view).ok_or_else(|| {
            Error::Usage(format!(
                "unknown view `{}`; {}",
                options.view,
                fstore_registry::suggestion(
                    &options.view,
                    registry.views.iter().map(|v| v.name.as_str())
                )
            ))
        })?;
        if options.batch_size == 0 {
            return Err(Error::Usage("the batch size must be at least 1".to_owned()));
        }
        let checks = Checks {
            store: if options.allow_out_of_vocab {
                store.clone()
            } else {
                store.refusing_out_of_vocab()
            },
            lenient: store.clone(),
            view,
        };
        Ok(Loader {
            checks: checks.clone(),
            file,
            reader: Reader {
                checks,
                batch: Vec::with_capacity(options.batch_size.min(100_000)),
                batch_size: options.batch_size,
                dry_run: options.dry_run,
                read: 0,
                valid: 0,
                written: 0,
                rejected: 0,
                rejects: Vec::new(),
                progress: Progress::Off,
            },
        })
    }

    /// Opens the file and loads every row: while one batch is written, the next is read. When
    /// the file turns out malformed, the valid rows before the bad line are written, then the
    /// load stops.
    async fn run(&mut self, path: &Path, options: &Options) -> Result<(), Error> {
        let format = match options.format.or_else(|| FileFormat::from_path(path)) {
            Some(format) => format,
            None => {
                return Err(Error::Usage(format!(
                    "cannot tell the format of {} from its extension: name it .csv, .jsonl \
                     (or .ndjson) or .parquet, or pass --format csv|jsonl|parquet",
                    self.file
                )))
            }
        };
        let view = self.checks.view;
        let mut source = open(format, path, self.file, view, &options.id_column)?;
        self.reader.progress = Progress::new(options.progress, self.file, source.total());
        let mut sending: Vec<Row<'s>> = Vec::with_capacity(self.reader.batch.capacity());
        let mut filled = self.reader.fill(source.as_mut(), false).await;
        loop {
            // `sending` (empty) takes the rows read so far: a full batch, the last rows, or
            // those before a malformed line; the reader fills the other buffer meanwhile.
            std::mem::swap(&mut sending, &mut self.reader.batch);
            let more = matches!(filled, Ok(true));
            let written = if more {
                let (written, next) = tokio::join!(
                    write(&self.checks, self.file, &mut sending),
                    self.reader.fill(source.as_mut(), true)
                );
                filled = next;
                written
            } else {
                write(&self.checks, self.file, &mut sending).await
            };
            sending.clear();
            let reader = &mut self.reader;
            reader.valid += written.valid;
            reader.written += written.written;
            for reject in written.rejects {
                reader.reject(reject);
            }
            reader.tick(source.position());
            if let Some(error) = written.error {
                return Err(error);
            }
            if !more {
                return filled.map(drop);
            }
        }
    }

    /// Copies the counts into `summary`.
    fn fill(&self, summary: &mut Summary) {
        let reader = &self.reader;
        summary.read = reader.read;
        summary.valid = reader.valid;
        summary.written = reader.written;
        summary.rejected = reader.rejected;
        summary.rejects.clone_from(&reader.rejects);
    }
}

/// Writes `batch` with [`Store::write_batch`], which checks every row before it sends
/// anything. When it refuses the batch, each row is checked on its own: those that fail are
/// rejected, and the others written. Valid files, the common case, are thus checked once.
async fn write(checks: &Checks<'_>, file: &str, batch: &mut Vec<Row<'_>>) -> Written {
    let mut written = Written {
        valid: 0,
        written: 0,
        rejects: Vec::new(),
        error: None,
    };
    if batch.is_empty() {
        return written;
    }
    let mut result = send(checks, batch).await;
    if matches!(&result, Err(e) if !matches!(e, fstore_runtime::Error::Batch(_))) {
        let before = batch.len();
        batch.retain(|row| match checks.check(row) {
            Ok(()) => true,
            Err(reason) => {
                written.rejects.push(Reject {
                    place: row.place,
                    reason,
                });
                false
            }
        });
        // No row fails its checks: nothing explains the refusal, which stands.
        if batch.len() < before {
            result = send(checks, batch).await;
        }
    }
    written.valid = batch.len() as u64;
    let failed = |why: String| {
        Error::Store(format!(
            "writing the batch of rows from {} to {} failed: {why}",
            first_place(batch).in_file(file),
            last_place(batch).in_file(file),
        ))
    };
    match result {
        Ok(()) => written.written = batch.len() as u64,
        Err(fstore_runtime::Error::Batch(outcomes)) => {
            let mut uncertain = 0usize;
            for (row, outcome) in batch.iter().zip(outcomes.outcomes()) {
                match outcome {
                    WriteOutcome::Applied | WriteOutcome::NotReplicated => written.written += 1,
                    WriteOutcome::Refused(why) => written.rejects.push(Reject {
                        place: row.place,
                        reason: format!("refused by the server: {why}"),
                    }),
                    _ => uncertain += 1,
                }
            }
            if uncertain > 0 {
                let why = outcomes
                    .cause()
                    .map_or_else(|| "no reply".to_owned(), ToString::to_string);
                written.error = Some(failed(format!(
                    "{why}; {uncertain} of its rows may or may not be written (loading the file \
                     again is safe)"
                )));
            }
        }
        Err(e) => written.error = Some(failed(e.to_string())),
    }
    written
}

/// One [`Store::write_batch`] call of `batch` (nothing for an empty one).
async fn send(checks: &Checks<'_>, batch: &[Row<'_>]) -> Result<(), fstore_runtime::Error> {
    if batch.is_empty() {
        return Ok(());
    }
    let rows = batch
        .iter()
        .map(|row| (row.id.as_str(), row.features.as_slice()));
    checks.store.write_batch(&checks.view.name, rows).await
}

impl<'s> Reader<'s> {
    /// Reads rows until the batch holds `batch_size` of them (`Ok(true)`) or the file ends
    /// (`Ok(false)`). Rows the format's reader rejects, and rows without a value, are counted
    /// and not batched; with `--dry-run` every row is checked here and none is batched (so it
    /// reads to the end); otherwise the writer checks them. With `overlap` (a batch is being
    /// written on this task), it yields to the runtime every [`YIELD_EVERY`] rows.
    ///
    /// # Errors
    /// The file is malformed; the rows read before stay in the batch.
    async fn fill(
        &mut self,
        source: &mut (dyn Source<'s> + 's),
        overlap: bool,
    ) -> Result<bool, Error> {
        let mut since_yield = 0u32;
        while self.batch.len() < self.batch_size {
            let Some(item) = source.next_row()? else {
                return Ok(false);
            };
            self.read += 1;
            match item {
                Ok(row) if row.features.is_empty() => self.reject(Reject {
                    place: row.place,
                    reason: "no feature values (every feature's cell is empty or null)".to_owned(),
                }),
                Ok(row) if self.dry_run => match self.checks.check(&row) {
                    Ok(()) => self.valid += 1,
                    Err(reason) => self.reject(Reject {
                        place: row.place,
                        reason,
                    }),
                },
                Ok(row) => self.batch.push(row),
                Err(reject) => self.reject(reject),
            }
            if self.read.is_multiple_of(256) {
                self.tick(source.position());
            }
            if overlap {
                since_yield += 1;
                if since_yield == YIELD_EVERY {
                    since_yield = 0;
                    tokio::task::yield_now().await;
                }
            }
        }
        Ok(true)
    }

    /// Counts a rejected row, and keeps it if it is among the first [`SHOWN_REJECTS`] in file
    /// order (the writer's rejects come back after later rows were read).
    fn reject(&mut self, reject: Reject) {
        self.rejected += 1;
        let at = self.rejects.partition_point(|r| r.place <= reject.place);
        if at < SHOWN_REJECTS {
            self.rejects.insert(at, reject);
            self.rejects.truncate(SHOWN_REJECTS);
        }
    }

    fn tick(&mut self, position: u64) {
        self.progress.update(
            position,
            Counts {
                read: self.read,
                written: if self.dry_run {
                    self.valid
                } else {
                    self.written
                },
                rejected: self.rejected,
            },
        );
    }
}

/// `1 row`, `2 rows`.
fn rows(n: u64) -> String {
    if n == 1 {
        "1 row".to_owned()
    } else {
        format!("{n} rows")
    }
}

fn first_place(batch: &[Row<'_>]) -> Place {
    batch.first().map_or(Place::Row(0), |r| r.place)
}

fn last_place(batch: &[Row<'_>]) -> Place {
    batch.last().map_or(Place::Row(0), |r| r.place)
}

/// Opens the reader of `format`, checking the file's columns against `view`.
fn open<'v>(
    format: FileFormat,
    path: &Path,
    file: &str,
    view: &'v View,
    id_column: &str,
) -> Result<Box<dyn Source<'v> + 'v>, Error> {
    match format {
        FileFormat::Csv => Ok(Box::new(csv_file::CsvSource::open(
            path, file, view, id_column,
        )?)),
        FileFormat::Jsonl => Ok(Box::new(jsonl_file::JsonlSource::open(
            path, file, view, id_column,
        )?)),
        #[cfg(feature = "parquet")]
        FileFormat::Parquet => Ok(Box::new(parquet_file::ParquetSource::open(
            path, file, view, id_column,
        )?)),
        #[cfg(not(feature = "parquet"))]
        FileFormat::Parquet => Err(Error::Usage(format!(
            "cannot read {file}: this fstore was built without Parquet support; install it with \
             `cargo install fstore-cli --features parquet`"
        ))),
    }
}

/// What each column of a file is: the id (`None`) or a feature of the view. Every column must
/// be one of them, each named once, and the id column must be there.
///
/// # Errors
/// [`Error::File`] listing every unknown column (with a did-you-mean), a column named twice, or
/// the missing id column.
pub(crate) fn columns<'v>(
    file: &str,
    names: &[&str],
    view: &'v View,
    id_column: &str,
) -> Result<(usize, Vec<Option<&'v Feature>>), Error> {
    let mut problems = Vec::new();
    let mut id = None;
    let mut columns = Vec::with_capacity(names.len());
    for (i, &name) in names.iter().enumerate() {
        if names[..i].contains(&name) {
            problems.push(format!("column `{name}` appears twice"));
        }
        if name == id_column {
            id.get_or_insert(i);
            columns.push(None);
            continue;
        }
        match view.feature(name) {
            Some(feature) => columns.push(Some(feature)),
            None => {
                problems.push(unknown_column(name, view, id_column));
                columns.push(None);
            }
        }
    }
    let Some(id) = id else {
        let help = match did_you_mean(id_column, names.iter().copied()) {
            Some(close) => format!("; did you mean `--id-column {close}`?"),
            None => format!(
                " (its columns: {})",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        problems.insert(
            0,
            format!("no id column `{id_column}` (the --id-column){help}"),
        );
        return Err(columns_error(file, problems));
    };
    if problems.is_empty() {
        Ok((id, columns))
    } else {
        Err(columns_error(file, problems))
    }
}

/// "unknown column `agee`: not a feature of view `user_profile`; did you mean `age`?"
pub(crate) fn unknown_column(name: &str, view: &View, id_column: &str) -> String {
    let help = match did_you_mean(name, view.feature_names()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!(
            "its features are {}",
            view.feature_names()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "unknown column `{name}`: not a feature of view `{}` nor the id column `{id_column}`; \
         {help}",
        view.name
    )
}

fn columns_error(file: &str, problems: Vec<String>) -> Error {
    let message = if problems.len() == 1 {
        problems.concat()
    } else {
        format!(
            "{} problems with its columns:\n  {}",
            problems.len(),
            problems.join("\n  ")
        )
    };
    Error::File {
        file: file.to_owned(),
        place: None,
        message,
    }
}

/// A text cell (CSV) read as `feature`'s type with the codec's text format: `28`, `1250.5`,
/// `true`/`false` (also `True`, `False`, `1`, `0`), any string, a `float_list` as JSON array
/// text (`[0.1, 0.2]`).
///
/// # Errors
/// ``"`age`: "abc" is not an int: not a decimal integer"``.
pub(crate) fn text_cell(feature: &Feature, text: &str) -> Result<Value, String> {
    let bytes = text.as_bytes();
    let value = match feature.ty {
        FeatureType::Int => i64::decode(bytes).map(Value::Int),
        FeatureType::Float => f64::decode(bytes).map(Value::Float),
        FeatureType::Bool => bool::decode(bytes).map(Value::Bool),
        FeatureType::String => return Ok(Value::String(text.to_owned())),
        FeatureType::FloatList => {
            // The text is JSON whatever the feature's storage encoding: the write encodes it.
            codec::decode_list(bytes, &ListSpec::new(None, ListEncoding::Json))
                .map(Value::FloatList)
        }
    };
    value.map_err(|why| {
        format!(
            "`{}`: {} is not {}: {why}",
            feature.name,
            excerpt(text),
            type_name(feature)
        )
    })
}

/// An element of a list given as `f64` (JSON, Parquet `double`) as the `f32` it is stored as;
/// one that an `f32` cannot hold is refused as the codec refuses it in text.
pub(crate) fn f32_element(x: f64) -> Result<f32, String> {
    let y = x as f32;
    if y.is_finite() && (y != 0.0 || x == 0.0) {
        return Ok(y);
    }
    f32::decode(format!("{x:?}").as_bytes())
}

/// An int given as `u64` (JSON, Parquet `uint64`), refused above `i64::MAX` as the codec
/// refuses it.
pub(crate) fn int_from_u64(v: u64) -> Result<i64, String> {
    i64::try_from(v).map_err(|_| {
        v.check()
            .err()
            .unwrap_or_else(|| format!("{v} is above i64::MAX"))
    })
}

/// `an int`, `a float_list of 8 floats`.
pub(crate) fn type_name(feature: &Feature) -> String {
    match (feature.ty, feature.len) {
        (FeatureType::Int, _) => "an int".to_owned(),
        (FeatureType::Float, _) => "a float".to_owned(),
        (FeatureType::String, _) => "a string".to_owned(),
        (FeatureType::Bool, _) => "a bool".to_owned(),
        (FeatureType::FloatList, Some(len)) => format!("a float_list (of {len} floats)"),
        (FeatureType::FloatList, None) => "a float_list".to_owned(),
    }
}

/// `"abc"`, escaped, cut after 64 characters.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 64;
    let shown: String = text.chars().take(MAX).collect();
    if shown.len() < text.len() {
        format!("{shown:?} (first {MAX} characters)")
    } else {
        format!("{shown:?}")
    }
}

/// The counts a progress report shows.
#[derive(Clone, Copy)]
struct Counts {
    read: u64,
    written: u64,
    rejected: u64,
}

/// Progress on stderr: a bar with rate and ETA on a terminal, a plain line every
/// [`PROGRESS_EVERY`] otherwise, or nothing.
enum Progress {
    Bar {
        bar: indicatif::ProgressBar,
        started: Instant,
    },
    Lines {
        file: String,
        total: Option<u64>,
        started: Instant,
        last: Instant,
    },
    Off,
}

impl Progress {
    fn new(enabled: bool, file: &str, total: Option<u64>) -> Progress {
        if !enabled {
            return Progress::Off;
        }
        let started = Instant::now();
        if !std::io::stderr().is_terminal() {
            return Progress::Lines {
                file: file.to_owned(),
                total,
                started,
                last: started,
            };
        }
        let target = indicatif::ProgressDrawTarget::stderr();
        let bar = match total {
            Some(total) => {
                let style = indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {percent:>3}%  {msg}  ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
                indicatif::ProgressBar::with_draw_target(Some(total), target).with_style(style)
            }
            None => indicatif::ProgressBar::with_draw_target(None, target),
        };
        Progress::Bar { bar, started }
    }

    fn update(&mut self, position: u64, counts: Counts) {
        match self {
            Progress::Bar { bar, started } => {
                bar.set_position(position);
                bar.set_message(format!(
                    "{} rows ({:.0} rows/s), {} rejected",
                    counts.read,
                    rate(counts.read, *started),
                    counts.rejected
                ));
            }
            Progress::Lines {
                file,
                total,
                started,
                last,
            } => {
                if last.elapsed() < PROGRESS_EVERY {
                    return;
                }
                *last = Instant::now();
                let percent = total
                    .filter(|t| *t > 0)
                    .map(|t| format!(" ({:.0}%)", position as f64 * 100.0 / t as f64))
                    .unwrap_or_default();
                eprintln!(
                    "{file}: {} rows read{percent}, {} written, {} rejected, {:.0} rows/s",
                    counts.read,
                    counts.written,
                    counts.rejected,
                    rate(counts.read, *started)
                );
            }
            Progress::Off => {}
        }
    }

    fn finish(&mut self) {
        if let Progress::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }
}

fn rate(rows: u64, since: Instant) -> f64 {
    rows as f64 / since.elapsed().as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        let registry = fstore_registry::Registry::parse(
            r#"
            [entities.user]
            [views.user_profile]
            entity = "user"
            ttl = "1h"
            [views.user_profile.features]
            age = "int"
            score = "float"
            vip = "bool"
            segment = { type = "string", vocab = ["a", "b"] }
            embedding = { type = "float_list", len = 2, encoding = "f32le" }
            "#,
            "features.toml",
        )
        .unwrap();
        registry.views[0].clone()
    }

    #[test]
    fn text_cells_read_as_their_registry_type() {
        let view = view();
        let f = |name: &str| view.feature(name).unwrap();
        assert_eq!(text_cell(f("age"), "28"), Ok(Value::Int(28)));
        assert_eq!(text_cell(f("score"), "1e-3"), Ok(Value::Float(0.001)));
        assert_eq!(text_cell(f("vip"), "True"), Ok(Value::Bool(true)));
        assert_eq!(text_cell(f("segment"), "zz"), Ok(Value::from("zz")));
        assert_eq!(
            text_cell(f("embedding"), "[0.5, -1]"),
            Ok(Value::FloatList(vec![0.5, -1.0]))
        );
        assert_eq!(
            text_cell(f("age"), "abc").unwrap_err(),
            "`age`: \"abc\" is not an int: not a decimal integer"
        );
        assert_eq!(
            text_cell(f("age"), "99999999999999999999").unwrap_err(),
            "`age`: \"99999999999999999999\" is not an int: out of range for i64"
        );
        assert!(text_cell(f("vip"), "yes").is_err());
        let err = text_cell(f("embedding"), "[1e39]").unwrap_err();
        assert!(
            err.starts_with("`embedding`: \"[1e39]\" is not a float_list"),
            "{err}"
        );
    }

    #[test]
    fn list_elements_and_big_ints_are_range_checked() {
        assert_eq!(f32_element(0.1), Ok(0.1f32));
        assert_eq!(f32_element(0.0), Ok(0.0));
        assert!(f32_element(f64::NAN).unwrap().is_nan());
        assert!(f32_element(1e39).is_err());
        assert!(f32_element(1e-50).is_err());
        assert_eq!(int_from_u64(7), Ok(7));
        assert!(int_from_u64(u64::MAX)
            .unwrap_err()
            .contains("above i64::MAX"));
    }

    #[test]
    fn columns_must_be_features_or_the_id() {
        let view = view();
        let (id, cols) = columns("f.csv", &["age", "user_id", "vip"], &view, "user_id").unwrap();
        assert_eq!(id, 1);
        assert_eq!(
            cols.iter().map(Option::is_some).collect::<Vec<_>>(),
            [true, false, true]
        );

        let err = columns("f.csv", &["user_id", "agee"], &view, "user_id").unwrap_err();
        assert_eq!(
            err.to_string(),
            "error: f.csv: unknown column `agee`: not a feature of view `user_profile` nor the \
             id column `user_id`; did you mean `age`?"
        );
        let err = columns("f.csv", &["userid", "age", "age"], &view, "user_id").unwrap_err();
        assert_eq!(
            err.to_string(),
            "error: f.csv: 3 problems with its columns:\n  no id column `user_id` (the \
             --id-column); did you mean `--id-column userid`?\n  unknown column `userid`: not a \
             feature of view `user_profile` nor the id column `user_id`; its features are `age`, \
             `score`, `vip`, `segment`, `embedding`\n  column `age` appears twice"
        );
    }

    #[test]
    fn summary_lists_the_first_rejects() {
        let mut s = Summary::new("u.csv", "user_profile", false);
        s.read = 12;
        s.written = 1;
        s.rejected = 11;
        s.rejects = (2..12)
            .map(|line| Reject {
                place: Place::Line(line),
                reason: "bad".into(),
            })
            .collect();
        s.elapsed = Duration::from_millis(100);
        let text = s.text();
        assert!(
            text.starts_with(
                "u.csv -> user_profile: 12 rows read, 1 written, 11 rejected (0.1s, 120 rows/s)\n\
                 rejected:\n  u.csv:2: bad\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("  u.csv:11: bad\n  ... and 1 more\n"),
            "{text}"
        );
        assert_eq!(Place::Row(3).in_file("x.parquet"), "x.parquet: row 3");
    }
}
