//! A dead, restarted or paused server: errors come within the deadline, and the store recovers.
//!
//! The outer `tokio::time::timeout`s are hang detectors with generous bounds, not latency checks.

mod behaviour;
mod support;

use std::time::Duration;

use behaviour::{Harness, UserProfile};
use fstore::{Error, Store};
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
