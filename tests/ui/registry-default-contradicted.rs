// The registry says what an absent value is; a field may repeat its default but not change
// it (the dynamic API and every other reader use the registry's).

#[derive(fstore::FeatureView)]
#[feature_view(registry = "contract.toml", name = "user_stats")]
struct Stats {
    #[fstore(default = 5)]
    visits: i64,
    #[fstore(default = 3_000_000_000)]
    seats: i64,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "contract.toml")]
struct Inputs {
    #[fstore(view = "user_stats", default = 1)]
    visits: i64,
    #[fstore(view = "user_stats", default = -1)]
    credit: i64,
}

fn main() {}
