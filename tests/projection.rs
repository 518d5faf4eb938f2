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

/// The stored `_updated_at` of `key`.
async fn stamp(h: &Harness, key: &str) -> Option<String> {
    h.hgetall(key)
        .await
        .into_iter()
        .find(|(f, _)| f == "_updated_at")
        .map(|(_, v)| String::from_utf8(v).unwrap())
}

async fn a_projection_write_never_makes_other_features_look_fresh(h: Harness) {
    let key = "fs:v1:user_profile:p";
    UserProfile::sample(1).write(&h.store, "p").await.unwrap();
    // The whole row was written long ago (2001).
    let old = "1000000000.000";
    h.hset(key, &[("_updated_at", old.as_bytes())]).await;

    // Writing two of its features keeps the old stamp: the others are as old as it says.
    AgeAndValue {
        age: 40,
        lifetime_value: 2.5,
    }
    .write(&h.store, "p")
    .await
    .unwrap();
    assert_eq!(stamp(&h, key).await.as_deref(), Some(old));
    let row = UserProfile::read(&h.store, "p").await.unwrap().unwrap();
    assert_eq!((row.age, row.lifetime_value), (40, 2.5));
    assert!(
        h.pttl(key).await > 0,
        "the projection write keeps the expiry set"
    );

    // A write of every feature present stamps the row anew.
    UserProfile::sample(2).write(&h.store, "p").await.unwrap();
    let fresh = stamp(&h, key).await.unwrap();
    let seconds: f64 = fresh.parse().unwrap();
    assert!(seconds > 1.7e9, "{fresh}");

    // A projection that writes every feature an entity has (a new entity) stamps it.
    AgeAndValue {
        age: 1,
        lifetime_value: 1.0,
    }
    .write(&h.store, "q")
    .await
    .unwrap();
    assert!(stamp(&h, "fs:v1:user_profile:q").await.is_some());

    // Metadata of other writers (`_source`) does not count as a feature.
    h.hset(
        "fs:v1:user_profile:r",
        &[("_source", b"python"), ("_updated_at", old.as_bytes())],
    )
    .await;
    AgeAndValue {
        age: 1,
        lifetime_value: 1.0,
    }
    .write(&h.store, "r")
    .await
    .unwrap();
    assert_ne!(
        stamp(&h, "fs:v1:user_profile:r").await.as_deref(),
        Some(old)
    );
}
all_backends!(
    projection_freshness,
    a_projection_write_never_makes_other_features_look_fresh
);
