//! A dead, restarted or paused server: errors come within the deadline, and the store recovers.
//!
//! The outer `tokio::time::timeout`s are hang detectors with generous bounds, not latency checks.

mod behaviour;
mod support;

use std::time::Duration;

use behaviour::{Harness, UserProfile};
use fstore::{Error, Store, WriteOutcome};
use support::{free_port, TestServer};

const HANG: Duration = Duration::from_secs(10);

#[tokio::test]
async fn server_not_running_is_a_connection_error() {
    let url = format!("redis://127.0.0.1:{}", free_port());
    let result = tokio::time::timeout(HANG, Store::connect(&url))
        .await
        .expect("connect hung");
    let err = result.unwrap_err();
    assert!(err.is_connection(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with("connection to 127.0.0.1:"), "{msg}");
}

#[tokio::test]
async fn malformed_url_is_a_config_error() {
    let err = Store::connect("http://user:hunter2@example")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn killed_server_fails_fast_and_restart_recovers() {
    let mut h = Harness::valkey_with(|b| b.response_timeout(Duration::from_millis(500))).await;
    UserProfile::sample(1).write(&h.store, "u1").await.unwrap();

    h.server().kill();
    let err = tokio::time::timeout(HANG, UserProfile::read(&h.store, "u1"))
        .await
        .expect("read on a dead server hung")
        .unwrap_err();
    assert!(err.is_connection() || err.is_timeout(), "{err:?}");
    // Still dead: still an error, still no hang.
    let err = tokio::time::timeout(HANG, UserProfile::sample(2).write(&h.store, "u2"))
        .await
        .expect("write on a dead server hung")
        .unwrap_err();
    assert!(err.is_connection() || err.is_timeout(), "{err:?}");

    // Restarted without persistence: the data is gone, but the very next call succeeds.
    h.server().restart();
    let got = tokio::time::timeout(HANG, UserProfile::read(&h.store, "u1"))
        .await
        .expect("read after restart hung");
    assert_eq!(got.unwrap(), None);
    // The write script is unknown to the new server: it is loaded again transparently.
    UserProfile::sample(3).write(&h.store, "u3").await.unwrap();
    assert_eq!(
        UserProfile::read(&h.store, "u3").await.unwrap(),
        Some(UserProfile::sample(3))
    );
}

#[tokio::test]
async fn paused_server_times_out_then_recovers() {
    let h = Harness::valkey_with(|b| b.response_timeout(Duration::from_millis(200))).await;
    UserProfile::sample(1).write(&h.store, "u1").await.unwrap();
    let mut admin = h.admin().await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1_500)
        .arg("ALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    let err = tokio::time::timeout(HANG, UserProfile::read(&h.store, "u1"))
        .await
        .expect("read on a paused server hung")
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains("timed out after 200ms"), "{err}");
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    assert_eq!(
        UserProfile::read(&h.store, "u1").await.unwrap(),
        Some(UserProfile::sample(1))
    );
}

#[tokio::test]
async fn unix_socket_round_trip() {
    let server = TestServer::start_unix();
    assert!(server.url().starts_with("unix://"));
    let store = Store::connect(&server.url()).await.unwrap();
    UserProfile::sample(4).write(&store, 4).await.unwrap();
    assert_eq!(
        UserProfile::read(&store, 4).await.unwrap(),
        Some(UserProfile::sample(4))
    );
}

/// How long past its deadline a call may take to return: scheduling on a loaded 2-core machine,
/// not a latency target. The deadline itself is what the error reports.
const MARGIN: Duration = Duration::from_secs(2);

#[tokio::test]
async fn debug_sleep_times_out_within_the_deadline_then_recovers() {
    let server = TestServer::start_with(&["--enable-debug-command", "yes"]);
    let deadline = Duration::from_millis(300);
    let store = Store::builder(&server.url())
        .response_timeout(deadline)
        .build()
        .await
        .unwrap();
    UserProfile::sample(1).write(&store, "u1").await.unwrap();

    // DEBUG SLEEP blocks the whole server; it is sent from another connection.
    let sleeper = behaviour::debug_sleep(server.client(), 3.0);
    // Until the sleep has started, reads still succeed; the first one that does not is timed.
    let started = std::time::Instant::now();
    let (err, took) = loop {
        assert!(
            started.elapsed() < HANG,
            "DEBUG SLEEP never blocked the server"
        );
        let call = std::time::Instant::now();
        match UserProfile::read(&store, "u1").await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(err) => break (err, call.elapsed()),
        }
    };
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains("timed out after 300ms"), "{err}");
    assert!(
        took < deadline + MARGIN,
        "the timeout came {took:?} after the call, past its {deadline:?} deadline"
    );
    // A write during the sleep: also a timeout, never a hang.
    let err = tokio::time::timeout(HANG, UserProfile::sample(2).write(&store, "u2"))
        .await
        .expect("write on a sleeping server hung")
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    tokio::time::timeout(HANG, sleeper)
        .await
        .expect("DEBUG SLEEP did not end")
        .unwrap()
        .expect("DEBUG SLEEP failed");
    assert_eq!(
        UserProfile::read(&store, "u1").await.unwrap(),
        Some(UserProfile::sample(1))
    );
    UserProfile::sample(3).write(&store, "u3").await.unwrap();
    assert_eq!(
        UserProfile::read(&store, "u3").await.unwrap(),
        Some(UserProfile::sample(3))
    );
}

