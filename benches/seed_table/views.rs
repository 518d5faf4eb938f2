//! The views of `features.toml` every row uses, three hand-written ones (a 2-feature and a
//! 5-feature projection, and the fraud model's vector), and one list in each encoding for the
//! encodings rows.

mod features {
    fstore::registry!("features.toml");
}

pub use features::{UserActivity, UserProfile, UserRiskProfile};

/// Two features of `user_profile`: `HMGET key age lifetime_value _updated_at`.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(registry = "features.toml", name = "user_profile")]
pub struct Two {
    pub age: i64,
    pub lifetime_value: f64,
}

/// Five features of `user_profile`: `HMGET key age lifetime_value segment is_premium
/// days_since_signup _updated_at`; the typed read the aggregation rows compare with.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(registry = "features.toml", name = "user_profile")]
pub struct Five {
    pub age: i64,
    pub lifetime_value: f64,
    pub segment: String,
    pub is_premium: bool,
    pub days_since_signup: i64,
}

/// A fraud model's input over the three user views: one `HMGET` per view, one pipeline.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml")]
pub struct Fraud {
    #[fstore(view = "user_profile")]
    pub age: i64,
    #[fstore(view = "user_profile", name = "lifetime_value")]
    pub ltv: f64,
    #[fstore(view = "user_profile")]
    pub segment: String, // registry vocab: one-hot
    #[fstore(view = "user_risk_profile")]
    pub fraud_score: f64,
    #[fstore(view = "user_risk_profile")]
    pub txn_count_24h: i64, // registry default 0
    #[fstore(view = "user_activity")]
    pub sessions_7d: i64,
    #[fstore(view = "user_activity")]
    pub last_category: Option<String>, // registry vocab, index-encoded
}

/// A view of one `len`-float list in one encoding, with a constructor.
macro_rules! list_view {
    ($name:ident, $view:literal, $len:literal, $encoding:literal) => {
        #[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
        #[feature_view(name = $view, ttl = "1h")]
        pub struct $name {
            #[fstore(len = $len, encoding = $encoding)]
            pub embedding: Vec<f32>,
        }

        impl $name {
            pub fn new(embedding: Vec<f32>) -> $name {
                $name { embedding }
            }
        }
    };
}

list_view!(Json8, "bench_list_json8", 8, "json");
list_view!(Packed8, "bench_list_f32le8", 8, "f32le");
list_view!(Json64, "bench_list_json64", 64, "json");
list_view!(Packed64, "bench_list_f32le64", 64, "f32le");
