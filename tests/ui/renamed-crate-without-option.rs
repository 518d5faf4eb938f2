// Without `crate = ...`, generated code names fstore `::fstore`: where that is not the fstore
// crate (a renamed dependency; here `::fstore` is this crate), it does not compile.
// `tests/ui-pass/renamed-crate.rs` is the same with the option.

extern crate fstore as my_fstore;
extern crate self as fstore;

#[derive(my_fstore::FeatureView)]
#[feature_view(name = "user_score", ttl = "1h")]
struct Score {
    score: f64,
}

fn main() {}
