//! Malformed stored values and bad ids are typed errors that name what is wrong.

mod behaviour;
mod support;

use behaviour::{Harness, UserProfile};
use fstore::{Error, WriteOutcome};

#[derive(fstore::FeatureView, Debug, PartialEq)]
#[feature_view(name = "item", ttl = "7d")]
struct Item {
    price: f32,
    stock: u32,
    title: String,
    embedding: Vec<f32>,
}

async fn seed_profile(h: &Harness, id: &str, field: &str, value: &[u8]) {
    let mut fields: Vec<(&str, &[u8])> = vec![
        ("age", b"28"),
        ("lifetime_value", b"1.5"),
        ("segment", b"basic"),
        ("days_since_signup", b"3"),
    ];
    fields.retain(|(f, _)| *f != field);
    fields.push((field, value));
    h.hset(&format!("fs:v1:user_profile:{id}"), &fields).await;
}

async fn malformed_int_names_everything(h: Harness) {
    seed_profile(&h, "bad_age", "age", b"twenty\x00eight").await;
    let err = UserProfile::read(&h.store, "bad_age").await.unwrap_err();
    match &err {
        Error::Decode {
            key,
            field,
            expected,
            found,
            ..
        } => {
            assert_eq!(key, "fs:v1:user_profile:bad_age");
            assert_eq!(field, "age");
            assert_eq!(*expected, "i64 (int)");
            assert_eq!(found, r#""twenty\x00eight""#);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "cannot decode feature `age` of `fs:v1:user_profile:bad_age` as i64 (int): \
         not a decimal integer; found \"twenty\\x00eight\""
    );
    // The same error through a batch.
    let err = UserProfile::read_batch(&h.store, ["bad_age"])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { field, .. } if field == "age"),
        "{err:?}"
    );
}
both!(malformed_int, malformed_int_names_everything);

async fn malformed_values_of_each_type(h: Harness) {
    let cases: [(&str, &[u8], &str, &str); 4] = [
        ("price", b"12,50", "f32 (float)", "not a number"),
        ("stock", b"-3", "u32 (int)", "not a decimal integer"),
        (
            "title",
            b"caf\xe9",
            "String (string)",
            "not valid UTF-8 (at byte 3)",
        ),
        (
            "embedding",
            b"\x00\x00\x80",
            "Vec<f32> (float_list, json)",
            "binary data (3 bytes), not JSON text",
        ),
    ];
    for (i, (bad_field, bad_value, want_expected, want_reason)) in cases.iter().enumerate() {
        let mut fields: Vec<(&str, &[u8])> = vec![
            ("price", b"9.99"),
            ("stock", b"3"),
            ("title", b"mug"),
            ("embedding", b"[]"),
        ];
        fields.retain(|(f, _)| f != bad_field);
        fields.push((bad_field, bad_value));
        h.hset(&format!("fs:v1:item:{i}"), &fields).await;
        match Item::read(&h.store, i as u32).await.unwrap_err() {
            Error::Decode {
                field,
                expected,
                reason,
                ..
            } => {
                assert_eq!(field, *bad_field);
                assert_eq!(expected, *want_expected);
                assert!(reason.starts_with(want_reason), "{reason}");
            }
            other => panic!("{bad_field}: expected a decode error, got {other:?}"),
        }
    }
}
both!(each_type, malformed_values_of_each_type);

async fn floats_out_of_range_are_errors_not_infinity_or_zero(h: Harness) {
    // An `f32` field cannot hold 1e300 (it would read as inf) or 1e-50 (as 0.0).
    for (i, (stored, reason)) in [
        (
            &b"1e300"[..],
            "out of range for f32 (overflows to infinity)",
        ),
        (b"-3.5e38", "out of range for f32 (overflows to infinity)"),
        (b"1e-50", "out of range for f32 (underflows to zero)"),
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("fs:v1:item:{i}");
        h.hset(
            &key,
            &[
                ("price", stored),
                ("stock", b"3"),
                ("title", b"mug"),
                ("embedding", b"[]"),
            ],
        )
        .await;
        let err = Item::read(&h.store, i as u32).await.unwrap_err();
        assert!(
            matches!(&err, Error::Decode { key: k, field, reason: r, .. }
                if *k == key && field == "price" && r == reason),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains(&format!("found {:?}", std::str::from_utf8(stored).unwrap())),
            "{err}"
        );
    }
    // What an f32 can hold reads as its nearest value, infinity spelled as such included.
    h.hset(
        "fs:v1:item:9",
        &[
            ("price", b"-inf"),
            ("stock", b"3"),
            ("title", b"mug"),
            ("embedding", b"[]"),
        ],
    )
    .await;
    assert_eq!(
        Item::read(&h.store, 9u32).await.unwrap().unwrap().price,
        f32::NEG_INFINITY
    );
}
both!(
    float_range,
    floats_out_of_range_are_errors_not_infinity_or_zero
);

#[derive(fstore::FeatureView, Debug, PartialEq)]
#[feature_view(name = "counters", ttl = "1h")]
struct Counters {
    total: u64,
    maybe: Option<u64>,
}

