//! The test-server harness itself: start, kill, restart, unix sockets, logs.

mod support;

use redis::Commands;
use support::TestServer;

fn ping(conn: &mut redis::Connection) -> String {
    redis::cmd("PING").query(conn).unwrap()
}

#[test]
fn started_server_answers_ping() {
    let server = TestServer::start();
    assert!(server.url().starts_with("redis://127.0.0.1:"));
    assert!(server.url().ends_with(&format!(":{}", server.port())));
    let mut conn = server.client().get_connection().unwrap();
    assert_eq!(ping(&mut conn), "PONG");
}

#[test]
fn each_server_is_empty_and_separate() {
    let a = TestServer::start();
    let b = TestServer::start();
    assert_ne!(a.port(), b.port());
    let _: () = a.conn().hset("fs:v1:user_profile:u1", "age", 28).unwrap();
    let in_a: Option<i64> = a.conn().hget("fs:v1:user_profile:u1", "age").unwrap();
    let in_b: Option<i64> = b.conn().hget("fs:v1:user_profile:u1", "age").unwrap();
    assert_eq!(in_a, Some(28));
    assert_eq!(in_b, None);
}

#[test]
fn killed_server_refuses_connections() {
    let mut server = TestServer::start();
    let mut conn = server.conn();
    assert_eq!(ping(&mut conn), "PONG");
    server.kill();
    let old: redis::RedisResult<String> = redis::cmd("PING").query(&mut conn);
    assert!(old.is_err(), "old connection still works: {old:?}");
    assert!(server.client().get_connection().is_err());
    server.kill(); // a second kill is harmless
}

#[test]
fn restarted_server_answers_on_the_same_port() {
    let mut server = TestServer::start();
    let port = server.port();
    server.kill();
    server.restart();
    assert_eq!(server.port(), port);
    assert_eq!(ping(&mut server.conn()), "PONG");
    // Restarting a running server bounces it.
    server.restart();
    assert_eq!(ping(&mut server.conn()), "PONG");
}

#[test]
fn persistence_is_off_by_default() {
    let mut server = TestServer::start();
    let _: () = server.conn().set("k", "v").unwrap();
    server.restart();
    let v: Option<String> = server.conn().get("k").unwrap();
    assert_eq!(v, None);
}

#[test]
fn extra_args_override_the_defaults() {
    let mut server = TestServer::start_with(&["--appendonly", "yes"]);
    let _: () = server.conn().set("k", "v").unwrap();
    server.kill();
    server.restart();
    let v: Option<String> = server.conn().get("k").unwrap();
    assert_eq!(v.as_deref(), Some("v"));
}

#[test]
fn unix_socket_server_answers_ping() {
    let mut server = TestServer::start_unix();
    assert!(server.url().starts_with("unix:///"), "{}", server.url());
    assert_eq!(ping(&mut server.conn()), "PONG");
    server.restart();
    assert_eq!(ping(&mut server.conn()), "PONG");
}

#[test]
#[should_panic(expected = "not on a TCP port")]
fn unix_socket_server_has_no_port() {
    TestServer::start_unix().port();
}

#[test]
fn log_shows_the_server_starting() {
    let server = TestServer::start();
    let log = server.log();
    assert!(log.contains("Ready to accept connections"), "{log}");
}

#[test]
fn temp_dir_is_removed_on_drop() {
    let server = TestServer::start();
    let dir = server.dir().to_path_buf();
    assert!(dir.is_dir());
    drop(server);
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
#[should_panic(expected = "exited during startup")]
fn bad_arguments_fail_loudly_with_the_log() {
    TestServer::start_with(&["--no-such-option", "1"]);
}

#[tokio::test]
async fn async_connection_works() {
    let server = TestServer::start();
    let mut conn = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert_eq!(pong, "PONG");
}
