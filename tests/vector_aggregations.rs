//! Real-time aggregations as fields of a `#[derive(FeatureVector)]`, next to a plain view: read in
//! the same round trip as the view (one pipeline per call, per `vector_batch` chunk), each value
//! the one the aggregation's own typed read gives, as model input and in the reports; on Valkey
//! and on the embedded backend.

mod behaviour;
mod support;

use behaviour::Harness;
use fstore::{FeatureVector, Source, Store};

mod features {
    fstore::registry!("tests/fixtures/vector_aggregations.toml");
}

use features::{UserLogins, UserLoginsEvent, UserProfile, UserTxn, UserTxnEvent};

/// A view's features beside two aggregations' (one read for several fields), in mixed order.
#[derive(FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "tests/fixtures/vector_aggregations.toml")]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(aggregation = "user_txn")]
    txn_count_1h: i64,
    #[fstore(aggregation = "user_txn", name = "amount_avg_24h")]
    avg_amount: Option<f64>,
    #[fstore(view = "user_profile", name = "lifetime_value")]
    ltv: f64,
    #[fstore(aggregation = "user_logins")]
    logins_1h: i64,
    #[fstore(aggregation = "user_txn")]
    amount_sum_1h: f64,
    #[fstore(aggregation = "user_txn")]
    amount_max_24h: Option<f64>,
    #[fstore(aggregation = "user_txn")]
    distinct_merchants_24h: u64,
    #[fstore(aggregation = "user_txn")]
    last_online_1h: Option<bool>,
    #[fstore(aggregation = "user_txn", skip)]
    last_merchant_24h: Option<String>,
}

/// Aggregations only: no view.
#[derive(FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "tests/fixtures/vector_aggregations.toml")]
struct Activity {
    #[fstore(aggregation = "user_logins")]
    logins_1h: i64,
    #[fstore(aggregation = "user_txn", name = "txn_count_1h")]
    txns: i64,
}

/// Commands per entity: the view's `HMGET`; `user_txn`'s `HMGET` (its one `distinct` is read
/// from the union's count there); `user_logins`'s `HMGET`.
const COMMANDS_PER_ENTITY: usize = 3;

/// The system clock, in epoch milliseconds.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn txn(amount: f64, merchant: &str, online: bool) -> UserTxnEvent {
    UserTxnEvent {
        amount,
        merchant: merchant.to_owned(),
        online,
    }
}

/// Writes `id`'s `user_profile` row.
async fn profile(store: &Store, id: &str, age: i64, lifetime_value: f64) {
    UserProfile {
        age,
        lifetime_value,
    }
    .write(store, id)
    .await
    .unwrap();
}

/// `user_1`: a profile, three transactions and two logins, a few seconds ago (well inside every
/// window, so that reads a moment apart agree).
async fn seed(h: &Harness) {
    let store = &h.store;
    profile(store, "user_1", 41, 1250.5).await;
    let ts = now_ms() - 5_000;
    for event in [
        txn(10.0, "shop", false),
        txn(30.0, "cafe", true),
        txn(20.0, "shop", true),
    ] {
        event.record(store, "user_1", ts).await.unwrap();
    }
    for _ in 0..2 {
        UserLoginsEvent {}
            .record(store, "user_1", ts)
            .await
            .unwrap();
    }
}

/// What `Inputs` must hold: the view's values and each aggregation's own typed read.
async fn expected(h: &Harness, id: &str, age: i64, ltv: f64) -> Inputs {
    let txn = UserTxn::read(&h.store, id).await.unwrap();
    let logins = UserLogins::read(&h.store, id).await.unwrap();
    Inputs {
        age,
        txn_count_1h: txn.txn_count_1h,
        avg_amount: txn.amount_avg_24h,
        ltv,
        logins_1h: logins.logins_1h,
        amount_sum_1h: txn.amount_sum_1h,
        amount_max_24h: txn.amount_max_24h,
        distinct_merchants_24h: txn.distinct_merchants_24h,
        last_online_1h: txn.last_online_1h,
        last_merchant_24h: txn.last_merchant_24h,
    }
}