async fn ints_beyond_i64_are_refused_and_nothing_is_written(h: Harness) {
    // An `int` is an i64 to every other reader: a u64 above i64::MAX would be unreadable.
    let too_big = Counters {
        total: i64::MAX as u64 + 1,
        maybe: None,
    };
    let err = too_big.write(&h.store, "c").await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidValue { view, feature, found, .. }
            if view == "counters" && feature == "total" && found.starts_with("9223372036854775808 is above i64::MAX")),
        "{err:?}"
    );
    let rows = vec![
        (
            "ok",
            Counters {
                total: 1,
                maybe: Some(2),
            },
        ),
        (
            "bad",
            Counters {
                total: 1,
                maybe: Some(u64::MAX),
            },
        ),
    ];
    let err = Counters::write_batch(&h.store, &rows).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidValue { feature, .. } if feature == "maybe"),
        "{err:?}"
    );
    assert!(h.keys().await.is_empty(), "{:?}", h.keys().await);
    // The largest storable value round-trips.
    let max = Counters {
        total: i64::MAX as u64,
        maybe: Some(0),
    };
    max.write(&h.store, "c").await.unwrap();
    assert_eq!(Counters::read(&h.store, "c").await.unwrap(), Some(max));
}
both!(
    int_range,
    ints_beyond_i64_are_refused_and_nothing_is_written
);

async fn long_values_are_excerpted(h: Harness) {
    let long = vec![b'9'; 300];
    seed_profile(&h, "long", "age", &long).await;
    let err = UserProfile::read(&h.store, "long").await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("out of range for i64"), "{msg}");
    assert!(msg.ends_with("(first 64 of 300 bytes)"), "{msg}");
    assert!(msg.len() < 300, "{msg}");
}
both!(long_values, long_values_are_excerpted);

async fn missing_required_field(h: Harness) {
    h.hset(
        "fs:v1:user_profile:no_segment",
        &[
            ("age", b"1"),
            ("lifetime_value", b"2"),
            ("days_since_signup", b"3"),
        ],
    )
    .await;
    let err = UserProfile::read(&h.store, "no_segment").await.unwrap_err();
    assert!(
        matches!(&err, Error::MissingField { key, field } if key == "fs:v1:user_profile:no_segment" && field == "segment"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("make the field an `Option`"),
        "{err}"
    );
}
both!(missing_field, missing_required_field);

async fn empty_ids_are_rejected(h: Harness) {
    let check = |err: Error| {
        assert!(
            matches!(
                &err,
                Error::InvalidEntityId { view, .. } if view == "user_profile"
            ),
            "{err:?}"
        );
    };
    check(UserProfile::read(&h.store, "").await.unwrap_err());
    check(
        UserProfile::sample(1)
            .write(&h.store, "")
            .await
            .unwrap_err(),
    );
    check(UserProfile::ttl(&h.store, String::new()).await.unwrap_err());
    check(UserProfile::read_batch(&h.store, [""]).await.unwrap_err());
    assert!(h.keys().await.is_empty());
}
both!(empty_ids, empty_ids_are_rejected);

#[tokio::test]
async fn wrong_key_type_is_a_server_error() {
    let h = Harness::valkey().await;
    h.set_string("fs:v1:user_profile:str", "not a hash").await;
    let err = UserProfile::read(&h.store, "str").await.unwrap_err();
    match &err {
        Error::Server {
            command,
            key,
            message,
        } => {
            assert_eq!(*command, "HMGET");
            assert_eq!(key, "fs:v1:user_profile:str");
            assert!(message.contains("WRONGTYPE"), "{message}");
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    let err = UserProfile::sample(1)
        .write(&h.store, "str")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Server {
                command: "EVALSHA",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_key_type_in_a_batch_is_refused_alone_and_left_untouched() {
    let h = Harness::valkey().await;
    // Another client's string, without an expiry: fstore must not touch it, not even its TTL.
    h.set_string("fs:v1:user_profile:b1", "not a hash").await;
    let rows: Vec<(String, UserProfile)> = (0..3)
        .map(|i| (format!("b{i}"), UserProfile::sample(i)))
        .collect();
    let err = UserProfile::write_batch(&h.store, &rows).await.unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    let Error::Batch(batch) = &err else {
        panic!("expected a batch outcome, got {err:?}")
    };
    let outcomes = batch.outcomes();
    assert_eq!(outcomes.len(), 3);
    assert!(
        outcomes[0].is_applied() && outcomes[2].is_applied(),
        "{outcomes:?}"
    );
    match &outcomes[1] {
        WriteOutcome::Refused(Error::Server {
            command,
            key,
            message,
        }) => {
            assert_eq!(
                (*command, key.as_str()),
                ("EVALSHA", "fs:v1:user_profile:b1")
            );
            assert!(message.starts_with("WRONGTYPE"), "{message}");
        }
        other => panic!("expected WRONGTYPE, got {other:?}"),
    }
    assert_eq!(batch.to_retry().collect::<Vec<_>>(), [1]);
    let message = err.to_string();
    assert!(
        message.starts_with("write_batch of 3 entities: 2 applied, 1 refused (first:")
            && message.contains("fs:v1:user_profile:b1"),
        "{message}"
    );
    assert_eq!(
        h.pttl("fs:v1:user_profile:b1").await,
        -1,
        "the string got an expiry"
    );
    let mut admin = h.admin().await;
    let kept: String = redis::cmd("GET")
        .arg("fs:v1:user_profile:b1")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(kept, "not a hash");
    // The other entities are complete, with their expiry.
    for id in ["b0", "b2"] {
        let i: i64 = id[1..].parse().unwrap();
        assert_eq!(
            UserProfile::read(&h.store, id).await.unwrap(),
            Some(UserProfile::sample(i))
        );
        let pttl = h.pttl(&format!("fs:v1:user_profile:{id}")).await;
        assert!(pttl > 0, "{id} has PTTL {pttl}");
    }
    // A single write and the dynamic batch write leave it alone just the same.
    assert!(UserProfile::sample(1).write(&h.store, "b1").await.is_err());
    assert_eq!(h.pttl("fs:v1:user_profile:b1").await, -1);
}
