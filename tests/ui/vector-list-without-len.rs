// A `Vec<f32>` field is `len` columns: the length comes from the attribute or the registry.

#[derive(fstore::FeatureVector)]
struct Standalone {
    #[fstore(view = "user_profile")]
    embedding: Vec<f32>,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector.toml")]
struct Checked {
    #[fstore(view = "user_profile")]
    embedding: Vec<f32>, // `len = 4` in the registry
    #[fstore(view = "user_profile")]
    tags: Option<Vec<f32>>,
}

fn main() {}
