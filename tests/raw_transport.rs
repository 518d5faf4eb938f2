//! The raw transport (pooled RESP2 connections, replies decoded straight from the wire) under
//! batch reads: same results and errors as single reads, faults, authentication, database
//! selection, concurrency.

mod behaviour;
mod support;

use std::time::Duration;

use behaviour::{key_of, Harness, UserProfile};
use fstore::{Error, Store};
use support::TestServer;

const HANG: Duration = Duration::from_secs(10);

/// SplitMix64, for reproducible "random" ids.
fn ids(n: usize, seed: u64) -> Vec<String> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            format!("u{}", (z ^ (z >> 31)) % 1_500)
        })
        .collect()
}

async fn write_users(store: &Store, n: i64) {
    let rows: Vec<(String, UserProfile)> = (0..n)
        .map(|i| (format!("u{i}"), UserProfile::sample(i)))
        .collect();
    UserProfile::write_batch(store, rows).await.unwrap();
}

#[tokio::test]
async fn same_results_as_single_reads() {
    let h = Harness::valkey_with(|b| b.pipeline_chunk_size(97)).await;
    write_users(&h.store, 1_000).await;
    // Binary and odd bytes in an optional string feature.
    h.hset(
        &key_of::<UserProfile>("u3"),
        &[("country", b"\x00\r\n\xff".as_slice())],
    )
    .await;
    let ids = ids(1_000, 7);
    let before = h.store.round_trips();
    let got = UserProfile::read_batch(&h.store, &ids).await.unwrap();
    assert_eq!(
        h.store.round_trips() - before,
        11,
        "one round trip per chunk"
    );
    assert!(got.iter().any(Option::is_none) && got.iter().any(Option::is_some));
    for (id, row) in ids.iter().zip(&got) {
        assert_eq!(row, &UserProfile::read(&h.store, id).await.unwrap(), "{id}");
    }
}

#[tokio::test]
async fn decode_errors_are_identical() {
    let h = Harness::valkey().await;
    write_users(&h.store, 3).await;
    h.hset(
        &key_of::<UserProfile>("u1"),
        &[("age", b"twenty\x01".as_slice())],
    )
    .await;
    let batch = UserProfile::read_batch(&h.store, ["u0", "u1", "u2"])
        .await
        .unwrap_err();
    let single = UserProfile::read(&h.store, "u1").await.unwrap_err();
    assert!(matches!(batch, Error::Decode { .. }), "{batch:?}");
    assert_eq!(batch.to_string(), single.to_string());
    // The connection that saw the error is not reused in a bad state.
    let ok = UserProfile::read_batch(&h.store, ["u0", "u2"])
        .await
        .unwrap();
    assert_eq!(
        ok,
        vec![Some(UserProfile::sample(0)), Some(UserProfile::sample(2))]
    );
}

