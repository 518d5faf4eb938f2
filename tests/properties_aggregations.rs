//! Property: real-time aggregations computed in the store equal a brute-force model that keeps
//! every event, for random event streams (late, future and on-time events, two entities) read
//! at random times: exactly for count, integer sum, min, max and last; within 1e-9 (relative)
//! for float sums and averages, which Valkey adds in long double; within HyperLogLog's error
//! for `distinct` (exact on the embedded backend). Run on the embedded backend, a throwaway
//! `valkey-server` and a throwaway cluster.

mod behaviour;
mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use behaviour::Harness;
use fstore::registry::Registry;
use fstore::{Recorded, Store, Value};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
const T0: u64 = 1_796_083_200_000;

const REGISTRY: &str = r#"
[entities.user]

[aggregations.txn]
entity = "user"
granularity = ["1m", "1h"]

[aggregations.txn.event]
amount = "float"
qty = "int"
merchant = "string"

[aggregations.txn.features]
n_10m = { fn = "count", window = "10m" }
n_1h = { fn = "count", window = "1h" }
n_24h = { fn = "count", window = "24h" }
qty_sum_10m = { fn = "sum", of = "qty", window = "10m" }
qty_sum_24h = { fn = "sum", of = "qty", window = "24h" }
amount_sum_1h = { fn = "sum", of = "amount", window = "1h" }
amount_avg_24h = { fn = "avg", of = "amount", window = "24h" }
qty_min_1h = { fn = "min", of = "qty", window = "1h" }
qty_max_24h = { fn = "max", of = "qty", window = "24h" }
amount_min_10m = { fn = "min", of = "amount", window = "10m" }
last_merchant_1h = { fn = "last", of = "merchant", window = "1h" }
last_qty_24h = { fn = "last", of = "qty", window = "24h" }
distinct_merchants_24h = { fn = "distinct", of = "merchant", window = "24h" }
distinct_qty_10m = { fn = "distinct", of = "qty", window = "10m" }
"#;

#[derive(Clone, Copy, Debug, PartialEq)]
enum F {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Last,
    Distinct,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Of {
    None,
    Amount,
    Qty,
    Merchant,
}

/// The features above, with the resolution the documented rule picks (the finest granularity
/// covering the window in at most 64 buckets): 10m and 1h at 1m, 24h at 1h.
const FEATURES: [(&str, F, Of, u64, u64); 14] = [
    ("n_10m", F::Count, Of::None, 10 * MIN, MIN),
    ("n_1h", F::Count, Of::None, HOUR, MIN),
    ("n_24h", F::Count, Of::None, 24 * HOUR, HOUR),
    ("qty_sum_10m", F::Sum, Of::Qty, 10 * MIN, MIN),
    ("qty_sum_24h", F::Sum, Of::Qty, 24 * HOUR, HOUR),
    ("amount_sum_1h", F::Sum, Of::Amount, HOUR, MIN),
    ("amount_avg_24h", F::Avg, Of::Amount, 24 * HOUR, HOUR),
    ("qty_min_1h", F::Min, Of::Qty, HOUR, MIN),
    ("qty_max_24h", F::Max, Of::Qty, 24 * HOUR, HOUR),
    ("amount_min_10m", F::Min, Of::Amount, 10 * MIN, MIN),
    ("last_merchant_1h", F::Last, Of::Merchant, HOUR, MIN),
    ("last_qty_24h", F::Last, Of::Qty, 24 * HOUR, HOUR),
    (
        "distinct_merchants_24h",
        F::Distinct,
        Of::Merchant,
        24 * HOUR,
        HOUR,
    ),
    ("distinct_qty_10m", F::Distinct, Of::Qty, 10 * MIN, MIN),
];

#[derive(Clone, Debug)]
enum Step {
    /// Move the clock forward.
    Advance(u64),
    /// Record an event of entity `id`, `lateness` ms before the clock (negative: ahead).
    Record {
        id: usize,
        lateness: i64,
        amount: i64,
        qty: i64,
        merchant: u8,
    },
    /// Read both entities at the clock.
    Read,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => prop_oneof![0..2 * MIN, 0..HOUR, 0..6 * HOUR].prop_map(Step::Advance),
        6 => (
            0..2usize,
            prop_oneof![
                4 => 0..5 * MIN as i64,
                2 => 0..2 * HOUR as i64,
                2 => 0..30 * HOUR as i64,
                1 => -(3 * MIN as i64)..0,
            ],
            -100_000..100_000i64,
            // Beyond f64's exact integers (min/max compare them as text), without overflowing
            // a sum of 80 events.
            prop_oneof![
                8 => -1000..1000i64,
                1 => (1i64 << 53)..(1i64 << 53) + 3,
                1 => -(1i64 << 53) - 3..-(1i64 << 53),
            ],
            0..40u8,
        )
            .prop_map(|(id, lateness, amount, qty, merchant)| Step::Record {
                id,
                lateness,
                amount,
                qty,
                merchant,
            }),
        2 => Just(Step::Read),
    ]
}

