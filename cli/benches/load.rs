//! `fstore load` of a CSV file next to the dynamic API's `write_batch` of the same rows, in one
//! process, on a throwaway `valkey-server`.
//!
//! ```text
//! cargo bench -p fstore-cli --all-features --bench load   # the measured run
//! cargo test -p fstore-cli --all-targets                  # a smoke run of a few rows
//! ```
//!
//! The rows: 10,000 entities of features.toml's `user_profile` (all 7 features, an 8-float
//! `embedding`), generated once with a fixed seed. Each round writes them twice, in alternating
//! order, each time into an emptied database (`FLUSHDB SYNC`):
//!
//! - `fstore load`: [`fstore_cli::load::load`] of the rows as a CSV file (written once, before
//!   the rounds; the file is read, parsed, every row checked, and written in batches of
//!   [`DEFAULT_BATCH_SIZE`]), progress off;
//! - `write_batch`: [`Store::write_batch`] of the same rows, already built as `Value`s, in
//!   batches of the same size, one call after another.
//!
//! Both run on a current-thread runtime, as the `fstore` command does. After each write it
//! checks that the database holds exactly the rows' keys, every one with its TTL, and that a
//! sample of entities reads back as the rows. It prints the median rows per second of each path
//! over the rounds and the ratio load / write_batch of the medians (the target is at least
//! 0.80), with the median and range of each round's own ratio; then the median rate of
//! `fstore load --dry-run` (reading, parsing and checking only), for scale.

#[path = "../tests/common/valkey.rs"]
mod valkey;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fstore_cli::load::{Options, DEFAULT_BATCH_SIZE};
use fstore_runtime::registry::Registry;
use fstore_runtime::{Store, Value};

const ROOT_REGISTRY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../features.toml");

const VIEW: &str = "user_profile";

const SEGMENTS: [&str; 3] = ["basic", "premium", "vip"];

const COUNTRIES: [&str; 5] = ["DE", "FR", "NL", "US", "JP"];

/// The ratio load / write_batch the loader must reach.
const TARGET: f64 = 0.80;

/// One entity: its id and its features.
type Row = (String, Vec<(&'static str, Value)>);

fn main() {
    let measured = std::env::args().any(|a| a == "--bench");
    let (entities, rounds) = if measured { (10_000, 11) } else { (200, 3) };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let valkey = valkey::TestServer::start();
    let dir = BenchDir::new();
    runtime.block_on(run(&valkey.url(), &dir, entities, rounds, measured));
}

async fn run(url: &str, dir: &BenchDir, entities: usize, rounds: usize, measured: bool) {
    let registry = Arc::new(Registry::from_path(ROOT_REGISTRY).unwrap());
    let store = Store::connect(url).await.unwrap().with_registry(registry);
    let mut admin = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    let rows = rows(entities);
    let csv = dir.0.join("users.csv");
    std::fs::write(&csv, to_csv(&rows)).unwrap();
    let mut options = Options::new(VIEW, "user_id");
    options.progress = false;

    println!(
        "fstore load: {entities} entities of `{VIEW}` (7 features), batches of \
         {DEFAULT_BATCH_SIZE}, median of {rounds} rounds{}",
        if measured { "" } else { " (smoke run)" }
    );

    let mut load_rates = Vec::with_capacity(rounds);
    let mut batch_rates = Vec::with_capacity(rounds);
    for round in 0..rounds {
        // A B, B A, …: neither path always runs on a warmer server.
        for path in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            flush(&mut admin).await;
            let started = Instant::now();
            if path == 0 {
                let summary = fstore_cli::load::load(&store, &csv, &options)
                    .await
                    .unwrap();
                let elapsed = started.elapsed();
                assert_eq!(
                    (summary.read, summary.written, summary.rejected),
                    (entities as u64, entities as u64, 0),
                    "{}",
                    summary.text()
                );
                load_rates.push(rate(entities, elapsed));
            } else {
                for batch in rows.chunks(DEFAULT_BATCH_SIZE) {
                    let batch = batch.iter().map(|(id, f)| (id.as_str(), f.as_slice()));
                    store.write_batch(VIEW, batch).await.unwrap();
                }
                batch_rates.push(rate(entities, started.elapsed()));
            }
            verify(&store, &mut admin, &rows).await;
        }
    }

    // What the loader does besides writing: reading, parsing and checking every row.
    let mut dry_options = options.clone();
    dry_options.dry_run = true;
    let mut dry_rates = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let summary = fstore_cli::load::load(&store, &csv, &dry_options)
            .await
            .unwrap();
        assert_eq!(summary.valid, entities as u64);
        dry_rates.push(rate(entities, started.elapsed()));
    }

    // Each round's two runs are side by side: their ratio shows how much the machine's load
    // moved the figures.
    let mut paired: Vec<f64> = load_rates
        .iter()
        .zip(&batch_rates)
        .map(|(l, b)| l / b)
        .collect();
    paired.sort_by(f64::total_cmp);
    let load = median(load_rates);
    let batch = median(batch_rates);
    let ratio = load / batch;
    println!("{:<24} {:>12}", "path", "rows/s");
    println!("{:<24} {:>12.0}", "fstore load", load);
    println!("{:<24} {:>12.0}", "write_batch", batch);
    println!(
        "{:<24} {:>12.0}",
        "fstore load --dry-run",
        median(dry_rates)
    );
    println!(
        "ratio load / write_batch: {ratio:.2} (target ≥ {TARGET:.2}{}); per round: median \
         {:.2}, from {:.2} to {:.2}",
        match (measured, ratio >= TARGET) {
            (false, _) => ": not judged on a smoke run",
            (true, true) => ": met",
            (true, false) => ": NOT met",
        },
        median(paired.clone()),
        paired[0],
        paired[paired.len() - 1],
    );
}

