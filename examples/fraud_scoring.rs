//! Fraud scoring: a feature vector over three views, read in one round trip, into a small
//! logistic-regression model, with a report of which features were stored, defaulted or stale.
//!
//! ```text
//! cargo run --example fraud_scoring                                  # embedded, in-process
//! VALKEY_URL=redis://127.0.0.1:6379 cargo run --example fraud_scoring  # a Valkey/Redis server
//! ```
//!
//! The vector struct, the model and the demo users live in `examples/common/fraud.rs`, shared with
//! the `serving` example:
//!
//! ```text
//! #[derive(fstore::FeatureVector, Debug)]
//! #[feature_vector(registry = "features.toml")]
//! pub struct FraudInputs {
//!     #[fstore(view = "user_profile")] pub age: i64,
//!     #[fstore(view = "user_profile", name = "lifetime_value")] pub ltv: f64,
//!     #[fstore(view = "user_profile")] pub segment: String,              // one-hot
//!     #[fstore(view = "user_risk_profile")] pub fraud_score: Option<f64>,
//!     #[fstore(view = "user_risk_profile", default = 0)] pub txn_count_24h: i64,
//!     #[fstore(view = "user_activity")] pub last_category: Option<String>, // vocab index
//! }
//! ```

use std::time::{Duration, Instant};

use fstore::Store;

#[path = "common/fraud.rs"]
mod fraud;

use fraud::{FraudInputs, BIAS, MODEL};

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Reads, prints and scores the vector of one user.
async fn score_user(store: &Store, id: &str) -> fstore::Result<()> {
    let before = store.round_trips();
    let t = Instant::now();
    let (inputs, report) = FraudInputs::vector_with_report(store, id).await?;
    let took = t.elapsed();
    println!(
        "{id}: vector_with_report, {} round trip(s), {}",
        store.round_trips() - before,
        ms(took)
    );
    println!("  {inputs:?}");

    // The model input: FraudInputs::WIDTH columns, named by FraudInputs::COLUMNS.
    let x: [f32; FraudInputs::WIDTH] = inputs.to_array();
    let scored = fraud::score(&x);
    println!(
        "  {:<34} {:>9} {:>8} {:>7}",
        "column", "input", "weight", "term"
    );
    for (((column, value), coef), term) in FraudInputs::COLUMNS
        .iter()
        .zip(x)
        .zip(MODEL)
        .zip(scored.terms)
    {
        let note = if value.is_nan() {
            "  NaN: no value, imputed (z = 0)"
        } else {
            ""
        };
        // `+ 0.0` prints -0 (a negative weight times 0) as 0.
        println!(
            "  {column:<34} {value:>9.3} {:>8.2} {:>+7.3}{note}",
            coef.weight,
            term + 0.0
        );
    }
    println!("  {:<34} {:>9} {:>8} {BIAS:>+7.3}", "bias", "", "");
    println!(
        "  logit {:+.3}  ->  P(fraud) = {:.4}",
        scored.logit, scored.probability
    );
    if !scored.imputed.is_empty() {
        println!("  imputed: {}", scored.imputed.join(", "));
    }
    // Report implements Display: "all 6 stored", or the fields that were not.
    println!("  report: {report}");
    for field in report.not_stored() {
        println!(
            "    {}.{}: {:?}{}",
            field.view,
            field.feature,
            field.source,
            if field.stale {
                " (row older than max_age)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::from_env("VALKEY_URL").await?;
    println!("fstore fraud scoring on {}", store.backend_name());
    if store.as_embedded().is_some() {
        println!("  (set VALKEY_URL=redis://host:port to run against a server)");
    }

    let t = Instant::now();
    fraud::seed(&store).await?;
    println!(
        "seeded {} users in {}:",
        fraud::USERS.len(),
        ms(t.elapsed())
    );
    for (id, what) in fraud::USERS {
        println!("  {id}  {what}");
    }
    println!(
        "model input: {} columns from {} views",
        FraudInputs::WIDTH,
        <FraudInputs as fstore::FeatureVector>::VIEWS.len()
    );
    println!();

    // Every feature stored.
    score_user(&store, "user_002").await?;
    println!();
    // No user_risk_profile row: fraud_score is None (NaN in the model input, imputed by the
    // model) and txn_count_24h takes its default; the report names both.
    score_user(&store, "user_004").await?;
    println!();

    // Every demo user at once: 4 users x 3 views = 12 HMGETs in one pipeline.
    let ids = fraud::USERS.map(|(id, _)| id);
    let before = store.round_trips();
    let t = Instant::now();
    let batch = FraudInputs::vector_batch(&store, ids).await?;
    let took = t.elapsed();
    let matrix = FraudInputs::to_matrix(&batch);
    print!(
        "vector_batch of {} users, {} round trip(s), {}:",
        ids.len(),
        store.round_trips() - before,
        ms(took)
    );
    for (id, row) in ids.iter().zip(matrix.chunks_exact(FraudInputs::WIDTH)) {
        let x: &[f32; FraudInputs::WIDTH] = row.try_into()?;
        print!("  {id} {:.4}", fraud::score(x).probability);
    }
    println!();
    println!();

    // No user_profile row either: `age` is required and has no default, so the read fails.
    match FraudInputs::vector(&store, "user_999").await {
        Ok(v) => return Err(format!("user_999 should not exist, read {v:?}").into()),
        Err(e @ fstore::Error::MissingFeature { .. }) => println!("user_999: {e}"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
