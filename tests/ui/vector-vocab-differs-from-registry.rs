// The registry is the schema writers and trainers share: a field may repeat its `vocab` and `len`
// but not change them.

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector.toml")]
struct Inputs {
    #[fstore(view = "user_profile", vocab = ["basic", "premium"])]
    segment: String,
    #[fstore(view = "user_profile", len = 8)]
    embedding: Vec<f32>,
}

fn main() {}
