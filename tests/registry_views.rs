//! Structs from features.toml: `registry!` generated views and hand-written structs checked
//! against the registry, on Valkey and on the embedded backend.

mod behaviour;
mod support;

use behaviour::Harness;
use fstore::FeatureView;

mod features {
    fstore::registry!("features.toml");
}

use features::{ItemStats, UserProfile, UserRiskProfile};

/// A hand-written projection, checked against the registry: narrower types, a renamed field.
#[derive(fstore::FeatureView, Debug, PartialEq)]
#[feature_view(registry = "features.toml", name = "user_profile")]
struct Scoring {
    age: i32,
    #[fstore(rename = "lifetime_value")]
    ltv: f32,
    is_premium: bool,
    country: Option<String>,
}

fn profile(i: u8) -> UserProfile {
    UserProfile {
        age: 20 + i64::from(i),
        lifetime_value: 10.5 * f64::from(i),
        segment: "vip".to_owned(),
        is_premium: i.is_multiple_of(2),
        country: i.is_multiple_of(3).then(|| "NL".to_owned()),
        days_since_signup: i64::from(i) * 30,
        embedding: vec![f32::from(i); 8],
    }
}

#[test]
fn layout_comes_from_the_registry() {
    assert_eq!(UserProfile::KEY_PREFIX, "fs:v1:user_profile:");
    assert_eq!(UserProfile::TTL.as_secs(), 3600);
    assert_eq!(UserRiskProfile::TTL.as_secs(), 900);
    assert_eq!(ItemStats::TTL.as_secs(), 86_400);
    assert_eq!(
        UserProfile::FEATURES,
        [
            "age",
            "lifetime_value",
            "segment",
            "is_premium",
            "country",
            "days_since_signup",
            "embedding"
        ]
    );
    assert_eq!(Scoring::TTL, UserProfile::TTL);
    assert_eq!(
        Scoring::read_command("u").unwrap().to_string(),
        "HMGET fs:v1:user_profile:u age lifetime_value is_premium country _updated_at"
    );
    let registry = behaviour::root_registry();
    assert_eq!(features::REGISTRY_FINGERPRINT, registry.fingerprint());
}

async fn generated_structs_round_trip(h: Harness) {
    let rows: Vec<(String, UserProfile)> =
        (0..20u8).map(|i| (format!("u{i}"), profile(i))).collect();
    UserProfile::write_batch(&h.store, rows.iter().map(|(id, p)| (id, p)))
        .await
        .unwrap();
    let got = UserProfile::read_batch(&h.store, rows.iter().map(|(id, _)| id))
        .await
        .unwrap();
    let want: Vec<Option<UserProfile>> = rows.into_iter().map(|(_, p)| Some(p)).collect();
    assert_eq!(got, want);
    h.assert_every_key_expires(UserProfile::TTL).await;
}
both!(generated_round_trip, generated_structs_round_trip);

async fn checked_projection_reads_generated_writes(h: Harness) {
    profile(3).write(&h.store, "u3").await.unwrap();
    assert_eq!(
        Scoring::read(&h.store, "u3").await.unwrap(),
        Some(Scoring {
            age: 23,
            ltv: 31.5,
            is_premium: false,
            country: Some("NL".to_owned()),
        })
    );
}
both!(
    checked_projection,
    checked_projection_reads_generated_writes
);

async fn registry_defaults_apply(h: Harness) {
    // Another writer stored only some features; `is_premium` has `default = false` in the
    // registry, `txn_count_24h` `default = 0`, `is_flagged` `default = false`.
    h.hset(
        "fs:v1:user_profile:py",
        &[("age", b"41"), ("lifetime_value", b"2.5")],
    )
    .await;
    let got = Scoring::read(&h.store, "py").await.unwrap().unwrap();
    assert_eq!(
        got,
        Scoring {
            age: 41,
            ltv: 2.5,
            is_premium: false,
            country: None
        }
    );
    h.hset(
        "fs:v1:user_risk_profile:py",
        &[("fraud_score", b"0.05"), ("chargebacks_90d", b"1")],
    )
    .await;
    let risk = UserRiskProfile::read(&h.store, "py")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        risk,
        UserRiskProfile {
            fraud_score: 0.05,
            txn_count_24h: 0,
            chargebacks_90d: 1,
            is_flagged: false
        }
    );
    // Without a default, a required feature that is absent is still an error.
    h.hset("fs:v1:user_risk_profile:bare", &[("fraud_score", b"0.5")])
        .await;
    let err = UserRiskProfile::read(&h.store, "bare").await.unwrap_err();
    assert!(
        matches!(&err, fstore::Error::MissingField { field, .. } if field == "chargebacks_90d"),
        "{err:?}"
    );
}
both!(defaults, registry_defaults_apply);
