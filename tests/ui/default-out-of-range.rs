#[derive(fstore::FeatureView)]
#[feature_view(name = "account", ttl = "1h")]
struct Account {
    #[fstore(default = 3_000_000_000)]
    seats: i32,
}

fn main() {}
