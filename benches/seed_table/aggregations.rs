//! Real-time aggregations (issue 13), on the bench's server with a simulated clock:
//!
//! 1. the read of one entity's aggregation of 5 features over windows up to 24 h next to the
//!    typed read of a 5-feature view ([`Five`]), measured interleaved; ratio = aggregation p50 /
//!    typed p50 (target ≤ 1.5), by name (`read_aggregation_at`) and through a resolved `Spec`
//!    (`read_spec`, what generated structs call);
//! 2. `record_batch_at` of 1,000 events in events/s, next to `valkey-benchmark -c 1 -P 100`
//!    sending the raw commands that update the same columns (one per feature column and
//!    resolution, and the `PFADD`), in alternating rounds; ratio = fstore / raw (target ≥ 0.5);
//! 3. the memory of one entity after 24 h of one event a second: `MEMORY USAGE` of its hash and
//!    of each of its HyperLogLogs (the hourly ones and the window's union).
//!
//! The aggregation is declared here (`REGISTRY`), attached to the bench's store with
//! `Store::with_registry`. Its keys (`fs:v1:bench_txn:{bench_agg_…}…`) and those of the raw
//! baseline (`bench_agg_raw:…`) are deleted at the end of the section.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::Instant;

use fstore::aggregate::Spec;
use fstore::registry::Registry;
use fstore::{Store, Value};
use redis::aio::MultiplexedConnection;

use crate::data::{Data, SplitMix};
use crate::measurement::{measure, RatioRow};
use crate::settings::Settings;
use crate::support::find_on_path;
use crate::views::Five;

const AGG: &str = "bench_txn";
const REGISTRY: &str = r#"
[entities.user]

[aggregations.bench_txn]
entity = "user"
granularity = ["1m", "1h"]

[aggregations.bench_txn.event]
amount = "float"
merchant = "string"

[aggregations.bench_txn.features]
txn_count_10m = { fn = "count", window = "10m" }
txn_count_1h = { fn = "count", window = "1h" }
amount_sum_1h = { fn = "sum", of = "amount", window = "1h" }
amount_avg_24h = { fn = "avg", of = "amount", window = "24h" }
distinct_merchants_24h = { fn = "distinct", of = "merchant", window = "24h" }
"#;
/// The aggregation's 5 features, in declaration order.
const FEATURES: [&str; 5] = [
    "txn_count_10m",
    "txn_count_1h",
    "amount_sum_1h",
    "amount_avg_24h",
    "distinct_merchants_24h",
];
/// The read ratio the issue sets.
const READ_TARGET: f64 = 1.5;
/// The `record_batch` ratio (fstore events/s / raw events/s) the issue sets, as a minimum.
const RECORD_TARGET: f64 = 0.5;
/// Events per `record_batch_at` call.
const BATCH: usize = 1_000;
/// Rounds of the `record_batch` row, alternating fstore and the raw baseline.
const ROUNDS: usize = 3;
/// Distinct merchants of the event stream.
const MERCHANTS: usize = 40;
/// Events per `record_batch_at` call of the memory row: one minute at 1/s.
const MEMORY_BATCH: usize = 60;

const SEC: u64 = 1_000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;
/// The simulated clock's start: a whole day, so that buckets of every granularity start here.
const T0: u64 = 1_796_083_200_000;
/// The clock of the read row: the last millisecond of the day since `T0`, so that the 24 h
/// windows cover the whole stream.
const NOW: u64 = T0 + DAY - 1;

/// The commands one event amounts to in the raw baseline: the hash columns it updates (count and
/// float sum at both resolutions, 1 min and 1 h) and the HyperLogLog of `distinct`. The
/// aggregation script also resets ring slots for new buckets, guards overflows, keeps the
/// `distinct` window's union and its count, and sets expiries; these do not.
const RAW_COMMANDS: [&[&str]; 5] = [
    &["HINCRBY", "bench_agg_raw:{__rand_int__}", "n:60:1", "1"],
    &[
        "HINCRBYFLOAT",
        "bench_agg_raw:{__rand_int__}",
        "s:amount:60:1",
        "1.5",
    ],
    &["HINCRBY", "bench_agg_raw:{__rand_int__}", "n:3600:1", "1"],
    &[
        "HINCRBYFLOAT",
        "bench_agg_raw:{__rand_int__}",
        "s:amount:3600:1",
        "1.5",
    ],
    &[
        "PFADD",
        "bench_agg_raw:{__rand_int__}:d:merchant:3600:1",
        "m__rand_int__",
    ],
];

