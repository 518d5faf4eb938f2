#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector.toml")]
struct Inputs {
    #[fstore(view = "user_profile")]
    agee: i64,
    #[fstore(view = "user_risk_profile", name = "fraud_scor")]
    fraud: f64,
    #[fstore(view = "user_profile")]
    favourite_colour: Option<String>,
}

fn main() {}
