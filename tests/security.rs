//! Access control and TLS against real `valkey-server`s.
//!
//! - A read-only ACL user with exactly the issue's grant (`+hmget +pttl +ping ~fs:*`), given in
//!   the URL or through `StoreBuilder::username`/`password` (which override the URL's), reads
//!   with `read`, `read_batch` (whose raw connections authenticate themselves), `ttl` and feature
//!   vectors; its `write` fails with `Error::PermissionDenied` naming command and key, its
//!   `write_batch` with one such refusal per entity, and nothing is written. A user with the writer grant can do both.
//! - A wrong password, an unknown user and a missing password (`NOAUTH`) are `Error::Auth`, at
//!   once rather than after a hang.
//! - The password never appears in the builder's or the store's Debug, in `backend_name`, or in
//!   the Display, Debug or source chain of any error (auth, permission, refused connection,
//!   malformed URL, timeouts).
//! - With the `tls` feature: a TLS-only server on certificates generated at test time serves
//!   `rediss://` reads and writes (single, batch, TTL, vectors) to a store that trusts the test CA;
//!   mutual TLS works with a client certificate and is refused without one; an untrusted server
//!   certificate is a certificate error, not a hang; TLS and ACL users combine.
//!
//! The `tokio::time::timeout`s are hang detectors with generous bounds, not latency checks.

mod behaviour;
mod support;

use std::collections::HashMap;
use std::time::Duration;

use behaviour::{key_of, UserProfile};
use fstore::{Error, Store, StoreBuilder, WriteOutcome};
use support::{free_port, TestServer, READER, WRITER};

/// Hang detector: every call below answers long before this, or the test fails.
const HANG: Duration = Duration::from_secs(10);
/// Round-trip deadline of the stores under test (generous: tests share 2 cores).
const RESPONSE: Duration = Duration::from_secs(5);
/// The secret that must not leak: the reader's password.
const SECRET: &str = READER.password;
/// A wrong password: a secret too.
const WRONG: &str = "Wr0ng-s3cr3t";

/// A feature vector over `user_profile` (no registry: the struct is the schema).
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
struct ProfileInputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_profile")]
    lifetime_value: f64,
}

/// `id` of the sample profiles that [`seed`] writes.
fn id(i: i64) -> String {
    format!("user_{i:03}")
}

/// `build()` with the test's response timeout, under the hang detector.
async fn build(builder: StoreBuilder) -> fstore::Result<Store> {
    tokio::time::timeout(HANG, builder.response_timeout(RESPONSE).build())
        .await
        .expect("StoreBuilder::build hung")
}

/// Awaits `fut` under the hang detector.
async fn no_hang<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"))
}

/// Panics when `text` shows a password.
fn assert_no_secret(what: &str, text: &str) {
    for secret in [SECRET, WRONG, WRITER.password] {
        assert!(
            !text.contains(secret),
            "{what} shows a password ({secret:?}): {text}"
        );
    }
}

/// Checks Display, Debug and every source's Display of `err` for passwords.
fn assert_error_hides_secrets(err: &Error) {
    assert_no_secret("error Display", &err.to_string());
    assert_no_secret("error Debug", &format!("{err:?}"));
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        assert_no_secret("error source", &s.to_string());
        assert_no_secret("error source Debug", &format!("{s:?}"));
        source = s.source();
    }
}

