#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector.toml")]
struct Inputs {
    #[fstore(view = "user_profil")]
    age: i64,
    #[fstore(view = "clicks")]
    clicks_24h: i64,
}

fn main() {}
