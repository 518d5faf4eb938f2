#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_profil")]
struct Profile {
    age: i64,
}

#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml")]
struct Clicks {
    count: i64,
}

fn main() {}
