// A registry default must fit the field's type: `3000000000` in an `i32` would wrap to
// -1294967296, `-1` in a `u32` has no value, and `1e300` in an `f32` is infinity.

#[derive(fstore::FeatureView)]
#[feature_view(registry = "contract.toml", name = "user_stats")]
struct Stats {
    age: i64,
    seats: i32,
    credit: u32,
    score: f32,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(registry = "contract.toml")]
struct Inputs {
    #[fstore(view = "user_stats")]
    seats: i32,
}

fn main() {}
