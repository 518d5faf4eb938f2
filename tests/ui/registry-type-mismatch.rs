#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_profile")]
struct Profile {
    age: f64,
    segment: Option<i64>,
    is_premium: String,
}

fn main() {}