#[test]
fn each_aggregation_is_read_once_and_becomes_named_columns() {
    let names: Vec<&str> = Inputs::AGGREGATIONS.iter().map(|a| a.name).collect();
    assert_eq!(names, ["user_txn", "user_logins"]);
    assert_eq!(Inputs::VIEWS.len(), 1);
    assert_eq!(
        Inputs::VIEWS[0].read_fields,
        ["age", "lifetime_value", "_updated_at"]
    );
    // The spec is the one `registry!`'s structs use, built once.
    let spec = (Inputs::AGGREGATIONS[0].spec)();
    assert_eq!(
        format!("{spec:?}"),
        format!("{:?}", <UserTxn as fstore::AggregationFeatures>::spec())
    );
    assert!(std::ptr::eq(spec, (Inputs::AGGREGATIONS[0].spec)()));
    assert_eq!(Inputs::WIDTH, 9);
    assert_eq!(
        Inputs::COLUMNS,
        [
            "user_profile__age",
            "user_txn__txn_count_1h",
            "user_txn__amount_avg_24h",
            "user_profile__lifetime_value",
            "user_logins__logins_1h",
            "user_txn__amount_sum_1h",
            "user_txn__amount_max_24h",
            "user_txn__distinct_merchants_24h",
            "user_txn__last_online_1h",
        ]
    );
}

async fn reads_views_and_aggregations_in_one_round_trip(h: Harness) {
    seed(&h).await;
    let store = &h.store;

    let before = store.round_trips();
    let inputs = Inputs::vector(store, "user_1").await.unwrap();
    assert_eq!(store.round_trips() - before, 1);
    assert_eq!(inputs, expected(&h, "user_1", 41, 1250.5).await);
    assert_eq!(inputs.txn_count_1h, 3);
    assert_eq!(inputs.avg_amount, Some(20.0));
    assert_eq!(inputs.amount_sum_1h, 60.0);
    assert_eq!(inputs.amount_max_24h, Some(30.0));
    assert_eq!(inputs.distinct_merchants_24h, 2);
    assert_eq!(inputs.logins_1h, 2);
    assert!(inputs.last_merchant_24h.is_some());
    assert!(inputs.last_online_1h.is_some());
    let online = if inputs.last_online_1h == Some(true) {
        1.0
    } else {
        0.0
    };
    assert_eq!(
        inputs.to_array(),
        [41.0, 3.0, 20.0, 1250.5, 2.0, 60.0, 30.0, 2.0, online]
    );

    // Aggregation fields are reported as stored, under the aggregation's name.
    let before = store.round_trips();
    let (again, report) = Inputs::vector_with_report(store, "user_1").await.unwrap();
    assert_eq!(store.round_trips() - before, 1);
    assert_eq!(again, inputs);
    assert!(report.is_clean(), "{report}");
    let fields: Vec<(&str, &str)> = report
        .fields()
        .iter()
        .map(|f| (f.view, f.feature))
        .collect();
    assert_eq!(
        fields,
        [
            ("user_profile", "age"),
            ("user_txn", "txn_count_1h"),
            ("user_txn", "amount_avg_24h"),
            ("user_profile", "lifetime_value"),
            ("user_logins", "logins_1h"),
            ("user_txn", "amount_sum_1h"),
            ("user_txn", "amount_max_24h"),
            ("user_txn", "distinct_merchants_24h"),
            ("user_txn", "last_online_1h"),
            ("user_txn", "last_merchant_24h"),
        ]
    );
    assert!(report.fields().iter().all(|f| f.source == Source::Stored));

    // An entity with a profile and no events: zero counts and sums, `None` for the others, NaN
    // in the model input.
    profile(store, "user_2", 30, 0.5).await;
    let quiet = Inputs::vector(store, "user_2").await.unwrap();
    assert_eq!(quiet, expected(&h, "user_2", 30, 0.5).await);
    assert_eq!(
        (quiet.txn_count_1h, quiet.amount_sum_1h, quiet.logins_1h),
        (0, 0.0, 0)
    );
    assert_eq!((quiet.avg_amount, quiet.last_online_1h), (None, None));
    let row = quiet.to_array();
    assert!(row[2].is_nan() && row[6].is_nan() && row[8].is_nan());

    // A batch: one pipeline for both entities, results in input order.
    let before = store.round_trips();
    let batch = Inputs::vector_batch(store, ["user_2", "user_1"])
        .await
        .unwrap();
    assert_eq!(store.round_trips() - before, 1);
    assert_eq!(batch, [quiet.clone(), inputs.clone()]);
    let (batch, report) = Inputs::vector_batch_with_report(store, ["user_1", "user_2"])
        .await
        .unwrap();
    assert_eq!(batch, [inputs, quiet]);
    assert_eq!(report.entities(), 2);
    let counts = report.field("user_txn", "txn_count_1h").unwrap();
    assert_eq!((counts.stored, counts.defaulted, counts.null), (2, 0, 0));
    assert!(report.is_clean(), "{report}");

    // A vector of aggregations alone: one round trip too.
    let before = store.round_trips();
    let activity = Activity::vector_batch(store, ["user_1", "user_2"])
        .await
        .unwrap();
    assert_eq!(store.round_trips() - before, 1);
    let want = [
        Activity {
            logins_1h: 2,
            txns: 3,
        },
        Activity {
            logins_1h: 0,
            txns: 0,
        },
    ];
    assert_eq!(activity, want);
    assert_eq!(
        Activity::COLUMNS,
        ["user_logins__logins_1h", "user_txn__txn_count_1h"]
    );
}
both!(
    one_round_trip,
    reads_views_and_aggregations_in_one_round_trip
);

