#[derive(fstore::FeatureView)]
#[feature_view(name = "item", ttl = "1d")]
struct Item {
    #[fstore(default = 0.0)]
    embedding: Vec<f32>,
}

fn main() {}
