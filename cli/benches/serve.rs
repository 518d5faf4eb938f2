//! `fstore serve` next to the in-process dynamic API: `POST /get-online-features` through the
//! router (in this process, on 127.0.0.1, keep-alive HTTP/1.1 clients) against the same request
//! made with `Store::get_feature_vector`, on a throwaway `valkey-server`.
//!
//! ```text
//! cargo bench -p fstore-cli --bench serve     # the measured run
//! cargo test -p fstore-cli --all-targets      # a smoke run of a few requests
//! ```
//!
//! Two requests, each 8 features of 3 views of features.toml (`user_profile`,
//! `user_risk_profile`, `user_activity`): 1 entity, and 100 entities. For each: the p50 and p99
//! latency of one client sending one request after another, and the throughput of 16 clients at
//! once, over HTTP and in process (the handler's reads: one `get_feature_vector` per entity, 64
//! at a time), and the ratio of the p50s. Each figure is the median of [`ROUNDS`] rounds, HTTP
//! and in-process alternating within each round.

#[path = "../tests/common/valkey.rs"]
mod valkey;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fstore_cli::serve::{install_metrics, router, Options};
use fstore_runtime::registry::Registry;
use fstore_runtime::{Features, Store, Value};
use futures_util::{StreamExt as _, TryStreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const ROOT_REGISTRY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../features.toml");

const FEATURES: [&str; 8] = [
    "user_profile:age",
    "user_profile:lifetime_value",
    "user_profile:segment",
    "user_profile:embedding",
    "user_risk_profile:fraud_score",
    "user_risk_profile:txn_count_24h",
    "user_activity:sessions_7d",
    "user_activity:clicks_24h",
];

/// The clients of the throughput runs.
const CLIENTS: usize = 16;

/// The rounds each figure is the median of.
const ROUNDS: usize = 3;

/// How many requests each run sends.
struct Sizes {
    sequential: usize,
    concurrent: usize,
}

fn main() {
    let measured = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let valkey = valkey::TestServer::start();
    runtime.block_on(run(&valkey.url(), measured));
}

async fn run(url: &str, measured: bool) {
    let registry = Arc::new(Registry::from_path(ROOT_REGISTRY).unwrap());
    let store = Store::connect(url)
        .await
        .unwrap()
        .with_registry(Arc::clone(&registry));
    seed(&store).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = Options::default().metrics(install_metrics().unwrap());
    let app = router(&store, Arc::clone(&registry), options);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    println!(
        "fstore serve: POST /get-online-features, {} features of 3 views, {CLIENTS} clients for \
         throughput, medians of {ROUNDS} rounds{}",
        FEATURES.len(),
        if measured { "" } else { " (smoke run)" }
    );
    println!(
        "{:<12} {:<10} {:>9} {:>9} {:>12} {:>8}",
        "request", "path", "p50 µs", "p99 µs", "req/s", "p50 ×"
    );
    for entities in [1, 100] {
        let sizes = match (measured, entities) {
            (false, _) => Sizes {
                sequential: 10,
                concurrent: 32,
            },
            (true, 1) => Sizes {
                sequential: 5_000,
                concurrent: 40_000,
            },
            (true, _) => Sizes {
                sequential: 1_000,
                concurrent: 4_000,
            },
        };
        let ids: Vec<String> = (0..entities).map(|i| format!("u{i}")).collect();
        let body =
            serde_json::json!({"features": FEATURES, "entities": {"user_id": ids}}).to_string();
        let request = Arc::new(
            format!(
                "POST /get-online-features HTTP/1.1\r\nhost: bench\r\ncontent-type: \
                 application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        );

        let mut http = Figures::default();
        let mut direct = Figures::default();
        for _ in 0..ROUNDS {
            // One client, one request after another.
            let mut client = Client::connect(addr).await;
            client.call(&request).await; // warm up
            let mut latencies = Vec::with_capacity(sizes.sequential);
            for _ in 0..sizes.sequential {
                let started = Instant::now();
                client.call(&request).await;
                latencies.push(started.elapsed());
            }
            http.add_latencies(latencies);

            read(&store, &ids).await;
            let mut latencies = Vec::with_capacity(sizes.sequential);
            for _ in 0..sizes.sequential {
                let started = Instant::now();
                read(&store, &ids).await;
                latencies.push(started.elapsed());
            }
            direct.add_latencies(latencies);

            // 16 clients at once.
            http.rates.push(
                throughput(sizes.concurrent, |calls| {
                    let request = Arc::clone(&request);
                    async move {
                        let mut client = Client::connect(addr).await;
                        for _ in 0..calls {
                            client.call(&request).await;
                        }
                    }
                })
                .await,
            );
            direct.rates.push(
                throughput(sizes.concurrent, |calls| {
                    let store = store.clone();
                    let ids = ids.clone();
                    async move {
                        for _ in 0..calls {
                            read(&store, &ids).await;
                        }
                    }
                })
                .await,
            );
        }

        let label = format!(
            "{entities} entit{}",
            if entities == 1 { "y" } else { "ies" }
        );
        let (http_p50, http_p99, http_rate) = http.medians();
        let (direct_p50, direct_p99, direct_rate) = direct.medians();
        println!(
            "{label:<12} {:<10} {:>9.0} {:>9.0} {:>12.0} {:>8.2}",
            "HTTP",
            http_p50,
            http_p99,
            http_rate,
            http_p50 / direct_p50
        );
        println!(
            "{label:<12} {:<10} {:>9.0} {:>9.0} {:>12.0} {:>8}",
            "in-process", direct_p50, direct_p99, direct_rate, "1.00"
        );
    }
}

/// 100 users in each of the three views.
async fn seed(store: &Store) {
    let embedding: Vec<f32> = (0..8).map(|i| i as f32 / 8.0).collect();
    for i in 0..100 {
        let id = format!("u{i}");
        store
            .write(
                "user_profile",
                &id,
                &[
                    ("age", Value::Int(20 + i)),
                    ("lifetime_value", Value::Float(12.5 * i as f64)),
                    ("segment", Value::from("premium")),
                    ("days_since_signup", Value::Int(i)),
                    ("embedding", Value::from(embedding.clone())),
                ],
            )
            .await
            .unwrap();
        store
            .write(
                "user_risk_profile",
                &id,
                &[
                    ("fraud_score", Value::Float(0.01 * i as f64)),
                    ("chargebacks_90d", Value::Int(0)),
                ],
            )
            .await
            .unwrap();
        store
            .write(
                "user_activity",
                &id,
                &[
                    ("sessions_7d", Value::Int(i)),
                    ("clicks_24h", Value::Int(3 * i)),
                    ("avg_session_seconds", Value::Float(30.0)),
                ],
            )
            .await
            .unwrap();
    }
}

/// What the handler reads for `ids`: one feature vector per entity, 64 at a time.
async fn read(store: &Store, ids: &[String]) -> Vec<Features> {
    let rows: Vec<Features> = futures_util::stream::iter(0..ids.len())
        .map(|i| store.get_feature_vector(&ids[i], &FEATURES))
        .buffered(64)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), ids.len());
    rows
}

/// Runs `total` calls on [`CLIENTS`] tasks, each `client(calls)` making its share one after
/// another; the calls per second.
async fn throughput<C, T>(total: usize, client: C) -> f64
where
    C: Fn(usize) -> T,
    T: std::future::Future<Output = ()> + Send + 'static,
{
    let per_client = total.div_ceil(CLIENTS);
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(client(per_client)))
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (per_client * CLIENTS) as f64 / started.elapsed().as_secs_f64()
}

