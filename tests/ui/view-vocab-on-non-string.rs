// A `vocab` lists the values of a string feature; on a number or a list it means nothing.

#[derive(fstore::FeatureView)]
#[feature_view(name = "item", ttl = "1h")]
struct Item {
    #[fstore(vocab = ["a", "b"])]
    price: f64,
    #[fstore(vocab = ["x"])]
    tier: Option<String>,
}

fn main() {}
