//! Many calls in flight on one `Store`: small calls made while another call holds a connection
//! share one multiplexed connection per server. Each must get its own entity's values, never
//! another call's; a server that dies mid-flight fails every waiting call (no hang, no stray
//! reply), and the store recovers on the next call.
//!
//! The outer `tokio::time::timeout`s are hang detectors with generous bounds, not latency checks.

mod behaviour;
mod support;

use std::time::Duration;

use behaviour::{
    connected_clients, key_of, AgeAndValue, Harness, ProfileVector as Profile, UserProfile,
};

const HANG: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_each_get_their_own_entity() {
    let h = Harness::valkey().await;
    let rows: Vec<(i64, UserProfile)> = (0..400).map(|i| (i, UserProfile::sample(i))).collect();
    UserProfile::write_batch(&h.store, rows).await.unwrap();

    let mut tasks = Vec::new();
    for i in 0..400i64 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            // A single read, a projection, a vector, a single write and its read back, and
            // now and then a batch that holds a connection of its own.
            let got = UserProfile::read(&store, i).await.unwrap();
            assert_eq!(got, Some(UserProfile::sample(i)), "read of {i}");
            let part = AgeAndValue::read(&store, i).await.unwrap().unwrap();
            assert_eq!(part.age, UserProfile::sample(i).age, "projection of {i}");
            let v = Profile::vector(&store, i).await.unwrap();
            assert_eq!(v.tenure_days, i * 7, "vector of {i}");
            let id = format!("w{i}");
            UserProfile::sample(i + 1000)
                .write(&store, &id)
                .await
                .unwrap();
            let back = UserProfile::read(&store, &id).await.unwrap();
            assert_eq!(back, Some(UserProfile::sample(i + 1000)), "write of {id}");
            if i % 50 == 0 {
                let ids: Vec<i64> = (0..400).collect();
                let all = UserProfile::read_batch(&store, &ids).await.unwrap();
                for (j, row) in ids.iter().zip(&all) {
                    assert_eq!(
                        row.as_ref(),
                        Some(&UserProfile::sample(*j)),
                        "batch row {j}"
                    );
                }
            }
        }));
    }
    for task in tasks {
        tokio::time::timeout(HANG, task)
            .await
            .expect("a call hung")
            .unwrap();
    }
    // The calls shared connections instead of opening one each: a handful of batch and
    // dedicated connections, the shared one and the harness's own.
    let clients = connected_clients(&mut h.admin().await).await;
    assert!(
        clients < 40,
        "{clients} connections for 400 concurrent tasks"
    );
    h.assert_every_key_expires(Duration::from_secs(3600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_dying_mid_flight_fails_every_waiting_call_and_the_store_recovers() {
    let mut h = Harness::valkey_with(|b| b.response_timeout(Duration::from_secs(2))).await;
    let rows: Vec<(i64, UserProfile)> = (0..200).map(|i| (i, UserProfile::sample(i))).collect();
    UserProfile::write_batch(&h.store, rows).await.unwrap();

    // Keep calls in flight while the server is killed: every call returns, with its own entity
    // or with a connection error or timeout, never with another entity's data.
    let mut tasks = Vec::new();
    for i in 0..200i64 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut errors = 0;
            for round in 0..20 {
                match UserProfile::read(&store, i).await {
                    Ok(Some(got)) => assert_eq!(got, UserProfile::sample(i), "round {round}"),
                    Ok(None) => panic!("entity {i} read as missing before the kill"),
                    Err(e) => {
                        assert!(e.is_connection() || e.is_timeout(), "{e:?}");
                        errors += 1;
                    }
                }
                tokio::task::yield_now().await;
            }
            errors
        }));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    h.server().kill();
    let mut errors = 0;
    for task in tasks {
        errors += tokio::time::timeout(HANG, task)
            .await
            .expect("a call hung after the kill")
            .unwrap();
    }
    assert!(
        errors > 0,
        "the kill came after every call: the test proved nothing"
    );

    // Restarted without persistence: the data is gone, and the next calls work again.
    h.server().restart();
    let got = tokio::time::timeout(HANG, UserProfile::read(&h.store, 1))
        .await
        .expect("read after restart hung");
    assert_eq!(got.unwrap(), None);
    let mut tasks = Vec::new();
    for i in 0..50i64 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("again{i}");
            UserProfile::sample(i).write(&store, &id).await.unwrap();
            UserProfile::read(&store, &id).await.unwrap()
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let got = tokio::time::timeout(HANG, task).await.unwrap().unwrap();
        assert_eq!(got, Some(UserProfile::sample(i as i64)));
    }
    // Written whole, with its expiry (the harness's own connection died with the server).
    let mut conn = h.server().conn();
    let fields: Vec<String> = redis::cmd("HKEYS")
        .arg(key_of::<UserProfile>("again7"))
        .query(&mut conn)
        .unwrap();
    assert_eq!(fields.len(), 7, "six features and _updated_at: {fields:?}");
    let ttl = UserProfile::ttl(&h.store, "again7").await.unwrap().unwrap();
    assert!(ttl > Duration::from_secs(3500), "{ttl:?}");
}
