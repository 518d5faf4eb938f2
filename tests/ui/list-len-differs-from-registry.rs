// The registry declares each list's `len`, checked on every read and write: a field may repeat
// it but not change it.

#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_profile")]
struct Profile {
    #[fstore(len = 8)]
    embedding: Vec<f32>,
}

fn main() {}
