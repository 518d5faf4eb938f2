#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_profile")]
struct Profile {
    age: i64,
    favourite_colour: String,
}

fn main() {}
