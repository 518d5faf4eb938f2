// A multi-entity vector's key has one named field per entity: an item id cannot be passed where
// the key expects the user's, and a bare id is not a key.

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "contract.toml", key(user, item))]
struct Rank {
    #[fstore(view = "user_stats")]
    age: i64,
    #[fstore(view = "item_stats")]
    price: f64,
}

async fn read(store: &fstore::Store) {
    let _ = Rank::vector(store, "user_1").await;
    let _ = Rank::vector(store, RankKey { customer: "u1", item: "i1" }).await;
}

fn main() {}
