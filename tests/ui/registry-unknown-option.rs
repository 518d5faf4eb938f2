fstore::registry!("evolve-after.toml", derives(Clone));

fn main() {}
