#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector-aggregation.toml")]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(aggregation = "user_txn")]
    txn_count_1hh: i64,
    #[fstore(aggregation = "user_txn", name = "amount_avg")]
    avg_amount: Option<f64>,
    #[fstore(aggregation = "user_txns")]
    txn_count_1h: i64,
}

fn main() {}
