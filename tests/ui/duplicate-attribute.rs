#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = "1h", ttl = "2h")]
struct UserProfile {
    age: i64,
}

fn main() {}
