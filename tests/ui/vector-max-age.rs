// `max_age` names views the vector reads, each with a valid duration.

#[derive(fstore::FeatureVector)]
#[feature_vector(max_age(user_risk_profil = "10m", user_profile = "10 minutes"))]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_risk_profile")]
    fraud_score: f64,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(max_age = "10m")]
struct OneForAll {
    #[fstore(view = "user_profile")]
    age: i64,
}

fn main() {}
