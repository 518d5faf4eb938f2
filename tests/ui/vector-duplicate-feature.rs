// A vector reads each feature of a view once, under whatever field name.

#[derive(fstore::FeatureVector)]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_profile", name = "age")]
    age_again: i32,
    #[fstore(view = "user_activity")]
    age_of_account: i64,
    #[fstore(view = "user_activity", rename = "age")]
    activity_age: i64, // another view: fine
}

fn main() {}
