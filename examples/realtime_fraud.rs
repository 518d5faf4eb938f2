//! Real-time fraud scoring: a stream consumer records card transactions into an aggregation
//! computed inside the store, and the scorer reads one feature vector that mixes a nightly batch
//! view with the aggregation's windows (10 minutes, 1 hour, 24 hours), in one round trip.
//!
//! ```text
//! cargo run --example realtime_fraud                                  # embedded, in-process
//! VALKEY_URL=redis://127.0.0.1:6379 cargo run --example realtime_fraud  # a Valkey/Redis server
//! ```
//!
//! The registry is `examples/realtime_fraud.toml`: the view `card_profile` and the aggregation
//! `card_txn` (event: amount, merchant; features: counts, sums, max, average, distinct
//! merchants, last merchant). `fstore::registry!` generates `CardProfile` (the view),
//! `CardTxnEvent` (what the consumer records) and `CardTxn` (every windowed feature, typed).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use fstore::Store;

mod features {
    fstore::registry!("examples/realtime_fraud.toml");
}

use features::{CardProfile, CardTxn, CardTxnEvent};

/// The scorer's input: two batch features and five real-time ones, read together.
#[derive(fstore::FeatureVector, Debug)]
#[feature_vector(registry = "examples/realtime_fraud.toml")]
struct TxnInputs {
    #[fstore(view = "card_profile")]
    account_age_days: i64,
    #[fstore(view = "card_profile")]
    avg_ticket_90d: f64,
    #[fstore(aggregation = "card_txn")]
    txn_count_10m: i64,
    #[fstore(aggregation = "card_txn")]
    amount_sum_10m: f64,
    #[fstore(aggregation = "card_txn")]
    amount_max_1h: Option<f64>,
    #[fstore(aggregation = "card_txn")]
    distinct_merchants_1h: u64,
    #[fstore(aggregation = "card_txn")]
    txn_count_24h: i64,
}

/// A small logistic model over the vector: bursts of transactions, spend far above the card's
/// usual ticket, many merchants in an hour, and young accounts raise the score.
fn score(x: &TxnInputs) -> f64 {
    let ticket = x.avg_ticket_90d.max(1.0);
    let logit = -4.0
        + 0.9 * (x.txn_count_10m as f64).ln_1p()
        + 0.35 * (x.amount_sum_10m / ticket).min(20.0)
        + 0.25 * (x.amount_max_1h.unwrap_or(0.0) / ticket).min(10.0)
        + 0.3 * x.distinct_merchants_1h as f64
        + if x.account_age_days < 30 { 0.8 } else { 0.0 }
        - 0.1 * (x.txn_count_24h as f64).ln_1p();
    1.0 / (1.0 + (-logit).exp())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;

/// `(id, what, account age, usual ticket)` of the demo card holders.
const USERS: [(&str, &str, i64, f64); 3] = [
    (
        "card_01",
        "steady: a purchase every two hours at a few shops",
        900,
        42.0,
    ),
    (
        "card_02",
        "the same history, then eight purchases at eight shops in five minutes",
        900,
        42.0,
    ),
    ("card_03", "a week-old account, two purchases", 7, 30.0),
];

/// The simulated stream: `(id, event time, event)`, as a consumer would read it.
fn stream(now: u64) -> Vec<(&'static str, u64, CardTxnEvent)> {
    let txn = |amount: f64, merchant: &str| CardTxnEvent {
        amount,
        merchant: merchant.to_owned(),
    };
    let mut events = Vec::new();
    for (id, _, _, ticket) in &USERS[..2] {
        for i in 0..12u64 {
            let shop = ["grocer", "bakery", "fuel"][i as usize % 3];
            events.push((
                *id,
                now - (23 * HOUR) + i * 2 * HOUR,
                txn(ticket * 0.8 + i as f64, shop),
            ));
        }
    }
    for i in 0..8u64 {
        let shop = format!("shop_{i}");
        events.push((
            "card_02",
            now - 5 * MIN + i * 30_000,
            txn(140.0 + 10.0 * i as f64, &shop),
        ));
    }
    events.push(("card_03", now - 3 * HOUR, txn(25.0, "bakery")));
    events.push(("card_03", now - 20 * MIN, txn(35.0, "fuel")));
    // A day and a half late: no window covers it any more, so it is refused and counted.
    events.push(("card_01", now - 36 * HOUR, txn(999.0, "late")));
    events
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::from_env("VALKEY_URL").await?;
    println!("fstore real-time fraud scoring on {}", store.backend_name());
    if store.as_embedded().is_some() {
        println!("  (set VALKEY_URL=redis://host:port to run against a server)");
    }

    // The nightly batch job.
    for (id, _, age, ticket) in USERS {
        CardProfile {
            account_age_days: age,
            avg_ticket_90d: ticket,
        }
        .write(&store, id)
        .await?;
    }

    // The stream consumer: one atomic script call per event, pipelined.
    let now = now_ms();
    let events = stream(now);
    let n = events.len();
    let t = Instant::now();
    let report = CardTxnEvent::record_batch(&store, events).await?;
    println!(
        "recorded {} of {n} events in {:.3} ms; refused as late: {:?}",
        report.applied,
        t.elapsed().as_secs_f64() * 1e3,
        report.late
    );
    if report.late.len() != 1 || report.applied != n - 1 {
        return Err(format!("expected exactly one late event, got {report:?}").into());
    }
    println!(
        "model input: {} columns ({})",
        TxnInputs::WIDTH,
        TxnInputs::COLUMNS.join(", ")
    );
    println!();

    let mut scores = Vec::new();
    for (id, what, _, _) in USERS {
        let before = store.round_trips();
        let inputs = TxnInputs::vector(&store, id).await?;
        let trips = store.round_trips() - before;
        let p = score(&inputs);
        println!("{id}: {what}");
        println!("  {inputs:?}");
        println!("  one vector, {trips} round trip(s): P(fraud) = {p:.4}");
        let all = CardTxn::read(&store, id).await?;
        println!(
            "  last merchant {:?}, 24 h average {:?}",
            all.last_merchant_24h, all.amount_avg_24h
        );
        scores.push(p);
    }
    // The burst stands out.
    if !(scores[1] > 0.5 && scores[0] < 0.2) {
        return Err(format!("unexpected scores {scores:?}").into());
    }
    Ok(())
}
