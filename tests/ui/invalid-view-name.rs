#[derive(fstore::FeatureView)]
#[feature_view(name = "user:profile", ttl = "1h")]
struct UserProfile {
    age: i64,
}

fn main() {}
