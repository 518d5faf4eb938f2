fstore::registry!(features);

fn main() {}
