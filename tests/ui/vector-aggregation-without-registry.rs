#[derive(fstore::FeatureVector)]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(aggregation = "user_txn")]
    txn_count_1h: i64,
}

fn main() {}
