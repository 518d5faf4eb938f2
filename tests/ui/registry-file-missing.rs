#[derive(fstore::FeatureView)]
#[feature_view(registry = "no-such-registry.toml", name = "user_profile")]
struct Profile {
    age: i64,
}

fn main() {}
