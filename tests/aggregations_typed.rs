//! The typed aggregation structs `fstore::registry!` generates (`UserTxnEvent` to record,
//! `UserTxn` to read), on a server and on the embedded backend: the same semantics as the dynamic
//! API (`tests/aggregations.rs`), with every value typed, single and batched, at explicit clocks
//! and at the system clock.

mod behaviour;
mod support;

mod features {
    fstore::registry!("tests/fixtures/aggregations.toml");
}

use behaviour::Harness;
use features::{UserLogins, UserLoginsEvent, UserTxn, UserTxnEvent};
use fstore::aggregate::Spec;
use fstore::registry::Registry;
use fstore::{AggregationEvent, AggregationFeatures, Recorded, Store, Value};

const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
/// A clock at a whole day (so that buckets of every granularity start here).
const T0: u64 = 1_796_083_200_000;

fn registry() -> Registry {
    Registry::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/aggregations.toml"
    ))
    .unwrap()
}

fn txn(amount: f64, qty: i64, merchant: &str, online: bool, kind: &str) -> UserTxnEvent {
    UserTxnEvent {
        amount,
        qty,
        merchant: merchant.to_owned(),
        online,
        r#type: kind.to_owned(),
    }
}

/// What an entity without events reads as.
fn empty() -> UserTxn {
    UserTxn {
        txn_count_10m: 0,
        txn_count_1h: 0,
        qty_sum_10m: 0,
        amount_sum_1h: 0.0,
        amount_avg_24h: None,
        qty_min_1h: None,
        amount_max_24h: None,
        last_merchant_24h: None,
        last_online_1h: None,
        last_qty_1h: None,
        distinct_merchants_24h: 0,
        distinct_types_1h: 0,
    }
}

/// The system clock, in epoch milliseconds.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn the_generated_spec_is_the_one_the_runtime_builds_from_the_registry() {
    let registry = registry();
    for (name, spec) in [
        ("user_txn", UserTxn::spec()),
        ("user_logins", UserLogins::spec()),
    ] {
        let from_registry = Spec::new(&registry, registry.aggregation(name).unwrap()).unwrap();
        assert_eq!(format!("{spec:?}"), format!("{from_registry:?}"), "{name}");
    }
    // The event and the features share one spec, built once.
    assert!(std::ptr::eq(UserTxnEvent::spec(), UserTxn::spec()));
    assert!(std::ptr::eq(UserLoginsEvent::spec(), UserLogins::spec()));
    assert_eq!(
        UserTxn::spec().key("u1").unwrap(),
        format!("{}{{u1}}", registry.key_prefix("user_txn"))
    );
    let event: Vec<&str> = UserTxn::spec().event_fields().map(|(n, _)| n).collect();
    assert_eq!(event, ["amount", "qty", "merchant", "online", "type"]);
    let features: Vec<&str> = UserTxn::spec().feature_names().collect();
    let declared: Vec<&str> = registry
        .aggregation("user_txn")
        .unwrap()
        .feature_names()
        .collect();
    assert_eq!(features, declared);
}

#[test]
fn events_become_values_in_declaration_order() {
    assert_eq!(
        txn(2.5, 3, "m1", true, "card").into_values(),
        [
            Value::Float(2.5),
            Value::Int(3),
            Value::from("m1"),
            Value::Bool(true),
            Value::from("card"),
        ]
    );
    assert_eq!(UserLoginsEvent {}.into_values(), Vec::<Value>::new());
}

#[test]
fn generated_futures_are_send() {
    fn send<T: Send>(_: T) {}
    let store = Store::embedded();
    send(txn(1.0, 1, "m", true, "card").record(&store, "u1", 0));
    send(UserTxnEvent::record_batch(
        &store,
        vec![("u1", 0, txn(1.0, 1, "m", true, "card"))],
    ));
    send(UserTxn::read(&store, "u1"));
    send(UserTxn::read_batch(&store, ["u1", "u2"]));
}

