//! `fstore serve` end to end: the real binary against a throwaway `valkey-server`, asked over
//! HTTP/1.1 (a hand-written client on a `TcpStream`) what a Feast HTTP client asks.

mod common;
#[path = "common/valkey.rs"]
mod valkey;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::command;
use fstore_runtime::registry::Registry;
use fstore_runtime::{Store, Value};
use serde_json::{json, Value as Json};
use valkey::{raw_commands, u1_profile, TestServer};

const ROOT_REGISTRY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../features.toml");

/// `user_profile`'s `_updated_at` for `u1`: 2026-12-01T04:57:30.250Z.
const U1_STAMP: &str = "1796101050.250";
const U1_TIME: &str = "2026-12-01T04:57:30.250Z";
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// A running `fstore serve`; killed on drop if it is still running.
struct Serving {
    child: Child,
    addr: SocketAddr,
    /// What it printed to stderr so far.
    stderr: Arc<Mutex<String>>,
}

impl Serving {
    /// Starts `fstore serve features.toml --listen 127.0.0.1:0 --url URL ARGS` and waits for its
    /// `listening on` line.
    fn start(url: &str, args: &[&str]) -> Serving {
        let mut child = command()
            .args([
                "serve",
                ROOT_REGISTRY,
                "--listen",
                "127.0.0.1:0",
                "--url",
                url,
            ])
            .args(args)
            .env_remove("VALKEY_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (found, addr) = std::sync::mpsc::channel();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::clone(&stderr);
        std::thread::spawn(move || {
            while let Some(Ok(line)) = lines.next() {
                if let Some(addr) = line.strip_prefix("fstore serve: listening on http://") {
                    let _ = found.send(addr.parse::<SocketAddr>().unwrap());
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = addr
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "`fstore serve` did not print its address:\n{}",
                    stderr.lock().unwrap()
                )
            });
        Serving {
            child,
            addr,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `POST /get-online-features` with `body`.
    fn features(&self, body: &Json) -> (u16, Json) {
        let (status, text) = http(self.addr, "POST", "/get-online-features", &body.to_string());
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {text}\n{}", self.stderr()));
        (status, json)
    }

    /// Sends SIGTERM.
    fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to 10 s for the process to exit.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "`fstore serve` did not exit:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request (`connection: close`); the status and the body.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head:?}"));
    (status, body.to_owned())
}

/// A server holding, as features.toml's views:
/// - `user_profile`: `u1` with every feature but `is_premium` (default `false`), stamped
///   [`U1_STAMP`]; `7` (an integer id) with `age`; `bad` with `age = "abc"`, written raw;
/// - `user_risk_profile` (`max_age` 10m): `u1` fresh; `u3` an hour old, written raw;
/// - `user_activity`: `u2` only, without `last_category` (optional).
fn seeded() -> TestServer {
    let server = TestServer::start();
    let url = server.url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let registry = Registry::from_path(ROOT_REGISTRY).unwrap();
        let store = Store::connect(&url).await.unwrap().with_registry(registry);
        store
            .write("user_profile", "u1", &u1_profile())
            .await
            .unwrap();
        store
            .write("user_profile", 7, &[("age", Value::Int(70))])
            .await
            .unwrap();
        store
            .write(
                "user_risk_profile",
                "u1",
                &[
                    ("fraud_score", Value::Float(0.05)),
                    ("chargebacks_90d", Value::Int(0)),
                ],
            )
            .await
            .unwrap();
        store
            .write(
                "user_activity",
                "u2",
                &[
                    ("sessions_7d", Value::Int(3)),
                    ("clicks_24h", Value::Int(12)),
                    ("avg_session_seconds", Value::Float(30.5)),
                ],
            )
            .await
            .unwrap();

        let hour_ago = format!(
            "{:.3}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
                - 3600.0
        );
        let commands: [&[&str]; 5] = [
            &["HSET", "fs:v1:user_profile:u1", "_updated_at", U1_STAMP],
            &[
                "HSET",
                "fs:v1:user_risk_profile:u3",
                "fraud_score",
                "0.9",
                "chargebacks_90d",
                "2",
                "_updated_at",
                &hour_ago,
            ],
            &["PEXPIRE", "fs:v1:user_risk_profile:u3", "600000"],
            &[
                "HSET",
                "fs:v1:user_profile:bad",
                "age",
                "abc",
                "_updated_at",
                U1_STAMP,
            ],
            &["PEXPIRE", "fs:v1:user_profile:bad", "600000"],
        ];
        raw_commands(&url, &commands).await;
    });
    server
}

