//! Multi-entity vectors: views of different entities (a user's and an item's) are keyed by a
//! typed key with one named id per entity, and a batch over one user and many candidate items
//! reads each distinct row once, in one round trip. Swapping the ids is visible in the code
//! (`user: item_id`) and, at run time, an error or a missing row: never another entity's value.
//! (A vector over views of two entities without `key(...)` does not compile: `tests/ui`.)

mod behaviour;
mod support;

use behaviour::Harness;
use fstore::Error;

mod features {
    #![allow(dead_code)]
    fstore::registry!("features.toml");
}

use features::{ItemStats, UserActivity, UserProfile};

/// The ranking pattern: the user's features beside each candidate item's.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml", key(user, item))]
struct RankInputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_activity")]
    clicks_24h: i64,
    #[fstore(view = "item_stats")]
    price: f64,
    #[fstore(view = "item_stats", name = "ctr_7d")]
    ctr: f64,
    #[fstore(view = "item_stats")]
    in_stock: bool,
}

/// The same key in the other order: ids go by name, the order only fixes the key's fields.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml", key(item, user))]
struct ItemFirst {
    #[fstore(view = "item_stats")]
    price: f64,
    #[fstore(view = "user_profile")]
    age: i64,
}

fn user(age: i64) -> UserProfile {
    UserProfile {
        age,
        lifetime_value: 10.0,
        segment: "vip".to_owned(),
        is_premium: true,
        country: None,
        days_since_signup: 5,
        embedding: vec![0.25; 8],
    }
}

fn item(i: usize) -> ItemStats {
    ItemStats {
        price: 10.0 + i as f64,
        ctr_7d: i as f64 / 1000.0,
        category: "books".to_owned(),
        in_stock: !i.is_multiple_of(3),
        embedding: vec![0.5; 8],
    }
}

async fn seed(h: &Harness, items: usize) {
    user(41).write(&h.store, "u1").await.unwrap();
    UserActivity {
        sessions_7d: 3,
        clicks_24h: 17,
        last_category: None,
        avg_session_seconds: 30.0,
    }
    .write(&h.store, "u1")
    .await
    .unwrap();
    let rows: Vec<(String, ItemStats)> = (0..items).map(|i| (format!("i{i}"), item(i))).collect();
    ItemStats::write_batch(&h.store, &rows).await.unwrap();
}

fn want(i: usize) -> RankInputs {
    let it = item(i);
    RankInputs {
        age: 41,
        clicks_24h: 17,
        price: it.price,
        ctr: it.ctr_7d,
        in_stock: it.in_stock,
    }
}

async fn one_key_reads_each_view_by_its_entity(h: Harness) {
    seed(&h, 5).await;
    let got = RankInputs::vector(
        &h.store,
        RankInputsKey {
            user: "u1",
            item: "i3",
        },
    )
    .await
    .unwrap();
    assert_eq!(got, want(3));
    // Any id type, per entity.
    let item_id = String::from("i4");
    let got = ItemFirst::vector(
        &h.store,
        ItemFirstKey {
            item: &item_id,
            user: "u1",
        },
    )
    .await
    .unwrap();
    assert_eq!((got.price, got.age), (14.0, 41));

    // Swapped ids: the user view is read at `fs:v1:user_profile:i3`, which does not exist, so
    // the required `age` is an error naming it, not item 3's data.
    let err = RankInputs::vector(
        &h.store,
        RankInputsKey {
            user: "i3",
            item: "u1",
        },
    )
    .await
    .unwrap_err();
    match err {
        Error::MissingFeature {
            entity,
            view,
            feature,
            ..
        } => {
            assert_eq!((view.as_str(), feature.as_str()), ("user_profile", "age"));
            assert!(entity.contains("i3"), "{entity}");
        }
        other => panic!("expected MissingFeature, got {other:?}"),
    }
    // An empty id is refused before anything is sent.
    assert!(matches!(
        RankInputs::vector(
            &h.store,
            RankInputsKey {
                user: "u1",
                item: ""
            }
        )
        .await
        .unwrap_err(),
        Error::InvalidEntityId { .. }
    ));
    // The report covers every view.
    let (_, report) = RankInputs::vector_with_report(
        &h.store,
        RankInputsKey {
            user: "u1",
            item: "i2",
        },
    )
    .await
    .unwrap();
    assert_eq!(report.fields().len(), 5);
    assert!(report.is_clean(), "{report}");
}

all_backends!(one_key, one_key_reads_each_view_by_its_entity);

