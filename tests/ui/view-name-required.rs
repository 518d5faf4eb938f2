// A standalone view states its name: it is part of every key, shared by every reader and
// writer, and is never guessed from the struct's name.

#[derive(fstore::FeatureView)]
#[feature_view(ttl = "1h")]
struct UserProfile {
    age: i64,
}

fn main() {}