/// One path's figures, one per round: p50 and p99 in µs, requests per second.
#[derive(Default)]
struct Figures {
    p50s: Vec<f64>,
    p99s: Vec<f64>,
    rates: Vec<f64>,
}

impl Figures {
    /// Adds a round's p50 and p99 of `latencies`.
    fn add_latencies(&mut self, mut latencies: Vec<Duration>) {
        latencies.sort();
        let at = |q: f64| {
            latencies[((latencies.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6
        };
        self.p50s.push(at(0.5));
        self.p99s.push(at(0.99));
    }

    /// The medians of the rounds' p50s, p99s and rates.
    fn medians(&self) -> (f64, f64, f64) {
        (median(&self.p50s), median(&self.p99s), median(&self.rates))
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// A keep-alive HTTP/1.1 client on one connection.
struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buffer: Vec::with_capacity(64 * 1024),
        }
    }

    /// Sends `request` and reads the whole response, which must be a 200 with a
    /// `content-length`.
    async fn call(&mut self, request: &[u8]) {
        self.stream.write_all(request).await.unwrap();
        self.buffer.clear();
        let mut chunk = [0u8; 16 * 1024];
        let (head_len, body_len) = loop {
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buffer[..end]).unwrap();
                assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().unwrap())
                    })
                    .expect("a content-length");
                break (end + 4, length);
            }
        };
        while self.buffer.len() < head_len + body_len {
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(self.buffer.len(), head_len + body_len);
    }
}
