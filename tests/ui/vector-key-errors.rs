// `key(...)` lists the entities of the vector's views, each once, in key order.

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "contract.toml", key(user, merchant))]
struct UnknownEntity {
    #[fstore(view = "user_stats")]
    age: i64,
    #[fstore(view = "item_stats")]
    price: f64,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "contract.toml", key(user, item))]
struct UnusedEntity {
    #[fstore(view = "user_stats")]
    age: i64,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "contract.toml", key(user))]
struct OneEntity {
    #[fstore(view = "user_stats")]
    age: i64,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(key(user, item))]
struct NoRegistry {
    #[fstore(view = "user_stats")]
    age: i64,
}

fn main() {}
