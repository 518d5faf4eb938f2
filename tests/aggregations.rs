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

/// Two writers whose clocks disagree by more than a window: the one behind records an event
/// whose one-minute slot already holds a bucket 61 minutes newer (the ring's size). The event
/// is not added at that resolution (no window of the writer ahead covers it, and it must not
/// be mixed into the newer bucket), and is added at the hourly one; every backend agrees.
async fn a_slot_holding_a_newer_bucket_is_left_alone(h: Harness) {
    let s = store(&h);
    let ahead = T0 + 61 * MIN;
    assert_eq!(
        record(&s, "u1", ahead, event(5.0, 5, "a"), ahead).await,
        Recorded::Applied
    );
    assert_eq!(
        record(&s, "u1", T0, event(2.0, 2, "b"), T0).await,
        Recorded::Applied
    );
    let behind = features(&s, "u1", T0).await;
    assert_eq!(get(&behind, "txn_count_1h"), &Value::Int(0));
    assert_eq!(get(&behind, "amount_avg_24h"), &Value::Float(2.0));
    let later = features(&s, "u1", ahead).await;
    assert_eq!(get(&later, "txn_count_1h"), &Value::Int(1));
    assert_eq!(get(&later, "qty_sum_10m"), &Value::Int(5));
    assert_eq!(get(&later, "amount_avg_24h"), &Value::Float(3.5));
    assert_eq!(get(&later, "last_merchant_24h"), &Value::String("a".into()));
}