#[tokio::test]
async fn server_killed_during_write_batch_leaves_whole_entities_with_their_ttl() {
    // Persistence on, fsync per write: what the server acknowledged survives the kill.
    let mut server = TestServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let store = Store::builder(&server.url())
        .response_timeout(Duration::from_secs(10))
        .pipeline_chunk_size(200)
        .build()
        .await
        .unwrap();
    const N: i64 = 40_000;
    let ids: Vec<String> = (0..N).map(|i| format!("e{i}")).collect();
    let rows: Vec<(String, UserProfile)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), UserProfile::sample(i as i64)))
        .collect();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { UserProfile::write_batch(&store, rows).await })
    };

    // Kill the server as soon as the first transactions are in.
    let mut admin = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let keys: i64 = redis::cmd("DBSIZE").query_async(&mut admin).await.unwrap();
        if keys > 0 {
            break;
        }
        assert!(started.elapsed() < HANG, "write_batch wrote nothing");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    let result = tokio::time::timeout(HANG, writer)
        .await
        .expect("write_batch hung after the server died")
        .unwrap();
    let err = result.expect_err("write_batch reported success although the server died");
    assert!(err.is_transient(), "{err:?}");
    // What it says it applied, it applied; what it says it did not send, is absent.
    let Error::Batch(batch) = &err else {
        panic!("expected per-entity outcomes, got {err:?}")
    };
    let cause = batch
        .cause()
        .expect("the transport error that stopped the call");
    assert!(cause.is_connection() || cause.is_timeout(), "{cause:?}");
    let outcomes = batch.outcomes();
    assert_eq!(outcomes.len(), N as usize);
    let applied = outcomes.iter().filter(|o| o.is_applied()).count();
    let not_sent = outcomes
        .iter()
        .filter(|o| matches!(o, WriteOutcome::NotSent))
        .count();
    let unknown = outcomes
        .iter()
        .filter(|o| matches!(o, WriteOutcome::Unknown))
        .count();
    assert_eq!(applied + not_sent + unknown, N as usize, "{err}");
    assert!(
        unknown > 0 && unknown <= 200,
        "one pipeline is unknown: {err}"
    );

    // After a restart from the append-only file: every entity is whole or absent.
    server.restart();
    let reader = Store::connect(&server.url()).await.unwrap();
    let read = UserProfile::read_batch(&reader, &ids)
        .await
        .expect("a half-written entity (a required feature missing) fails the read");
    let mut present: i64 = 0;
    for (i, row) in read.iter().enumerate() {
        match (row, &outcomes[i]) {
            (Some(row), WriteOutcome::Applied | WriteOutcome::Unknown) => {
                assert_eq!(row, &UserProfile::sample(i as i64), "entity {}", ids[i]);
                present += 1;
            }
            (None, WriteOutcome::NotSent | WriteOutcome::Unknown) => {}
            (row, outcome) => panic!("{}: reported {outcome:?}, found {row:?}", ids[i]),
        }
    }
    assert!(
        present as usize >= applied,
        "{present} present, {applied} reported applied"
    );
    assert!(
        present > 0 && present < N,
        "expected the batch cut off part-way, found {present} of {N} entities"
    );
    // No key without its expiry, and no key besides the entities read above.
    let mut conn = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), present as usize);
    let mut pipe = redis::pipe();
    for key in &keys {
        pipe.cmd("PTTL").arg(key);
    }
    let ttls: Vec<i64> = pipe.query_async(&mut conn).await.unwrap();
    for (key, ttl) in keys.iter().zip(ttls) {
        assert!(
            ttl > 0 && ttl <= 3_600_000,
            "`{key}` has PTTL {ttl}: every written entity must keep its 1h expiry"
        );
    }
}