/// Asserts that `err` is `Error::Auth` for the server at `port`, clearly worded, without secrets.
fn assert_auth_error(err: &Error, port: u16) {
    assert_error_hides_secrets(err);
    assert!(err.is_auth(), "expected Error::Auth, got {err:?}");
    match err {
        Error::Auth { addr, message, .. } => {
            assert_eq!(addr, &format!("127.0.0.1:{port}"), "{err:?}");
            assert!(!message.is_empty(), "{err:?}");
        }
        other => panic!("expected Error::Auth, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(
        text.to_lowercase().contains("auth"),
        "the message should say that authentication failed: {text}"
    );
}

/// Asserts that `err` is `Error::PermissionDenied` for `key`, naming the command and what to
/// grant, without secrets; returns the command.
fn assert_permission_denied(err: &Error, key: &str) -> String {
    assert_error_hides_secrets(err);
    assert!(
        err.is_permission_denied(),
        "expected Error::PermissionDenied, got {err:?}"
    );
    let Error::PermissionDenied {
        command,
        key: denied_key,
        message,
        ..
    } = err
    else {
        panic!("expected Error::PermissionDenied, got {err:?}");
    };
    assert_eq!(denied_key, key, "{err:?}");
    assert!(!command.is_empty(), "{err:?}");
    assert!(
        message.contains("NOPERM") || message.contains("no permissions"),
        "the server's refusal should be kept: {err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(key),
        "the message should name the key: {text}"
    );
    assert!(
        text.to_lowercase().contains(&command.to_lowercase()),
        "the message should name the command: {text}"
    );
    // The server names the refused command (`… to run the 'evalsha' command`); the message
    // says to grant it.
    let refused = message
        .split('\'')
        .nth(1)
        .unwrap_or_else(|| panic!("the server's refusal names no command: {err:?}"));
    assert!(
        text.contains(&format!("+{refused}")),
        "the message should say to grant `+{refused}`: {text}"
    );
    command.to_string()
}

/// Writes `UserProfile::sample(i)` as `user_000` … `user_{n-1}` through `admin`.
async fn seed(admin: &Store, n: i64) {
    let rows: Vec<(String, UserProfile)> =
        (0..n).map(|i| (id(i), UserProfile::sample(i))).collect();
    no_hang("seeding", UserProfile::write_batch(admin, rows))
        .await
        .unwrap();
}

/// What every read-only store must do, on a server that `admin` seeded with 100 samples: read
/// everything (single, batch of 100 through the batch path, TTL, vectors), and be refused every
/// write without changing anything.
async fn reads_but_cannot_write(reader: &Store, admin: &Store) {
    assert_no_secret("Store Debug", &format!("{reader:?}"));
    assert_no_secret("backend_name", &reader.backend_name());

    // Reads.
    let got = no_hang("read", UserProfile::read(reader, id(7))).await;
    assert_eq!(got.unwrap(), Some(UserProfile::sample(7)));
    let got = no_hang("read", UserProfile::read(reader, "ghost")).await;
    assert_eq!(got.unwrap(), None);

    let mut ids: Vec<String> = (0..100).rev().map(id).collect();
    ids.push("ghost".to_owned());
    let rows = no_hang("read_batch", UserProfile::read_batch(reader, &ids))
        .await
        .unwrap();
    assert_eq!(rows.len(), 101);
    for (i, row) in (0..100).rev().zip(&rows) {
        assert_eq!(row, &Some(UserProfile::sample(i)), "{}", id(i));
    }
    assert_eq!(rows[100], None);

    let ttl = no_hang("ttl", UserProfile::ttl(reader, id(7)))
        .await
        .unwrap()
        .expect("a written profile has a TTL");
    assert!(
        ttl > Duration::ZERO && ttl <= Duration::from_secs(3600),
        "{ttl:?}"
    );
    assert_eq!(
        no_hang("ttl", UserProfile::ttl(reader, "ghost"))
            .await
            .unwrap(),
        None
    );

    let vector = no_hang("vector", ProfileInputs::vector(reader, id(9)))
        .await
        .unwrap();
    assert_eq!(
        vector,
        ProfileInputs {
            age: UserProfile::sample(9).age,
            lifetime_value: UserProfile::sample(9).lifetime_value,
        }
    );

    // A single write: refused, nothing written.
    let err = no_hang("write", UserProfile::sample(500).write(reader, "intruder"))
        .await
        .unwrap_err();
    assert_permission_denied(&err, &key_of::<UserProfile>("intruder"));
    // Overwriting an existing entity: refused, the entity unchanged.
    let err = no_hang("write", UserProfile::sample(501).write(reader, id(3)))
        .await
        .unwrap_err();
    assert_permission_denied(&err, &key_of::<UserProfile>(&id(3)));

    // A batch write: refused for its first entity, nothing of it written.
    let batch = vec![
        (id(1), UserProfile::sample(601)),
        ("intruder_2".to_owned(), UserProfile::sample(602)),
        (id(2), UserProfile::sample(603)),
    ];
    let err = no_hang("write_batch", UserProfile::write_batch(reader, &batch))
        .await
        .unwrap_err();
    assert_error_hides_secrets(&err);
    // Each entity refused on its own, by its own key.
    let Error::Batch(outcomes) = &err else {
        panic!("expected per-entity outcomes, got {err:?}")
    };
    assert_eq!(outcomes.outcomes().len(), batch.len());
    for (outcome, (id, _)) in outcomes.outcomes().iter().zip(&batch) {
        let WriteOutcome::Refused(refused) = outcome else {
            panic!("{id}: expected a refusal, got {outcome:?}")
        };
        assert_permission_denied(refused, &key_of::<UserProfile>(id));
    }

    // Nothing was written: the admin sees the seeded data only.
    for (id, want) in [
        ("intruder".to_owned(), None),
        ("intruder_2".to_owned(), None),
        (id(1), Some(UserProfile::sample(1))),
        (id(2), Some(UserProfile::sample(2))),
        (id(3), Some(UserProfile::sample(3))),
    ] {
        let got = no_hang("admin read", UserProfile::read(admin, id.as_str()))
            .await
            .unwrap();
        assert_eq!(got, want, "{id} after refused writes");
    }

    // Refusals do not break the store: it still reads.
    let got = no_hang("read", UserProfile::read(reader, id(4))).await;
    assert_eq!(got.unwrap(), Some(UserProfile::sample(4)));
}

/// A plain server with the ACL users, seeded with 100 samples, and an admin store (`default`).
async fn acl_server() -> (TestServer, Store) {
    let server = TestServer::start();
    server.add_acl_users();
    let admin = build(Store::builder(&server.url())).await.unwrap();
    seed(&admin, 100).await;
    (server, admin)
}

#[tokio::test]
async fn reader_with_url_credentials_reads_and_is_refused_writes() {
    let (server, admin) = acl_server().await;
    let url = server.url_as(READER.name, READER.password);
    let builder = Store::builder(&url);
    assert_no_secret("StoreBuilder Debug", &format!("{builder:?}"));
    let reader = build(builder).await.unwrap();
    reads_but_cannot_write(&reader, &admin).await;
}

#[tokio::test]
async fn reader_with_builder_credentials_reads_and_is_refused_writes() {
    let (server, admin) = acl_server().await;
    let builder = Store::builder(&server.url())
        .username(READER.name)
        .password(READER.password);
    assert_no_secret("StoreBuilder Debug", &format!("{builder:?}"));
    let reader = build(builder).await.unwrap();
    reads_but_cannot_write(&reader, &admin).await;
}

#[tokio::test]
async fn builder_credentials_override_the_url() {
    let (server, admin) = acl_server().await;

    // The URL's wrong password is replaced: the store connects as the reader, and its batch
    // reads (separate raw connections) authenticate with the builder's password too.
    let builder = Store::builder(&server.url_as(READER.name, WRONG)).password(READER.password);
    assert_no_secret("StoreBuilder Debug", &format!("{builder:?}"));
    let reader = build(builder).await.unwrap();
    reads_but_cannot_write(&reader, &admin).await;

    // The URL's writer is replaced by the reader: writes are refused.
    let builder = Store::builder(&server.url_as(WRITER.name, WRITER.password))
        .username(READER.name)
        .password(READER.password);
    assert_no_secret("StoreBuilder Debug", &format!("{builder:?}"));
    let reader = build(builder).await.unwrap();
    reads_but_cannot_write(&reader, &admin).await;

    // The URL's right password is replaced by a wrong one: authentication fails.
    let builder = Store::builder(&server.url_as(READER.name, READER.password)).password(WRONG);
    assert_no_secret("StoreBuilder Debug", &format!("{builder:?}"));
    let err = build(builder).await.unwrap_err();
    assert_auth_error(&err, server.port());
}

#[tokio::test]
async fn writer_grant_is_enough_to_write_and_read() {
    let (server, admin) = acl_server().await;
    let writer = build(
        Store::builder(&server.url())
            .username(WRITER.name)
            .password(WRITER.password),
    )
    .await
    .unwrap();
    no_hang("write", UserProfile::sample(700).write(&writer, "w1"))
        .await
        .unwrap();
    let rows: Vec<(String, UserProfile)> = (0..20)
        .map(|i| (format!("wb_{i}"), UserProfile::sample(800 + i)))
        .collect();
    no_hang("write_batch", UserProfile::write_batch(&writer, rows))
        .await
        .unwrap();

    // Seen by the admin, with the view's TTL.
    let got = no_hang("admin read", UserProfile::read(&admin, "w1")).await;
    assert_eq!(got.unwrap(), Some(UserProfile::sample(700)));
    let ids: Vec<String> = (0..20).map(|i| format!("wb_{i}")).collect();
    let got = no_hang("admin read_batch", UserProfile::read_batch(&admin, &ids))
        .await
        .unwrap();
    let want: Vec<_> = (0..20)
        .map(|i| Some(UserProfile::sample(800 + i)))
        .collect();
    assert_eq!(got, want);
    let ttl = no_hang("ttl", UserProfile::ttl(&writer, "wb_19"))
        .await
        .unwrap();
    assert!(
        matches!(ttl, Some(t) if t <= Duration::from_secs(3600)),
        "{ttl:?}"
    );
    let got = no_hang("read_batch", UserProfile::read_batch(&writer, &ids))
        .await
        .unwrap();
    assert_eq!(got, want);
}

#[tokio::test]
async fn reader_connection_needs_no_grant_beyond_the_issue() {
    // `READER` has exactly `+hmget +pttl +ping ~fs:*`. Connecting, reading and batch reading
    // work (the tests above), and what the server refused along the way is only the optional
    // parts of the handshake: `CLIENT SETINFO` (replies ignored by the client) and the
    // `SCRIPT LOAD` that `build` tries for writes.
    let (server, _admin) = acl_server().await;
    let _: () = redis::cmd("ACL")
        .arg("LOG")
        .arg("RESET")
        .query(&mut server.conn())
        .unwrap();
    let reader = build(Store::builder(&server.url_as(READER.name, READER.password)))
        .await
        .unwrap();
    assert!(no_hang("read", UserProfile::read(&reader, id(1)))
        .await
        .unwrap()
        .is_some());
    let got = no_hang(
        "read_batch",
        UserProfile::read_batch(&reader, [id(1), id(2)]),
    )
    .await
    .unwrap();
    assert!(got.iter().all(Option::is_some));
    no_hang("ttl", UserProfile::ttl(&reader, id(1)))
        .await
        .unwrap();

    let log: Vec<HashMap<String, String>> = redis::cmd("ACL")
        .arg("LOG")
        .query(&mut server.conn())
        .unwrap();
    let refused: Vec<(String, String, String)> = log
        .iter()
        .map(|entry| {
            let get = |f: &str| entry.get(f).cloned().unwrap_or_default();
            (get("username"), get("reason"), get("object"))
        })
        .collect();
    for (user, reason, object) in &refused {
        assert_eq!(user, READER.name, "{refused:?}");
        assert_eq!(reason, "command", "{refused:?}");
        assert!(
            ["client|setinfo", "script|load"].contains(&object.as_str()),
            "the reader was refused `{object}` while connecting and reading: {refused:?}"
        );
    }
}

#[tokio::test]
async fn wrong_password_is_an_auth_error() {
    let (server, _admin) = acl_server().await;
    let err = build(Store::builder(&server.url_as(READER.name, WRONG)))
        .await
        .unwrap_err();
    assert_auth_error(&err, server.port());

    let err = build(
        Store::builder(&server.url())
            .username(READER.name)
            .password(WRONG),
    )
    .await
    .unwrap_err();
    assert_auth_error(&err, server.port());
}

#[tokio::test]
async fn unknown_user_is_an_auth_error() {
    let (server, _admin) = acl_server().await;
    let err = build(Store::builder(&server.url_as("nobody", SECRET)))
        .await
        .unwrap_err();
    assert_auth_error(&err, server.port());

    let err = build(
        Store::builder(&server.url())
            .username("nobody")
            .password(SECRET),
    )
    .await
    .unwrap_err();
    assert_auth_error(&err, server.port());
}

#[tokio::test]
async fn missing_password_is_an_auth_error() {
    // The `default` user gets a password after the admin connection authenticated: a store
    // without credentials is refused with NOAUTH, at connect or at its first command.
    let (server, _admin) = acl_server().await;
    let mut admin_conn = server.conn();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg("resetpass")
        .arg(format!(">{SECRET}"))
        .query(&mut admin_conn)
        .unwrap();
    match build(Store::builder(&server.url())).await {
        Err(err) => assert_auth_error(&err, server.port()),
        Ok(store) => {
            let err = no_hang("read", UserProfile::read(&store, id(1)))
                .await
                .unwrap_err();
            assert_auth_error(&err, server.port());
            let err = no_hang(
                "read_batch",
                UserProfile::read_batch(&store, [id(1), id(2)]),
            )
            .await
            .unwrap_err();
            assert_auth_error(&err, server.port());
            let err = no_hang("write", UserProfile::sample(1).write(&store, "x"))
                .await
                .unwrap_err();
            assert_auth_error(&err, server.port());
        }
    }
    // A lazily connecting store is built, and its first call is the auth error.
    let lazy = build(Store::builder(&server.url()).connect_lazily(true))
        .await
        .unwrap();
    let err = no_hang("lazy read", UserProfile::read(&lazy, id(1)))
        .await
        .unwrap_err();
    assert_auth_error(&err, server.port());
    // With the password, the `default` user reads again.
    let store = build(Store::builder(&server.url()).password(SECRET))
        .await
        .unwrap();
    let got = no_hang("read", UserProfile::read(&store, id(1))).await;
    assert_eq!(got.unwrap(), Some(UserProfile::sample(1)));
}

#[tokio::test]
async fn secrets_never_leak_from_builders_stores_or_errors() {
    // Builders, with the password in the URL, in the builder, or both.
    let port = free_port();
    let builders = [
        Store::builder(&format!(
            "redis://{}:{SECRET}@127.0.0.1:{port}",
            READER.name
        )),
        Store::builder(&format!("redis://127.0.0.1:{port}"))
            .username(READER.name)
            .password(SECRET),
        Store::builder(&format!("redis://{}:{WRONG}@127.0.0.1:{port}", READER.name))
            .password(SECRET),
        Store::builder(&format!("redis://:{SECRET}@127.0.0.1:{port}/0")),
    ];
    for builder in &builders {
        let debug = format!("{builder:?}");
        assert_no_secret("StoreBuilder Debug", &debug);
        assert!(debug.contains(&port.to_string()), "{debug}");
    }

    // Nothing listens on `port`: connection refused.
    for builder in builders {
        let err = build(builder).await.unwrap_err();
        assert!(err.is_connection() || err.is_timeout(), "{err:?}");
        assert_error_hides_secrets(&err);
    }

    // Malformed URLs with credentials: configuration errors.
    for url in [
        format!("redis://reader:{SECRET}@127.0.0.1:notaport"),
        format!("http://reader:{SECRET}@127.0.0.1:6379"),
        format!("redis://reader:{SECRET}@[::1"),
    ] {
        let err = build(Store::builder(&url)).await.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert_error_hides_secrets(&err);
    }
    let err = build(Store::builder("no url at all").password(SECRET))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert_error_hides_secrets(&err);

    // A server that accepts the connection but never answers: the connect times out.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let err = build(
        Store::builder(&format!(
            "redis://{}:{SECRET}@127.0.0.1:{silent_port}",
            READER.name
        ))
        .connect_timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout() || err.is_connection(), "{err:?}");
    assert_error_hides_secrets(&err);
    drop(silent);

    // A paused server: a read by a connected reader times out.
    let (server, _admin) = acl_server().await;
    let reader = no_hang(
        "build",
        Store::builder(&server.url_as(READER.name, SECRET))
            .response_timeout(Duration::from_millis(200))
            .build(),
    )
    .await
    .unwrap();
    assert_no_secret("Store Debug", &format!("{reader:?}"));
    assert_no_secret("backend_name", &reader.backend_name());
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1_500)
        .arg("ALL")
        .query(&mut server.conn())
        .unwrap();
    let err = no_hang("read on a paused server", UserProfile::read(&reader, id(1)))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_error_hides_secrets(&err);
    let err = no_hang(
        "read_batch on a paused server",
        UserProfile::read_batch(&reader, [id(1), id(2)]),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_error_hides_secrets(&err);
}