/// `n` entities of `user_profile` with every feature, from a fixed-seed generator.
fn rows(n: usize) -> Vec<Row> {
    let mut random = SplitMix64(0x5EED_F00D);
    (0..n)
        .map(|i| {
            let embedding: Vec<f32> = (0..8)
                .map(|_| (random.next() % 20_001) as f32 / 10_000.0 - 1.0)
                .collect();
            let features = vec![
                ("age", Value::Int(18 + (random.next() % 70) as i64)),
                (
                    "lifetime_value",
                    Value::Float((random.next() % 1_000_000) as f64 / 100.0),
                ),
                (
                    "segment",
                    Value::from(SEGMENTS[(random.next() % 3) as usize]),
                ),
                ("is_premium", Value::Bool(random.next().is_multiple_of(2))),
                (
                    "country",
                    Value::from(COUNTRIES[(random.next() % 5) as usize]),
                ),
                (
                    "days_since_signup",
                    Value::Int((random.next() % 3_650) as i64),
                ),
                ("embedding", Value::FloatList(embedding)),
            ];
            (format!("user_{i:06}"), features)
        })
        .collect()
}

/// The rows as a CSV file with a header, each value in the stored text format (a float_list
/// as JSON array text).
fn to_csv(rows: &[Row]) -> String {
    let mut out = String::from("user_id");
    for (name, _) in &rows[0].1 {
        write!(out, ",{name}").unwrap();
    }
    out.push('\n');
    for (id, features) in rows {
        out.push_str(id);
        for (_, value) in features {
            out.push(',');
            match value {
                Value::Int(n) => write!(out, "{n}").unwrap(),
                Value::Float(x) => write!(out, "{x:?}").unwrap(),
                Value::Bool(b) => write!(out, "{b}").unwrap(),
                Value::String(s) => out.push_str(s),
                Value::FloatList(xs) => {
                    let items: Vec<String> = xs.iter().map(|x| format!("{x:?}")).collect();
                    write!(out, "\"[{}]\"", items.join(",")).unwrap();
                }
                other => panic!("no CSV text for {other:?}"),
            }
        }
        out.push('\n');
    }
    out
}

/// Empties the database, freeing the keys before it returns (not in the server's background
/// thread, which would take CPU from the next run).
async fn flush(admin: &mut redis::aio::MultiplexedConnection) {
    let () = redis::cmd("FLUSHDB")
        .arg("SYNC")
        .query_async(admin)
        .await
        .unwrap();
}

/// Both paths must have written the same thing: exactly the rows' keys, each with a TTL, and a
/// sample of entities reading back as their rows.
async fn verify(store: &Store, admin: &mut redis::aio::MultiplexedConnection, rows: &[Row]) {
    let keys: usize = redis::cmd("DBSIZE").query_async(admin).await.unwrap();
    assert_eq!(keys, rows.len());
    let step = (rows.len() / 10).max(1);
    for (id, features) in rows.iter().step_by(step) {
        let key = format!("fs:v1:{VIEW}:{id}");
        let pttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(admin)
            .await
            .unwrap();
        assert!(pttl > 0, "{key} has PTTL {pttl}");
        let read = store.read(VIEW, id.as_str(), None).await.unwrap().unwrap();
        for (name, value) in features {
            assert_eq!(&read[*name], value, "{id} {name}");
        }
    }
}

fn rate(rows: usize, elapsed: Duration) -> f64 {
    rows as f64 / elapsed.as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// A fixed-seed SplitMix64: the same rows on every run.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A fresh directory for the CSV file, removed on drop.
struct BenchDir(PathBuf);

impl BenchDir {
    fn new() -> BenchDir {
        let dir = std::env::temp_dir().join(format!("fstore-load-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        BenchDir(dir)
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(Path::new(&self.0));
    }
}
