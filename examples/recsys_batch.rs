//! Candidate ranking: one user and 100 candidate items, their feature vectors in one round trip
//! (a multi-entity vector: the user's view read once, each item's once), one `f32` matrix, and a
//! dot product against the user's taste vector to pick the top 10.
//!
//! ```text
//! cargo run --example recsys_batch                                  # embedded, in-process
//! VALKEY_URL=redis://127.0.0.1:6379 cargo run --example recsys_batch  # a Valkey/Redis server
//! ```

use std::time::{Duration, Instant};

use fstore::Store;

/// One struct per view of features.toml; `ItemStats` and `UserProfile` seed the data here.
mod features {
    fstore::registry!("features.toml");
}

use features::{ItemStats, UserProfile};

/// The ranking model's input: the user's taste embedding and every feature of `item_stats`, 24
/// columns. `user_profile` is keyed by a user and `item_stats` by an item, so the vector declares
/// its key: `RankInputsKey { user, item }` (without `key(...)` it would not compile).
#[derive(fstore::FeatureVector, Debug)]
#[feature_vector(registry = "features.toml", key(user, item))]
struct RankInputs {
    /// The user's taste embedding (`user_profile.embedding`), read once for all candidates.
    #[fstore(view = "user_profile", name = "embedding")]
    taste: Vec<f32>,
    #[fstore(view = "item_stats")]
    price: f64,
    #[fstore(view = "item_stats")]
    ctr_7d: f64,
    /// vocab from features.toml, one column per category: `item_stats__category=books`, …
    #[fstore(view = "item_stats", encode = "onehot")]
    category: String,
    /// The registry's `default = true` applies when absent.
    #[fstore(view = "item_stats")]
    in_stock: bool,
    /// `len = 8` in the registry: 8 columns, `item_stats__embedding[0]` … `[7]`.
    #[fstore(view = "item_stats", len = 8)]
    embedding: Vec<f32>,
}

const CATEGORIES: [&str; 5] = ["books", "electronics", "fashion", "home", "sports"];
const CANDIDATES: usize = 100;

