// Types are recognised however they are written: by their full path, with or without a leading
// `::`.

use fstore::FeatureView;

#[derive(FeatureView)]
#[feature_view(name = "user_profile", ttl = "1h")]
struct UserProfile {
    segment: std::string::String,
    country: ::std::option::Option<::std::string::String>,
    orders: ::std::option::Option<i64>,
    embedding: std::vec::Vec<f32>,
    maybe_embedding: core::option::Option<reexported::Vec<f32>>,
    score: ::core::primitive::f64,
}

mod reexported {
    pub use std::vec::Vec;
}

fn main() {
    assert_eq!(
        UserProfile::FEATURES,
        [
            "segment",
            "country",
            "orders",
            "embedding",
            "maybe_embedding",
            "score"
        ]
    );
}
