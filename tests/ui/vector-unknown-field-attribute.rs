// An unknown key is one error; the `view` it may be a misspelling of is not reported missing.

#[derive(fstore::FeatureVector)]
struct Inputs {
    #[fstore(veiw = "user_profile")]
    age: i64,
    #[fstore(view = "user_profile", skip, ttl = "1h")]
    country: Option<String>,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(name = "inputs")]
struct Named {
    #[fstore(view = "user_profile")]
    age: i64,
}

fn main() {}