all_backends!(skewed_writers, a_slot_holding_a_newer_bucket_is_left_alone);

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
    // One ring per resolution, of fixed size, in fields of as many slots as fit in 64 bytes
    // (here one: 61 one-minute slots of 7 cells (bucket, count, qty sum in two parts, amount
    // sum, qty minimum in two parts), 25 one-hour slots of 5 (bucket, count, amount sum,
    // amount maximum, time of the last event)); and the last merchant of each one-hour slot.
    let mut names: Vec<(&str, usize)> = fields.iter().map(|(f, v)| (f.as_str(), v.len())).collect();
    names.sort();
    let mut rings: Vec<(String, usize)> = names
        .iter()
        .filter(|(f, _)| f.starts_with("r:"))
        .map(|(f, n)| (f.to_string(), *n))
        .collect();
    rings.sort();
    let hour = "r:3600:25:1:n,sf:amount,mxf:amount,t,ls:merchant";
    let minute = "r:60:61:1:n,si:qty,sf:amount,mni:qty";
    let mut want: Vec<(String, usize)> = (0..25)
        .map(|k| (format!("{hour}/{k}"), 5 * 8))
        .chain((0..61).map(|k| (format!("{minute}/{k}"), 7 * 8)))
        .collect();
    want.sort();
    assert_eq!(rings, want);
    let lasts = names
        .iter()
        .filter(|(f, _)| f.starts_with("l:merchant:3600:25:"))
        .count();
    assert_eq!((lasts, names.len()), (25, 25 + 61 + 25 + 1), "{names:?}");
    // The union of the 24-hour `distinct` window: the hash keeps the bucket its window ends
    // at (the clock's hour) and its count; the union is one key of its own.
    let union = fields
        .iter()
        .find(|(f, _)| f == "u:merchant:3600:24")
        .map(|(_, v)| v.clone());
    assert_eq!(
        union,
        Some(format!("{} {merchants}", now / HOUR).into_bytes())
    );
    // Every key expires: the hash after the longest window plus one coarse bucket without
    // events, each hour's HyperLogLog one bucket after its bucket leaves the 24-hour window
    // (set when its first event, at minute 0 of its hour, created it: 25 h after that). This
    // test's clock runs faster than the server's, so they are all still alive here; on a real
    // clock at most 26 are.
    let keys = h.keys().await;
    let hlls: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with("fs:v1:user_txn:{u1}:d:merchant:3600:"))
        .collect();
    assert_eq!(hlls.len(), 30, "{keys:?}");
    let unions: Vec<&String> = keys.iter().filter(|k| k.contains(":u:")).collect();
    assert_eq!(unions, ["fs:v1:user_txn:{u1}:u:merchant:3600:24"]);
    assert_eq!(keys.len(), 1 + 30 + 1, "{keys:?}");
    for k in &keys {
        let pttl = h.pttl(k).await;
        let most = 25 * HOUR;
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

/// The distinct count of u1's 24-hour window at `now`, and the round trips the read took.
async fn distinct(s: &Store, now: u64) -> (Value, u64) {
    let before = s.round_trips();
    let f = features(s, "u1", now).await;
    (
        get(&f, "distinct_merchants_24h").clone(),
        s.round_trips() - before,
    )
}

/// The bucket and count the hash keeps for the union of u1's 24-hour `distinct` window.
async fn union_field(h: &Harness) -> Option<String> {
    h.hgetall("fs:v1:user_txn:{u1}")
        .await
        .into_iter()
        .find(|(f, _)| f == "u:merchant:3600:24")
        .map(|(_, v)| String::from_utf8(v).unwrap())
}

/// The union of the 24-hour `distinct` window is kept exact to the bucket, its count in the
/// hash: late events inside the window go into it, a gap longer than the window starts it
/// afresh. A read counts nothing when the union's window holds the same events as the reader's
/// (one round trip); otherwise (the buckets the reader's window has left had events, a clock in
/// the past, a damaged field) it reads the entity again with the `PFCOUNT` of its window (two).
async fn distinct_windows_keep_their_union(h: Harness) {
    let s = store(&h);
    let hour = |k: u64| (T0 / HOUR + k).to_string();
    let now = T0 + 10 * HOUR + 30 * MIN;
    assert_eq!(distinct(&s, now).await, (Value::Int(0), 1), "no events");
    for k in 0..5 {
        let ts = T0 + (5 + k) * HOUR + MIN;
        record(&s, "u1", ts, event(1.0, 1, &format!("m{k}")), ts).await;
    }
    record(&s, "u1", T0 + 10 * HOUR, event(1.0, 1, "m0"), now).await;
    record(&s, "u1", now, event(1.0, 1, "m5"), now).await;
    assert_eq!(distinct(&s, now).await, (Value::Int(6), 1));
    assert_eq!(union_field(&h).await, Some(format!("{} 6", hour(10))));
    // A late event in an earlier hour of the window counts at once; one already counted, or
    // one whose hour is in no window any more, changes nothing.
    record(&s, "u1", T0 + 6 * HOUR, event(1.0, 1, "m9"), now).await;
    assert_eq!(distinct(&s, now).await, (Value::Int(7), 1));
    record(&s, "u1", T0 + 7 * HOUR, event(1.0, 1, "m1"), now).await;
    assert_eq!(distinct(&s, now).await, (Value::Int(7), 1));
    assert_eq!(union_field(&h).await, Some(format!("{} 7", hour(10))));
    // An hour later, no event yet: the union's window (from 13 h before T0) had no events in
    // the hour the reader's has left, so its count is the reader's.
    assert_eq!(distinct(&s, T0 + 11 * HOUR).await, (Value::Int(7), 1));
    // At 30:00 the reader's window has left 05:00 and 06:00, which had events (m9 only at
    // 06:00): the window's HyperLogLogs are counted.
    assert_eq!(distinct(&s, T0 + 30 * HOUR).await, (Value::Int(6), 2));
    // At 34:00 no event is in the window any more.
    assert_eq!(distinct(&s, T0 + 34 * HOUR).await, (Value::Int(0), 1));
    // A clock in the past counts the window it had.
    assert_eq!(
        distinct(&s, T0 + 7 * HOUR + 30 * MIN).await,
        (Value::Int(4), 2)
    );
    // A field that is not a bucket and a count (a damaged hash) is not trusted: the read counts
    // the window's HyperLogLogs, and the next event rebuilds the union.
    h.hset("fs:v1:user_txn:{u1}", &[("u:merchant:3600:24", b"9 9 9")])
        .await;
    assert_eq!(distinct(&s, now).await, (Value::Int(7), 2));
    record(&s, "u1", now, event(1.0, 1, "m6"), now).await;
    assert_eq!(union_field(&h).await, Some(format!("{} 8", hour(10))));
    assert_eq!(distinct(&s, now).await, (Value::Int(8), 1));
    // Thirty hours later the union starts afresh from the window's buckets (none older than
    // 24 hours), and a late event joins it.
    let later = now + 30 * HOUR;
    record(&s, "u1", later, event(1.0, 1, "m0"), later).await;
    assert_eq!(distinct(&s, later).await, (Value::Int(1), 1));
    record(&s, "u1", later - HOUR, event(1.0, 1, "m7"), later).await;
    assert_eq!(distinct(&s, later).await, (Value::Int(2), 1));
    assert_eq!(union_field(&h).await, Some(format!("{} 2", hour(40))));
}

all_backends!(distinct_unions, distinct_windows_keep_their_union);

/// A read takes the whole hash (`HGETALL`) when it wants most of its fields, else `HMGET`s the
/// ones it wants; both compute the same features.
#[tokio::test]
async fn a_read_takes_the_whole_hash_only_when_it_wants_most_of_it() {
    let h = Harness::valkey().await;
    // Most: `user_txn` reads every ring and nearly every slot's last merchant.
    let s = store(&h);
    let now = T0 + 30 * MIN;
    record(&s, "u1", now - 5 * MIN, event(2.0, 1, "a"), now).await;
    record(&s, "u1", now, event(3.0, 2, "b"), now).await;
    h.reset_command_stats().await;
    let f = features(&s, "u1", now).await;
    assert_eq!(get(&f, "txn_count_10m"), &Value::Int(2));
    assert_eq!(get(&f, "last_merchant_24h"), &Value::from("b"));
    let calls = h.command_calls().await;
    assert_eq!(
        (calls.get("hgetall"), calls.get("hmget")),
        (Some(&1), None),
        "{calls:?}"
    );
    // A few: the last merchant of 10 minutes, where the ring keeps an hour of slots.
    let few = Registry::parse(
        r#"
[entities.user]

[aggregations.user_few]
entity = "user"
granularity = ["1m"]

[aggregations.user_few.event]
merchant = "string"

[aggregations.user_few.features]
n_1h = { fn = "count", window = "1h" }
last_merchant_10m = { fn = "last", of = "merchant", window = "10m" }
"#,
        "features.toml",
    )
    .unwrap();
    let s = h.store.with_registry(few);
    let merchant = |m: &str| [("merchant", Value::from(m))];
    s.record_at("user_few", "u1", now - 20 * MIN, &merchant("a"), now)
        .await
        .unwrap();
    s.record_at("user_few", "u1", now - 3 * MIN, &merchant("b"), now)
        .await
        .unwrap();
    h.reset_command_stats().await;
    let f = s.read_aggregation_at("user_few", "u1", now).await.unwrap();
    let f: Vec<(String, Value)> = f
        .names()
        .zip(f.values())
        .map(|(n, v)| (n.to_owned(), v.clone()))
        .collect();
    assert_eq!(get(&f, "n_1h"), &Value::Int(2));
    assert_eq!(get(&f, "last_merchant_10m"), &Value::from("b"));
    let f = s
        .read_aggregation_at("user_few", "u1", now + 8 * MIN)
        .await
        .unwrap();
    assert_eq!(
        f.values().get(1),
        Some(&Value::Null),
        "b left the 10 minutes"
    );
    let calls = h.command_calls().await;
    assert_eq!(
        (calls.get("hgetall"), calls.get("hmget")),
        (None, Some(&2)),
        "{calls:?}"
    );
}

/// The hash's expiry is set by the first event of each bucket: a later event of the same
/// bucket leaves it, an event that starts a bucket (at any resolution) sets it again.
#[tokio::test]
async fn the_first_event_of_a_bucket_sets_the_expiry() {
    let h = Harness::valkey().await;
    let s = store(&h);
    let key = "fs:v1:user_txn:{u1}";
    let now = T0 + 30 * MIN;
    record(&s, "u1", now, event(1.0, 1, "a"), now).await;
    let full = h.pttl(key).await;
    assert!(full > (24 * HOUR) as i64, "{full}");
    let mut admin = h.admin().await;
    let shorten = async |admin: &mut redis::aio::MultiplexedConnection| {
        let _: i64 = redis::cmd("PEXPIRE")
            .arg(key)
            .arg(60_000)
            .query_async(admin)
            .await
            .unwrap();
    };
    shorten(&mut admin).await;
    record(&s, "u1", now + 1_000, event(1.0, 1, "a"), now + 1_000).await;
    assert!(h.pttl(key).await <= 60_000, "same minute: left as it was");
    record(&s, "u1", now + MIN, event(1.0, 1, "a"), now + MIN).await;
    assert!(
        h.pttl(key).await > (24 * HOUR) as i64,
        "a new minute sets it"
    );
    shorten(&mut admin).await;
    // A late event that starts an older bucket sets it too.
    record(&s, "u1", now - 3 * MIN, event(1.0, 1, "a"), now + MIN).await;
    assert!(h.pttl(key).await > (24 * HOUR) as i64);
}

/// On a RESP3 connection (the `redis` crate's transport), `HGETALL` answers a map: the read
/// computes the same features from it.
#[tokio::test]
async fn a_whole_hash_read_over_resp3() {
    let server = support::TestServer::start();
    let url = format!("{}/?protocol=resp3", server.url());
    let s = Store::connect(&url)
        .await
        .unwrap()
        .with_registry(registry());
    let now = T0 + 30 * MIN;
    record(&s, "u1", now - 5 * MIN, event(2.0, 1, "a"), now).await;
    record(&s, "u1", now, event(3.0, 2, "b"), now).await;
    let f = features(&s, "u1", now).await;
    assert_eq!(get(&f, "txn_count_10m"), &Value::Int(2));
    assert_eq!(get(&f, "amount_sum_1h"), &Value::Float(5.0));
    assert_eq!(get(&f, "last_merchant_24h"), &Value::from("b"));
    assert_eq!(get(&f, "distinct_merchants_24h"), &Value::Int(2));
}

/// The union's count is what a read counts: an older HyperLogLog of another type does not
/// reach it (the read that needs the window's HyperLogLogs reports it by key). A union of
/// another type refuses the events that would add to it, and a union lost (deleted by hand) is
/// found smaller than its count and rebuilt.
#[tokio::test]
async fn the_union_count_is_what_a_read_counts() {
    let h = Harness::valkey().await;
    let s = store(&h);
    let now = T0 + 10 * HOUR + 30 * MIN;
    for k in 0..5 {
        let ts = T0 + (5 + k) * HOUR + MIN;
        record(&s, "u1", ts, event(1.0, 1, &format!("m{k}")), ts).await;
    }
    record(&s, "u1", now, event(1.0, 1, "m5"), now).await;
    let union = "fs:v1:user_txn:{u1}:u:merchant:3600:24";
    let mut admin = h.admin().await;
    let _: i64 = redis::cmd("DEL")
        .arg(union)
        .query_async(&mut admin)
        .await
        .unwrap();
    record(&s, "u1", now, event(1.0, 1, "m7"), now).await;
    assert_eq!(distinct(&s, now).await, (Value::Int(7), 1), "rebuilt");
    assert!(h.pttl(union).await > 0);
    let old = format!("fs:v1:user_txn:{{u1}}:d:merchant:3600:{}", T0 / HOUR + 5);
    h.set_string(&old, "mine").await;
    assert_eq!(distinct(&s, now).await, (Value::Int(7), 1));
    let err = s
        .read_aggregation_at("user_txn", "u1", T0 + 7 * HOUR)
        .await
        .unwrap_err();
    // (The server's error does not say which key of a multi-key `PFCOUNT`; the first is named.)
    assert!(
        err.to_string().contains("WRONGTYPE")
            && err
                .to_string()
                .contains("PFCOUNT on `fs:v1:user_txn:{u1}:d:merchant:3600:"),
        "{err}"
    );
    h.set_string(union, "mine").await;
    let before = h.hgetall("fs:v1:user_txn:{u1}").await;
    let err = s
        .record_at("user_txn", "u1", now, &event(1.0, 1, "m8"), now)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("WRONGTYPE") && err.to_string().contains(union),
        "{err}"
    );
    assert_eq!(h.hgetall("fs:v1:user_txn:{u1}").await, before);
    assert_eq!(distinct(&s, now).await, (Value::Int(7), 1));
}

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
    let key = "fs:v1:user_txn:{u1}";
    // The field of the ring holding the clock's one-minute bucket (one slot of 7 cells a
    // field: 56 bytes, as many as fit in 64).
    let slot = (now / MIN % 61) as usize;
    let field = &format!("r:60:61:1:n,si:qty,sf:amount,mni:qty/{slot}");
    let ring = h
        .hgetall(key)
        .await
        .into_iter()
        .find(|(f, _)| f == field)
        .map(|(_, v)| v)
        .unwrap();
    let read_error = || async {
        let err = s
            .read_aggregation_at("user_txn", "u1", now)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        err.to_string()
    };
    // A ring of the wrong size (another writer's bytes, a truncated value).
    h.hset(key, &[(field, b"12\x00x")]).await;
    let text = read_error().await;
    assert!(
        text.contains(key) && text.contains(field) && text.contains("\\x00"),
        "{text}"
    );
    // A ring of the right size whose count is not a whole number.
    let slot = 0;
    let mut bad = ring.clone();
    bad[slot + 8..slot + 16].copy_from_slice(&0.5f64.to_le_bytes());
    h.hset(key, &[(field, bad.as_slice())]).await;
    let text = read_error().await;
    assert!(text.contains(field) && text.contains("0.5"), "{text}");
    // A cell that is not a finite number.
    let mut bad = ring.clone();
    bad[slot + 24..slot + 32].copy_from_slice(&f64::NAN.to_le_bytes());
    h.hset(key, &[(field, bad.as_slice())]).await;
    let text = read_error().await;
    assert!(text.contains("finite"), "{text}");
    // A recorder refuses the malformed ring and leaves it as it was.
    h.hset(key, &[(field, b"12\x00x")]).await;
    let err = s
        .record_at("user_txn", "u1", now, &event(1.0, 1, "a"), now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CORRUPT"), "{err}");
    let after = h.hgetall(key).await;
    assert!(
        after.iter().any(|(f, v)| f == field && v == b"12\x00x"),
        "{after:?}"
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

    // A HyperLogLog key of another type: refused before the aggregation hash is written.
    let hll = format!("fs:v1:user_txn:{{u2}}:d:merchant:3600:{}", T0 / HOUR);
    h.set_string(&hll, "mine").await;
    let err = s
        .record_at("user_txn", "u2", T0, &event(1.0, 1, "a"), T0)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("WRONGTYPE") && err.to_string().contains(&hll),
        "{err}"
    );
    assert!(h.hgetall("fs:v1:user_txn:{u2}").await.is_empty());
    assert_eq!(h.pttl(&hll).await, -1);
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

/// A batch longer than one script call's group of events, with refusals inside the groups:
/// every other event is applied, and the error's outcomes are in input order (the late event
/// included), so `to_retry` names exactly the refused ones.
async fn a_refused_event_in_a_batch_is_reported_alone(h: Harness) {
    let s = store(&h);
    let now = T0 + HOUR;
    // Entities 5 and 35 hold a one-minute qty sum near the i64 limit: one more is an overflow.
    for id in ["e5", "e35"] {
        record(&s, id, now, event(1.0, i64::MAX - 10, "a"), now).await;
    }
    let before: Vec<_> = [
        h.hgetall("fs:v1:user_txn:{e5}").await,
        h.hgetall("fs:v1:user_txn:{e35}").await,
    ]
    .to_vec();
    let mut events: Vec<Event> = vec![(
        "e0".to_owned(),
        now - 30 * HOUR,
        event(1.0, 1, "a").to_vec(),
    )];
    for i in 0..70 {
        events.push((format!("e{i}"), now, event(1.0, 100, "b").to_vec()));
    }
    let err = s
        .record_batch_at("user_txn", &events, now)
        .await
        .unwrap_err();
    let Error::Batch(batch) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(batch.outcomes().len(), events.len());
    assert_eq!(
        batch.to_retry().collect::<Vec<_>>(),
        [0, 6, 36],
        "{batch:?}"
    );
    let text = format!("{:?}", batch.outcomes()[6]);
    assert!(
        text.contains("64-bit range") && text.contains("{e5}"),
        "{text}"
    );
    assert_eq!(
        [
            h.hgetall("fs:v1:user_txn:{e5}").await,
            h.hgetall("fs:v1:user_txn:{e35}").await
        ]
        .to_vec(),
        before
    );
    for i in [0, 4, 6, 31, 32, 33, 34, 36, 63, 64, 69] {
        let f = features(&s, &format!("e{i}"), now).await;
        assert_eq!(get(&f, "qty_sum_10m"), &Value::Int(100), "e{i}");
    }
}

all_backends!(
    refused_in_batch,
    a_refused_event_in_a_batch_is_reported_alone
);

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
    // A batch longer than one call's group of events, after another flush: every group is
    // sent again once, every event counted once.
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut conn).unwrap();
    let events: Vec<Event> = (0..70)
        .map(|i| (format!("b{i}"), T0, event(1.0, 1, "a").to_vec()))
        .collect();
    let report = s.record_batch_at("user_txn", &events, T0).await.unwrap();
    assert_eq!(report.applied, 70);
    for i in [0, 31, 32, 69] {
        let f = features(&s, &format!("b{i}"), T0).await;
        assert_eq!(get(&f, "txn_count_1h"), &Value::Int(1), "b{i}");
    }
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
