//! The code `fstore codegen` prints for `features.toml` (checked in as
//! `cli/tests/golden/features.rs`) compiles against the `fstore` facade, describes the registry's
//! key layout, and reads and writes with the registry's defaults; so does the code it prints for
//! the aggregations fixture (`cli/tests/golden/aggregations.rs`), whose typed structs record and
//! read. No server needed: the embedded backend runs the same semantics.

mod generated {
    include!("../cli/tests/golden/features.rs");
}

mod generated_aggregations {
    include!("../cli/tests/golden/aggregations.rs");
}

use std::time::Duration;

use fstore::{FeatureView, Store};
use fstore_registry::Registry;
use generated::{ItemStats, UserActivity, UserProfile, UserRiskProfile};

fn registry() -> Registry {
    Registry::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/features.toml")).unwrap()
}

/// Asserts that `V` has the key layout, TTL and fields of view `name`; returns `name`.
fn assert_matches_registry<V: FeatureView>(
    registry: &Registry,
    name: &'static str,
) -> &'static str {
    let view = registry.view(name).unwrap();
    assert_eq!(V::VIEW, name);
    assert_eq!(V::NAMESPACE, registry.namespace);
    assert_eq!(V::VERSION, registry.version);
    assert_eq!(
        V::KEY_PREFIX,
        format!("{}{name}:", registry.key_namespace())
    );
    assert_eq!(V::TTL, Duration::from_secs(view.ttl_seconds));
    let features: Vec<&str> = view.feature_names().collect();
    assert_eq!(V::FEATURES, features);
    let read: Vec<&str> = view.feature_names().chain(["_updated_at"]).collect();
    assert_eq!(V::READ_FIELDS, read);
    name
}

#[test]
fn generated_structs_have_the_registry_layout() {
    let registry = registry();
    let checked = [
        assert_matches_registry::<UserProfile>(&registry, "user_profile"),
        assert_matches_registry::<UserRiskProfile>(&registry, "user_risk_profile"),
        assert_matches_registry::<UserActivity>(&registry, "user_activity"),
        assert_matches_registry::<ItemStats>(&registry, "item_stats"),
    ];
    let views: Vec<&str> = registry.views.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        checked.as_slice(),
        views,
        "every view has its struct, in file order"
    );
    assert_eq!(UserProfile::KEY_PREFIX, "fs:v1:user_profile:");
    assert_eq!(UserRiskProfile::TTL, Duration::from_secs(15 * 60));
    assert_eq!(
        UserProfile::READ_FIELDS,
        [
            "age",
            "lifetime_value",
            "segment",
            "is_premium",
            "country",
            "days_since_signup",
            "embedding",
            "_updated_at"
        ]
    );
}

#[test]
fn the_generated_fingerprint_is_the_registry_fingerprint() {
    assert_eq!(generated::REGISTRY_FINGERPRINT, registry().fingerprint());
}

