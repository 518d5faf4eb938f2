// The field attribute is `#[fstore(...)]`: `#[feature(...)]` is a built-in attribute of Rust
// (`#![feature(...)]` enables unstable features), so a derive cannot claim it as a helper.

#[derive(fstore::FeatureView)]
#[feature_view(name = "user_profile", ttl = "1h")]
struct UserProfile {
    age: i64,
    #[feature(default = false)]
    is_premium: bool,
}

fn main() {}
