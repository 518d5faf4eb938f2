#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = "1h")]
struct UserProfile {}

fn main() {}
