// `rename` and a `default` of every scalar kind: a negative integer, an integer literal on a float
// field, a string. An entity that has none of the defaulted features reads back the defaults.

use fstore::{FeatureView, Store};

#[derive(FeatureView, Debug, PartialEq)]
#[feature_view(name = "account", ttl = "15m")]
struct Account {
    #[fstore(rename = "days_since_signup")]
    tenure_days: i64,
    #[fstore(default = -1)]
    credit_delta: i64,
    #[fstore(default = -7, rename = "tz_offset_hours")]
    tz_offset: i32,
    #[fstore(default = 3)]
    seats: u32,
    #[fstore(default = 18_446_744_073_709_551_615)]
    quota_bytes: u64,
    #[fstore(default = 0)]
    discount: f64,
    #[fstore(default = -0.5)]
    bias: f32,
    #[fstore(default = 2.5)]
    multiplier: f64,
    #[fstore(default = false)]
    is_premium: bool,
    #[fstore(rename = "plan_name", default = "free")]
    plan: String,
}

/// A projection of the same view: writes only `days_since_signup`.
#[derive(FeatureView)]
#[feature_view(name = "account", ttl = "15m")]
struct Tenure {
    days_since_signup: i64,
}

fn main() {
    assert_eq!(
        Account::FEATURES,
        [
            "days_since_signup",
            "credit_delta",
            "tz_offset_hours",
            "seats",
            "quota_bytes",
            "discount",
            "bias",
            "multiplier",
            "is_premium",
            "plan_name",
        ]
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::embedded();
        Tenure {
            days_since_signup: 12,
        }
        .write(&store, "acct_1")
        .await
        .unwrap();
        let read = Account::read(&store, "acct_1").await.unwrap();
        assert_eq!(
            read,
            Some(Account {
                tenure_days: 12,
                credit_delta: -1,
                tz_offset: -7,
                seats: 3,
                quota_bytes: u64::MAX,
                discount: 0.0,
                bias: -0.5,
                multiplier: 2.5,
                is_premium: false,
                plan: "free".to_owned(),
            })
        );
    });
}