/// An event the model keeps: entity, time, arrival order, values.
#[derive(Clone, Debug)]
struct Event {
    id: usize,
    ts: u64,
    seq: usize,
    amount: f64,
    qty: i64,
    merchant: String,
}

/// What the store must report for each feature of entity `id` at `now`, computed from every
/// event accepted so far.
fn model(events: &[Event], id: usize, now: u64) -> Vec<(String, Expect)> {
    FEATURES
        .iter()
        .map(|&(name, f, of, window, res)| {
            let cur = now / res;
            let first = (cur + 1).saturating_sub(window / res);
            let inside: Vec<&Event> = events
                .iter()
                .filter(|e| e.id == id && (first..=cur).contains(&(e.ts / res)))
                .collect();
            let expect =
                match (f, of) {
                    (F::Count, _) => Expect::Int(inside.len() as i64),
                    (F::Sum, Of::Qty) => Expect::Int(inside.iter().map(|e| e.qty).sum()),
                    (F::Sum, _) => Expect::Float(Some(inside.iter().map(|e| e.amount).sum())),
                    (F::Avg, _) => Expect::Float((!inside.is_empty()).then(|| {
                        inside.iter().map(|e| e.amount).sum::<f64>() / inside.len() as f64
                    })),
                    (F::Min, Of::Qty) => Expect::OptInt(inside.iter().map(|e| e.qty).min()),
                    (F::Max, Of::Qty) => Expect::OptInt(inside.iter().map(|e| e.qty).max()),
                    (F::Min, _) => Expect::Float(
                        inside
                            .iter()
                            .map(|e| e.amount)
                            .min_by(|a, b| a.total_cmp(b)),
                    ),
                    (F::Max, _) => unreachable!(),
                    (F::Last, of) => {
                        let last = inside.iter().max_by_key(|e| (e.ts, e.seq));
                        match of {
                            Of::Qty => Expect::OptInt(last.map(|e| e.qty)),
                            _ => Expect::Text(last.map(|e| e.merchant.clone())),
                        }
                    }
                    (F::Distinct, of) => {
                        let mut set: Vec<String> = inside
                            .iter()
                            .map(|e| match of {
                                Of::Qty => e.qty.to_string(),
                                _ => e.merchant.clone(),
                            })
                            .collect();
                        set.sort();
                        set.dedup();
                        Expect::Distinct(set.len() as i64)
                    }
                };
            (name.to_owned(), expect)
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq)]
enum Expect {
    Int(i64),
    OptInt(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
    Distinct(i64),
}

impl Expect {
    fn matches(&self, got: &Value, exact_distinct: bool) -> bool {
        match (self, got) {
            (Expect::Int(a), Value::Int(b)) => a == b,
            (Expect::OptInt(Some(a)), Value::Int(b)) => a == b,
            (Expect::OptInt(None) | Expect::Float(None) | Expect::Text(None), Value::Null) => true,
            (Expect::Float(Some(a)), Value::Float(b)) => {
                (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
            }
            (Expect::Text(Some(a)), Value::String(b)) => a == b,
            (Expect::Distinct(a), Value::Int(b)) if exact_distinct => a == b,
            // HyperLogLog: 0.81% standard error; allow four of them (and one for tiny sets).
            (Expect::Distinct(a), Value::Int(b)) => {
                (a - b).abs() as f64 <= (0.0324 * *a as f64).max(1.0)
            }
            _ => false,
        }
    }
}

/// The outcome the documented rules give an event at `ts` arriving at `now`.
fn outcome(ts: u64, now: u64) -> Recorded {
    if ts > now + MIN {
        return Recorded::Future;
    }
    let kept = |res: u64, keep: u64| ts / res + keep > now / res;
    if kept(MIN, 60) || kept(HOUR, 24) {
        Recorded::Applied
    } else {
        Recorded::Late
    }
}

fn value(v: i64) -> f64 {
    v as f64 / 100.0
}

/// Runs `steps` (with every `qty` moved to 2⁵³..2⁵³+4 when `big`: integers that `f64` cannot
/// tell apart, which minimums and maximums must still order).
async fn run(
    store: &Store,
    case: u64,
    (big, steps): &(bool, Vec<Step>),
    exact: bool,
) -> Result<(), TestCaseError> {
    let ids = [format!("a{case}"), format!("}}b%{case}")]; // a `}` and a `%`: escaped in keys
    let mut now = T0 + case % 7 * 997;
    let mut events: Vec<Event> = Vec::new();
    for (seq, step) in steps.iter().chain([&Step::Read]).enumerate() {
        match step {
            Step::Advance(ms) => now += ms,
            Step::Record {
                id,
                lateness,
                amount,
                qty,
                merchant,
            } => {
                let ts = now.checked_add_signed(-lateness).unwrap();
                let qty = &if *big {
                    (1i64 << 53) + qty.rem_euclid(4)
                } else {
                    *qty
                };
                let fields = [
                    ("amount", Value::Float(value(*amount))),
                    ("qty", Value::Int(*qty)),
                    ("merchant", Value::String(format!("m{merchant}"))),
                ];
                let got = store
                    .record_at("txn", &ids[*id], ts, &fields, now)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("record: {e}")))?;
                let want = outcome(ts, now);
                prop_assert_eq!(got, want, "event at {} with the clock at {}", ts, now);
                if want == Recorded::Applied {
                    events.push(Event {
                        id: *id,
                        ts,
                        seq,
                        amount: value(*amount),
                        qty: *qty,
                        merchant: format!("m{merchant}"),
                    });
                }
            }
            Step::Read => {
                for (id, name) in ids.iter().enumerate() {
                    let got = store
                        .read_aggregation_at("txn", name, now)
                        .await
                        .map_err(|e| TestCaseError::fail(format!("read: {e}")))?;
                    for (feature, want) in model(&events, id, now) {
                        let value = got.get(&feature).unwrap();
                        prop_assert!(
                            want.matches(value, exact),
                            "{} of {} at {}: store {:?}, model {:?}",
                            feature,
                            name,
                            now,
                            value,
                            want
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

fn check(h: Harness, cases: u32, exact: bool) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = h
        .store
        .with_registry(Registry::parse(REGISTRY, "features.toml").unwrap());
    let case = AtomicU64::new(0);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&(any::<bool>(), vec(step(), 1..80)), |steps| {
        let n = case.fetch_add(1, Ordering::Relaxed);
        rt.block_on(run(&store, n, &steps, exact))
    });
    drop(store);
    drop(h);
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn aggregations_match_the_model_embedded() {
    check(Harness::embedded(), 256, true);
}

#[test]
fn aggregations_match_the_model_valkey() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let h = rt.block_on(Harness::valkey());
    check(h, 96, false);
}

#[test]
fn aggregations_match_the_model_cluster() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let h = rt.block_on(Harness::cluster());
    check(h, 32, false);
}
