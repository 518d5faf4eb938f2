// Every field of a vector names the view it is read from.

#[derive(fstore::FeatureVector)]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
    lifetime_value: f64,
}

fn main() {}
