//! Batch reads and writes: input order, duplicates, missing ids, chunking, empty input.

mod behaviour;
mod support;

use behaviour::{Harness, UserProfile};

async fn order_duplicates_and_missing(h: Harness) {
    h.seed_samples(10).await;
    let ids = [
        "user_007", "ghost", "user_001", "user_007", "user_009", "ghost_2",
    ];
    let got = UserProfile::read_batch(&h.store, ids).await.unwrap();
    let want = vec![
        Some(UserProfile::sample(7)),
        None,
        Some(UserProfile::sample(1)),
        Some(UserProfile::sample(7)),
        Some(UserProfile::sample(9)),
        None,
    ];
    assert_eq!(got, want);
}
all_backends!(order, order_duplicates_and_missing);

async fn chunked_batches_keep_order(h: Harness) {
    // One pipeline per chunk, with a partial last one: with chunks of 7 entities
    // (`small_chunks_on_valkey`) 100 writes make 15 pipelines and 110 reads 16.
    let store = h.store.clone();
    let chunk = store.pipeline_chunk_size();
    let before = store.round_trips();
    let rows: Vec<(u64, UserProfile)> = (0..100)
        .map(|i| (i, UserProfile::sample(i as i64)))
        .collect();
    UserProfile::write_batch(&store, rows.clone())
        .await
        .unwrap();
    let ids: Vec<u64> = (0..110).rev().collect();
    let got = UserProfile::read_batch(&store, &ids).await.unwrap();
    assert_eq!(
        store.round_trips() - before,
        (100u64.div_ceil(chunk as u64) + 110u64.div_ceil(chunk as u64)),
        "chunk size {chunk}"
    );
    assert_eq!(got.len(), 110);
    for (id, row) in ids.iter().zip(&got) {
        let want = (*id < 100).then(|| UserProfile::sample(*id as i64));
        assert_eq!(row, &want, "id {id}");
    }
}
all_backends!(chunked, chunked_batches_keep_order);

#[tokio::test]
async fn small_chunks_on_valkey() {
    let h = Harness::valkey_with(|b| b.pipeline_chunk_size(7)).await;
    assert_eq!(h.store.pipeline_chunk_size(), 7);
    chunked_batches_keep_order(h).await;
}

async fn empty_batches_do_nothing(h: Harness) {
    let none: [&str; 0] = [];
    assert_eq!(
        UserProfile::read_batch(&h.store, none).await.unwrap(),
        vec![]
    );
    UserProfile::write_batch(&h.store, Vec::<(&str, UserProfile)>::new())
        .await
        .unwrap();
    assert!(h.keys().await.is_empty());
}
all_backends!(empty, empty_batches_do_nothing);

#[tokio::test]
async fn empty_batch_sends_nothing() {
    // With the server gone, any round trip would fail: an empty batch must not make one.
    let mut h = Harness::valkey().await;
    h.server().kill();
    let none: Vec<String> = Vec::new();
    assert_eq!(
        UserProfile::read_batch(&h.store, &none).await.unwrap(),
        vec![]
    );
    UserProfile::write_batch(&h.store, Vec::<(&str, UserProfile)>::new())
        .await
        .unwrap();
    assert!(UserProfile::read_batch(&h.store, ["x"]).await.is_err());
}

async fn invalid_id_in_batch_writes_nothing(h: Harness) {
    let rows = vec![
        ("a", UserProfile::sample(1)),
        ("", UserProfile::sample(2)),
        ("c", UserProfile::sample(3)),
    ];
    let err = UserProfile::write_batch(&h.store, rows).await.unwrap_err();
    assert!(
        matches!(
            &err,
            fstore::Error::InvalidEntityId { view, .. } if view == "user_profile"
        ),
        "{err:?}"
    );
    assert!(
        h.keys().await.is_empty(),
        "a batch with a bad id wrote something"
    );
    let err = UserProfile::read_batch(&h.store, ["a", ""])
        .await
        .unwrap_err();
    assert!(
        matches!(err, fstore::Error::InvalidEntityId { .. }),
        "{err:?}"
    );
}
all_backends!(invalid_id, invalid_id_in_batch_writes_nothing);

async fn hundred_thousand_ids(h: Harness) {
    // 100,000 ids are read in chunked pipelines (100 of 1,000 by default); every 1,000th exists.
    let rows: Vec<(u32, UserProfile)> = (0..100_000u32)
        .step_by(1_000)
        .map(|i| (i, UserProfile::sample(i64::from(i))))
        .collect();
    UserProfile::write_batch(&h.store, rows).await.unwrap();
    let got = UserProfile::read_batch(&h.store, 0..100_000u32)
        .await
        .unwrap();
    assert_eq!(got.len(), 100_000);
    for (i, row) in got.iter().enumerate() {
        let want = (i % 1_000 == 0).then(|| UserProfile::sample(i as i64));
        assert_eq!(row, &want, "id {i}");
    }
}
all_backends!(large_batch, hundred_thousand_ids);
