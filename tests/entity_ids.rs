//! Entity ids: strings, integers, odd characters; keys never collide across views.

mod behaviour;
mod support;

use behaviour::{AgeAndValue, Harness, UserProfile};

#[derive(fstore::FeatureView, Debug, PartialEq)]
#[feature_view(name = "user_profile_v", ttl = "1h")]
struct LookAlike {
    age: i64,
}

async fn odd_ids_round_trip(h: Harness) {
    let ids = [
        "user:123",
        "{user_123}",
        "a b\tc",
        "日本語",
        "emoji 🦀",
        ":",
        "profile:user_1:extra",
    ];
    for (i, id) in ids.iter().enumerate() {
        UserProfile::sample(i as i64)
            .write(&h.store, *id)
            .await
            .unwrap();
    }
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            UserProfile::read(&h.store, *id).await.unwrap(),
            Some(UserProfile::sample(i as i64)),
            "{id:?}"
        );
    }
    assert_eq!(h.keys().await.len(), ids.len());
}
both!(odd_ids, odd_ids_round_trip);

async fn id_types(h: Harness) {
    let owned = String::from("s1");
    UserProfile::sample(1)
        .write(&h.store, &owned)
        .await
        .unwrap();
    UserProfile::sample(2).write(&h.store, 2u64).await.unwrap();
    UserProfile::sample(3).write(&h.store, -3i32).await.unwrap();
    assert!(UserProfile::read(&h.store, "s1").await.unwrap().is_some());
    assert!(UserProfile::read(&h.store, owned.clone())
        .await
        .unwrap()
        .is_some());
    assert!(UserProfile::read(&h.store, "2").await.unwrap().is_some());
    assert!(UserProfile::read(&h.store, -3i64).await.unwrap().is_some());
    let ids: Vec<String> = vec!["s1".into(), "2".into()];
    assert_eq!(
        UserProfile::read_batch(&h.store, &ids).await.unwrap().len(),
        2
    );
    assert_eq!(
        UserProfile::read_batch(&h.store, ids).await.unwrap().len(),
        2
    );
}
both!(types, id_types);

async fn views_do_not_collide(h: Harness) {
    // `user_profile` + id `v:1` and `user_profile_v` + id `1` must be different keys.
    UserProfile::sample(1).write(&h.store, "v:1").await.unwrap();
    LookAlike { age: 99 }.write(&h.store, "1").await.unwrap();
    assert_eq!(
        UserProfile::read(&h.store, "v:1").await.unwrap(),
        Some(UserProfile::sample(1))
    );
    assert_eq!(
        LookAlike::read(&h.store, "1").await.unwrap(),
        Some(LookAlike { age: 99 })
    );
    assert_eq!(AgeAndValue::read(&h.store, "1").await.unwrap(), None);
    assert_eq!(
        h.keys().await,
        ["fs:v1:user_profile:v:1", "fs:v1:user_profile_v:1"]
    );
}
both!(no_collisions, views_do_not_collide);
