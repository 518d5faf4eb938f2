#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector-aggregation.toml")]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_profile", aggregation = "user_txn")]
    txn_count_1h: i64,
    #[fstore(aggregation = "user_txn", default = 0.0)]
    amount_avg_24h: Option<f64>,
    #[fstore(aggregation = "user_txn", name = "txn_count_1h")]
    count_again: i64,
    #[fstore(aggregation = "user_txn")]
    last_merchant_24h: Option<String>,
    #[fstore(aggregation = "item_views")]
    views_1h: i64,
}

fn main() {}
