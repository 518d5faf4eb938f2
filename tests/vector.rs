//! Multi-view feature vectors: one HMGET per view in one pipeline, defaults, Option, stale rows,
//! vocabulary encodings and widths, on Valkey and on the embedded backend.

mod behaviour;
mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use behaviour::Harness;
use fstore::{Error, Source};

mod features {
    fstore::registry!("features.toml");
}

use features::{UserActivity, UserProfile, UserRiskProfile};

/// The issue's example, checked against features.toml.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml")]
struct FraudInputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_profile", name = "lifetime_value")]
    ltv: f64,
    #[fstore(view = "user_risk_profile")]
    fraud_score: f64,
    #[fstore(view = "user_risk_profile", default = 0)]
    txn_count_24h: i64,
    #[fstore(view = "user_activity")]
    last_category: Option<String>,
}

/// Every kind of column: one-hot (registry vocab), bool, Option number, list, index (registry).
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml")]
struct Wide {
    #[fstore(view = "user_profile")]
    segment: String,
    #[fstore(view = "user_profile")]
    is_premium: bool,
    #[fstore(view = "user_risk_profile")]
    fraud_score: Option<f64>,
    #[fstore(view = "user_profile")]
    embedding: Vec<f32>,
    #[fstore(view = "user_activity")]
    last_category: Option<String>,
    #[fstore(view = "user_profile", skip)]
    country: Option<String>,
}

/// No registry: the struct is the schema, with its own vocabulary and freshness.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(max_age(user_risk_profile = "1m"))]
struct Standalone {
    #[fstore(view = "user_profile", vocab = ["vip", "basic"], encode = "index")]
    segment: String,
    #[fstore(view = "user_risk_profile", default = 0.5)]
    fraud_score: f64,
}

fn profile(i: u32) -> UserProfile {
    UserProfile {
        age: 30 + i64::from(i),
        lifetime_value: 100.0 * f64::from(i),
        segment: ["basic", "premium", "vip"][(i % 3) as usize].to_owned(),
        is_premium: i % 2 == 1,
        country: None,
        days_since_signup: 10,
        embedding: (0..8).map(|k| k as f32 + i as f32).collect(),
    }
}

fn risk(i: u32) -> UserRiskProfile {
    UserRiskProfile {
        fraud_score: f64::from(i) / 100.0,
        txn_count_24h: i64::from(i),
        chargebacks_90d: 0,
        is_flagged: false,
    }
}

fn activity(i: u32) -> UserActivity {
    UserActivity {
        sessions_7d: 3,
        clicks_24h: 7,
        last_category: Some(["books", "home", "toys"][(i % 3) as usize].to_owned()),
        avg_session_seconds: 61.5,
    }
}

