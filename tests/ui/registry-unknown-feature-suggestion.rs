#[derive(fstore::FeatureView)]
#[feature_view(registry = "ui.toml", name = "user_profile")]
struct Profile {
    agee: i64,
    #[fstore(rename = "segmnt")]
    segment: String,
}

fn main() {}