/// The result of column `name` of a response.
fn column<'a>(response: &'a Json, name: &str) -> &'a Json {
    let names = response["metadata"]["feature_names"].as_array().unwrap();
    let index = names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no column {name} in {names:?}"));
    &response["results"][index]
}

#[test]
fn answers_feast_requests_across_views() {
    let valkey = seeded();
    let serving = Serving::start(&valkey.url(), &[]);
    let (status, response) = serving.features(&json!({
        "features": [
            "user_profile:age",
            "user_profile:is_premium",
            "user_profile:country",
            "user_profile:embedding",
            "user_risk_profile:fraud_score",
            "user_risk_profile:txn_count_24h",
            "user_activity:clicks_24h",
            "user_activity:last_category",
        ],
        "entities": {"user_id": ["u1", "u2", "u3", "nobody"]},
    }));
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        response["metadata"]["feature_names"],
        json!([
            "user_id",
            "age",
            "is_premium",
            "country",
            "embedding",
            "fraud_score",
            "txn_count_24h",
            "clicks_24h",
            "last_category",
        ])
    );
    assert_eq!(response["results"].as_array().unwrap().len(), 9);
    // The entity key column first, as Feast puts it.
    assert_eq!(
        response["results"][0],
        json!({
            "values": ["u1", "u2", "u3", "nobody"],
            "statuses": ["PRESENT", "PRESENT", "PRESENT", "PRESENT"],
            "event_timestamps": [EPOCH, EPOCH, EPOCH, EPOCH],
        })
    );
    assert_eq!(
        column(&response, "age"),
        &json!({
            "values": [28, null, null, null],
            "statuses": ["PRESENT", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"],
            "event_timestamps": [U1_TIME, EPOCH, EPOCH, EPOCH],
        })
    );
    // Absent from u1's row: the registry default, PRESENT (as `Status::feast_name` says).
    assert_eq!(
        column(&response, "is_premium")["values"],
        json!([false, false, false, false])
    );
    assert_eq!(
        column(&response, "is_premium")["statuses"],
        json!(["PRESENT", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"])
    );
    assert_eq!(column(&response, "country")["values"][0], "DE");
    assert_eq!(
        column(&response, "embedding")["values"][0],
        json!([0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875])
    );

    let fraud = column(&response, "fraud_score");
    assert_eq!(fraud["values"], json!([0.05, null, null, null]));
    assert_eq!(
        fraud["statuses"],
        json!(["PRESENT", "NOT_FOUND", "OUTSIDE_MAX_AGE", "NOT_FOUND"])
    );
    // u1's risk row was just written: its stamp is today's; u3's is an hour old, but there.
    let stamps = fraud["event_timestamps"].as_array().unwrap();
    for stamp in [&stamps[0], &stamps[2]] {
        let stamp = stamp.as_str().unwrap();
        assert!(
            stamp.len() >= 20 && stamp.ends_with('Z') && stamp > "2025" && stamp != EPOCH,
            "{stamp}"
        );
    }
    assert_eq!((&stamps[1], &stamps[3]), (&json!(EPOCH), &json!(EPOCH)));
    let txn = column(&response, "txn_count_24h");
    assert_eq!(txn["values"], json!([0, 0, 0, 0]));
    assert_eq!(
        txn["statuses"],
        json!(["PRESENT", "NOT_FOUND", "OUTSIDE_MAX_AGE", "NOT_FOUND"])
    );

    assert_eq!(
        column(&response, "clicks_24h")["values"],
        json!([null, 12, null, null])
    );
    let category = column(&response, "last_category");
    assert_eq!(category["values"], json!([null, null, null, null]));
    assert_eq!(
        category["statuses"],
        json!(["NOT_FOUND", "NULL_VALUE", "NOT_FOUND", "NOT_FOUND"])
    );

    // Integer ids, the entity's name as the key, and `view__feature` names.
    let (status, response) = serving.features(&json!({
        "features": ["user_profile:age", "user_risk_profile:fraud_score"],
        "entities": {"user": [7, 8]},
        "full_feature_names": true,
    }));
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        response["metadata"]["feature_names"],
        json!([
            "user",
            "user_profile__age",
            "user_risk_profile__fraud_score"
        ])
    );
    assert_eq!(response["results"][0]["values"], json!([7, 8]));
    assert_eq!(response["results"][1]["values"], json!([70, null]));

    // Ids of mixed types: each echoed as sent; an integer and its decimal string are one entity.
    let (status, response) = serving.features(&json!({
        "features": ["user_profile:age"],
        "entities": {"user_id": ["u1", 7, "7", -7]},
    }));
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["results"][0]["values"], json!(["u1", 7, "7", -7]));
    assert_eq!(response["results"][1]["values"], json!([28, 70, 70, null]));
    assert_eq!(
        response["results"][1]["statuses"],
        json!(["PRESENT", "PRESENT", "PRESENT", "NOT_FOUND"])
    );
}

