//! A struct with a subset of a view's features reads and writes just those features.

mod behaviour;
mod support;

use behaviour::{AgeAndValue, Harness, UserProfile};

async fn projection_reads_its_fields(h: Harness) {
    let full = UserProfile::sample(3);
    full.write(&h.store, "u3").await.unwrap();
    let part = AgeAndValue::read(&h.store, "u3").await.unwrap();
    assert_eq!(
        part,
        Some(AgeAndValue {
            age: full.age,
            lifetime_value: full.lifetime_value
        })
    );
    assert_eq!(AgeAndValue::read(&h.store, "missing").await.unwrap(), None);
}
all_backends!(projection_read, projection_reads_its_fields);

async fn projection_write_leaves_other_features(h: Harness) {
    let full = UserProfile::sample(5);
    full.write(&h.store, "u5").await.unwrap();
    AgeAndValue {
        age: 99,
        lifetime_value: 0.5,
    }
    .write(&h.store, "u5")
    .await
    .unwrap();
    let back = UserProfile::read(&h.store, "u5").await.unwrap().unwrap();
    assert_eq!(
        back,
        UserProfile {
            age: 99,
            lifetime_value: 0.5,
            ..full
        }
    );
}
all_backends!(projection_write, projection_write_leaves_other_features);

async fn projection_of_an_entity_with_only_other_features(h: Harness) {
    // An entity written only through the projection lacks the full view's required features.
    AgeAndValue {
        age: 1,
        lifetime_value: 2.0,
    }
    .write(&h.store, "partial")
    .await
    .unwrap();
    let err = UserProfile::read(&h.store, "partial").await.unwrap_err();
    assert!(
        matches!(&err, fstore::Error::MissingField { key, field } if key == "fs:v1:user_profile:partial" && field == "segment"),
        "{err:?}"
    );
}
all_backends!(
    projection_partial,
    projection_of_an_entity_with_only_other_features
);
