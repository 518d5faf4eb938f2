#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector.toml")]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: f64,
    #[fstore(view = "user_profile")]
    segment: Option<i64>,
}

fn main() {}
