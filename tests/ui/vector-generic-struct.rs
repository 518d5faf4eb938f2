#[derive(fstore::FeatureVector)]
struct Inputs<T> {
    #[fstore(view = "user_profile")]
    age: T,
}

fn main() {}
