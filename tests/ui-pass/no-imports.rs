// The generated code names everything by absolute path: it compiles in a module without the
// prelude, and beside items that shadow every name it uses.

#[no_implicit_prelude]
mod without_prelude {
    #[derive(::fstore::FeatureView)]
    #[feature_view(name = "user_profile", ttl = "1h")]
    pub struct UserProfile {
        pub age: i64,
        pub segment: ::std::string::String,
        #[fstore(default = "unknown")]
        pub country: ::std::string::String,
        #[fstore(default = 0)]
        pub discount: f64,
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
    type Duration = ();
    struct Ok;
    struct Err;
    struct Some;
    struct None;
    struct Vec;
    struct Row;
    struct RowWriter;
    struct Store;
    struct EntityId;
    trait FeatureView {}
    trait IntoIterator {}
    trait Borrow {}

    /// Methods of the names the generated code calls, on every type.
    trait Everywhere {
        fn get<T>(&self, _: usize) -> T {
            ::std::unimplemented!()
        }
        fn get_or_else<T>(&self, _: usize, _: T) -> T {
            ::std::unimplemented!()
        }
        fn put<T>(&mut self, _: &str, _: &T) {}
    }
    impl<X: ?Sized> Everywhere for X {}

    #[derive(::fstore::FeatureView)]
    #[feature_view(name = "user_profile", ttl = "1h")]
    pub struct UserProfile {
        pub age: i64,
        #[fstore(default = 1.5)]
        pub lifetime_value: f64,
        pub country: ::std::option::Option<String>,
    }
}

fn main() {
    use fstore::FeatureView;
    assert_eq!(
        without_prelude::UserProfile::READ_FIELDS,
        [
            "age",
            "segment",
            "country",
            "discount",
            "embedding",
            "_updated_at"
        ]
    );
    assert_eq!(
        shadowed::UserProfile::READ_FIELDS,
        ["age", "lifetime_value", "country", "_updated_at"]
    );
}