#[tokio::test]
async fn refused_at_start_fails_fast_and_a_lazy_store_recovers_once_the_server_is_up() {
    let mut server = TestServer::start();
    let url = server.url();
    server.kill();

    // `connect`: a clear error at once, naming the address.
    let err = tokio::time::timeout(HANG, Store::connect(&url))
        .await
        .expect("connect to a closed port hung")
        .unwrap_err();
    assert!(err.is_connection(), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("127.0.0.1:{}", server.port())) && msg.contains("refused"),
        "{msg}"
    );

    // A lazily connecting store is built anyway; its calls fail the same way until the server
    // is up, then work without rebuilding it.
    let store = Store::builder(&url)
        .connect_lazily(true)
        .build()
        .await
        .expect("a lazy store is built without a server");
    for _ in 0..2 {
        let err = tokio::time::timeout(HANG, UserProfile::read(&store, "u1"))
            .await
            .expect("read without a server hung")
            .unwrap_err();
        assert!(err.is_connection(), "{err:?}");
    }
    let err = tokio::time::timeout(HANG, UserProfile::read_batch(&store, ["u1", "u2"]))
        .await
        .expect("read_batch without a server hung")
        .unwrap_err();
    assert!(err.is_connection() || err.is_timeout(), "{err:?}");

    server.restart();
    UserProfile::sample(1).write(&store, "u1").await.unwrap();
    assert_eq!(
        UserProfile::read(&store, "u1").await.unwrap(),
        Some(UserProfile::sample(1))
    );
    assert_eq!(
        UserProfile::read_batch(&store, ["u1", "u2"]).await.unwrap(),
        vec![Some(UserProfile::sample(1)), None]
    );
}

