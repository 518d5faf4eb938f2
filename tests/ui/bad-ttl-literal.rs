#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = 1.5)]
struct UserProfile {
    age: i64,
}

#[derive(fstore::FeatureView)]
#[feature_view(name = "user_risk", ttl = "soon")]
struct UserRisk {
    fraud_score: f64,
}

fn main() {}
