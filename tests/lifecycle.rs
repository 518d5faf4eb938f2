//! A store's life: `ping` answers for a live backend and fails fast for a dead one; `close`
//! lets the calls in flight finish, refuses new ones on every clone, and closes the
//! connections.
//!
//! The outer `tokio::time::timeout`s are hang detectors with generous bounds, not latency checks.

mod behaviour;
mod support;

use std::time::Duration;

use behaviour::{connected_clients, Harness, UserProfile};
use fstore::{Error, Store};

const HANG: Duration = Duration::from_secs(20);

async fn ping_answers(h: Harness) {
    h.store.ping().await.unwrap();
    h.store.clone().ping().await.unwrap();
}
all_backends!(ping, ping_answers);

#[tokio::test]
async fn ping_fails_fast_on_a_dead_server_and_recovers() {
    let mut h = Harness::valkey_with(|b| b.response_timeout(Duration::from_millis(500))).await;
    h.store.ping().await.unwrap();
    h.server().kill();
    let err = tokio::time::timeout(HANG, h.store.ping())
        .await
        .expect("ping on a dead server hung")
        .unwrap_err();
    assert!(err.is_connection() || err.is_timeout(), "{err:?}");
    h.server().restart();
    tokio::time::timeout(HANG, h.store.ping())
        .await
        .expect("ping after restart hung")
        .unwrap();
}

#[tokio::test]
async fn ping_reports_a_server_that_wants_a_password() {
    let server = support::TestServer::start();
    // The admin connection authenticated before the `default` user got a password.
    let mut admin = server.conn();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg("resetpass")
        .arg(">s3cret")
        .query(&mut admin)
        .unwrap();
    let store = Store::builder(&server.url())
        .connect_lazily(true)
        .build()
        .await
        .unwrap();
    let err = store.ping().await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_waits_for_calls_in_flight_then_refuses_new_ones() {
    let h = Harness::valkey().await;
    {
        // Before: the store holds connections of its own.
        let mut admin = h.admin().await;
        assert!(connected_clients(&mut admin).await > 2);
    }
    let rows: Vec<(u32, UserProfile)> = (0..2_000)
        .map(|i| (i, UserProfile::sample(i.into())))
        .collect();
    // Writes in flight when `close` starts must finish whole.
    let writer = {
        let store = h.store.clone();
        tokio::spawn(async move { UserProfile::write_batch(&store, &rows).await })
    };
    tokio::task::yield_now().await;
    let clone = h.store.clone();
    tokio::time::timeout(HANG, h.store.close())
        .await
        .expect("close hung");
    // Started before the close: it either ran whole or was refused before sending anything.
    match writer.await.unwrap() {
        Ok(()) => {}
        Err(Error::Closed) => {}
        Err(other) => panic!("a write in flight failed: {other:?}"),
    }
    for err in [
        clone.ping().await.unwrap_err(),
        UserProfile::read(&clone, 1u32).await.unwrap_err(),
        UserProfile::sample(1).write(&clone, "x").await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::Closed), "{err:?}");
        assert!(err.to_string().contains("Store::close"), "{err}");
    }
    // The store's connections are gone: only the harness's own and this admin one remain.
    let mut admin = h.admin().await;
    let mut clients = connected_clients(&mut admin).await;
    for _ in 0..50 {
        if clients <= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        clients = connected_clients(&mut admin).await;
    }
    assert_eq!(clients, 2, "connections left open after close");
}

#[tokio::test]
async fn closing_an_idle_embedded_store_is_immediate() {
    let store = Store::embedded();
    UserProfile::sample(1).write(&store, "a").await.unwrap();
    store.close().await;
    store.close().await; // twice is fine
    assert!(matches!(
        UserProfile::read(&store, "a").await,
        Err(Error::Closed)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_waits_for_a_call_the_server_holds() {
    let server = support::TestServer::start_with(&["--enable-debug-command", "yes"]);
    let store = Store::builder(&server.url())
        .response_timeout(Duration::from_secs(5))
        .build()
        .await
        .unwrap();
    UserProfile::sample(5).write(&store, "held").await.unwrap();
    // DEBUG SLEEP blocks the whole server; it is sent from another connection.
    let sleeper = behaviour::debug_sleep(server.client(), 1.0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A read now waits for the server; `close` must let it finish.
    let reader = store.clone();
    let read = tokio::spawn(async move { UserProfile::read(&reader, "held").await });
    // Wait until the read has begun (a busy machine may start the task late): `close` must
    // then wait for it.
    tokio::time::timeout(HANG, async {
        while store.calls_in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the read never began");
    assert!(!read.is_finished(), "the server did not hold the read");
    tokio::time::timeout(HANG, store.close())
        .await
        .expect("close hung");
    assert!(
        read.is_finished(),
        "close returned before the call in flight ended"
    );
    assert_eq!(read.await.unwrap().unwrap(), Some(UserProfile::sample(5)));
    sleeper.await.unwrap().unwrap();
}