async fn seed(h: &Harness, i: u32) {
    let id = format!("user_{i:03}");
    profile(i).write(&h.store, &id).await.unwrap();
    risk(i).write(&h.store, &id).await.unwrap();
    activity(i).write(&h.store, &id).await.unwrap();
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn one_pipeline_per_vector(h: Harness) {
    seed(&h, 1).await;
    let before = h.store.round_trips();
    let v = FraudInputs::vector(&h.store, "user_001").await.unwrap();
    assert_eq!(
        h.store.round_trips() - before,
        1,
        "one vector, one round trip"
    );
    assert_eq!(
        v,
        FraudInputs {
            age: 31,
            ltv: 100.0,
            fraud_score: 0.01,
            txn_count_24h: 1,
            last_category: Some("home".to_owned()),
        }
    );
    let cmds: Vec<String> = <FraudInputs as fstore::FeatureVector>::VIEWS
        .iter()
        .map(|v| format!("{} {:?}", v.key_prefix, v.read_fields))
        .collect();
    assert_eq!(
        cmds,
        [
            r#"fs:v1:user_profile: ["age", "lifetime_value", "_updated_at"]"#,
            r#"fs:v1:user_risk_profile: ["fraud_score", "txn_count_24h", "_updated_at"]"#,
            r#"fs:v1:user_activity: ["last_category", "_updated_at"]"#,
        ]
    );
}
both!(one_pipeline, one_pipeline_per_vector);

async fn batch_is_one_round_trip_in_order(h: Harness) {
    for i in 0..100 {
        seed(&h, i).await;
    }
    let mut ids: Vec<String> = (0..100).rev().map(|i| format!("user_{i:03}")).collect();
    ids.push("user_005".to_owned());
    let before = h.store.round_trips();
    let rows = FraudInputs::vector_batch(&h.store, &ids).await.unwrap();
    assert_eq!(
        h.store.round_trips() - before,
        1,
        "101 ids × 3 views in one pipeline"
    );
    assert_eq!(rows.len(), 101);
    for (id, row) in ids.iter().zip(&rows) {
        let i: i64 = id[5..].parse().unwrap();
        assert_eq!(row.age, 30 + i, "{id}");
    }
    let matrix = FraudInputs::to_matrix(&rows);
    assert_eq!(matrix.len(), 101 * FraudInputs::WIDTH);
    assert_eq!(&matrix[..FraudInputs::WIDTH], &rows[0].to_array()[..]);
    let none: [&str; 0] = [];
    let before = h.store.round_trips();
    assert!(FraudInputs::vector_batch(&h.store, none)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        h.store.round_trips(),
        before,
        "an empty batch sends nothing"
    );
}
both!(batch, batch_is_one_round_trip_in_order);

async fn missing_views_use_defaults_or_fail(h: Harness) {
    // Only the profile exists: the risk view is missing entirely.
    profile(2).write(&h.store, "p").await.unwrap();
    let err = FraudInputs::vector(&h.store, "p").await.unwrap_err();
    match &err {
        Error::MissingFeature {
            entity,
            view,
            feature,
            stale,
        } => {
            assert_eq!(entity, "p");
            assert_eq!(view, "user_risk_profile");
            assert_eq!(feature, "fraud_score");
            assert!(!stale);
        }
        other => panic!("expected MissingFeature, got {other:?}"),
    }
    // With the risk row present but lacking `txn_count_24h`, the attribute default applies.
    h.hset(
        "fs:v1:user_risk_profile:p",
        &[
            ("fraud_score", b"0.25"),
            ("_updated_at", now_ms().to_string().as_bytes()),
        ],
    )
    .await;
    let (v, report) = FraudInputs::vector_with_report(&h.store, "p")
        .await
        .unwrap();
    assert_eq!(v.txn_count_24h, 0);
    assert_eq!(v.fraud_score, 0.25);
    assert_eq!(v.last_category, None);
    let sources: Vec<(&str, Source)> = report
        .fields()
        .iter()
        .map(|f| (f.feature, f.source))
        .collect();
    assert_eq!(
        sources,
        [
            ("age", Source::Stored),
            ("lifetime_value", Source::Stored),
            ("fraud_score", Source::Stored),
            ("txn_count_24h", Source::Defaulted),
            ("last_category", Source::Null),
        ]
    );
    assert!(!report.is_clean());
    assert_eq!(
        report.to_string(),
        "user_risk_profile.txn_count_24h defaulted, user_activity.last_category null"
    );
}
both!(defaults, missing_views_use_defaults_or_fail);

async fn stale_rows_count_as_missing(h: Harness) {
    seed(&h, 4).await;
    // user_risk_profile has `max_age = "10m"` in features.toml: a row stamped 11 minutes ago
    // is stale, so its features are missing — defaults apply, and the report says stale.
    let old = (now_ms() - 11 * 60 * 1000).to_string();
    h.hset(
        "fs:v1:user_risk_profile:user_004",
        &[("_updated_at", old.as_bytes())],
    )
    .await;
    let err = FraudInputs::vector(&h.store, "user_004").await.unwrap_err();
    assert!(
        matches!(&err, Error::MissingFeature { feature, stale: true, .. } if feature == "fraud_score"),
        "{err:?}"
    );
    assert!(err.to_string().contains("no fresh value"), "{err}");
    let (wide, report) = Wide::vector_with_report(&h.store, "user_004")
        .await
        .unwrap();
    assert_eq!(wide.fraud_score, None);
    let stale: Vec<&str> = report.stale().map(|f| f.feature).collect();
    assert_eq!(stale, ["fraud_score"]);
    assert!(report
        .to_string()
        .contains("user_risk_profile.fraud_score null (stale)"));

    // The standalone vector declares `max_age(user_risk_profile = "1m")`: also stale.
    let s = Standalone::vector(&h.store, "user_004").await.unwrap();
    assert_eq!(s.fraud_score, 0.5);
    // A fresh stamp makes the stored value count again.
    h.hset(
        "fs:v1:user_risk_profile:user_004",
        &[("_updated_at", now_ms().to_string().as_bytes())],
    )
    .await;
    assert_eq!(
        Standalone::vector(&h.store, "user_004")
            .await
            .unwrap()
            .fraud_score,
        0.04
    );
    assert_eq!(
        FraudInputs::vector(&h.store, "user_004")
            .await
            .unwrap()
            .fraud_score,
        0.04
    );

    // A row written by another tool without `_updated_at` cannot show it is fresh.
    h.hset("fs:v1:user_risk_profile:py", &[("fraud_score", b"0.9")])
        .await;
    h.hset("fs:v1:user_profile:py", &[("segment", b"vip")])
        .await;
    let s = Standalone::vector(&h.store, "py").await.unwrap();
    assert_eq!(s.fraud_score, 0.5);
}
both!(stale, stale_rows_count_as_missing);

#[test]
fn widths_and_columns() {
    assert_eq!(FraudInputs::WIDTH, 5);
    assert_eq!(
        FraudInputs::COLUMNS,
        [
            "user_profile__age",
            "user_profile__lifetime_value",
            "user_risk_profile__fraud_score",
            "user_risk_profile__txn_count_24h",
            "user_activity__last_category",
        ]
    );
    // segment one-hot (3) + is_premium + fraud_score + embedding (8) + last_category index;
    // `country` is skipped.
    assert_eq!(Wide::WIDTH, 3 + 1 + 1 + 8 + 1);
    assert_eq!(
        &Wide::COLUMNS[..3],
        [
            "user_profile__segment=basic",
            "user_profile__segment=premium",
            "user_profile__segment=vip"
        ]
    );
    assert_eq!(Wide::COLUMNS[5], "user_profile__embedding[0]");
    assert_eq!(Standalone::WIDTH, 2);
}

#[test]
fn model_input_encodings() {
    let w = Wide {
        segment: "premium".into(),
        is_premium: true,
        fraud_score: None,
        embedding: (0..8).map(|k| k as f32).collect(),
        last_category: Some("fashion".into()),
        country: Some("DE".into()),
    };
    let a = w.to_array();
    assert_eq!(&a[..4], &[0.0, 1.0, 0.0, 1.0]);
    assert!(a[4].is_nan(), "None is NaN");
    assert_eq!(&a[5..13], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    assert_eq!(a[13], 2.0, "fashion is vocab entry 2");
    let unknown = Wide {
        segment: "gold".into(),
        last_category: Some("toys".into()),
        ..w.clone()
    };
    let a = unknown.to_array();
    assert_eq!(&a[..3], &[0.0, 0.0, 0.0], "unknown one-hot is all zero");
    assert_eq!(a[13], -1.0, "unknown index is -1");
    let none = Wide {
        last_category: None,
        ..w
    };
    assert!(none.to_array()[13].is_nan());
    let mut out = vec![0.0; Wide::WIDTH];
    none.write_f32(&mut out);
    // Compare bit patterns: the NaN columns must be NaN in both.
    let bits = |xs: &[f32]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&out), bits(&none.to_array()));
}

