// A list's `encoding` is `json` (the default) or `f32le`.

#[derive(fstore::FeatureView)]
#[feature_view(name = "item", ttl = "1h")]
struct Item {
    #[fstore(len = 8, encoding = "f32")]
    embedding: Vec<f32>,
    #[fstore(encoding = "base64")]
    other: Option<Vec<f32>>,
}

#[derive(fstore::FeatureVector)]
struct Inputs {
    #[fstore(view = "item", len = 8, encoding = "JSON")]
    embedding: Vec<f32>,
}

fn main() {}
