#[derive(fstore::FeatureView)]
#[feature_view(name = "account", ttl = "1h")]
struct Account {
    #[fstore(default = -1)]
    seats: u32,
}

fn main() {}
