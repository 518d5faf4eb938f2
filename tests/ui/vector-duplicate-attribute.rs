#[derive(fstore::FeatureVector)]
#[feature_vector(max_age(user_profile = "1m"), max_age(user_profile = "2m"))]
struct Inputs {
    #[fstore(view = "user_profile", skip, skip)]
    country: Option<String>,
    #[fstore(view = "user_profile", name = "age", rename = "age")]
    years: i64,
    #[fstore(view = "user_profile", vocab = ["a", "b", "a"])]
    segment: String,
}

fn main() {}
