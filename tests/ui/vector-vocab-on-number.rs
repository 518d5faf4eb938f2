#[derive(fstore::FeatureVector)]
struct Inputs {
    #[fstore(view = "user_profile", vocab = ["young", "old"])]
    age: i64,
    #[fstore(view = "user_profile", len = 8)]
    lifetime_value: f64,
}

fn main() {}
