//! What reaches the server: reads are `HMGET`s only; every write is one `EVALSHA` of the write
//! script, a batch write one pipeline of them.
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
    // 101 entity writes, each one EVALSHA of the write script, which runs TYPE, HSET, HDEL (for
    // None fields) and PEXPIRE inside (and HKEYS for a hash that already exists: none here).
    // `sample(i)` has no country when i % 4 == 0, and writing `None` removes the field.
    let none_fields = (0..100).filter(|i| i % 4 == 0).count() as u64;
    assert_eq!(
        got,
        [
            ("evalsha", 101),
            ("hdel", none_fields),
            ("hmget", 102),
            ("hset", 101),
            ("pexpire", 101),
            ("pttl", 1),
            ("type", 101),
        ],
        "{calls:?}"
    );
}