#[cfg(feature = "tls")]
mod tls {
    //! `rediss://` on a TLS-only server whose certificates were generated at test time.

    use super::*;
    use support::{ClientAuth, TlsFiles};

    /// A store on the TLS server that trusts the test CA, as the `default` user.
    async fn trusting(server: &TestServer, files: &TlsFiles) -> Store {
        build(Store::builder(&server.url()).tls_root_certificate(files.ca_pem()))
            .await
            .unwrap_or_else(|err| panic!("cannot connect over TLS to {}: {err}", server.url()))
    }

    /// Writes and reads everything through `store`; `raw` sees the data on the server.
    async fn round_trip(store: &Store, mut raw: redis::Connection) {
        no_hang("write", UserProfile::sample(1).write(store, "single"))
            .await
            .unwrap();
        let got = no_hang("read", UserProfile::read(store, "single")).await;
        assert_eq!(got.unwrap(), Some(UserProfile::sample(1)));

        seed(store, 100).await;
        let mut ids: Vec<String> = (0..100).map(id).collect();
        ids.push("ghost".to_owned());
        let rows = no_hang("read_batch", UserProfile::read_batch(store, &ids))
            .await
            .unwrap();
        assert_eq!(rows.len(), 101);
        for (i, row) in (0..100).zip(&rows) {
            assert_eq!(row, &Some(UserProfile::sample(i)), "{}", id(i));
        }
        assert_eq!(rows[100], None);

        let ttl = no_hang("ttl", UserProfile::ttl(store, id(42)))
            .await
            .unwrap()
            .expect("a written profile has a TTL");
        assert!(ttl <= Duration::from_secs(3600), "{ttl:?}");

        let vectors = no_hang(
            "vector_batch",
            ProfileInputs::vector_batch(store, [id(5), id(6)]),
        )
        .await
        .unwrap();
        let want: Vec<_> = [5, 6]
            .map(|i| ProfileInputs {
                age: UserProfile::sample(i).age,
                lifetime_value: UserProfile::sample(i).lifetime_value,
            })
            .to_vec();
        assert_eq!(vectors, want);

        // The data is on the TLS server, with its expiry.
        let age: String = redis::cmd("HGET")
            .arg(key_of::<UserProfile>(&id(42)))
            .arg("age")
            .query(&mut raw)
            .unwrap();
        assert_eq!(age, UserProfile::sample(42).age.to_string());
        let pttl: i64 = redis::cmd("PTTL")
            .arg(key_of::<UserProfile>("single"))
            .query(&mut raw)
            .unwrap();
        assert!(pttl > 0, "{pttl}");
    }

