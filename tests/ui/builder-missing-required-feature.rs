// A builder's `build()` exists only once every required feature is set: `segment` is missing.

fstore::registry!("evolve-after.toml");

fn main() {
    let _ = UserScore::builder().score(0.5).build();
}
