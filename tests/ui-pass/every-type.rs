// Every supported feature type, bare and in an `Option`, with every `#[feature_view]` key.

use fstore::FeatureView;

#[derive(FeatureView)]
#[feature_view(name = "everything", ttl = 60, version = 3, namespace = "test.ns")]
struct Everything {
    a_i64: i64,
    a_i32: i32,
    a_u32: u32,
    a_u64: u64,
    a_f64: f64,
    a_f32: f32,
    a_bool: bool,
    a_string: String,
    an_embedding: Vec<f32>,
    maybe_i64: Option<i64>,
    maybe_i32: Option<i32>,
    maybe_u32: Option<u32>,
    maybe_u64: Option<u64>,
    maybe_f64: Option<f64>,
    maybe_f32: Option<f32>,
    maybe_bool: Option<bool>,
    maybe_string: Option<String>,
    maybe_embedding: Option<Vec<f32>>,
}

fn main() {
    assert_eq!(Everything::VIEW, "everything");
    assert_eq!(Everything::NAMESPACE, "test.ns");
    assert_eq!(Everything::VERSION, 3);
    assert_eq!(Everything::KEY_PREFIX, "test.ns:v3:everything:");
    assert_eq!(Everything::TTL, std::time::Duration::from_secs(60));
    assert_eq!(
        Everything::READ_FIELDS,
        [
            "a_i64",
            "a_i32",
            "a_u32",
            "a_u64",
            "a_f64",
            "a_f32",
            "a_bool",
            "a_string",
            "an_embedding",
            "maybe_i64",
            "maybe_i32",
            "maybe_u32",
            "maybe_u64",
            "maybe_f64",
            "maybe_f32",
            "maybe_bool",
            "maybe_string",
            "maybe_embedding",
            "_updated_at",
        ]
    );
}
