#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_profile", ttl = "2h", version = 2)]
struct Profile {
    age: i64,
}

fn main() {}