async fn typed_events_read_back_as_typed_features(h: Harness) {
    let s = &h.store;
    let now = T0 + 30 * MIN + 30_000; // 00:30:30
    for (ts, event) in [
        // The first instant of the oldest bucket of the 10-minute windows.
        (T0 + 21 * MIN, txn(1.5, 2, "a", false, "card")),
        // Just before it: in the 1-hour and 24-hour windows only.
        (T0 + 21 * MIN - 1, txn(2.5, 3, "b", true, "cash")),
        (now, txn(5.0, 5, "c", true, "card")),
    ] {
        assert_eq!(
            event.record_at(s, "u1", ts, now).await.unwrap(),
            Recorded::Applied
        );
    }
    let read = UserTxn::read_at(s, "u1", now).await.unwrap();
    assert_eq!(
        read,
        UserTxn {
            txn_count_10m: 2,
            txn_count_1h: 3,
            qty_sum_10m: 7,
            amount_sum_1h: 9.0,
            amount_avg_24h: Some(3.0),
            qty_min_1h: Some(2),
            amount_max_24h: Some(5.0),
            last_merchant_24h: Some("c".to_owned()),
            last_online_1h: Some(true),
            last_qty_1h: Some(5),
            distinct_merchants_24h: 3,
            distinct_types_1h: 2,
        }
    );
    // The typed struct holds exactly what the dynamic API computes.
    let dynamic = s
        .with_registry(registry())
        .read_aggregation_at("user_txn", "u1", now)
        .await
        .unwrap();
    assert_eq!(dynamic.get("amount_avg_24h"), Some(&Value::Float(3.0)));
    assert_eq!(dynamic.get("last_online_1h"), Some(&Value::Bool(true)));
    assert_eq!(UserTxn::from_features(dynamic).unwrap(), read);

    // One minute later the oldest bucket of the 10-minute windows has moved on.
    let later = UserTxn::read_at(s, "u1", now + MIN).await.unwrap();
    assert_eq!((later.txn_count_10m, later.qty_sum_10m), (1, 5));
    assert_eq!(later.txn_count_1h, 3);
    // An entity without events: zero counts and sums, `None` for the rest.
    assert_eq!(UserTxn::read_at(s, "u2", now).await.unwrap(), empty());

    // Refused for their time, typed: nothing is recorded.
    let late = txn(99.0, 9, "z", false, "x").record_at(s, "u1", now - 25 * HOUR, now);
    assert_eq!(late.await.unwrap(), Recorded::Late);
    let ahead = txn(99.0, 9, "z", false, "x").record_at(s, "u1", now + 2 * MIN, now);
    assert_eq!(ahead.await.unwrap(), Recorded::Future);
    assert_eq!(UserTxn::read_at(s, "u1", now).await.unwrap(), read);
}

both!(typed_round_trip, typed_events_read_back_as_typed_features);

