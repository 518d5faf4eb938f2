//! The quickstart: typed feature writes and reads in a few lines.
//!
//! ```text
//! cargo run --example quickstart                                  # embedded, in-process
//! VALKEY_URL=redis://127.0.0.1:6379 cargo run --example quickstart  # a Valkey/Redis server
//! ```

use std::time::{Duration, Instant};

use fstore::{FeatureView, Store};

/// The `user_profile` view of features.toml: one hash per user at `fs:v1:user_profile:{id}`.
#[derive(FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "user_profile", ttl = "1h")]
struct UserProfile {
    age: i64,
    lifetime_value: f64,
    segment: String,
    #[fstore(default = false)]
    is_premium: bool,
    country: Option<String>,
    #[fstore(rename = "days_since_signup")]
    tenure_days: i64,
}

/// A projection: two features of the same view, read with `HMGET key age lifetime_value …`.
#[derive(FeatureView, Debug)]
#[feature_view(name = "user_profile", ttl = "1h")]
struct Spend {
    age: i64,
    lifetime_value: f64,
}

fn user(i: u32) -> UserProfile {
    UserProfile {
        age: 18 + i64::from(i % 60),
        lifetime_value: f64::from(i) * 12.5,
        segment: ["basic", "premium", "vip"][(i % 3) as usize].to_owned(),
        is_premium: i % 3 != 0,
        country: (i % 5 != 0).then(|| ["DE", "FR", "NL", "US"][(i % 4) as usize].to_owned()),
        tenure_days: i64::from(i) * 3,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = match std::env::var("VALKEY_URL") {
        Ok(url) if !url.is_empty() => Store::connect(&url).await?,
        _ => Store::embedded(),
    };
    println!("fstore quickstart on {}", store.backend_name());
    if store.as_embedded().is_some() {
        println!("  (set VALKEY_URL=redis://host:port to run against a server)");
    }

    // Write 100 users: one pipeline, one atomic script call per user (fields, stamp, TTL).
    let rows: Vec<(String, UserProfile)> = (0..100)
        .map(|i| (format!("user_{i:03}"), user(i)))
        .collect();
    let t = Instant::now();
    UserProfile::write_batch(&store, rows.iter().map(|(id, row)| (id, row))).await?;
    println!(
        "write_batch  100 users              {:>12}",
        ms(t.elapsed())
    );

    // One user, every feature: HMGET fs:v1:user_profile:user_007 age … _updated_at
    let t = Instant::now();
    let one = UserProfile::read(&store, "user_007").await?;
    println!(
        "read         user_007               {:>12}  {one:?}",
        ms(t.elapsed())
    );

    // A projection: two features only.
    let t = Instant::now();
    let spend = Spend::read(&store, "user_042").await?;
    println!(
        "read         user_042 (2 features)  {:>12}  {spend:?}",
        ms(t.elapsed())
    );

    // A batch of 100 ids in one pipeline; results in input order, None for unknown ids.
    let ids: Vec<String> = (0..100).map(|i| format!("user_{:03}", 99 - i)).collect();
    let t = Instant::now();
    let batch = UserProfile::read_batch(&store, &ids).await?;
    let found = batch.iter().flatten().count();
    println!(
        "read_batch   100 ids                {:>12}  {found} found, first: {:?}",
        ms(t.elapsed()),
        batch[0]
    );

    let missing = UserProfile::read(&store, "nobody").await?;
    println!(
        "read         nobody                 {:>12}",
        format!("{missing:?}")
    );

    let ttl = UserProfile::ttl(&store, "user_007").await?;
    println!("ttl          user_007               {ttl:?}");
    println!("key layout   {}{{entity_id}}", UserProfile::KEY_PREFIX);
    Ok(())
}