/// The `valkey-benchmark` baseline of the `record_batch` row.
pub struct RawBaseline {
    /// The command line, without the command.
    pub invocation: String,
    /// Each raw command and its median requests/s over the rounds.
    pub commands: Vec<(String, f64)>,
    /// Raw events/s of each round: 1 / Σ (1 / requests/s) over the commands of one event.
    pub rounds: Vec<f64>,
    /// The median of `rounds`.
    pub events_per_s: f64,
}

/// `record_batch_at` of [`BATCH`] events against the raw commands.
pub struct RecordRow {
    pub events: usize,
    pub batch_p50_us: f64,
    pub batch_p99_us: f64,
    /// fstore events/s of each round: `events` / the round's p50 batch time.
    pub rounds: Vec<f64>,
    /// The median of `rounds`.
    pub events_per_s: f64,
    pub raw: Result<RawBaseline, String>,
    pub round_trips: u64,
    pub iterations: usize,
}

impl RecordRow {
    /// fstore events/s / raw events/s, when there is a baseline.
    pub fn ratio(&self) -> Option<f64> {
        self.raw
            .as_ref()
            .ok()
            .map(|r| self.events_per_s / r.events_per_s)
    }

    pub fn target(&self) -> f64 {
        RECORD_TARGET
    }
}

/// One entity's keys after `events` events at 1/s.
pub struct MemoryRow {
    pub events: usize,
    pub hash_bytes: u64,
    pub hash_fields: u64,
    pub hash_encoding: String,
    pub hll_keys: usize,
    pub hll_bytes: u64,
}

impl MemoryRow {
    pub fn total(&self) -> u64 {
        self.hash_bytes + self.hll_bytes
    }
}

pub struct AggregationRows {
    /// What the rows ran on.
    pub setup: String,
    pub reads: Vec<RatioRow>,
    pub record: RecordRow,
    pub memory: MemoryRow,
}

/// Entity ids of the aggregation rows: `bench_agg_00042`.
fn id(i: usize) -> String {
    format!("bench_agg_{i:05}")
}

/// An event's fields by name, as `record_batch_at` takes them.
type Fields = [(&'static str, Value); 2];
/// Events `(id, time, fields)` for `record_batch_at`.
type Batch<'a> = Vec<(&'a str, u64, Fields)>;

/// One event: its time, amount (a multiple of 0.25, so that sums are exact) and merchant.
#[derive(Clone, Copy)]
struct Event {
    ts: u64,
    amount: f64,
    merchant: usize,
}

/// Entity `i`'s stream: `n` events at random times of the day ending at [`NOW`], in order.
fn stream(i: usize, n: usize) -> Vec<Event> {
    let mut rng = SplitMix(0xa66_0000 + i as u64);
    let mut events: Vec<Event> = (0..n)
        .map(|_| Event {
            ts: T0 + rng.next() % (NOW - T0 + 1),
            amount: (rng.below(40_000) + 1) as f64 / 4.0,
            merchant: rng.below(MERCHANTS),
        })
        .collect();
    events.sort_by_key(|e| e.ts);
    events
}

fn fields(e: &Event, merchants: &[String]) -> Fields {
    [
        ("amount", Value::Float(e.amount)),
        ("merchant", Value::String(merchants[e.merchant].clone())),
    ]
}

/// The features of `events` read at `now`, computed here: each window covers its whole buckets
/// up to the one `now` is in.
fn expected(events: &[Event], now: u64) -> [Value; 5] {
    let since = |res: u64, buckets: u64| (now / res + 1).saturating_sub(buckets) * res;
    let within = |from: u64| events.iter().filter(move |e| e.ts >= from && e.ts <= now);
    let count_10m = within(since(MIN, 10)).count();
    let count_1h = within(since(MIN, 60)).count();
    let sum_1h: f64 = within(since(MIN, 60)).map(|e| e.amount).sum();
    let day: Vec<&Event> = within(since(HOUR, 24)).collect();
    let avg = if day.is_empty() {
        Value::Null
    } else {
        Value::Float(day.iter().map(|e| e.amount).sum::<f64>() / day.len() as f64)
    };
    let distinct: HashSet<usize> = day.iter().map(|e| e.merchant).collect();
    [
        Value::Int(count_10m as i64),
        Value::Int(count_1h as i64),
        Value::Float(sum_1h),
        avg,
        Value::Int(distinct.len() as i64),
    ]
}

/// `got` matches `want`: counts and sums exactly, the average to 1e-12, the HyperLogLog's
/// distinct count to 3% (at least 1).
fn check(id: &str, got: &[(String, Value)], want: &[Value; 5]) {
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, FEATURES, "{id}: feature names");
    for ((name, g), w) in got.iter().zip(want) {
        let ok = match (name.as_str(), g, w) {
            ("amount_avg_24h", Value::Float(g), Value::Float(w)) => (g - w).abs() <= 1e-12 * w,
            ("distinct_merchants_24h", Value::Int(g), Value::Int(w)) => {
                (g - w).abs() as f64 <= (0.03 * *w as f64).max(1.0)
            }
            _ => g == w,
        };
        assert!(ok, "{id}: {name} read {g:?}, expected {w:?}");
    }
}

