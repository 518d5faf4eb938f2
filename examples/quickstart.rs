//! The quickstart: typed feature writes and reads in a few lines.
//!
//! ```text
//! cargo run --example quickstart                                  # embedded, in-process
//! VALKEY_URL=redis://127.0.0.1:6379 cargo run --example quickstart  # a Valkey/Redis server
//! ```

use std::time::{Duration, Instant};

use fstore::{FeatureView, Store};

/// One struct per view of features.toml, generated at compile time (`fstore codegen features.toml`
/// prints the same code): `UserProfile`, `UserRiskProfile`, `UserActivity`, `ItemStats`.
mod features {
    fstore::registry!("features.toml");
}

use features::UserProfile;

/// A projection, written by hand and checked against the registry at compile time: two features
/// of `user_profile`, read with `HMGET key age lifetime_value _updated_at`. A misspelt field or a
/// wrong type here is a compile error that points at the registry's line.
#[derive(FeatureView, Debug)]
#[feature_view(registry = "features.toml", name = "user_profile")]
struct Spend {
    age: i64,
    lifetime_value: f64,
}

fn user(i: u32) -> UserProfile {
    UserProfile {
        age: 18 + i64::from(i % 60),
        lifetime_value: f64::from(i) * 12.5,
        segment: ["basic", "premium", "vip"][(i % 3) as usize].to_owned(),
        is_premium: !i.is_multiple_of(3),
        country: (!i.is_multiple_of(5))
            .then(|| ["DE", "FR", "NL", "US"][(i % 4) as usize].to_owned()),
        days_since_signup: i64::from(i) * 3,
        embedding: (0..8).map(|k| (i * 8 + k) as f32 / 100.0).collect(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::from_env("VALKEY_URL").await?;
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
    println!(
        "schema       features.toml, fingerprint {}",
        features::REGISTRY_FINGERPRINT
    );
    Ok(())
}