#[tokio::test]
async fn wait_for_replicas_confirms_writes_or_reports_them_unconfirmed() {
    // No delay before the first full sync of a replica.
    let primary = TestServer::start_with(&["--repl-diskless-sync-delay", "0"]);
    let store = Store::builder(&primary.url())
        .wait_for_replicas(1, Duration::from_millis(50))
        .build()
        .await
        .unwrap();

    // No replica yet: the writes are applied on the primary, and reported as unconfirmed.
    let err = UserProfile::sample(1)
        .write(&store, "u1")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotReplicated {
                acknowledged: 0,
                required: 1,
                entities: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("`fs:v1:user_profile:u1`"), "{err}");
    assert_eq!(
        UserProfile::read(&store, "u1").await.unwrap(),
        Some(UserProfile::sample(1))
    );
    let rows: Vec<(String, UserProfile)> = (0..10)
        .map(|i| (format!("b{i}"), UserProfile::sample(i)))
        .collect();
    let err = UserProfile::write_batch(&store, rows.clone())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    let Error::Batch(batch) = &err else {
        panic!("expected per-entity outcomes, got {err:?}")
    };
    assert!(
        batch
            .outcomes()
            .iter()
            .all(|o| matches!(o, WriteOutcome::NotReplicated)),
        "{err:?}"
    );
    assert!(
        matches!(
            batch.cause(),
            Some(Error::NotReplicated { entities: 10, .. })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("10 not confirmed by replicas"),
        "{err}"
    );

    // With a replica attached, the same writes are confirmed, and the replica has them.
    let port = primary.port().to_string();
    let replica = TestServer::start_with(&["--replicaof", "127.0.0.1", &port]);
    let mut conn = replica.conn();
    let started = std::time::Instant::now();
    loop {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut conn)
            .unwrap();
        if info.contains("master_link_status:up") {
            break;
        }
        assert!(started.elapsed() < HANG, "the replica never synced: {info}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A generous wait: `WAIT` returns as soon as the replica acknowledges, but a loaded machine
    // may need more than the 50 ms of the first phase.
    let store = Store::builder(&primary.url())
        .wait_for_replicas(1, Duration::from_secs(5))
        .response_timeout(Duration::from_secs(10))
        .build()
        .await
        .unwrap();
    UserProfile::sample(2).write(&store, "u2").await.unwrap();
    UserProfile::write_batch(&store, rows.clone())
        .await
        .unwrap();
    let on_replica = Store::connect(&replica.url()).await.unwrap();
    assert_eq!(
        UserProfile::read(&on_replica, "u2").await.unwrap(),
        Some(UserProfile::sample(2))
    );
    let ids: Vec<&String> = rows.iter().map(|(id, _)| id).collect();
    assert_eq!(
        UserProfile::read_batch(&on_replica, &ids).await.unwrap(),
        rows.iter()
            .map(|(_, r)| Some(r.clone()))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn out_of_memory_refuses_each_write_by_its_own_key_and_touches_nothing() {
    let server = TestServer::start();
    let store = Store::connect(&server.url()).await.unwrap();
    UserProfile::sample(0).write(&store, "pre").await.unwrap();
    let mut admin = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .query_async(&mut admin)
        .await
        .unwrap();

    let rows: Vec<(String, UserProfile)> = ["pre", "a", "b"]
        .iter()
        .zip(5..)
        .map(|(id, i)| (id.to_string(), UserProfile::sample(i)))
        .collect();
    let err = UserProfile::write_batch(&store, &rows).await.unwrap_err();
    let Error::Batch(batch) = &err else {
        panic!("expected per-entity outcomes, got {err:?}")
    };
    assert!(batch.cause().is_none(), "{err}");
    for (outcome, (id, _)) in batch.outcomes().iter().zip(&rows) {
        match outcome {
            WriteOutcome::Refused(Error::Server {
                command,
                key,
                message,
            }) => {
                // The command that was sent, for the entity it was sent for.
                assert_eq!(*command, "EVALSHA");
                assert_eq!(key, &format!("fs:v1:user_profile:{id}"));
                assert!(message.starts_with("OOM"), "{message}");
            }
            other => panic!("{id}: expected an OOM refusal, got {other:?}"),
        }
    }
    assert_eq!(batch.to_retry().count(), 3);
    let err = UserProfile::sample(9)
        .write(&store, "pre")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server { message, .. } if message.starts_with("OOM")),
        "{err:?}"
    );

    // Nothing changed: the entity written before is whole, with its expiry; no other key.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(
        UserProfile::read(&store, "pre").await.unwrap(),
        Some(UserProfile::sample(0))
    );
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(keys, ["fs:v1:user_profile:pre"]);
    let pttl: i64 = redis::cmd("PTTL")
        .arg("fs:v1:user_profile:pre")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(pttl > 0, "PTTL {pttl}");
    // And the refused ones go through once memory is there: retrying exactly them is enough.
    let again: Vec<&(String, UserProfile)> = batch.to_retry().map(|i| &rows[i]).collect();
    UserProfile::write_batch(&store, again).await.unwrap();
    assert_eq!(
        UserProfile::read(&store, "b").await.unwrap(),
        Some(UserProfile::sample(7))
    );
}

#[tokio::test]
async fn calls_made_while_the_server_loads_its_dataset_wait_for_it_within_the_deadline() {
    // A dataset that takes a while to load (100 µs a key), answering `LOADING` meanwhile.
    let mut server = TestServer::start_with(&[
        "--enable-debug-command",
        "yes",
        "--key-load-delay",
        "100",
        "--loading-process-events-interval-bytes",
        "1024",
    ]);
    let patient = Store::builder(&server.url())
        .response_timeout(Duration::from_secs(20))
        .build()
        .await
        .unwrap();
    let hasty = Store::builder(&server.url())
        .response_timeout(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    UserProfile::sample(1).write(&patient, "u1").await.unwrap();
    let mut admin = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(20_000)
        .query_async(&mut admin)
        .await
        .unwrap();
    let _: () = redis::cmd("SAVE").query_async(&mut admin).await.unwrap();
    server.restart();

    // The server is loading: a plain client is refused.
    let mut plain = server.client().get_connection().unwrap();
    let refused: redis::RedisResult<Vec<Option<String>>> = redis::cmd("HMGET")
        .arg("fs:v1:user_profile:u1")
        .arg("age")
        .query(&mut plain);
    let refused = refused.expect_err("the server finished loading too soon for this test");
    assert_eq!(refused.code(), Some("LOADING"), "{refused:?}");

    // Too short a deadline: a transient error, which says so.
    let err = UserProfile::read(&hasty, "u1").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    // A deadline long enough: the calls wait out the loading and succeed.
    assert_eq!(
        UserProfile::read(&patient, "u1").await.unwrap(),
        Some(UserProfile::sample(1))
    );
    UserProfile::sample(2).write(&patient, "u2").await.unwrap();
    assert_eq!(
        UserProfile::read(&patient, "u2").await.unwrap(),
        Some(UserProfile::sample(2))
    );
}
