// `encoding` (and `len`) describe how a `Vec<f32>` is stored: on any other field they mean
// nothing.

#[derive(fstore::FeatureView)]
#[feature_view(name = "item", ttl = "1h")]
struct Item {
    #[fstore(encoding = "json")]
    price: f64,
    #[fstore(len = 2, encoding = "f32le")]
    title: Option<String>,
}

#[derive(fstore::FeatureVector)]
struct Inputs {
    #[fstore(view = "item", encoding = "json")]
    price: f64,
}

fn main() {}
