// The registry declares a string feature's `vocab`, which writers check and readers report
// against: a field may repeat it but not change it.

#[derive(fstore::FeatureView)]
#[feature_view(registry = "vocab.toml", name = "user_tier")]
struct Risk {
    #[fstore(vocab = ["basic", "vip", "gold"])]
    tier: String,
}

#[derive(fstore::FeatureView)]
#[feature_view(registry = "vocab.toml", name = "user_tier")]
struct Same {
    #[fstore(vocab = ["basic", "vip"])]
    tier: String,
}

fn main() {}
