// A vector's views are keyed by one id unless it declares otherwise: `user_stats` is keyed by a
// user and `item_stats` by an item, so `vector(&store, 42)` would read item 42's price as if it
// belonged to user 42.

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "contract.toml")]
struct Inputs {
    #[fstore(view = "user_stats")]
    age: i64,
    #[fstore(view = "item_stats")]
    price: f64,
}

fn main() {}
