// `crate = ...` names fstore by another path, for a crate that renamed its dependency
// (`my_fstore = { package = "fstore", ... }` in Cargo.toml) or re-exports it. Here the
// dependency is reachable only as `my_fstore`: `::fstore` names this crate, so generated code
// that wrote `::fstore::...` would not compile.

extern crate fstore as my_fstore;
extern crate self as fstore;

mod generated {
    my_fstore::registry!("evolve-after.toml", crate = my_fstore);
}

#[derive(my_fstore::FeatureView, Debug, PartialEq)]
#[feature_view(crate = "my_fstore", name = "user_score", ttl = "1h")]
struct Score {
    score: f64,
    #[fstore(default = 0)]
    clicks: i64,
}

#[derive(my_fstore::FeatureVector, Debug)]
#[feature_vector(crate = "crate::reexport")]
struct Inputs {
    #[fstore(view = "user_score")]
    score: f64,
}

/// A re-export, named by a path that is not a crate.
mod reexport {
    pub use my_fstore::*;
}

fn main() {
    use my_fstore::FeatureView;
    assert_eq!(Score::READ_FIELDS, ["score", "clicks", "_updated_at"]);
    assert_eq!(generated::UserScore::KEY_PREFIX, "fs:v1:user_score:");
    assert_eq!(Inputs::WIDTH, 1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = my_fstore::Store::embedded();
        let row = generated::UserScore::builder().score(0.5).segment("vip").build();
        row.write(&store, "u1").await.unwrap();
        let read = Score::read(&store, "u1").await.unwrap();
        assert_eq!(read, Some(Score { score: 0.5, clicks: 0 }));
        let inputs = Inputs::vector(&store, "u1").await.unwrap();
        assert_eq!(inputs.to_array(), [0.5]);
    });
}