#[tokio::test]
async fn generated_structs_round_trip_with_the_registry_ttl() {
    let store = Store::embedded();
    let alice = UserProfile {
        age: 28,
        lifetime_value: 1250.5,
        segment: "premium".into(),
        is_premium: true,
        country: Some("DE".into()),
        days_since_signup: 400,
        embedding: vec![0.25; 8],
    };
    alice.write(&store, "user_123").await.unwrap();
    assert_eq!(
        UserProfile::read(&store, "user_123").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(UserProfile::read(&store, "nobody").await.unwrap(), None);
    let ttl = UserProfile::ttl(&store, "user_123").await.unwrap().unwrap();
    assert!(
        ttl <= Duration::from_secs(3_600) && ttl > Duration::from_secs(3_500),
        "{ttl:?}"
    );

    // `None` on write removes the optional feature; it reads back as `None`.
    let no_country = UserProfile {
        country: None,
        ..alice
    };
    no_country.write(&store, "user_123").await.unwrap();
    assert_eq!(
        UserProfile::read(&store, "user_123").await.unwrap(),
        Some(no_country)
    );
}

#[tokio::test]
async fn absent_features_read_as_the_registry_defaults_and_none() {
    // Writers that set only the required features: projections of the same views.
    #[derive(fstore::FeatureView)]
    #[feature_view(name = "user_profile", ttl = "1h")]
    struct ProfileWriter {
        age: i64,
        lifetime_value: f64,
        segment: String,
        days_since_signup: i64,
        embedding: Vec<f32>,
    }
    #[derive(fstore::FeatureView)]
    #[feature_view(name = "user_risk_profile", ttl = "15m")]
    struct RiskWriter {
        fraud_score: f64,
        chargebacks_90d: i64,
    }
    #[derive(fstore::FeatureView)]
    #[feature_view(name = "item_stats", ttl = "1d")]
    struct ItemWriter {
        price: f64,
        ctr_7d: f64,
        category: String,
        embedding: Vec<f32>,
    }

    let store = Store::embedded();
    ProfileWriter {
        age: 41,
        lifetime_value: 0.0,
        segment: "new".into(),
        days_since_signup: 3,
        embedding: vec![1.0; 8],
    }
    .write(&store, "user_7")
    .await
    .unwrap();
    RiskWriter {
        fraud_score: 0.125,
        chargebacks_90d: 1,
    }
    .write(&store, "user_7")
    .await
    .unwrap();
    ItemWriter {
        price: 9.99,
        ctr_7d: 0.03,
        category: "books".into(),
        embedding: vec![0.5; 8],
    }
    .write(&store, "item_1")
    .await
    .unwrap();

    let profile = UserProfile::read(&store, "user_7").await.unwrap().unwrap();
    assert!(!profile.is_premium, "`is_premium` defaults to false");
    assert_eq!(profile.country, None, "`country` is optional");
    assert_eq!(profile.age, 41);

    let risk = UserRiskProfile::read(&store, "user_7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        risk,
        UserRiskProfile {
            fraud_score: 0.125,
            txn_count_24h: 0,
            chargebacks_90d: 1,
            is_flagged: false,
        }
    );

    let item = ItemStats::read(&store, "item_1").await.unwrap().unwrap();
    assert!(item.in_stock, "`in_stock` defaults to true");
    assert_eq!(item.category, "books");

    // A required feature without a default is still required.
    #[derive(fstore::FeatureView)]
    #[feature_view(name = "user_activity", ttl = "30m")]
    struct ActivityWriter {
        sessions_7d: i64,
    }
    ActivityWriter { sessions_7d: 2 }
        .write(&store, "user_7")
        .await
        .unwrap();
    match UserActivity::read(&store, "user_7").await {
        Err(fstore::Error::MissingField { key, field }) => {
            assert_eq!(key, "fs:v1:user_activity:user_7");
            assert_eq!(field, "clicks_24h");
        }
        other => panic!("expected a missing `clicks_24h`, got {other:?}"),
    }
}

#[tokio::test]
async fn printed_aggregation_structs_record_and_read() {
    use fstore::{AggregationFeatures, Recorded};
    use generated_aggregations::{UserTxn, UserTxnEvent};

    let registry = Registry::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/aggregations.toml"
    ))
    .unwrap();
    assert_eq!(
        generated_aggregations::REGISTRY_FINGERPRINT,
        registry.fingerprint()
    );
    let from_registry =
        fstore::aggregate::Spec::new(&registry, registry.aggregation("user_txn").unwrap()).unwrap();
    assert_eq!(
        format!("{:?}", UserTxn::spec()),
        format!("{from_registry:?}")
    );

    let store = Store::embedded();
    let now = 1_796_083_200_000;
    let event = UserTxnEvent {
        amount: 12.5,
        qty: 2,
        merchant: "m1".into(),
        online: true,
        r#type: "card".into(),
    };
    let recorded = event.record_at(&store, "u1", now, now).await.unwrap();
    assert_eq!(recorded, Recorded::Applied);
    let read = UserTxn::read_at(&store, "u1", now).await.unwrap();
    assert_eq!(read.txn_count_1h, 1);
    assert_eq!(read.amount_avg_24h, Some(12.5));
    assert_eq!(read.last_merchant_24h.as_deref(), Some("m1"));
    assert_eq!(read.distinct_types_1h, 1);
}