#[tokio::test]
async fn wrongtype_key_in_batch_is_a_server_error() {
    let h = Harness::valkey().await;
    write_users(&h.store, 3).await;
    h.set_string(&key_of::<UserProfile>("str"), "x").await;
    let err = UserProfile::read_batch(&h.store, ["u0", "str", "u2"])
        .await
        .unwrap_err();
    match &err {
        Error::Server {
            command,
            key,
            message,
        } => {
            assert_eq!(*command, "HMGET");
            assert_eq!(key, &key_of::<UserProfile>("str"));
            assert!(message.contains("WRONGTYPE"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let single = UserProfile::read(&h.store, "str").await.unwrap_err();
    assert_eq!(err.to_string(), single.to_string());
    let ok = UserProfile::read_batch(&h.store, ["u1"]).await.unwrap();
    assert_eq!(ok, vec![Some(UserProfile::sample(1))]);
}

#[tokio::test]
async fn killed_server_errors_then_restart_recovers() {
    let mut h = Harness::valkey_with(|b| b.response_timeout(Duration::from_millis(500))).await;
    write_users(&h.store, 3).await;
    assert_eq!(
        UserProfile::read_batch(&h.store, ["u1"]).await.unwrap(),
        vec![Some(UserProfile::sample(1))]
    );
    h.server().kill();
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(HANG, UserProfile::read_batch(&h.store, ["u1", "u2"]))
        .await
        .expect("read_batch on a dead server hung")
        .unwrap_err();
    assert!(err.is_connection() || err.is_timeout(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    h.server().restart();
    write_users(&h.store, 3).await;
    let got = tokio::time::timeout(HANG, UserProfile::read_batch(&h.store, ["u1", "x"]))
        .await
        .expect("read_batch after restart hung")
        .unwrap();
    assert_eq!(got, vec![Some(UserProfile::sample(1)), None]);
}

#[tokio::test]
async fn restart_between_batches_is_retried_transparently() {
    let mut h = Harness::valkey().await;
    write_users(&h.store, 2).await;
    UserProfile::read_batch(&h.store, ["u1"]).await.unwrap();
    // The pooled connection is now dead; the next batch retries on a fresh one.
    h.server().kill();
    h.server().restart();
    let got = UserProfile::read_batch(&h.store, ["u1"]).await.unwrap();
    assert_eq!(got, vec![None]);
}

#[tokio::test]
async fn paused_server_times_out_then_works() {
    let h = Harness::valkey_with(|b| b.response_timeout(Duration::from_millis(200))).await;
    write_users(&h.store, 2).await;
    UserProfile::read_batch(&h.store, ["u1"]).await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1_000)
        .arg("ALL")
        .query_async(&mut h.admin().await)
        .await
        .unwrap();
    let err = tokio::time::timeout(HANG, UserProfile::read_batch(&h.store, ["u0", "u1"]))
        .await
        .expect("read_batch on a paused server hung")
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains("timed out after 200ms"), "{err}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let got = UserProfile::read_batch(&h.store, ["u0", "u1"])
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![Some(UserProfile::sample(0)), Some(UserProfile::sample(1))]
    );
}

#[tokio::test]
async fn password_and_database_from_the_url() {
    let server = TestServer::start();
    let mut admin = server.conn();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("s3cret")
        .query(&mut admin)
        .unwrap();
    let url = server.url().replace("redis://", "redis://:s3cret@") + "/3";
    let store = Store::builder(&url)
        .response_timeout(Duration::from_secs(5))
        .build()
        .await
        .unwrap();
    write_users(&store, 3).await;
    let got = UserProfile::read_batch(&store, ["u0", "u2", "nope"])
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            Some(UserProfile::sample(0)),
            Some(UserProfile::sample(2)),
            None
        ]
    );
    // The data is in database 3, where the fast path read it.
    let size: i64 = redis::cmd("DBSIZE").query(&mut admin).unwrap();
    assert_eq!(size, 0, "database 0 should be empty");

    let wrong = server.url().replace("redis://", "redis://:wrong@");
    let err = Store::connect(&wrong).await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with("authentication to 127.0.0.1:"), "{msg}");
    assert!(!msg.contains("wrong"), "{msg}");
}

#[tokio::test]
async fn unix_socket_batch() {
    let server = TestServer::start_unix();
    let store = Store::connect(&server.url()).await.unwrap();
    write_users(&store, 5).await;
    let got = UserProfile::read_batch(&store, ["u4", "zz", "u0"])
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            Some(UserProfile::sample(4)),
            None,
            Some(UserProfile::sample(0))
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_from_16_tasks() {
    let h = Harness::valkey_with(|b| b.pipeline_chunk_size(50)).await;
    write_users(&h.store, 500).await;
    let tasks: Vec<_> = (0..16u64)
        .map(|t| {
            let store = h.store.clone();
            tokio::spawn(async move {
                for round in 0..10 {
                    let ids = ids(200, t * 100 + round);
                    let got = UserProfile::read_batch(&store, &ids).await.unwrap();
                    for (id, row) in ids.iter().zip(&got) {
                        let i: i64 = id[1..].parse().unwrap();
                        let want = (i < 500).then(|| UserProfile::sample(i));
                        assert_eq!(row, &want, "{id}");
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("concurrent read_batch hung")
            .unwrap();
    }
}
