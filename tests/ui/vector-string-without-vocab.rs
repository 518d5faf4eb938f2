// A string becomes model input through a vocabulary; without one (in the attribute or the
// registry) the field must be skipped.

#[derive(fstore::FeatureVector)]
struct Standalone {
    #[fstore(view = "user_profile")]
    segment: String,
    #[fstore(view = "user_profile", skip)]
    nickname: String,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "vector.toml")]
struct Checked {
    #[fstore(view = "user_profile")]
    segment: String, // the registry's vocab applies
    #[fstore(view = "user_profile")]
    country: Option<String>,
}

fn main() {}