    /// Asserts a TLS failure: an error (the hang detector caught none), not an auth error, that
    /// says it is about certificates or TLS.
    fn assert_tls_error(err: &Error) {
        assert_error_hides_secrets(err);
        assert!(!err.is_auth(), "{err:?}");
        assert!(
            err.is_connection(),
            "expected a connection error, got {err:?}"
        );
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            text.push_str(&format!(" / {s}"));
            source = s.source();
        }
        let lower = text.to_lowercase();
        assert!(
            lower.contains("certificate") || lower.contains("tls"),
            "the error should say that TLS failed: {text}"
        );
    }

    #[tokio::test]
    async fn rediss_round_trip_trusting_the_test_ca() {
        let (server, files) = TestServer::start_tls(ClientAuth::Optional);
        assert!(server.url().starts_with("rediss://127.0.0.1:"));
        let store = trusting(&server, &files).await;
        round_trip(&store, server.conn()).await;
    }

    #[tokio::test]
    async fn mutual_tls_with_a_client_certificate() {
        let (server, files) = TestServer::start_tls(ClientAuth::Required);
        let store = build(
            Store::builder(&server.url())
                .tls_root_certificate(files.ca_pem())
                .tls_client_certificate(files.client_cert_pem(), files.client_key_pem()),
        )
        .await
        .unwrap();
        round_trip(&store, server.conn()).await;

        // Without a client certificate the server refuses the connection.
        let result =
            build(Store::builder(&server.url()).tls_root_certificate(files.ca_pem())).await;
        let err = match result {
            Err(err) => err,
            // TLS 1.3: the client may finish its handshake before the server checks; then the
            // first command fails.
            Ok(store) => no_hang(
                "read without a client certificate",
                UserProfile::read(&store, id(1)),
            )
            .await
            .expect_err(
                "a read without a client certificate succeeded on a --tls-auth-clients yes server",
            ),
        };
        // "received fatal alert: CertificateRequired".
        assert_tls_error(&err);
    }

    #[tokio::test]
    async fn untrusted_server_certificate_is_a_tls_error() {
        let (server, files) = TestServer::start_tls(ClientAuth::Optional);
        // The system's roots only: the test CA is not among them.
        let err = build(Store::builder(&server.url())).await.unwrap_err();
        assert_tls_error(&err);
        // Another CA: it did not sign the server's certificate.
        let err = build(Store::builder(&server.url()).tls_root_certificate(files.other_ca_pem()))
            .await
            .unwrap_err();
        assert_tls_error(&err);
        // The same server with the right CA: the failures above were about trust only.
        let store = trusting(&server, &files).await;
        let got = no_hang("read", UserProfile::read(&store, "nobody")).await;
        assert_eq!(got.unwrap(), None);
    }

    #[tokio::test]
    async fn acl_users_over_tls() {
        let (server, files) = TestServer::start_tls(ClientAuth::Optional);
        server.add_acl_users();
        let admin = trusting(&server, &files).await;
        seed(&admin, 100).await;

        let reader = build(
            Store::builder(&server.url_as(READER.name, READER.password))
                .tls_root_certificate(files.ca_pem()),
        )
        .await
        .unwrap();
        reads_but_cannot_write(&reader, &admin).await;

        let reader = build(
            Store::builder(&server.url())
                .username(READER.name)
                .password(READER.password)
                .tls_root_certificate(files.ca_pem()),
        )
        .await
        .unwrap();
        reads_but_cannot_write(&reader, &admin).await;

        let builder =
            Store::builder(&server.url_as(READER.name, WRONG)).tls_root_certificate(files.ca_pem());
        assert_no_secret("StoreBuilder Debug", &format!("{builder:?}"));
        let err = build(builder).await.unwrap_err();
        assert_auth_error(&err, server.port());
    }
}
