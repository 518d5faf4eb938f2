// The code `#[derive(FeatureVector)]` generates names everything by absolute path: it compiles in
// a module without the prelude, and beside items that shadow every name it uses.

#[no_implicit_prelude]
mod without_prelude {
    #[derive(::fstore::FeatureVector)]
    #[feature_vector(max_age(user_risk_profile = "1m"))]
    pub struct Inputs {
        #[fstore(view = "user_profile")]
        pub age: i64,
        #[fstore(view = "user_profile", default = "basic", vocab = ["basic", "vip"])]
        pub segment: ::std::string::String,
        #[fstore(view = "user_risk_profile", default = 0)]
        pub fraud_score: f64,
        #[fstore(view = "user_risk_profile", default = -f64::INFINITY)]
        pub floor: f32,
        #[fstore(view = "user_profile", len = 2)]
        pub embedding: ::std::option::Option<::std::vec::Vec<f32>>,
    }
}

#[allow(dead_code, non_camel_case_types)]
mod shadowed {
    mod core {}
    mod std {}
    mod fstore {}
    mod alloc {}
    type Result<T> = ::std::result::Result<T, ()>;
    type f32 = ();
    type usize = ();
    type str = ();
    struct Ok;
    struct Err;
    struct Some;
    struct None;
    struct Vec;
    struct VectorRows;
    struct VectorView;
    struct Report;
    struct Store;
    struct EntityId;
    struct Column;
    trait FeatureVector {}
    trait IntoIterator {}

    /// Methods of the names the generated code calls, on every type.
    trait Everywhere {
        fn get<T>(&self, _: usize) -> T {
            ::std::unimplemented!()
        }
        fn get_list<T>(&self, _: usize) -> T {
            ::std::unimplemented!()
        }
        fn column(&self) {}
    }
    impl<X: ?Sized> Everywhere for X {}

    #[derive(::fstore::FeatureVector)]
    pub struct Inputs {
        #[fstore(view = "user_profile")]
        pub age: i64,
        #[fstore(view = "user_activity", vocab = ["books"], encode = "index")]
        pub last_category: ::std::option::Option<String>,
        #[fstore(view = "user_profile", len = 2)]
        pub embedding: ::std::vec::Vec<::core::primitive::f32>,
    }
}

fn main() {
    assert_eq!(
        without_prelude::Inputs::COLUMNS,
        [
            "user_profile__age",
            "user_profile__segment=basic",
            "user_profile__segment=vip",
            "user_risk_profile__fraud_score",
            "user_risk_profile__floor",
            "user_profile__embedding[0]",
            "user_profile__embedding[1]",
        ]
    );
    assert_eq!(shadowed::Inputs::WIDTH, 4);
}
