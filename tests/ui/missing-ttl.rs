#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile")]
struct UserProfile {
    age: i64,
}

fn main() {}
