//! Data written by Python code in the seed's string format reads back typed.

mod behaviour;
mod support;

use behaviour::{AgeAndValue, Harness, UserProfile};

async fn python_written_hash_reads_typed(h: Harness) {
    // What the seed's Python writer stores: str() of each value, extra fields, `_` metadata,
    // no `_updated_at`.
    h.hset(
        "fs:v1:user_profile:user_123",
        &[
            ("age", b"28"),
            ("lifetime_value", b"1250.50"),
            ("segment", b"premium"),
            ("is_premium", b"True"),
            ("days_since_signup", b"412"),
            ("favourite_colour", b"teal"),
            ("_source", b"batch_job_v2"),
            ("_ingested_at", b"2026-11-26T10:00:00"),
        ],
    )
    .await;
    let got = UserProfile::read(&h.store, "user_123").await.unwrap();
    assert_eq!(
        got,
        Some(UserProfile {
            age: 28,
            lifetime_value: 1250.5,
            segment: "premium".to_owned(),
            is_premium: true,
            country: None,
            tenure_days: 412,
        })
    );
    assert_eq!(
        AgeAndValue::read(&h.store, "user_123").await.unwrap(),
        Some(AgeAndValue {
            age: 28,
            lifetime_value: 1250.5
        })
    );
}
both!(python_hash, python_written_hash_reads_typed);

async fn python_float_and_bool_spellings(h: Harness) {
    let cases: [(&[u8], &[u8]); 6] = [
        (b"nan", b"False"),
        (b"inf", b"0"),
        (b"-inf", b"1"),
        (b"1e-05", b"true"),
        (b"NaN", b"false"),
        (b"12", b"True"),
    ];
    for (i, (ltv, premium)) in cases.iter().enumerate() {
        let key = format!("fs:v1:user_profile:p{i}");
        h.hset(
            &key,
            &[
                ("age", b"1"),
                ("lifetime_value", ltv),
                ("segment", b"basic"),
                ("is_premium", premium),
                ("days_since_signup", b"0"),
            ],
        )
        .await;
    }
    let ids: Vec<String> = (0..cases.len()).map(|i| format!("p{i}")).collect();
    let rows: Vec<UserProfile> = UserProfile::read_batch(&h.store, &ids)
        .await
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert!(rows[0].lifetime_value.is_nan() && !rows[0].is_premium);
    assert!(rows[1].lifetime_value == f64::INFINITY && !rows[1].is_premium);
    assert!(rows[2].lifetime_value == f64::NEG_INFINITY && rows[2].is_premium);
    assert!(rows[3].lifetime_value == 1e-5 && rows[3].is_premium);
    assert!(rows[4].lifetime_value.is_nan() && !rows[4].is_premium);
    assert!(rows[5].lifetime_value == 12.0 && rows[5].is_premium);
}
both!(python_spellings, python_float_and_bool_spellings);

async fn defaults_fill_absent_fields(h: Harness) {
    // `is_premium` has `#[fstore(default = false)]`; `country` is an Option.
    h.hset(
        "fs:v1:user_profile:old",
        &[
            ("age", b"40"),
            ("lifetime_value", b"3"),
            ("segment", b"vip"),
            ("days_since_signup", b"9"),
        ],
    )
    .await;
    let got = UserProfile::read(&h.store, "old").await.unwrap().unwrap();
    assert!(!got.is_premium);
    assert_eq!(got.country, None);
}
both!(defaults, defaults_fill_absent_fields);

async fn metadata_alone_is_a_present_entity(h: Harness) {
    // `_updated_at` without features: the entity exists but lacks required features.
    h.hset("fs:v1:user_profile:meta", &[("_updated_at", b"1")])
        .await;
    let err = UserProfile::read(&h.store, "meta").await.unwrap_err();
    assert!(
        matches!(&err, fstore::Error::MissingField { field, .. } if field == "age"),
        "{err:?}"
    );
}
both!(metadata_only, metadata_alone_is_a_present_entity);
