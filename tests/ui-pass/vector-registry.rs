// A vector checked against a registry takes its namespace, version, `max_age`, defaults,
// vocabularies and list lengths from it; `max_age` and `encode` in the attributes override it.

use fstore::FeatureVector;

#[derive(fstore::FeatureVector, Debug)]
#[feature_vector(registry = "vector.toml")]
struct FromRegistry {
    #[fstore(view = "user_profile")]
    age: i32,
    #[fstore(view = "user_profile")]
    segment: String, // vocab from the registry, one-hot by default
    #[fstore(view = "user_profile")]
    embedding: Option<Vec<f32>>, // len = 4 from the registry
    #[fstore(view = "user_risk_profile")]
    txn_count_24h: i64, // default = 0 from the registry
    #[fstore(view = "user_profile", skip)]
    tags: Vec<f32>, // no len anywhere: fine, it is skipped
}

#[derive(fstore::FeatureVector, Debug)]
#[feature_vector(
    registry = "vector.toml",
    max_age(user_risk_profile = 30, user_profile = "1d")
)]
struct Overridden {
    #[fstore(view = "user_profile", encode = "index")]
    segment: String,
    #[fstore(view = "user_profile", len = 4)]
    embedding: Vec<f32>, // the same as the registry's: fine, but not needed
    #[fstore(view = "user_risk_profile", rename = "fraud_score", default = 0.5)]
    score: f32,
}

fn main() {
    assert_eq!(
        FromRegistry::COLUMNS,
        [
            "user_profile__age",
            "user_profile__segment=basic",
            "user_profile__segment=premium",
            "user_profile__segment=vip",
            "user_profile__embedding[0]",
            "user_profile__embedding[1]",
            "user_profile__embedding[2]",
            "user_profile__embedding[3]",
            "user_risk_profile__txn_count_24h",
        ]
    );
    let views = <FromRegistry as FeatureVector>::VIEWS;
    assert_eq!(views[0].key_prefix, "fs:v1:user_profile:");
    assert_eq!(
        views[0].read_fields,
        ["age", "segment", "embedding", "tags", "_updated_at"]
    );
    assert_eq!(views[0].max_age_ms, None);
    assert_eq!(views[1].max_age_ms, Some(600_000), "the registry's 10m");

    assert_eq!(
        Overridden::COLUMNS,
        [
            "user_profile__segment",
            "user_profile__embedding[0]",
            "user_profile__embedding[1]",
            "user_profile__embedding[2]",
            "user_profile__embedding[3]",
            "user_risk_profile__fraud_score",
        ]
    );
    let views = <Overridden as FeatureVector>::VIEWS;
    assert_eq!(views[0].max_age_ms, Some(86_400_000));
    assert_eq!(views[1].max_age_ms, Some(30_000));
    let v = Overridden {
        segment: "premium".into(),
        embedding: vec![1.0; 4],
        score: 0.5,
    };
    assert_eq!(v.to_array(), [1.0, 1.0, 1.0, 1.0, 1.0, 0.5]);
}
