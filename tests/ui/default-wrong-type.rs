#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = "1h")]
struct UserProfile {
    age: i64,
    #[fstore(default = "yes")]
    is_premium: bool,
}

fn main() {}
