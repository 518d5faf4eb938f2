#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = "1h")]
enum UserProfile {
    Known { age: i64 },
    Unknown,
}

fn main() {}
