fstore::registry!("evolve-after.toml", derive(serde::Serialize, Default));

fn main() {}
