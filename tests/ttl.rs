//! Every write sets the view's expiry; short TTLs really expire; no key is left without one.

mod behaviour;
mod support;

use std::time::Duration;

use behaviour::{AgeAndValue, Harness, UserProfile};

#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "short_lived", ttl = 1)]
struct ShortLived {
    clicks: i64,
}

async fn write_sets_the_views_ttl(h: Harness) {
    UserProfile::sample(1).write(&h.store, "u1").await.unwrap();
    let ttl = UserProfile::ttl(&h.store, "u1").await.unwrap().unwrap();
    assert!(
        ttl <= Duration::from_secs(3600) && ttl > Duration::from_secs(3500),
        "{ttl:?}"
    );
    assert_eq!(UserProfile::ttl(&h.store, "nobody").await.unwrap(), None);
}
all_backends!(ttl_set, write_sets_the_views_ttl);

async fn short_ttls_expire(h: Harness) {
    ShortLived { clicks: 3 }.write(&h.store, "s").await.unwrap();
    assert_eq!(
        ShortLived::read(&h.store, "s").await.unwrap(),
        Some(ShortLived { clicks: 3 })
    );
    let ttl = ShortLived::ttl(&h.store, "s").await.unwrap().unwrap();
    assert!(ttl <= Duration::from_secs(1), "{ttl:?}");
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(ShortLived::read(&h.store, "s").await.unwrap(), None);
    assert_eq!(ShortLived::ttl(&h.store, "s").await.unwrap(), None);
    assert_eq!(
        ShortLived::read_batch(&h.store, ["s"]).await.unwrap(),
        vec![None]
    );
}
all_backends!(expiry, short_ttls_expire);

async fn no_key_without_expiry(h: Harness) {
    UserProfile::sample(1)
        .write(&h.store, "single")
        .await
        .unwrap();
    let rows: Vec<(String, UserProfile)> = (0..250)
        .map(|i| (format!("b{i}"), UserProfile::sample(i)))
        .collect();
    UserProfile::write_batch(&h.store, rows).await.unwrap();
    AgeAndValue {
        age: 1,
        lifetime_value: 1.0,
    }
    .write(&h.store, "proj")
    .await
    .unwrap();
    assert_eq!(h.keys().await.len(), 252);
    h.assert_every_key_expires(Duration::from_secs(3600)).await;
}
all_backends!(every_key_expires, no_key_without_expiry);

async fn rewrite_refreshes_the_ttl(h: Harness) {
    // A key written by another tool without expiry gets one on fstore's first write.
    let key = behaviour::key_of::<UserProfile>("legacy");
    h.hset(&key, &[("age", b"30")]).await;
    assert_eq!(h.pttl(&key).await, -1);
    assert_eq!(UserProfile::ttl(&h.store, "legacy").await.unwrap(), None);
    AgeAndValue {
        age: 31,
        lifetime_value: 2.0,
    }
    .write(&h.store, "legacy")
    .await
    .unwrap();
    let pttl = h.pttl(&key).await;
    assert!(pttl > 3_500_000 && pttl <= 3_600_000, "{pttl}");
}
all_backends!(rewrite_refreshes, rewrite_refreshes_the_ttl);