/// The result of `call` and the round trips it took on `store` (`Store::round_trips`).
async fn counted<T>(store: &Store, call: impl AsyncFnOnce() -> T) -> (u64, T) {
    let before = store.round_trips();
    let out = call().await;
    (store.round_trips() - before, out)
}

/// Records every entity's stream, all streams merged in time order, in batches of [`BATCH`]
/// with the clock at each batch's latest event.
async fn prefill(store: &Store, ids: &[String], streams: &[Vec<Event>], merchants: &[String]) {
    let mut all: Vec<(usize, Event)> = streams
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.iter().map(move |e| (i, *e)))
        .collect();
    all.sort_by_key(|(_, e)| e.ts);
    for chunk in all.chunks(BATCH) {
        let events: Batch<'_> = chunk
            .iter()
            .map(|(i, e)| (ids[*i].as_str(), e.ts, fields(e, merchants)))
            .collect();
        let now = chunk.last().map_or(T0, |(_, e)| e.ts);
        let report = store
            .record_batch_at(AGG, &events, now)
            .await
            .expect("record the streams");
        assert_eq!(
            (report.applied, report.late.len(), report.future.len()),
            (chunk.len(), 0, 0),
            "prefill: every event must be applied"
        );
    }
}

/// Deletes every key matching `pattern`.
async fn delete_matching(conn: &mut MultiplexedConnection, pattern: &str) -> usize {
    let keys = scan(conn, pattern).await;
    for chunk in keys.chunks(500) {
        let _: i64 = redis::cmd("UNLINK")
            .arg(chunk)
            .query_async(conn)
            .await
            .expect("UNLINK");
    }
    keys.len()
}

async fn scan(conn: &mut MultiplexedConnection, pattern: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1_000)
            .query_async(conn)
            .await
            .expect("SCAN");
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// How to run `valkey-benchmark` against the bench's server.
struct Raw {
    program: String,
    prefix: Vec<String>,
    invocation: String,
}

/// The raw baseline's runner, or why there is none.
fn raw_runner(settings: &Settings, url: &str, pinned: bool) -> Result<Raw, String> {
    let Some(binary) = ["valkey-benchmark", "redis-benchmark"]
        .iter()
        .find_map(|n| find_on_path(n))
    else {
        return Err(
            "no valkey-benchmark or redis-benchmark on PATH (Debian: apt-get install valkey-tools)"
                .into(),
        );
    };
    let Some(hostport) = url
        .strip_prefix("redis://")
        .filter(|h| !h.contains('@') && !h.contains('/'))
    else {
        return Err(format!(
            "cannot pass {url} to {} (only redis://host:port)",
            binary.display()
        ));
    };
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "6379"));
    let args: Vec<String> = [
        "-h",
        host,
        "-p",
        port,
        "-c",
        "1",
        "-P",
        "100",
        "-n",
        &settings.raw_bench_requests.to_string(),
        "-r",
        &settings.agg_entities.to_string(),
        "--csv",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let name = binary
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let (program, prefix) = if pinned {
        let mut prefix = vec![
            "-c".to_owned(),
            "0".to_owned(),
            binary.display().to_string(),
        ];
        prefix.extend(args.iter().cloned());
        ("taskset".to_owned(), prefix)
    } else {
        (binary.display().to_string(), args.clone())
    };
    Ok(Raw {
        program,
        prefix,
        invocation: format!(
            "{}{name} {}",
            if pinned { "taskset -c 0 " } else { "" },
            args[4..].join(" ")
        ),
    })
}

