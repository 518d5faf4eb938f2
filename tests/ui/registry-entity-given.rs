// A registry's view has its entity; a struct checked against it does not restate it.

#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_profile", entity = "item")]
struct Profile {
    age: i64,
}

#[derive(fstore::FeatureView)]
#[feature_view(name = "p", ttl = "1h", entity = "bad:entity")]
struct Standalone {
    age: i64,
}

fn main() {}