async fn a_user_and_candidates_read_each_row_once(h: Harness) {
    seed(&h, 100).await;
    let candidates: Vec<String> = (0..100).map(|i| format!("i{i}")).collect();
    let before = h.store.round_trips();
    let keys = candidates.iter().map(|c| RankInputsKey {
        user: "u1",
        item: c,
    });
    let got = RankInputs::vector_batch(&h.store, keys).await.unwrap();
    assert_eq!(h.store.round_trips() - before, 1, "one pipeline");
    assert_eq!(got, (0..100).map(want).collect::<Vec<_>>());

    // Duplicated and missing candidates keep input order; a missing item is an error naming it.
    let keys = ["i7", "i7", "i0"].map(|item| RankInputsKey { user: "u1", item });
    let got = RankInputs::vector_batch(&h.store, keys).await.unwrap();
    assert_eq!(got, [want(7), want(7), want(0)]);
    let keys = ["i1", "nope"].map(|item| RankInputsKey { user: "u1", item });
    match RankInputs::vector_batch(&h.store, keys).await.unwrap_err() {
        Error::MissingFeature { view, entity, .. } => {
            assert_eq!(view, "item_stats");
            assert!(entity.contains("nope"), "{entity}");
        }
        other => panic!("expected MissingFeature, got {other:?}"),
    }

    // Several users in one batch; a report counts per field.
    user(52).write(&h.store, "u2").await.unwrap();
    let keys = [("u1", "i1"), ("u2", "i2")].map(|(user, item)| RankInputsKey { user, item });
    // u2 has no `user_activity` row, and `clicks_24h` is required: an error naming u2.
    match RankInputs::vector_batch(&h.store, keys).await.unwrap_err() {
        Error::MissingFeature { view, entity, .. } => {
            assert_eq!(view, "user_activity");
            assert!(entity.contains("u2"), "{entity}");
        }
        other => panic!("expected MissingFeature, got {other:?}"),
    }
    UserActivity {
        sessions_7d: 1,
        clicks_24h: 2,
        last_category: None,
        avg_session_seconds: 1.0,
    }
    .write(&h.store, "u2")
    .await
    .unwrap();
    let (got, report) = RankInputs::vector_batch_with_report(&h.store, keys)
        .await
        .unwrap();
    assert_eq!(got[0], want(1));
    assert_eq!((got[1].age, got[1].clicks_24h, got[1].price), (52, 2, 12.0));
    assert_eq!(report.entities(), 2);
    let clicks = report.field("user_activity", "clicks_24h").unwrap();
    assert_eq!(clicks.stored, 2);
    assert!(report.is_clean(), "{report}");
}

async fn only_distinct_rows_are_sent(h: Harness) {
    seed(&h, 100).await;
    h.reset_command_stats().await;
    let candidates: Vec<String> = (0..100).map(|i| format!("i{i}")).collect();
    let keys = candidates.iter().map(|c| RankInputsKey {
        user: "u1",
        item: c,
    });
    RankInputs::vector_batch(&h.store, keys).await.unwrap();
    // Two user views once each, one item view per candidate.
    assert_eq!(h.command_calls().await.get("hmget"), Some(&102));
}

all_backends!(candidates, a_user_and_candidates_read_each_row_once);

#[tokio::test]
async fn only_distinct_rows_are_sent_to_the_server() {
    only_distinct_rows_are_sent(Harness::valkey().await).await;
}

/// Every view says what its ids name: the registry's entity for generated and checked structs,
/// `entity = "..."` for a standalone one, `None` when a standalone one does not say.
#[test]
fn views_know_their_entity() {
    use fstore::FeatureView;

    #[derive(fstore::FeatureView)]
    #[feature_view(registry = "features.toml", name = "item_stats")]
    struct Price {
        price: f64,
    }
    #[derive(fstore::FeatureView)]
    #[feature_view(name = "merchant_quality", entity = "merchant", ttl = "1d")]
    struct Merchant {
        score: f64,
    }
    #[derive(fstore::FeatureView)]
    #[feature_view(name = "anything", ttl = "1d")]
    struct Unsaid {
        score: f64,
    }
    assert_eq!(UserProfile::ENTITY, Some("user"));
    assert_eq!(ItemStats::ENTITY, Some("item"));
    assert_eq!(Price::ENTITY, Some("item"));
    assert_eq!(Merchant::ENTITY, Some("merchant"));
    assert_eq!(Unsaid::ENTITY, None);
}