/// Requests/s of one `valkey-benchmark` run of `command`, from its `--csv` output.
fn raw_rate(raw: &Raw, command: &[&str]) -> Result<f64, String> {
    let out = Command::new(&raw.program)
        .args(&raw.prefix)
        .args(command)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", raw.program))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || errors.contains("rror") {
        return Err(format!(
            "{} {} failed ({}): {}{}",
            raw.invocation,
            command.join(" "),
            out.status,
            errors.trim(),
            text.trim()
        ));
    }
    text.lines()
        .filter(|l| l.starts_with('"') && !l.starts_with("\"test\""))
        .find_map(|l| {
            l.trim()
                .trim_matches('"')
                .split("\",\"")
                .nth(1)
                .and_then(|rps| rps.parse::<f64>().ok())
        })
        .filter(|r| *r > 0.0)
        .ok_or_else(|| format!("unexpected output of {}: {text}", raw.invocation))
}

/// One round of the raw baseline: requests/s of each command, and events/s.
fn raw_round(raw: &Raw) -> Result<(Vec<f64>, f64), String> {
    let rates = RAW_COMMANDS
        .iter()
        .map(|c| raw_rate(raw, c))
        .collect::<Result<Vec<f64>, String>>()?;
    let per_event: f64 = rates.iter().map(|r| 1.0 / r).sum();
    Ok((rates, 1.0 / per_event))
}

