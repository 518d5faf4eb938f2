#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector.toml", namespace = "fs", version = 2)]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
}

fn main() {}
