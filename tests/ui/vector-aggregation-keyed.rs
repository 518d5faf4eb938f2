#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector-aggregation.toml", key(user, item))]
struct Ranking {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "item_stats")]
    price: f64,
    #[fstore(aggregation = "user_txn")]
    txn_count_1h: i64,
}

fn main() {}
