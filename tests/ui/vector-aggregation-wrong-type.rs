#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector-aggregation.toml")]
struct Inputs {
    #[fstore(aggregation = "user_txn")]
    amount_avg_24h: i64,
    #[fstore(aggregation = "user_txn")]
    txn_count_1h: u64,
}

fn main() {}
