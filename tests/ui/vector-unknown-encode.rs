#[derive(fstore::FeatureVector)]
struct Inputs {
    #[fstore(view = "user_profile", vocab = ["basic", "vip"], encode = "one_hot")]
    segment: String,
    #[fstore(view = "user_activity", encode = "index")]
    last_category: Option<String>,
}

fn main() {}
