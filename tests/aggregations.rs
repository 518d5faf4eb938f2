//! Real-time aggregations through the dynamic API, on every backend: window edges to the
//! bucket, late and future events, memory bounded by expiry on write, every key with a TTL,
//! atomic refusals, malformed buckets, and misuse by name.

mod behaviour;
mod support;

use behaviour::Harness;
use fstore::registry::Registry;
use fstore::{Error, Store, Value};
use fstore::{RecordReport, Recorded};

/// An event of a batch: entity, time, fields.
type Event = (String, u64, Vec<(&'static str, Value)>);

const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
/// A clock at a whole day (so that buckets of every granularity start here).
const T0: u64 = 1_796_083_200_000;

fn registry() -> Registry {
    Registry::parse(
        r#"
[entities.user]

[aggregations.user_txn]
entity = "user"
granularity = ["1m", "1h"]

[aggregations.user_txn.event]
amount = "float"
qty = "int"
merchant = "string"

[aggregations.user_txn.features]
txn_count_10m = { fn = "count", window = "10m" }
txn_count_1h = { fn = "count", window = "1h" }
qty_sum_10m = { fn = "sum", of = "qty", window = "10m" }
amount_sum_1h = { fn = "sum", of = "amount", window = "1h" }
amount_avg_24h = { fn = "avg", of = "amount", window = "24h" }
qty_min_1h = { fn = "min", of = "qty", window = "1h" }
amount_max_24h = { fn = "max", of = "amount", window = "24h" }
last_merchant_24h = { fn = "last", of = "merchant", window = "24h" }
distinct_merchants_24h = { fn = "distinct", of = "merchant", window = "24h" }
"#,
        "features.toml",
    )
    .unwrap()
}

fn store(h: &Harness) -> Store {
    h.store.with_registry(registry())
}

fn event(amount: f64, qty: i64, merchant: &str) -> [(&'static str, Value); 3] {
    [
        ("amount", Value::Float(amount)),
        ("qty", Value::Int(qty)),
        ("merchant", Value::from(merchant)),
    ]
}

async fn record(s: &Store, id: &str, ts: u64, e: [(&'static str, Value); 3], now: u64) -> Recorded {
    s.record_at("user_txn", id, ts, &e, now).await.unwrap()
}

async fn features(s: &Store, id: &str, now: u64) -> Vec<(String, Value)> {
    let f = s.read_aggregation_at("user_txn", id, now).await.unwrap();
    f.names()
        .zip(f.values())
        .map(|(n, v)| (n.to_owned(), v.clone()))
        .collect()
}

fn get<'a>(f: &'a [(String, Value)], name: &str) -> &'a Value {
    &f.iter().find(|(n, _)| n == name).unwrap().1
}

async fn windows_cover_whole_buckets_up_to_now(h: Harness) {
    let s = store(&h);
    let now = T0 + 30 * MIN + 30_000; // 00:30:30
                                      // 00:21:00 is the first instant of the oldest bucket of the 10-minute window (00:21-00:22
                                      // … 00:30-00:31); 00:20:59.999 is in the bucket before it.
    assert_eq!(
        record(&s, "u1", T0 + 21 * MIN, event(1.5, 2, "a"), now).await,
        Recorded::Applied
    );
    assert_eq!(
        record(&s, "u1", T0 + 21 * MIN - 1, event(2.5, 3, "b"), now).await,
        Recorded::Applied
    );
    assert_eq!(
        record(&s, "u1", now, event(4.0, 5, "c"), now).await,
        Recorded::Applied
    );
    let f = features(&s, "u1", now).await;
    assert_eq!(get(&f, "txn_count_10m"), &Value::Int(2));
    assert_eq!(get(&f, "qty_sum_10m"), &Value::Int(7));
    assert_eq!(get(&f, "txn_count_1h"), &Value::Int(3));
    assert_eq!(get(&f, "amount_sum_1h"), &Value::Float(8.0));
    assert_eq!(get(&f, "qty_min_1h"), &Value::Int(2));
    assert_eq!(get(&f, "amount_max_24h"), &Value::Float(4.0));
    assert_eq!(get(&f, "last_merchant_24h"), &Value::from("c"));
    assert_eq!(get(&f, "distinct_merchants_24h"), &Value::Int(3));
    let Value::Float(avg) = get(&f, "amount_avg_24h") else {
        panic!("{f:?}")
    };
    assert!((avg - 8.0 / 3.0).abs() < 1e-12, "{avg}");

    // One minute later the oldest bucket of the 10-minute window has moved on.
    let f = features(&s, "u1", now + MIN).await;
    assert_eq!(get(&f, "txn_count_10m"), &Value::Int(1));
    // Another entity is untouched.
    let f = features(&s, "u2", now).await;
    assert_eq!(get(&f, "txn_count_1h"), &Value::Int(0));
    assert_eq!(get(&f, "amount_avg_24h"), &Value::Null);
    assert_eq!(get(&f, "last_merchant_24h"), &Value::Null);
    assert_eq!(get(&f, "distinct_merchants_24h"), &Value::Int(0));
}

all_backends!(window_edges, windows_cover_whole_buckets_up_to_now);

async fn late_events_count_where_a_window_still_covers_them(h: Harness) {
    let s = store(&h);
    let now = T0 + 5 * HOUR;
    // 2 hours late: outside every 1-minute window (kept for 1 hour), inside the 24-hour ones.
    assert_eq!(
        record(&s, "u1", now - 2 * HOUR, event(10.0, 1, "old"), now).await,
        Recorded::Applied
    );
    // 25 hours late: no window covers it any more.
    assert_eq!(
        record(&s, "u1", now - 25 * HOUR, event(99.0, 9, "older"), now).await,
        Recorded::Late
    );
    // More than one finest granularity ahead of the clock.
    assert_eq!(
        record(&s, "u1", now + 2 * MIN, event(99.0, 9, "ahead"), now).await,
        Recorded::Future
    );
    let f = features(&s, "u1", now).await;
    assert_eq!(get(&f, "txn_count_1h"), &Value::Int(0));
    assert_eq!(get(&f, "amount_max_24h"), &Value::Float(10.0));
    assert_eq!(get(&f, "last_merchant_24h"), &Value::from("old"));
    assert_eq!(get(&f, "distinct_merchants_24h"), &Value::Int(1));

    // A batch says which events it refused, by index.
    let events = [
        ("u1", now, event(1.0, 1, "x").to_vec()),
        ("u1", now - 30 * HOUR, event(1.0, 1, "y").to_vec()),
        ("u2", now + HOUR, event(1.0, 1, "z").to_vec()),
        ("u2", now - MIN, event(1.0, 1, "w").to_vec()),
    ];
    let report = s.record_batch_at("user_txn", &events, now).await.unwrap();
    let mut want = RecordReport::default();
    want.applied = 2;
    want.late = vec![1];
    want.future = vec![2];
    assert_eq!(report, want);
    assert_eq!(
        get(&features(&s, "u2", now).await, "txn_count_10m"),
        &Value::Int(1)
    );
}

all_backends!(
    late_events,
    late_events_count_where_a_window_still_covers_them
);

async fn memory_is_bounded_and_every_key_expires(h: Harness) {
    let s = store(&h);
    // One event a minute for 30 hours (a day and a quarter past the longest window).
    let mut now = T0;
    let mut merchants = 0;
    for i in 0..(30 * 60) {
        now = T0 + i * MIN;
        record(&s, "u1", now, event(1.0, 1, &format!("m{}", i % 7)), now).await;
        merchants = merchants.max(i % 7 + 1);
    }
    let key = "fs:v1:user_txn:{u1}";
    let fields = h.hgetall(key).await;
    // 1-minute buckets: the last 60 (count, qty sum, amount sum, qty min); 1-hour buckets: the
    // last 24 (count, amount sum, amount max, time of last, last merchant); the bounds.
    let bound = 60 * 4 + 24 * 5 + 4;
    assert!(fields.len() <= bound, "{} fields > {bound}", fields.len());
    assert!(fields.len() >= 60 * 4, "{} fields", fields.len());
    // Every key expires: the hash after the longest window plus one coarse bucket without
    // events, each hour's HyperLogLog one bucket after its bucket leaves the 24-hour window
    // (its last event was at minute 59 of its hour, so at most 24 h 1 min after it). This
    // test's clock runs faster than the server's, so they are all still alive here; on a real
    // clock at most 26 are.
    let keys = h.keys().await;
    let hlls: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with("fs:v1:user_txn:{u1}:d:merchant:3600:"))
        .collect();
    assert_eq!(hlls.len(), 30, "{keys:?}");
    for k in &keys {
        let pttl = h.pttl(k).await;
        let most = if k.as_str() == key {
            25 * HOUR
        } else {
            24 * HOUR + MIN
        };
        assert!(
            pttl > 0 && pttl <= most as i64,
            "`{k}` has PTTL {pttl}, expected at most {most}"
        );
    }
    assert!(h.pttl(key).await <= (25 * HOUR) as i64);
    let f = features(&s, "u1", now).await;
    assert_eq!(get(&f, "txn_count_1h"), &Value::Int(60));
    assert_eq!(get(&f, "txn_count_10m"), &Value::Int(10));
    assert_eq!(
        get(&f, "distinct_merchants_24h"),
        &Value::Int(merchants as i64)
    );
}

all_backends!(bounded_memory, memory_is_bounded_and_every_key_expires);

async fn refusals_change_nothing(h: Harness) {
    let s = store(&h);
    let now = T0;
    record(
        &s,
        "u1",
        now,
        event(1.0, 9_000_000_000_000_000_000, "a"),
        now,
    )
    .await;
    let key = "fs:v1:user_txn:{u1}";
    let before = h.hgetall(key).await;
    // A sum that would leave the 64-bit range refuses the whole event.
    let err = s
        .record_at(
            "user_txn",
            "u1",
            now,
            &event(2.0, 900_000_000_000_000_000, "b"),
            now,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("64-bit range"), "{err}");
    assert_eq!(h.hgetall(key).await, before);
    let f = features(&s, "u1", now).await;
    assert_eq!(get(&f, "distinct_merchants_24h"), &Value::Int(1));

    // Misuse by name, before anything is sent.
    let unknown = s
        .record_at("user_tx", "u1", now, &event(1.0, 1, "a"), now)
        .await;
    assert!(
        matches!(&unknown, Err(Error::UnknownName { help, .. }) if help.contains("user_txn")),
        "{unknown:?}"
    );
    let field = s
        .record_at("user_txn", "u1", now, &[("amout", Value::Float(1.0))], now)
        .await;
    assert!(
        matches!(&field, Err(Error::UnknownName { help, .. }) if help.contains("amount")),
        "{field:?}"
    );
    let missing = s
        .record_at("user_txn", "u1", now, &[("amount", Value::Float(1.0))], now)
        .await;
    assert!(
        matches!(&missing, Err(Error::InvalidValue { feature, .. }) if feature == "qty"),
        "{missing:?}"
    );
    let mut wrong = event(1.0, 1, "a");
    wrong[1].1 = Value::Float(1.5);
    let wrong = s.record_at("user_txn", "u1", now, &wrong, now).await;
    assert!(
        matches!(&wrong, Err(Error::InvalidValue { feature, .. }) if feature == "qty"),
        "{wrong:?}"
    );
    let nan = s
        .record_at("user_txn", "u1", now, &event(f64::NAN, 1, "a"), now)
        .await;
    assert!(
        matches!(&nan, Err(Error::InvalidValue { feature, .. }) if feature == "amount"),
        "{nan:?}"
    );
    let empty = s
        .record_at("user_txn", "", now, &event(1.0, 1, "a"), now)
        .await;
    assert!(
        matches!(empty, Err(Error::InvalidEntityId { .. })),
        "{empty:?}"
    );
    assert_eq!(h.hgetall(key).await, before);
    let view = s.read_aggregation_at("user_profile", "u1", now).await;
    assert!(matches!(view, Err(Error::UnknownName { .. })), "{view:?}");
}

all_backends!(refusals, refusals_change_nothing);

async fn a_malformed_bucket_is_an_error_naming_it(h: Harness) {
    let s = store(&h);
    let now = T0;
    record(&s, "u1", now, event(1.0, 1, "a"), now).await;
    let field = format!("n:60:{}", now / MIN);
    h.hset("fs:v1:user_txn:{u1}", &[(field.as_str(), b"12\x00x")])
        .await;
    let err = s
        .read_aggregation_at("user_txn", "u1", now)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(
        text.contains("fs:v1:user_txn:{u1}") && text.contains(&field) && text.contains("\\x00"),
        "{text}"
    );
}

all_backends!(malformed, a_malformed_bucket_is_an_error_naming_it);

/// A key of another type is refused and left as it was.
#[tokio::test]
async fn a_key_of_another_type_is_left_untouched() {
    let h = Harness::valkey().await;
    let s = store(&h);
    h.set_string("fs:v1:user_txn:{u1}", "mine").await;
    let err = s
        .record_at("user_txn", "u1", T0, &event(1.0, 1, "a"), T0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
    assert_eq!(h.keys().await, ["fs:v1:user_txn:{u1}"]);
    assert_eq!(h.pttl("fs:v1:user_txn:{u1}").await, -1);
}

async fn batches_read_and_write_many_entities(h: Harness) {
    let s = store(&h);
    let now = T0 + 3 * HOUR;
    let events: Vec<Event> = (0..250)
        .map(|i| {
            let id = format!("u{}", i % 50);
            let e = event(i as f64, i as i64, &format!("m{}", i % 3));
            (id, now - (i as u64 % 90) * MIN, e.to_vec())
        })
        .collect();
    let report = s.record_batch_at("user_txn", &events, now).await.unwrap();
    assert_eq!(
        (report.applied, report.late.len(), report.future.len()),
        (250, 0, 0)
    );
    let ids: Vec<String> = (0..51).map(|i| format!("u{i}")).collect();
    let all = s
        .read_aggregation_batch_at("user_txn", &ids, now)
        .await
        .unwrap();
    assert_eq!(all.len(), 51);
    for (i, f) in all.iter().enumerate() {
        let mine: Vec<_> = events.iter().filter(|(id, _, _)| *id == ids[i]).collect();
        let in_hour = mine
            .iter()
            .filter(|(_, ts, _)| ts / MIN > now / MIN - 60)
            .count();
        assert_eq!(
            f.get("txn_count_1h"),
            Some(&Value::Int(in_hour as i64)),
            "{}",
            ids[i]
        );
        let single = s
            .read_aggregation_at("user_txn", &ids[i], now)
            .await
            .unwrap();
        assert_eq!(f, &single);
    }
    assert_eq!(all[50].get("txn_count_1h"), Some(&Value::Int(0)));
}

all_backends!(batches, batches_read_and_write_many_entities);

/// After `SCRIPT FLUSH` (or a restart), the script is loaded again and the event recorded once.
#[tokio::test]
async fn a_flushed_script_is_loaded_again() {
    let mut h = Harness::valkey().await;
    let s = store(&h);
    record(&s, "u1", T0, event(1.0, 1, "a"), T0).await;
    let mut conn = h.server().conn();
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut conn).unwrap();
    record(&s, "u1", T0, event(1.0, 1, "b"), T0).await;
    let f = features(&s, "u1", T0).await;
    assert_eq!(get(&f, "txn_count_1h"), &Value::Int(2));
}

/// A count-only aggregation needs no event fields.
#[tokio::test]
async fn a_count_needs_no_event_fields() {
    let registry = Registry::parse(
        r#"
[entities.user]
[aggregations.logins]
entity = "user"
granularity = "1m"
[aggregations.logins.features]
logins_5m = { fn = "count", window = "5m" }
"#,
        "features.toml",
    )
    .unwrap();
    let s = Store::embedded().with_registry(registry);
    for i in 0..7 {
        s.record_at("logins", 42, T0 + i * MIN, &[], T0 + 6 * MIN)
            .await
            .unwrap();
    }
    let f = s
        .read_aggregation_at("logins", 42, T0 + 6 * MIN)
        .await
        .unwrap();
    assert_eq!(f.get("logins_5m"), Some(&Value::Int(5)));
}

/// Clocks and event times at the ends of the range are refused or recorded, never a panic.
#[tokio::test]
async fn extreme_clocks_do_not_panic() {
    let s = store(&Harness::embedded());
    let e = || event(1.0, 1, "a");
    // Beyond 2^53 ms an event time is refused before anything is sent: stored, it would make
    // every later read of the entity fail.
    for (ts, now) in [
        (u64::MAX, T0),
        (u64::MAX - 1, u64::MAX),
        ((1 << 53) + 1, u64::MAX),
    ] {
        let refused = s.record_at("user_txn", "u1", ts, &e(), now).await;
        assert!(
            matches!(&refused, Err(Error::InvalidValue { feature, .. }) if feature == "(event time)"),
            "{refused:?}"
        );
    }
    assert_eq!(record(&s, "u1", 0, e(), T0).await, Recorded::Late);
    // A clock at the end of u64: an event at 2^53 is far too old for it, and one at the clock's
    // own end is refused above.
    assert_eq!(
        record(&s, "u1", 1 << 53, e(), u64::MAX).await,
        Recorded::Late
    );
    assert_eq!(
        record(&s, "u1", 1 << 53, e(), (1 << 53) + 1000).await,
        Recorded::Applied
    );
    assert_eq!(record(&s, "u1", 0, e(), 0).await, Recorded::Applied);
    let f = features(&s, "u1", u64::MAX).await;
    assert_eq!(get(&f, "txn_count_10m"), &Value::Int(0));
    let f = features(&s, "u1", 1 << 53).await;
    assert_eq!(get(&f, "txn_count_10m"), &Value::Int(1));
    let f = features(&s, "u1", 0).await;
    assert_eq!(get(&f, "txn_count_10m"), &Value::Int(1));
}

async fn odd_entity_ids_keep_their_own_keys(h: Harness) {
    let s = store(&h);
    let now = T0;
    // Braces and colons in ids: every key of one entity still shares its hash tag (one cluster
    // slot, so the multi-key PFCOUNT works), and no entity reads another's events.
    let ids = ["a}b", "{x", "a", "a:b", "}", "ü{}"];
    for (n, id) in ids.iter().enumerate() {
        for m in 0..=n {
            record(&s, id, now, event(1.0, 1, &format!("m{m}")), now).await;
        }
    }
    for (n, id) in ids.iter().enumerate() {
        let f = features(&s, id, now).await;
        assert_eq!(get(&f, "txn_count_10m"), &Value::Int(n as i64 + 1), "{id}");
        assert_eq!(
            get(&f, "distinct_merchants_24h"),
            &Value::Int(n as i64 + 1),
            "{id}"
        );
    }
}

all_backends!(odd_ids, odd_entity_ids_keep_their_own_keys);
