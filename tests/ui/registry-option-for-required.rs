// `Option` is for features the registry declares `optional = true`. For a required one,
// writing `None` would delete it; for one with a default, an absent value reads as the default.

#[derive(fstore::FeatureView)]
#[feature_view(registry = "contract.toml", name = "user_stats")]
struct Stats {
    age: Option<i64>,
    visits: Option<i64>,
    nickname: Option<String>,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "contract.toml")]
struct Inputs {
    // A vector only reads: `Option` of a required feature reads a missing row as `None`.
    #[fstore(view = "user_stats")]
    age: Option<i64>,
    #[fstore(view = "user_stats")]
    visits: Option<i64>,
}

fn main() {}