async fn batches_take_one_round_trip_per_chunk(h: Harness) {
    seed(&h).await;
    let store = &h.store;
    // Three chunks, the last with one entity: the chunk size counts every command of an entity.
    let per_chunk = (store.pipeline_chunk_size() / COMMANDS_PER_ENTITY).max(1);
    let ids: Vec<String> = (0..2 * per_chunk + 1)
        .map(|i| {
            if i % 2 == 0 {
                "user_1".to_owned()
            } else {
                format!("user_{}", i + 100)
            }
        })
        .collect();
    for id in ids.iter().filter(|id| *id != "user_1") {
        profile(store, id, 7, 1.0).await;
    }
    let before = store.round_trips();
    let rows = Inputs::vector_batch(store, ids.iter().map(String::as_str))
        .await
        .unwrap();
    assert_eq!(
        store.round_trips() - before,
        3,
        "{per_chunk} entities a chunk"
    );
    let seeded = expected(&h, "user_1", 41, 1250.5).await;
    let quiet = expected(&h, "user_101", 7, 1.0).await;
    for (id, row) in ids.iter().zip(&rows) {
        let want = if id == "user_1" { &seeded } else { &quiet };
        assert_eq!(row, want, "{id}");
    }
    assert_eq!(Inputs::to_matrix(&rows).len(), rows.len() * Inputs::WIDTH);
}
/// An entity whose `distinct` union cannot stand for the reader's window (here a damaged
/// union field) is read again with the `PFCOUNT` of the window: one more round trip, never a
/// wrong count; the other entities of the batch are not read again.
async fn a_union_that_does_not_fit_costs_a_round_trip(h: Harness) {
    seed(&h).await;
    let store = &h.store;
    profile(store, "user_2", 30, 0.5).await;
    let want = expected(&h, "user_1", 41, 1250.5).await;
    let quiet = expected(&h, "user_2", 30, 0.5).await;
    assert_eq!(want.distinct_merchants_24h, 2);
    let key = (Inputs::AGGREGATIONS[0].spec)().key("user_1").unwrap();
    h.hset(&key, &[("u:merchant:3600:24", b"not a bucket")])
        .await;
    let before = store.round_trips();
    assert_eq!(Inputs::vector(store, "user_1").await.unwrap(), want);
    assert_eq!(store.round_trips() - before, 2);
    let before = store.round_trips();
    let (rows, report) = Inputs::vector_batch_with_report(store, ["user_2", "user_1", "user_2"])
        .await
        .unwrap();
    assert_eq!(store.round_trips() - before, 2);
    assert_eq!(rows, [quiet.clone(), want.clone(), quiet]);
    assert_eq!(report.entities(), 3);
    let txn = UserTxn::read(store, "user_1").await.unwrap();
    assert_eq!(txn.distinct_merchants_24h, 2);
}
both!(union_fallback, a_union_that_does_not_fit_costs_a_round_trip);

backend_tests!(
    chunks,
    batches_take_one_round_trip_per_chunk,
    valkey => crate::behaviour::Harness::valkey_with(|b| b.pipeline_chunk_size(9)).await,
    embedded => crate::behaviour::Harness::embedded(),
);