#[test]
fn bad_requests_get_400_with_the_reason() {
    let valkey = seeded();
    let serving = Serving::start(&valkey.url(), &["--max-entities", "3"]);
    let reason = |body: &str| {
        let (status, text) = http(serving.addr, "POST", "/get-online-features", body);
        assert_eq!(status, 400, "{body}: {text}");
        let json: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 1, "{text}");
        json["error"].as_str().unwrap().to_owned()
    };
    let cases = [
        (r#"{"features": ["user_profile:age"], "#, "malformed JSON"),
        (
            r#"{"features": ["user_profil:age"], "entities": {"user_id": ["u1"]}}"#,
            "unknown view `user_profil`; did you mean `user_profile`?",
        ),
        (
            r#"{"features": ["user_profile:agee"], "entities": {"user_id": ["u1"]}}"#,
            "unknown feature `user_profile:agee`; did you mean `user_profile:age`?",
        ),
        (
            r#"{"features": ["user_profile:age"], "entities": {"item_id": ["u1"]}}"#,
            "entity key `item_id` is not the entity `user` of the requested views",
        ),
        (
            r#"{"features": ["user_profile:age", "item_stats:price"],
                "entities": {"user_id": ["u1"]}}"#,
            "views of different entities (`user`, `item`)",
        ),
        (
            r#"{"features": ["user_profile:age"], "entities": {"user_id": []}}"#,
            "`entities.user_id` is empty",
        ),
        (
            r#"{"features": ["user_profile:age"], "entities": {"user_id": [true]}}"#,
            "`entities.user_id[0]` is a boolean true; an id is a string or an integer",
        ),
        (
            r#"{"features": ["user_profile:age"], "entities": {"user_id": [{"id": 1}]}}"#,
            "is an object; an id is a string or an integer",
        ),
        (
            r#"{"features": ["user_profile:age"], "entities": {"user_id": ["a", "b", "c", "d"]}}"#,
            "has 4 ids, more than the 3 one request may ask for (`--max-entities`)",
        ),
        (
            r#"{"features": ["user_profile:embedding", "item_stats:embedding"],
                "entities": {"user_id": ["u1"]}}"#,
            "views of different entities",
        ),
        (
            r#"{"features": ["user_profile:age", "user_profile:age"],
                "entities": {"user_id": ["u1"]}}"#,
            "several features named `age`",
        ),
        (
            r#"{"features": ["user_profile.age"], "entities": {"user_id": ["u1"]}}"#,
            "unknown feature reference `user_profile.age`; did you mean `user_profile:age`?",
        ),
    ];
    for (body, expected) in cases {
        let reason = reason(body);
        assert!(
            reason.contains(expected),
            "{body}\n  gave: {reason}\n  expected: {expected}"
        );
    }

    // A stored value that does not decode is the server's fault: 500, with the runtime's error.
    let (status, response) = serving.features(&json!({
        "features": ["user_profile:age"],
        "entities": {"user_id": ["bad"]},
    }));
    assert_eq!(status, 500, "{response}");
    assert!(
        response["error"]
            .as_str()
            .unwrap()
            .contains("cannot decode feature `age` of `fs:v1:user_profile:bad`"),
        "{response}"
    );
    // The decode failure did not poison anything: the next read of a good row is fine.
    let (status, response) = serving.features(&json!({
        "features": ["user_profile:age"],
        "entities": {"user_id": ["u1", "bad"]},
    }));
    assert_eq!(status, 500, "{response}");
    let (status, response) = serving.features(&json!({
        "features": ["user_profile:age"],
        "entities": {"user_id": ["u1"]},
    }));
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["results"][1]["values"], json!([28]));

    // A body over the limit is refused from its `content-length`, before it is read.
    let mut stream = TcpStream::connect(serving.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /get-online-features HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         content-length: 100000000\r\nconnection: close\r\n\r\n{{\"features\": "
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains(r#"{"error":"#), "{response}");

    let (status, body) = http(serving.addr, "GET", "/get-online-features", "");
    assert_eq!(status, 405, "{body}");
    let (status, body) = http(serving.addr, "GET", "/features", "");
    assert_eq!(status, 404, "{body}");
    // Still serving.
    let (status, _) = http(serving.addr, "GET", "/health", "");
    assert_eq!(status, 200);
}

/// Sends `command` (inline) to the server on `port` and returns its reply's first line.
fn valkey_command(port: u16, command: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "{command}\r\n").unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line
}

#[test]
fn valkey_down_is_503_and_reads_recover_after_a_restart() {
    let mut valkey = seeded();
    let mut serving = Serving::start(&valkey.url(), &[]);
    let request = json!({"features": ["user_profile:age"], "entities": {"user_id": ["u1"]}});
    assert_eq!(
        http(serving.addr, "GET", "/health", ""),
        (200, r#"{"status":"ok"}"#.to_owned())
    );
    assert_eq!(serving.features(&request).0, 200);

    // Killed while a read waits on it (Valkey holds every command): that read is a 503.
    assert_eq!(
        valkey_command(valkey.port, "CLIENT PAUSE 20000 ALL"),
        "+OK\r\n"
    );
    let addr = serving.addr;
    let body = request.to_string();
    let in_flight = std::thread::spawn(move || http(addr, "POST", "/get-online-features", &body));
    std::thread::sleep(Duration::from_millis(200));
    valkey.kill();
    let (status, body) = in_flight.join().unwrap();
    assert_eq!(status, 503, "{body}\n{}", serving.stderr());
    let body: Json = serde_json::from_str(&body).unwrap();
    assert!(body["error"].as_str().is_some(), "{body}");

    // Down: every read and health check is a 503 with the reason, and the server stays up.
    for _ in 0..3 {
        let (status, body) = http(serving.addr, "GET", "/health", "");
        assert_eq!(status, 503, "{body}");
        let body: Json = serde_json::from_str(&body).unwrap();
        assert_eq!(body["status"], "unavailable");
        assert!(body["error"].as_str().is_some(), "{body}");
        let (status, response) = serving.features(&request);
        assert_eq!(status, 503, "{response}");
        assert!(response["error"].as_str().is_some(), "{response}");
    }

    // Back (empty, on the same port): the store reconnects on the next call, no restart of
    // `fstore serve` needed.
    valkey.restart();
    assert_eq!(
        http(serving.addr, "GET", "/health", ""),
        (200, r#"{"status":"ok"}"#.to_owned())
    );
    let (status, response) = serving.features(&request);
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["results"][1]["statuses"], json!(["NOT_FOUND"]));
    assert_eq!(
        valkey_command(
            valkey.port,
            &format!("HSET fs:v1:user_profile:u1 age 29 _updated_at {U1_STAMP}")
        ),
        ":2\r\n"
    );
    let (status, response) = serving.features(&request);
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["results"][1]["values"], json!([29]));
    assert_eq!(response["results"][1]["event_timestamps"], json!([U1_TIME]));

    // And still stops cleanly.
    serving.terminate();
    let status = serving.wait();
    assert_eq!(status.code(), Some(0), "{}", serving.stderr());
}

#[test]
fn sigterm_finishes_the_requests_in_flight_and_exits_0() {
    let valkey = seeded();
    let mut serving = Serving::start(&valkey.url(), &[]);
    // Valkey holds every command for 400 ms (under the store's 500 ms response timeout): the
    // request below is in flight when SIGTERM comes.
    let mut raw = TcpStream::connect(("127.0.0.1", valkey.port)).unwrap();
    raw.write_all(b"CLIENT PAUSE 400 ALL\r\n").unwrap();
    let mut reply = [0u8; 5];
    raw.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"+OK\r\n");
    let addr = serving.addr;
    // A client connected but silent does not hold the exit.
    let _idle = TcpStream::connect(addr).unwrap();
    // The request is sent (and accepted) before SIGTERM; its answer is read after.
    let body = r#"{"features": ["user_profile:age"], "entities": {"user_id": ["u1"]}}"#;
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /get-online-features HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let in_flight = std::thread::spawn(move || {
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status: u16 = response[9..12].parse().unwrap();
        let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
        (status, body)
    });
    std::thread::sleep(Duration::from_millis(100));
    serving.terminate();
    let (status, body) = in_flight.join().unwrap();
    assert_eq!(status, 200, "{body}\n{}", serving.stderr());
    assert!(body.contains("[28]"), "{body}");
    let status = serving.wait();
    assert_eq!(status.code(), Some(0), "{}", serving.stderr());
    let stderr = serving.stderr();
    assert!(
        stderr.contains("shutting down") && stderr.ends_with("fstore serve: stopped\n"),
        "{stderr}"
    );
    // No longer listening.
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn sigterm_closes_a_stalled_client_after_the_shutdown_timeout() {
    let valkey = seeded();
    let mut serving = Serving::start(&valkey.url(), &["--shutdown-timeout", "1"]);
    // Half a request, never finished: graceful shutdown would wait for it forever.
    let mut half = TcpStream::connect(serving.addr).unwrap();
    half.write_all(
        b"POST /get-online-features HTTP/1.1\r\nhost: test\r\ncontent-length: 90\r\n\r\n{",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    serving.terminate();
    let status = serving.wait();
    assert_eq!(status.code(), Some(0), "{}", serving.stderr());
    let stderr = serving.stderr();
    assert!(
        stderr.contains("shutdown timeout: closing the connections still open after 1s")
            && stderr.ends_with("fstore serve: stopped\n"),
        "{stderr}"
    );
}

/// The `metrics` lines of `/metrics` that start with `name{` and hold every one of `labels`.
fn samples(metrics: &str, name: &str, labels: &[&str]) -> Vec<String> {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && labels.iter().all(|x| l.contains(x)))
        .map(str::to_owned)
        .collect()
}

#[test]
fn metrics_count_and_time_the_requests() {
    let valkey = seeded();
    let serving = Serving::start(&valkey.url(), &[]);
    let request = json!({"features": ["user_profile:age"], "entities": {"user_id": ["u1"]}});
    for _ in 0..3 {
        assert_eq!(serving.features(&request).0, 200);
    }
    assert_eq!(serving.features(&json!({"features": []})).0, 400);
    let (status, metrics) = http(serving.addr, "GET", "/metrics", "");
    assert_eq!(status, 200, "{metrics}");
    let ok = samples(
        &metrics,
        "fstore_http_requests_total",
        &[r#"path="/get-online-features""#, r#"status="200""#],
    );
    assert_eq!(ok.len(), 1, "{metrics}");
    assert!(ok[0].ends_with(" 3"), "{metrics}");
    let bad = samples(
        &metrics,
        "fstore_http_requests_total",
        &[r#"path="/get-online-features""#, r#"status="400""#],
    );
    assert!(bad.len() == 1 && bad[0].ends_with(" 1"), "{metrics}");
    let count = samples(
        &metrics,
        "fstore_http_request_duration_seconds_count",
        &[r#"path="/get-online-features""#],
    );
    assert!(count.len() == 1 && count[0].ends_with(" 4"), "{metrics}");
    assert!(
        !samples(
            &metrics,
            "fstore_http_request_duration_seconds_bucket",
            &[r#"le="0.005""#]
        )
        .is_empty(),
        "{metrics}"
    );
    // The second scrape counts the first.
    let (_, metrics) = http(serving.addr, "GET", "/metrics", "");
    let scrapes = samples(
        &metrics,
        "fstore_http_requests_total",
        &[r#"path="/metrics""#, r#"status="200""#],
    );
    assert!(
        scrapes.len() == 1 && scrapes[0].ends_with(" 1"),
        "{metrics}"
    );
}

#[test]
fn metrics_include_the_store_calls() {
    let valkey = seeded();
    let serving = Serving::start(&valkey.url(), &[]);
    let request = json!({
        "features": ["user_profile:age", "user_profile:is_premium"],
        "entities": {"user_id": ["u1", "u2"]},
    });
    assert_eq!(serving.features(&request).0, 200);
    let bad = json!({"features": ["user_profile:age"], "entities": {"user_id": ["bad"]}});
    assert_eq!(serving.features(&bad).0, 500);
    let (_, metrics) = http(serving.addr, "GET", "/metrics", "");
    let one = |name: &str, labels: &[&str], value: &str| {
        let lines = samples(&metrics, name, labels);
        assert!(
            lines.len() == 1 && lines[0].ends_with(&format!(" {value}")),
            "{name}{labels:?} = {value}: {lines:?}\n{metrics}"
        );
    };
    one(
        "fstore_call_duration_seconds_count",
        &[r#"op="get_feature_vector""#, r#"outcome="ok""#],
        "2",
    );
    one(
        "fstore_call_duration_seconds_count",
        &[r#"op="get_feature_vector""#, r#"outcome="decode""#],
        "1",
    );
    one(
        "fstore_errors_total",
        &[r#"op="get_feature_vector""#, r#"kind="decode""#],
        "1",
    );
    one(
        "fstore_rows_total",
        &[r#"view="user_profile""#, r#"status="found""#],
        "2", // u1, and `bad`, which was found before its value failed to decode
    );
    one(
        "fstore_rows_total",
        &[r#"view="user_profile""#, r#"status="missing""#],
        "1",
    );
    // u1's row has no `is_premium`: its default was used.
    assert!(
        !samples(
            &metrics,
            "fstore_defaulted_total",
            &[r#"view="user_profile""#, r#"feature="is_premium""#]
        )
        .is_empty(),
        "{metrics}"
    );
    one(
        "fstore_http_requests_total",
        &[r#"path="/get-online-features""#, r#"status="500""#],
        "1",
    );
}

/// The Python interpreter of the test venv, `FSTORE_TEST_PYTHON` (which `scripts/test` sets);
/// a loud failure, never a skip, when it is unset.
fn python() -> String {
    match std::env::var("FSTORE_TEST_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => panic!(
            "\n\nNO PYTHON FOR THE `fstore serve` CLIENT TEST: FSTORE_TEST_PYTHON is unset.\nRun \
             scripts/test, which makes the test venv and sets FSTORE_TEST_PYTHON, or set it to a \
             Python 3 interpreter: FSTORE_TEST_PYTHON=/path/to/python.\nThis test is never \
             skipped for lack of Python.\n"
        ),
    }
}

/// A Feast HTTP client's calls, made with nothing but Python's standard library: `urllib.request`
/// posts the request bodies Feast's clients send and reads the answers as Feast's
/// `OnlineResponse.to_dict()` does (feature name → one value per entity). Prints one JSON
/// object of what it saw.
const FEAST_CLIENT: &str = r#"
import json, sys, urllib.error, urllib.request

base = sys.argv[1]

def call(path, body=None, content_type=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data)
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type"), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), json.loads(error.read())

def to_dict(response):
    names = response["metadata"]["feature_names"]
    assert len(names) == len(response["results"]), response
    return {name: result["values"] for name, result in zip(names, response["results"])}

request = {
    "features": [
        "user_profile:age",
        "user_profile:lifetime_value",
        "user_profile:segment",
        "user_profile:is_premium",
        "user_profile:embedding",
        "user_activity:clicks_24h",
    ],
    "entities": {"user_id": ["u1", "u2", 7]},
}
seen = {}
status, content_type, response = call("/get-online-features", request, "application/json")
seen["status"] = status
seen["content_type"] = content_type
seen["features"] = to_dict(response)
seen["statuses"] = {n: r["statuses"] for n, r in zip(response["metadata"]["feature_names"], response["results"])}
seen["event_timestamps"] = {n: r["event_timestamps"] for n, r in zip(response["metadata"]["feature_names"], response["results"])}
seen["types"] = {n: [type(v).__name__ for v in vs] for n, vs in seen["features"].items()}
# urllib's default content type for a body (form-urlencoded), as a client that sets none.
seen["same_without_json_content_type"] = call("/get-online-features", request)[2] == response
status, _, response = call(
    "/get-online-features",
    {"features": ["user_profile:age"], "full_feature_names": True, "entities": {"user": ["u1"]}},
)
seen["full_names"] = [status, to_dict(response)]
seen["unknown"] = list(call("/get-online-features", {"features": ["user_profile:agee"], "entities": {"user_id": ["u1"]}})[::2])
seen["health"] = list(call("/health")[::2])
print(json.dumps(seen))
"#;

#[test]
fn a_feast_client_in_python_reads_features() {
    let python = python();
    let valkey = seeded();
    let serving = Serving::start(&valkey.url(), &[]);
    let out = std::process::Command::new(&python)
        .args(["-c", FEAST_CLIENT, &format!("http://{}", serving.addr)])
        .output()
        .unwrap_or_else(|e| panic!("cannot run FSTORE_TEST_PYTHON={python}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the Python client failed ({}):\n{stdout}\n{}\nserver:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        serving.stderr()
    );
    let seen: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(seen["status"], 200, "{seen}");
    assert_eq!(seen["content_type"], "application/json");
    let embedding = json!([0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875]);
    assert_eq!(
        seen["features"],
        json!({
            "user_id": ["u1", "u2", 7],
            "age": [28, null, 70],
            "lifetime_value": [1250.5, null, null],
            "segment": ["premium", null, null],
            "is_premium": [false, false, false],
            "embedding": [embedding, null, null],
            "clicks_24h": [null, 12, null],
        })
    );
    assert_eq!(
        seen["types"],
        json!({
            "user_id": ["str", "str", "int"],
            "age": ["int", "NoneType", "int"],
            "lifetime_value": ["float", "NoneType", "NoneType"],
            "segment": ["str", "NoneType", "NoneType"],
            "is_premium": ["bool", "bool", "bool"],
            "embedding": ["list", "NoneType", "NoneType"],
            "clicks_24h": ["NoneType", "int", "NoneType"],
        })
    );
    assert_eq!(
        seen["statuses"]["age"],
        json!(["PRESENT", "NOT_FOUND", "PRESENT"])
    );
    assert_eq!(
        seen["statuses"]["clicks_24h"],
        json!(["NOT_FOUND", "PRESENT", "NOT_FOUND"])
    );
    assert_eq!(seen["event_timestamps"]["age"][0], U1_TIME);
    assert_eq!(seen["event_timestamps"]["age"][1], EPOCH);
    assert_eq!(seen["same_without_json_content_type"], true);
    assert_eq!(
        seen["full_names"],
        json!([200, {"user": ["u1"], "user_profile__age": [28]}])
    );
    assert_eq!(
        seen["unknown"],
        json!([
            400,
            {"error": "unknown feature `user_profile:agee`; did you mean `user_profile:age`?"}
        ])
    );
    assert_eq!(seen["health"], json!([200, {"status": "ok"}]));
}
