//! What reaches the server: reads are `HMGET`s only; a single write is one `EVALSHA` of the
//! write script, a batch write one `MULTI` … `EXEC` transaction per pipeline.
//!
//! Counted with `INFO commandstats`, which also counts the commands a script runs.

mod behaviour;
mod support;

use behaviour::{AgeAndValue, Harness, UserProfile};

#[tokio::test]
async fn reads_are_hmgets_and_writes_are_atomic_units() {
    let h = Harness::valkey().await;
    h.reset_command_stats().await;

    let rows: Vec<(u32, UserProfile)> = (0..100)
        .map(|i| (i, UserProfile::sample(i.into())))
        .collect();
    UserProfile::write_batch(&h.store, rows).await.unwrap();
    UserProfile::sample(7)
        .write(&h.store, "single")
        .await
        .unwrap();
    UserProfile::read(&h.store, 7u32).await.unwrap().unwrap();
    AgeAndValue::read(&h.store, 8u32).await.unwrap().unwrap();
    let batch = UserProfile::read_batch(&h.store, 0..100u32).await.unwrap();
    assert_eq!(batch.iter().flatten().count(), 100);
    UserProfile::ttl(&h.store, 1u32).await.unwrap().unwrap();

    let calls = h.command_calls().await;
    let got: Vec<(&str, u64)> = calls.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    // 100 entity writes in one transaction (HSET, HDEL for None fields, PEXPIRE each) and one
    // single write: one EVALSHA running the same three commands inside.
    // `sample(i)` has no country when i % 4 == 0, and writing `None` removes the field.
    let none_fields = (0..100).filter(|i| i % 4 == 0).count() as u64;
    assert_eq!(
        got,
        [
            ("evalsha", 1),
            ("exec", 1),
            ("hdel", none_fields),
            ("hmget", 102),
            ("hset", 101),
            ("multi", 1),
            ("pexpire", 101),
            ("pttl", 1),
        ],
        "{calls:?}"
    );
}
