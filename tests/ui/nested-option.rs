#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = "1h")]
struct UserProfile {
    age: Option<Option<i64>>,
}

fn main() {}
