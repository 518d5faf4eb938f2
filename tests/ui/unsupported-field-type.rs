use std::collections::HashMap;

#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = "1h")]
struct UserProfile {
    age: i64,
    purchases_by_category: HashMap<String, i64>,
}

fn main() {}
