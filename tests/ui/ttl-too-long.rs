// A TTL is at most 100 years, in the derive as in the registry: Valkey cannot expire a key that
// far ahead, and a write would fail after the hash was written.

#[derive(fstore::FeatureView)]
#[feature_view(name = "a", ttl = 9223372036854775807)]
struct A {
    x: i64,
}

#[derive(fstore::FeatureView)]
#[feature_view(name = "b", ttl = "36501d")]
struct B {
    x: i64,
}

#[derive(fstore::FeatureView)]
#[feature_view(name = "c", ttl = "36500d")]
struct C {
    x: i64,
}

#[derive(fstore::FeatureVector)]
#[feature_vector(max_age(a = 99999999999))]
struct V {
    #[fstore(view = "a")]
    x: i64,
}

fn main() {}