async fn list_length_is_checked_on_read(h: Harness) {
    seed(&h, 7).await;
    let seven = b"[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]";
    h.hset("fs:v1:user_profile:user_007", &[("embedding", seven)])
        .await;
    let err = Wide::vector(&h.store, "user_007").await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { field, expected: "Vec<f32> (float_list, len 8, json)", .. }
            if field == "embedding"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("7 floats, expected 8 (the declared `len`)"),
        "{err}"
    );
}
both!(list_len, list_length_is_checked_on_read);

async fn vocab_round_trip_from_store(h: Harness) {
    seed(&h, 2).await; // segment "vip", last_category "toys" (not in the vocabulary)
    let w = Wide::vector(&h.store, "user_002").await.unwrap();
    let a = w.to_array();
    assert_eq!(&a[..3], &[0.0, 0.0, 1.0]);
    assert_eq!(a[13], -1.0);
    let s = Standalone::vector(&h.store, "user_002").await.unwrap();
    assert_eq!(
        s.to_array()[0],
        0.0,
        "vip is entry 0 of the standalone vocabulary"
    );
}
both!(vocab, vocab_round_trip_from_store);

async fn empty_id_is_rejected(h: Harness) {
    let err = FraudInputs::vector(&h.store, "").await.unwrap_err();
    assert!(matches!(err, Error::InvalidEntityId { .. }), "{err:?}");
    let err = FraudInputs::vector_batch(&h.store, ["ok", ""])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidEntityId { .. }), "{err:?}");
}
both!(empty_id, empty_id_is_rejected);

#[tokio::test]
async fn one_hmget_per_view_on_the_server() {
    let h = Harness::valkey().await;
    seed(&h, 9).await;
    h.reset_command_stats().await;
    FraudInputs::vector(&h.store, "user_009").await.unwrap();
    let ids: Vec<String> = (0..100).map(|i| format!("user_{i:03}")).collect();
    let rows = Wide::vector_batch(&h.store, &ids).await;
    assert!(
        rows.is_err(),
        "only user_009 exists; the others lack required features"
    );
    let calls = h.command_calls().await;
    // 3 for the vector, 300 for the batch (100 ids × 3 views).
    assert_eq!(calls.get("hmget"), Some(&303), "{calls:?}");
}
