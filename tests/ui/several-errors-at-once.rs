use std::collections::HashMap;

#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = "1w")]
struct UserProfile {
    age: i64,
    purchases_by_category: HashMap<String, i64>,
    #[fstore(default = "yes")]
    is_premium: bool,
}

fn main() {}
