//! Every supported type survives a write and a read, on Valkey and on the embedded backend.

mod behaviour;
mod support;

use behaviour::{Harness, UserProfile};

#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "every_type", ttl = "1h")]
struct EveryType {
    a_i64: i64,
    a_i32: i32,
    a_u32: u32,
    a_u64: u64,
    a_f64: f64,
    a_f32: f32,
    a_bool: bool,
    a_string: String,
    embedding: Vec<f32>,
    o_i64: Option<i64>,
    o_i32: Option<i32>,
    o_u32: Option<u32>,
    o_u64: Option<u64>,
    o_f64: Option<f64>,
    o_f32: Option<f32>,
    o_bool: Option<bool>,
    o_string: Option<String>,
    o_embedding: Option<Vec<f32>>,
}

fn extremes() -> EveryType {
    EveryType {
        a_i64: i64::MIN,
        a_i32: i32::MAX,
        a_u32: u32::MAX,
        a_u64: i64::MAX as u64, // the largest an `int` holds (larger: tests/malformed.rs)
        a_f64: 1.0 / 3.0,
        a_f32: -0.1,
        a_bool: true,
        a_string: "naïve: {tag} \"quoted\"\n日本".to_owned(),
        embedding: vec![0.5, -1.25, f32::MAX, f32::MIN_POSITIVE, 0.0],
        o_i64: Some(-1),
        o_i32: Some(i32::MIN),
        o_u32: Some(0),
        o_u64: Some(1),
        o_f64: Some(f64::INFINITY),
        o_f32: Some(f32::NEG_INFINITY),
        o_bool: Some(false),
        o_string: Some(String::new()),
        o_embedding: Some(Vec::new()),
    }
}

fn nones() -> EveryType {
    EveryType {
        a_i64: 0,
        a_i32: 0,
        a_u32: 0,
        a_u64: 0,
        a_f64: 1e300,
        a_f32: 1e-30,
        a_bool: false,
        a_string: String::new(),
        embedding: Vec::new(),
        o_i64: None,
        o_i32: None,
        o_u32: None,
        o_u64: None,
        o_f64: None,
        o_f32: None,
        o_bool: None,
        o_string: None,
        o_embedding: None,
    }
}

async fn every_type_round_trips(h: Harness) {
    for (id, row) in [("extremes", extremes()), ("nones", nones())] {
        row.write(&h.store, id).await.unwrap();
        assert_eq!(EveryType::read(&h.store, id).await.unwrap(), Some(row));
    }
}
all_backends!(every_type, every_type_round_trips);

async fn nan_round_trips(h: Harness) {
    let mut row = nones();
    row.a_f64 = f64::NAN;
    row.o_f32 = Some(f32::NAN);
    row.write(&h.store, "nan").await.unwrap();
    let back = EveryType::read(&h.store, "nan").await.unwrap().unwrap();
    assert!(back.a_f64.is_nan());
    assert!(back.o_f32.unwrap().is_nan());
}
all_backends!(nan, nan_round_trips);

async fn writing_none_removes_the_field(h: Harness) {
    let key = behaviour::key_of::<UserProfile>("u1");
    let mut row = UserProfile::sample(1);
    assert!(row.country.is_some());
    row.write(&h.store, "u1").await.unwrap();
    row.country = None;
    row.write(&h.store, "u1").await.unwrap();
    assert_eq!(UserProfile::read(&h.store, "u1").await.unwrap(), Some(row));
    let fields: Vec<String> = h.hgetall(&key).await.into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        [
            "_updated_at",
            "age",
            "days_since_signup",
            "is_premium",
            "lifetime_value",
            "segment"
        ]
    );
}
all_backends!(none_removes_field, writing_none_removes_the_field);

async fn stored_text_is_what_python_writes(h: Harness) {
    UserProfile {
        age: 28,
        lifetime_value: 1250.5,
        segment: "premium".to_owned(),
        is_premium: true,
        country: Some("DE".to_owned()),
        tenure_days: 400,
    }
    .write(&h.store, "user_123")
    .await
    .unwrap();
    let raw = h.hgetall("fs:v1:user_profile:user_123").await;
    let text: Vec<(&str, String)> = raw
        .iter()
        .filter(|(f, _)| f != "_updated_at")
        .map(|(f, v)| (f.as_str(), String::from_utf8(v.clone()).unwrap()))
        .collect();
    assert_eq!(
        text,
        [
            ("age", "28".to_owned()),
            ("country", "DE".to_owned()),
            ("days_since_signup", "400".to_owned()),
            ("is_premium", "true".to_owned()),
            ("lifetime_value", "1250.5".to_owned()),
            ("segment", "premium".to_owned()),
        ]
    );
    // Seconds with a millisecond fraction, as Python's `float()` reads it.
    let stamp = raw
        .iter()
        .find(|(f, _)| f == "_updated_at")
        .map(|(_, v)| std::str::from_utf8(v).unwrap().to_owned())
        .unwrap();
    let (seconds, millis) = stamp.split_once('.').unwrap();
    assert_eq!(millis.len(), 3, "{stamp}");
    let updated_at: u64 = seconds.parse::<u64>().unwrap() * 1000 + millis.parse::<u64>().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        updated_at <= now && now - updated_at < 600_000,
        "{updated_at} vs {now}"
    );
}
all_backends!(stored_text, stored_text_is_what_python_writes);

async fn missing_entity_reads_as_none(h: Harness) {
    assert_eq!(UserProfile::read(&h.store, "nobody").await.unwrap(), None);
    assert_eq!(EveryType::read(&h.store, "nobody").await.unwrap(), None);
}
all_backends!(missing_entity, missing_entity_reads_as_none);

#[tokio::test]
async fn hash_tagged_keys_on_a_single_server() {
    let h = Harness::valkey_with(|b| b.hash_tag_entities(true)).await;
    assert_eq!(h.store.key_layout(), fstore::KeyLayout::HashTag);
    UserProfile::sample(3).write(&h.store, "u:3").await.unwrap();
    assert_eq!(h.keys().await, ["fs:v1:user_profile:{u:3}"]);
    assert_eq!(
        UserProfile::read(&h.store, "u:3").await.unwrap(),
        Some(UserProfile::sample(3))
    );
    assert_eq!(
        UserProfile::read_batch(&h.store, ["u:3", "u:4"])
            .await
            .unwrap(),
        vec![Some(UserProfile::sample(3)), None]
    );
    assert!(UserProfile::ttl(&h.store, "u:3").await.unwrap().is_some());
}
