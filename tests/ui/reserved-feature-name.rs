#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = "1h")]
struct UserProfile {
    age: i64,
    _internal_score: f64,
    #[fstore(rename = "_updated_at")]
    last_seen: i64,
}

fn main() {}
