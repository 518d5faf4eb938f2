//! What reaches the server: reads are `HMGET`s only, each entity write is one `EVALSHA`.
//!
//! Counted with `INFO commandstats`, which also counts the commands a script runs.

mod behaviour;
mod support;

use std::collections::BTreeMap;

use behaviour::{AgeAndValue, Harness, UserProfile};

/// Calls per command since the last `CONFIG RESETSTAT`, e.g. `{"hmget": 3, "evalsha": 1}`.
async fn command_calls(conn: &mut redis::aio::MultiplexedConnection) -> BTreeMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

#[tokio::test]
async fn reads_are_hmgets_and_writes_one_script_call_per_entity() {
    let h = Harness::valkey().await;
    let mut admin = redis::Client::open(h.store_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut admin)
        .await
        .unwrap();

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

    let mut calls = command_calls(&mut admin).await;
    // The commandstats query itself and the reset are the admin connection's.
    calls.remove("info");
    calls.remove("config|resetstat");
    let got: Vec<(&str, u64)> = calls.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    // 101 entity writes: one EVALSHA each, running HSET, HDEL (None fields) and PEXPIRE inside.
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
        ],
        "{calls:?}"
    );
}
