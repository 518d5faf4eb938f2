//! A feature named with a Rust keyword (`type`) is a raw identifier, both in generated structs
//! and in hand-written ones checked against the registry.

mod generated {
    fstore::registry!("ui.toml");
}

#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_profile")]
struct Kind {
    r#type: String,
    age: u32,
    lifetime_value: f32,
    embedding: Vec<f32>,
}

fn main() {
    use fstore::FeatureView as _;
    assert_eq!(Kind::FEATURES, ["type", "age", "lifetime_value", "embedding"]);
    assert_eq!(Kind::TTL.as_secs(), 3600);
    let generated = generated::UserProfile {
        age: 1,
        lifetime_value: 2.0,
        segment: String::new(),
        is_premium: false,
        r#type: "a".to_owned(),
        embedding: vec![0.0; 4],
    };
    let _ = generated.r#type;
    assert_eq!(
        generated::UserProfile::FEATURES,
        ["age", "lifetime_value", "segment", "is_premium", "type", "embedding"]
    );
    assert_eq!(generated::UserRiskProfile::TTL.as_secs(), 900);
}
