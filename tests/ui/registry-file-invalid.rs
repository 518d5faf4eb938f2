#[derive(fstore::FeatureView)]
#[feature_view(registry = "broken.toml", name = "user_profile")]
struct Profile {
    age: i64,
}

mod generated {
    fstore::registry!("broken.toml");
}

fn main() {}