pub async fn aggregation_rows(
    settings: &Settings,
    store: &Store,
    conn: &MultiplexedConnection,
    data: &Data,
    url: &str,
    pinned: bool,
) -> AggregationRows {
    let s = settings;
    let registry = Registry::parse(REGISTRY, "bench aggregations").expect("bench aggregation");
    let spec = Spec::new(
        &registry,
        registry.aggregation(AGG).expect("bench_txn is declared"),
    )
    .expect("bench_txn spec");
    // The same aggregation without its `distinct` feature: the same rings, no `distinct`
    // script; a diagnostic row, to show what the `distinct` count costs.
    let no_distinct = REGISTRY.replace(
        "distinct_merchants_24h = { fn = \"distinct\", of = \"merchant\", window = \"24h\" }\n",
        "",
    );
    let no_distinct = Registry::parse(&no_distinct, "bench aggregations").expect("4 features");
    let spec4 = Spec::new(
        &no_distinct,
        no_distinct.aggregation(AGG).expect("bench_txn is declared"),
    )
    .expect("bench_txn spec without distinct");
    assert_eq!(spec4.feature_names().len(), 4);
    let agg = store.with_registry(registry);
    let mut conn = conn.clone();
    let merchants: Vec<String> = (0..MERCHANTS).map(|k| format!("merchant_{k:02}")).collect();
    let ids: Vec<String> = (0..s.agg_entities).map(id).collect();
    let streams: Vec<Vec<Event>> = (0..s.agg_entities)
        .map(|i| stream(i, s.agg_events_per_entity))
        .collect();
    delete_matching(&mut conn, &format!("fs:v1:{AGG}:*")).await;

    let t = Instant::now();
    prefill(&agg, &ids, &streams, &merchants).await;
    let recorded = s.agg_entities * s.agg_events_per_entity;
    let prefill_s = t.elapsed().as_secs_f64();
    note!(
        "aggregations: recorded {recorded} events ({} entities × {}) in {prefill_s:.1} s",
        s.agg_entities,
        s.agg_events_per_entity
    );
    let setup = format!(
        "aggregation `{AGG}` (granularity 1m and 1h; event: amount float, merchant string; \
         features: count 10m, count 1h, sum of amount 1h, avg of amount 24h, distinct merchants \
         24h), declared in the bench and attached with `Store::with_registry`; {} entities, each \
         with {} events at random times of 24 h ({MERCHANTS} merchants), recorded in time order \
         with `record_batch_at` in batches of 1,000, the simulated clock at each batch's latest \
         event ({recorded} events in {prefill_s:.1} s); reads at the day's last millisecond",
        s.agg_entities, s.agg_events_per_entity
    );

    // 1. The read of 5 features over windows up to 24 h, against a typed 5-feature read.
    let mut rng = SplitMix(0xa66_4ead);
    let mut reads = Vec::new();
    {
        for i in [0, s.agg_entities / 2, s.agg_entities - 1] {
            let probe = ids[i].as_str();
            let want = expected(&streams[i], NOW);
            let by_name = agg.read_aggregation_at(AGG, probe, NOW).await.unwrap();
            let by_spec = agg.read_spec(&spec, probe, NOW).await.unwrap();
            let by_name = by_name.into_vec();
            check(probe, &by_name, &want);
            assert_eq!(by_spec.into_vec(), by_name, "{probe}: read_spec differs");
        }
        let probe = data.ids[7].as_str();
        let five = Five::read(store, probe).await.unwrap().expect("user 7");
        let u = &data.users[7];
        assert_eq!(
            (
                five.age,
                five.lifetime_value,
                &five.segment,
                five.is_premium,
                five.days_since_signup
            ),
            (
                u.age,
                u.lifetime_value,
                &u.segment,
                u.is_premium,
                u.days_since_signup
            ),
            "typed 5-feature read"
        );
        let (rt_a, _) = counted(store, async || {
            agg.read_aggregation_at(AGG, ids[0].as_str(), NOW).await
        })
        .await;
        let (rt_s, _) = counted(store, async || {
            agg.read_spec(&spec, ids[0].as_str(), NOW).await
        })
        .await;
        let (rt_t, _) = counted(store, async || Five::read(store, probe).await).await;
        note!("row: aggregation read, 5 features");
        let (rt_4, _) = counted(store, async || {
            agg.read_spec(&spec4, ids[0].as_str(), NOW).await
        })
        .await;
        // Its own spec (a clone starts with an empty plan cache), so that its clock does not
        // replace the plan the rows above reuse.
        let later = spec.clone();
        let (rt_late, _) = counted(store, async || {
            agg.read_spec(&later, ids[0].as_str(), NOW + HOUR).await
        })
        .await;
        let samples = measure(5, s.warmup, s.read_iters, s.row_budget, async |side| {
            let t;
            let n = match side {
                0 => {
                    let id = ids[rng.below(ids.len())].as_str();
                    t = Instant::now();
                    agg.read_aggregation_at(AGG, id, NOW).await.unwrap().len()
                }
                1 => {
                    let id = ids[rng.below(ids.len())].as_str();
                    t = Instant::now();
                    agg.read_spec(&spec, id, NOW).await.unwrap().len()
                }
                3 => {
                    let id = ids[rng.below(ids.len())].as_str();
                    t = Instant::now();
                    agg.read_spec(&spec4, id, NOW).await.unwrap().len() + 1
                }
                4 => {
                    let id = ids[rng.below(ids.len())].as_str();
                    t = Instant::now();
                    agg.read_spec(&later, id, NOW + HOUR).await.unwrap().len()
                }
                _ => {
                    let id = data.ids[rng.below(data.ids.len())].as_str();
                    t = Instant::now();
                    Five::read(store, id).await.unwrap().map_or(0, |_| 5)
                }
            };
            let d = t.elapsed();
            assert_eq!(n, 5);
            d
        })
        .await;
        reads.push(RatioRow::new(
            "aggregation read, 5 features ≤ 24 h, by name",
            "`read_aggregation_at(\"bench_txn\", id, now)`: one HGETALL of the entity's hash: the 44 fields of the 2 rings the windows use (61 one-minute and 25 one-hour slots of bucket, count and amount sum, 2 slots a field: 2,064 bytes) and the `distinct` window's union count (every entity has events in the clock's hour, so the count fits the clock) | typed `Five::read`: HMGET, 6 fields",
            READ_TARGET,
            (rt_a, rt_t),
            &samples,
            0,
            2,
        ));
        reads.push(RatioRow::new(
            "aggregation read, 5 features ≤ 24 h, resolved `Spec`",
            "`read_spec(&spec, id, now)` (what generated structs call), same commands | typed `Five::read`: HMGET, 6 fields (same samples as the row above)",
            READ_TARGET,
            (rt_s, rt_t),
            &samples,
            1,
            2,
        ));
        reads.push(RatioRow::new(
            "diagnostic: the same read without `distinct` (4 features)",
            "`read_spec` of the same aggregation declared without `distinct_merchants_24h`: the same HGETALL of the rings, no union count | typed `Five::read`: HMGET, 6 fields (same samples as the rows above); no target: it shows what the `distinct` feature costs",
            f64::INFINITY,
            (rt_4, rt_t),
            &samples,
            3,
            2,
        ));
        reads.push(RatioRow::new(
            "diagnostic: the same read an hour later (no event yet in the clock's hour)",
            "`read_spec(&later, id, now + 1 h)`: the same HGETALL; the union ends at the previous hour and its window's first hour, which the reader's window has left, had events: a second round trip reads the entity again with the PFCOUNT of the window's 24 hourly HyperLogLogs | typed `Five::read`: HMGET, 6 fields (same samples as the rows above); no target: the cost of a `distinct` read whose union does not fit the clock",
            f64::INFINITY,
            (rt_late, rt_t),
            &samples,
            4,
            2,
        ));
    }

    // 2. `record_batch` of 1,000 events against the raw commands, in alternating rounds.
    let record = {
        let raw = raw_runner(s, url, pinned);
        if let Err(why) = &raw {
            note!(
                "\n\n====================================================================\n \
                 NO RAW BASELINE FOR THE AGGREGATION record_batch ROW: {why}.\n \
                 Measuring fstore alone; the row's ratio is not computed.\n\
                 ====================================================================\n"
            );
        }
        let mut clock = NOW;
        let fresh = |rng: &mut SplitMix, clock: u64| -> Batch<'_> {
            (0..BATCH)
                .map(|_| {
                    let e = Event {
                        ts: clock - rng.below(SEC as usize) as u64,
                        amount: (rng.below(40_000) + 1) as f64 / 4.0,
                        merchant: rng.below(MERCHANTS),
                    };
                    (
                        ids[rng.below(ids.len())].as_str(),
                        e.ts,
                        fields(&e, &merchants),
                    )
                })
                .collect()
        };
        let probe = fresh(&mut rng, clock);
        let (round_trips, report) = counted(store, async || {
            agg.record_batch_at(AGG, &probe, clock).await
        })
        .await;
        assert_eq!(report.unwrap().applied, BATCH, "record_batch_at of {BATCH}");
        let iters = (s.write1000_iters / ROUNDS).max(1);
        let mut rounds = Vec::new();
        let mut all = Vec::new();
        let mut raw_rounds: Vec<(Vec<f64>, f64)> = Vec::new();
        let mut raw_error = None;
        for round in 0..ROUNDS {
            note!(
                "row: aggregation record_batch of {BATCH}, round {}/{ROUNDS}",
                round + 1
            );
            let samples = measure(
                1,
                if round == 0 { s.warmup.min(20) } else { 0 },
                iters,
                s.row_budget / ROUNDS as u32,
                async |_| {
                    // One second later: the clock advances with the stream.
                    clock += SEC;
                    let events = fresh(&mut rng, clock);
                    let t = Instant::now();
                    let report = agg.record_batch_at(AGG, &events, clock).await.unwrap();
                    let d = t.elapsed();
                    assert_eq!(report.applied, BATCH);
                    d
                },
            )
            .await;
            rounds.push(BATCH as f64 / (samples.quantile_us(0, 0.5) / 1e6));
            all.extend_from_slice(&samples.sides[0]);
            if let Ok(r) = &raw {
                match raw_round(r) {
                    Ok(x) => raw_rounds.push(x),
                    Err(why) => {
                        note!("raw baseline failed: {why}");
                        raw_error.get_or_insert(why);
                    }
                }
            }
        }
        let all = crate::measurement::Samples { sides: vec![all] };
        let raw = match (raw, raw_error) {
            (Err(why), _) | (Ok(_), Some(why)) => Err(why),
            (Ok(r), None) => {
                let commands = RAW_COMMANDS
                    .iter()
                    .enumerate()
                    .map(|(k, c)| {
                        let rates: Vec<f64> = raw_rounds.iter().map(|(r, _)| r[k]).collect();
                        (c.join(" "), median(&rates))
                    })
                    .collect();
                let events: Vec<f64> = raw_rounds.iter().map(|(_, e)| *e).collect();
                Ok(RawBaseline {
                    invocation: r.invocation,
                    commands,
                    events_per_s: median(&events),
                    rounds: events,
                })
            }
        };
        let n = delete_matching(&mut conn, "bench_agg_raw:*").await;
        if raw.is_ok() {
            note!("raw baseline: deleted its {n} keys");
        }
        RecordRow {
            events: BATCH,
            batch_p50_us: all.quantile_us(0, 0.5),
            batch_p99_us: all.quantile_us(0, 0.99),
            events_per_s: median(&rounds),
            rounds,
            raw,
            round_trips,
            iterations: all.len(),
        }
    };

    // 3. One entity's memory after `agg_memory_events` events at 1/s, the clock advancing.
    let memory = {
        let entity = "bench_agg_memory";
        note!(
            "aggregation memory: {} events at 1/s for one entity",
            s.agg_memory_events
        );
        let mut rng = SplitMix(0x3e3_0e7);
        let events: Vec<Event> = (0..s.agg_memory_events)
            .map(|k| Event {
                ts: T0 + k as u64 * SEC,
                amount: (rng.below(40_000) + 1) as f64 / 4.0,
                merchant: rng.below(MERCHANTS),
            })
            .collect();
        let t = Instant::now();
        for chunk in events.chunks(MEMORY_BATCH) {
            let batch: Batch<'_> = chunk
                .iter()
                .map(|e| (entity, e.ts, fields(e, &merchants)))
                .collect();
            let now = chunk.last().map_or(T0, |e| e.ts);
            let report = agg.record_batch_at(AGG, &batch, now).await.unwrap();
            assert_eq!(report.applied, chunk.len());
        }
        note!(
            "aggregation memory: recorded in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let last = events.last().map_or(T0, |e| e.ts);
        let got = agg.read_aggregation_at(AGG, entity, last).await.unwrap();
        check(entity, &got.into_vec(), &expected(&events, last));
        let hash = spec.key(entity).expect("key");
        let keys = scan(&mut conn, &format!("{hash}*")).await;
        assert!(keys.contains(&hash), "no hash {hash} among {keys:?}");
        let mut hash_bytes = 0;
        let mut hll_bytes = 0;
        let mut hll_keys = 0;
        for key in &keys {
            let bytes: u64 = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(key)
                .arg("SAMPLES")
                .arg(0)
                .query_async(&mut conn)
                .await
                .expect("MEMORY USAGE");
            if *key == hash {
                hash_bytes = bytes;
            } else {
                assert!(
                    key.starts_with(&format!("{hash}:d:"))
                        || key.starts_with(&format!("{hash}:u:")),
                    "{key}"
                );
                hll_bytes += bytes;
                hll_keys += 1;
            }
        }
        let hash_fields: u64 = redis::cmd("HLEN")
            .arg(&hash)
            .query_async(&mut conn)
            .await
            .expect("HLEN");
        let hash_encoding: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(&hash)
            .query_async(&mut conn)
            .await
            .expect("OBJECT ENCODING");
        MemoryRow {
            events: s.agg_memory_events,
            hash_bytes,
            hash_fields,
            hash_encoding,
            hll_keys,
            hll_bytes,
        }
    };

    let n = delete_matching(&mut conn, &format!("fs:v1:{AGG}:*")).await;
    note!("aggregations: deleted their {n} keys");
    AggregationRows {
        setup,
        reads,
        record,
        memory,
    }
}