async fn batches_record_and_read_many_entities(h: Harness) {
    let s = &h.store;
    // The system clock: events a few minutes old are inside every window at arrival and when
    // read, whichever minute the test runs in.
    let now = now_ms();
    let report = UserTxnEvent::record_batch(
        s,
        vec![
            ("u1", now - 5 * MIN, txn(1.0, 1, "a", true, "card")),
            ("u2", now - 4 * MIN, txn(2.0, 2, "b", false, "cash")),
            ("u1", now - 3 * MIN, txn(3.0, 3, "b", false, "card")),
            // No window covers it any more.
            ("u1", now - 48 * HOUR, txn(50.0, 50, "old", true, "card")),
            // Ahead of the clock by more than a minute.
            ("u2", now + HOUR, txn(60.0, 60, "ahead", true, "card")),
            ("u1", now - 2 * MIN, txn(2.0, 2, "c", true, "wire")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(report.applied, 4);
    assert_eq!(report.late, [3]);
    assert_eq!(report.future, [4]);

    let rows = UserTxn::read_batch(s, ["u1", "u2", "nobody", "u1"])
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    let u1 = UserTxn {
        txn_count_10m: 3,
        txn_count_1h: 3,
        qty_sum_10m: 6,
        amount_sum_1h: 6.0,
        amount_avg_24h: Some(2.0),
        qty_min_1h: Some(1),
        amount_max_24h: Some(3.0),
        last_merchant_24h: Some("c".to_owned()),
        last_online_1h: Some(true),
        last_qty_1h: Some(2),
        distinct_merchants_24h: 3,
        distinct_types_1h: 2,
    };
    let u2 = UserTxn {
        txn_count_10m: 1,
        txn_count_1h: 1,
        qty_sum_10m: 2,
        amount_sum_1h: 2.0,
        amount_avg_24h: Some(2.0),
        qty_min_1h: Some(2),
        amount_max_24h: Some(2.0),
        last_merchant_24h: Some("b".to_owned()),
        last_online_1h: Some(false),
        last_qty_1h: Some(2),
        distinct_merchants_24h: 1,
        distinct_types_1h: 1,
    };
    assert_eq!(rows, [u1.clone(), u2.clone(), empty(), u1.clone()]);
    // One entity at the system clock reads as in the batch.
    assert_eq!(UserTxn::read(s, "u2").await.unwrap(), u2);

    // An empty batch records nothing and reads nothing.
    let none: Vec<(&str, u64, UserTxnEvent)> = Vec::new();
    let report = UserTxnEvent::record_batch(s, none).await.unwrap();
    assert_eq!((report.applied, report.late.len()), (0, 0));
    let ids: [&str; 0] = [];
    assert!(UserTxn::read_batch(s, ids).await.unwrap().is_empty());
}

both!(batches, batches_record_and_read_many_entities);

async fn an_aggregation_without_event_fields_counts_events(h: Harness) {
    let s = &h.store;
    let now = now_ms();
    for ts in [now - 3 * MIN, now - MIN, now] {
        assert_eq!(
            UserLoginsEvent {}.record(s, 42_u64, ts).await.unwrap(),
            Recorded::Applied
        );
    }
    // Integer ids work as they do for views.
    let read = UserLogins::read(s, 42_u64).await.unwrap();
    assert_eq!(read, UserLogins { logins_1h: 3 });
    let batch = UserLogins::read_batch(s, [42_u64, 7]).await.unwrap();
    assert_eq!(
        batch,
        [UserLogins { logins_1h: 3 }, UserLogins { logins_1h: 0 }]
    );
    // Each aggregation has its own keys: the logins did not touch `user_txn`.
    assert_eq!(UserTxn::read(s, 42_u64).await.unwrap(), empty());
}

both!(
    count_only,
    an_aggregation_without_event_fields_counts_events
);

async fn an_empty_entity_id_is_refused(h: Harness) {
    let s = &h.store;
    let err = txn(1.0, 1, "a", true, "card")
        .record(s, "", now_ms())
        .await
        .unwrap_err();
    assert!(
        matches!(err, fstore::Error::InvalidEntityId { .. }),
        "{err:?}"
    );
    let err = UserTxn::read(s, "").await.unwrap_err();
    assert!(
        matches!(err, fstore::Error::InvalidEntityId { .. }),
        "{err:?}"
    );
}

both!(empty_id, an_empty_entity_id_is_refused);

/// The generated structs write the registry's keys (the id in braces: a hash tag), each with an
/// expiry.
async fn keys_are_the_registry_layout_and_expire(h: Harness) {
    let s = &h.store;
    let now = now_ms();
    txn(1.0, 1, "a", true, "card")
        .record(s, "u1", now)
        .await
        .unwrap();
    let keys = h.keys().await;
    assert!(keys.contains(&"fs:v1:user_txn:{u1}".to_owned()), "{keys:?}");
    // The longest window (24h) plus one coarsest bucket (1h).
    h.assert_every_key_expires(std::time::Duration::from_millis(25 * HOUR))
        .await;
}

both!(layout, keys_are_the_registry_layout_and_expire);
