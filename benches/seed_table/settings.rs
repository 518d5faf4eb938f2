//! What a run does: `cargo bench` (every section, many iterations) or the smoke run of
//! `cargo test --all-targets` (a few iterations per row), and the command-line flags.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `cargo bench`: every section, many iterations.
    Full,
    /// `cargo test --all-targets`: a few iterations per row, to exercise the code.
    Smoke,
}

pub struct Settings {
    pub mode: Mode,
    pub json: bool,
    pub pin: bool,
    pub users: usize,
    pub warmup: usize,
    pub read_iters: usize,
    pub write100_iters: usize,
    pub write1000_iters: usize,
    /// Per latency row, whatever the iteration count.
    pub row_budget: Duration,
    pub throughput_secs: f64,
    pub alloc_calls: usize,
    pub memory_ids: usize,
    /// Entities of the aggregation rows, each pre-filled with `agg_events_per_entity` events
    /// spread over 24 h.
    pub agg_entities: usize,
    pub agg_events_per_entity: usize,
    /// Events recorded at 1/s for the aggregation memory row (86,400: 24 h).
    pub agg_memory_events: usize,
    /// `valkey-benchmark -n` per raw command of the aggregation `record_batch` row.
    pub raw_bench_requests: usize,
    pub watchdog: Duration,
}

impl Settings {
    pub fn from_args() -> Settings {
        let mut bench = false;
        let mut json = false;
        let mut pin = true;
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--bench" => bench = true,
                "--json" => json = true,
                "--no-pin" => pin = false,
                "-h" | "--help" => {
                    eprintln!(
                        "usage: cargo bench --bench seed_table [-- --json] [-- --no-pin]\n\
                         VALKEY_URL=redis://host:port uses that server instead of starting one."
                    );
                    std::process::exit(0);
                }
                other => eprintln!("seed_table: ignoring argument {other:?}"),
            }
        }
        if bench {
            Settings {
                mode: Mode::Full,
                json,
                pin,
                users: 10_000,
                warmup: 200,
                read_iters: 2_000,
                write100_iters: 1_000,
                write1000_iters: 200,
                row_budget: Duration::from_secs(20),
                throughput_secs: 2.0,
                alloc_calls: 1_000,
                memory_ids: 100_000,
                agg_entities: 1_000,
                agg_events_per_entity: 300,
                agg_memory_events: 86_400,
                raw_bench_requests: 200_000,
                watchdog: Duration::from_secs(30 * 60),
            }
        } else {
            Settings {
                mode: Mode::Smoke,
                json,
                pin: false,
                users: 2_000,
                warmup: 5,
                read_iters: 20,
                write100_iters: 20,
                write1000_iters: 5,
                row_budget: Duration::from_secs(2),
                throughput_secs: 0.0,
                alloc_calls: 20,
                memory_ids: 0,
                agg_entities: 20,
                agg_events_per_entity: 300,
                agg_memory_events: 3_600,
                raw_bench_requests: 2_000,
                watchdog: Duration::from_secs(120),
            }
        }
    }
}