/// A deterministic pseudo-random number in `[0, 1)` for item `i` and stream `salt` (SplitMix64;
/// no `rand` dependency).
fn noise(i: usize, salt: u64) -> f32 {
    let mut z = (i as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f32 / (1u64 << 24) as f32
}

fn item(i: usize) -> ItemStats {
    ItemStats {
        price: 5.0 + f64::from((noise(i, 1) * 195.0).round()) - 0.01,
        ctr_7d: f64::from((noise(i, 2) * 80.0).round()) / 1000.0,
        category: CATEGORIES[i % CATEGORIES.len()].to_owned(),
        in_stock: i % 7 != 3,
        embedding: (0..8).map(|k| noise(i, 10 + k) * 2.0 - 1.0).collect(),
    }
}

/// The user's weight per column of `RankInputs::COLUMNS`: a score is `row · taste`. Built by
/// column name, so it does not depend on the column order; the item embedding's part is the
/// user's own taste embedding, so that term is embedding similarity (the user's own columns
/// weigh 0).
fn taste(user_embedding: &[f32]) -> [f32; RankInputs::WIDTH] {
    let mut w = [0.0; RankInputs::WIDTH];
    for (w, column) in w.iter_mut().zip(RankInputs::COLUMNS) {
        *w = match column {
            "item_stats__price" => -0.01,
            "item_stats__ctr_7d" => 20.0,
            "item_stats__category=books" => 0.6,
            "item_stats__category=electronics" => 0.3,
            "item_stats__category=fashion" => -0.4,
            "item_stats__in_stock" => 1.0,
            _ => 0.0,
        };
    }
    let start = RankInputs::COLUMNS
        .iter()
        .position(|c| *c == "item_stats__embedding[0]")
        .expect("RankInputs has an item embedding");
    w[start..start + user_embedding.len()].copy_from_slice(user_embedding);
    w
}

/// Prints one timed step: `what` and its duration in milliseconds.
fn step(what: &str, d: Duration) {
    println!("{what:<46} {:>9.3} ms", d.as_secs_f64() * 1e3);
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::from_env("VALKEY_URL").await?;
    println!("fstore recsys batch on {}", store.backend_name());
    if store.as_embedded().is_some() {
        println!("  (set VALKEY_URL=redis://host:port to run against a server)");
    }

    // Seed: 100 items in one write_batch, and the user whose taste we rank for.
    let ids: Vec<String> = (0..CANDIDATES).map(|i| format!("item_{i:03}")).collect();
    let items: Vec<ItemStats> = (0..CANDIDATES).map(item).collect();
    let t = Instant::now();
    ItemStats::write_batch(&store, ids.iter().zip(&items)).await?;
    step(
        &format!("write_batch   {CANDIDATES} items (item_stats)"),
        t.elapsed(),
    );
    let user = UserProfile {
        age: 34,
        lifetime_value: 1800.0,
        segment: "premium".to_owned(),
        is_premium: true,
        country: Some("NL".to_owned()),
        days_since_signup: 700,
        embedding: vec![0.9, -0.2, 0.4, 0.0, -0.6, 0.3, 0.1, 0.5],
    };
    user.write(&store, "user_042").await?;

    // Every (user, candidate) vector: 1 HMGET of user_profile + 100 of item_stats, one pipeline.
    let before = store.round_trips();
    let t = Instant::now();
    let keys = ids.iter().map(|item| RankInputsKey {
        user: "user_042",
        item,
    });
    let vectors = RankInputs::vector_batch(&store, keys).await?;
    let read_items = t.elapsed();
    let round_trips = store.round_trips() - before;
    step(
        &format!(
            "vector_batch  user × {} items, {round_trips} round trip(s)",
            vectors.len()
        ),
        read_items,
    );
    let user_embedding = vectors.first().ok_or("no candidates")?.taste.clone();

    // One row-major matrix: CANDIDATES x WIDTH.
    let t = Instant::now();
    let matrix = RankInputs::to_matrix(&vectors);
    let to_matrix = t.elapsed();
    step(
        &format!(
            "to_matrix     {} x {} = {} f32",
            vectors.len(),
            RankInputs::WIDTH,
            matrix.len()
        ),
        to_matrix,
    );

    // Score every row against the taste vector and keep the top 10.
    let t = Instant::now();
    let w = taste(&user_embedding);
    let mut ranked: Vec<(usize, f32)> = matrix
        .chunks_exact(RankInputs::WIDTH)
        .map(|row| row.iter().zip(&w).map(|(x, w)| x * w).sum())
        .enumerate()
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(10);
    step(
        &format!(
            "score, top 10 {} dot products of {}",
            vectors.len(),
            RankInputs::WIDTH
        ),
        t.elapsed(),
    );

    println!();
    println!("taste vector over the item columns of RankInputs::COLUMNS (the user's weigh 0):");
    for (column, weight) in RankInputs::COLUMNS
        .iter()
        .zip(w)
        .filter(|(c, _)| c.starts_with("item_stats__"))
    {
        println!("  {column:<34} {weight:+.2}");
    }
    println!();
    println!(
        "top 10 of {CANDIDATES} for user_042 (score = row · taste; sim = its embedding part):"
    );
    println!(
        "  {:>4}  {:<8} {:>7} {:>7} {:>8} {:>6}  {:<12} {:>8}",
        "rank", "item", "score", "sim", "price", "ctr", "category", "in_stock"
    );
    for (rank, (i, score)) in ranked.iter().enumerate() {
        let v = &vectors[*i];
        // The embedding similarity, the part of the score that the embedding columns add.
        let sim: f32 = v
            .embedding
            .iter()
            .zip(&user_embedding)
            .map(|(a, b)| a * b)
            .sum();
        println!(
            "  {:>4}  {:<8} {score:>7.3} {sim:>7.3} {:>8.2} {:>6.3}  {:<12} {:>8}",
            rank + 1,
            ids[*i],
            v.price,
            v.ctr_7d,
            v.category,
            v.in_stock
        );
    }
    Ok(())
}
