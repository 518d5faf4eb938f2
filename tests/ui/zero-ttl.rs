#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = 0)]
struct UserProfile {
    age: i64,
}

fn main() {}
