#![allow(dead_code)]
//! The behaviour-suite harness: the same test body runs against a throwaway `valkey-server` and
//! against the embedded backend, so that the embedded backend cannot drift from the server.
//!
//! `both!(name, body)` defines `name::valkey` and `name::embedded`, each calling `body(harness)`.

use std::collections::BTreeMap;
use std::time::Duration;

use fstore::{FeatureView, Store};
use redis::AsyncCommands;

use crate::support::cluster::TestCluster;
use crate::support::TestServer;

/// A store under test plus raw access to its data, as another writer would have.
pub struct Harness {
    pub store: Store,
    server: Option<TestServer>,
    cluster: Option<TestCluster>,
    raw: Option<Raw>,
}

/// A raw connection to the data: to the server, or a cluster client that routes by key.
#[derive(Clone)]
enum Raw {
    Server(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

/// Runs `$body` with `$conn` bound to the raw connection, whichever kind it is.
macro_rules! with_raw {
    ($raw:expr, |$conn:ident| $body:expr) => {
        match $raw.clone() {
            Raw::Server(mut $conn) => $body,
            Raw::Cluster(mut $conn) => $body,
        }
    };
}

impl Harness {
    /// A fresh `valkey-server` and a store connected to it (generous timeout: tests share 2 cores).
    pub async fn valkey() -> Harness {
        Harness::valkey_with(|b| b).await
    }

    /// As [`valkey`](Self::valkey), with builder settings.
    pub async fn valkey_with(
        configure: impl FnOnce(fstore::StoreBuilder) -> fstore::StoreBuilder,
    ) -> Harness {
        let server = TestServer::start();
        let builder = Store::builder(&server.url()).response_timeout(Duration::from_secs(5));
        let store = configure(builder).build().await.unwrap();
        let raw = server
            .client()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        Harness {
            store,
            server: Some(server),
            cluster: None,
            raw: Some(Raw::Server(raw)),
        }
    }

    /// A fresh Valkey Cluster (three primaries, one replica each) and a store connected to it.
    pub async fn cluster() -> Harness {
        Harness::cluster_with(|b| b).await
    }

    /// As [`cluster`](Self::cluster), with builder settings.
    pub async fn cluster_with(
        configure: impl FnOnce(fstore::StoreBuilder) -> fstore::StoreBuilder,
    ) -> Harness {
        // Healthy: replication links up too, so that replicas are in `CLUSTER SLOTS` for the client.
        let cluster = tokio::task::spawn_blocking(|| {
            let cluster = TestCluster::start();
            cluster.wait_healthy();
            cluster
        })
        .await
        .unwrap();
        let builder =
            Store::cluster_builder(&cluster.urls()).response_timeout(Duration::from_secs(5));
        let store = configure(builder).build().await.unwrap();
        let raw = cluster
            .cluster_client()
            .get_async_connection()
            .await
            .unwrap();
        Harness {
            store,
            server: None,
            cluster: Some(cluster),
            raw: Some(Raw::Cluster(raw)),
        }
    }

    /// The embedded backend.
    pub fn embedded() -> Harness {
        Harness {
            store: Store::embedded(),
            server: None,
            cluster: None,
            raw: None,
        }
    }

    pub fn is_embedded(&self) -> bool {
        self.raw.is_none()
    }

    pub fn is_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// The URL of every cluster node.
    pub fn cluster_urls(&self) -> Vec<String> {
        self.cluster.as_ref().expect("a cluster harness").urls()
    }

    /// A plain connection to the first running cluster node, for commands without a key.
    pub fn cluster_conn(&self) -> redis::Connection {
        let cluster = self.cluster.as_ref().expect("a cluster harness");
        let port = cluster.primaries()[0];
        cluster.conn(port)
    }

    /// The cluster, for cluster tests.
    pub fn test_cluster(&mut self) -> &mut TestCluster {
        self.cluster.as_mut().expect("a cluster harness")
    }

    /// `HSET key f v …` as another writer (a Python job) would do it: no TTL, no `_updated_at`.
    pub async fn hset(&self, key: &str, fields: &[(&str, &[u8])]) {
        match &self.raw {
            Some(raw) => with_raw!(raw, |conn| {
                let _: () = conn.hset_multiple(key, fields).await.unwrap();
            }),
            None => self.store.as_embedded().unwrap().hset(key, fields),
        }
    }

    /// The raw hash of `key`, sorted by field.
    pub async fn hgetall(&self, key: &str) -> Vec<(String, Vec<u8>)> {
        match &self.raw {
            Some(raw) => with_raw!(raw, |conn| {
                let mut all: Vec<(String, Vec<u8>)> = conn.hgetall(key).await.unwrap();
                all.sort();
                all
            }),
            None => self.store.as_embedded().unwrap().hgetall(key),
        }
    }

    /// `PTTL key` in milliseconds: -2 when absent, -1 without expiry.
    pub async fn pttl(&self, key: &str) -> i64 {
        match &self.raw {
            Some(raw) => with_raw!(raw, |conn| conn.pttl(key).await.unwrap()),
            None => match self.store.as_embedded().unwrap().pttl(key) {
                None => -2,
                Some(None) => -1,
                Some(Some(d)) => d.as_millis() as i64,
            },
        }
    }

    /// Every live key, sorted.
    pub async fn keys(&self) -> Vec<String> {
        match &self.raw {
            // On a cluster, KEYS goes to every primary and the answers are joined.
            Some(raw) => with_raw!(raw, |conn| {
                let mut keys: Vec<String> = conn.keys("*").await.unwrap();
                keys.sort();
                keys
            }),
            None => self.store.as_embedded().unwrap().keys(),
        }
    }

    /// `SET key value`: a key of the wrong type for a hash read.
    pub async fn set_string(&self, key: &str, value: &str) {
        match &self.raw {
            Some(raw) => with_raw!(raw, |conn| {
                let _: () = conn.set(key, value).await.unwrap();
            }),
            None => panic!("the embedded backend stores hashes only"),
        }
    }

    /// Asserts that every key has an expiry of at most `ttl`.
    pub async fn assert_every_key_expires(&self, ttl: Duration) {
        let keys = self.keys().await;
        assert!(!keys.is_empty(), "no keys were written");
        for key in keys {
            let pttl = self.pttl(&key).await;
            assert!(
                pttl > 0 && pttl <= ttl.as_millis() as i64,
                "`{key}` has PTTL {pttl}, expected an expiry within {ttl:?}"
            );
        }
    }

    /// The server, for fault tests.
    pub fn server(&mut self) -> &mut TestServer {
        self.server.as_mut().expect("a valkey harness")
    }
}

/// Defines `mod $name` with one test per `backend => harness`, each running `$body(harness)`.
#[macro_export]
macro_rules! backend_tests {
    ($name:ident, $body:ident, $($backend:ident => $harness:expr),+ $(,)?) => {
        mod $name {
            $(
                #[tokio::test]
                async fn $backend() {
                    super::$body($harness).await;
                }
            )+
        }
    };
}

/// Defines `$name::valkey`, `$name::embedded` and `$name::cluster` running `$body(harness).await`.
#[macro_export]
macro_rules! all_backends {
    ($name:ident, $body:ident) => {
        $crate::backend_tests!(
            $name,
            $body,
            valkey => $crate::behaviour::Harness::valkey().await,
            embedded => $crate::behaviour::Harness::embedded(),
            cluster => $crate::behaviour::Harness::cluster().await,
        );
    };
}

/// Defines `$name::valkey` and `$name::embedded` running `$body(harness).await`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:ident) => {
        $crate::backend_tests!(
            $name,
            $body,
            valkey => $crate::behaviour::Harness::valkey().await,
            embedded => $crate::behaviour::Harness::embedded(),
        );
    };
}

/// The example view of the issue, with every kind of field.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "user_profile", ttl = "1h")]
pub struct UserProfile {
    pub age: i64,
    pub lifetime_value: f64,
    pub segment: String,
    #[fstore(default = false)]
    pub is_premium: bool,
    pub country: Option<String>,
    #[fstore(rename = "days_since_signup")]
    pub tenure_days: i64,
}

impl UserProfile {
    pub fn sample(i: i64) -> UserProfile {
        UserProfile {
            age: 20 + i % 50,
            lifetime_value: 100.25 * i as f64,
            segment: ["basic", "premium", "vip"][(i % 3) as usize].to_owned(),
            is_premium: i % 2 == 0,
            country: (i % 4 != 0).then(|| "DE".to_owned()),
            tenure_days: i * 7,
        }
    }
}

/// A projection of `user_profile`: two of its features.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "user_profile", ttl = "1h")]
pub struct AgeAndValue {
    pub age: i64,
    pub lifetime_value: f64,
}

pub fn key_of<T: FeatureView>(id: &str) -> String {
    T::key(id).unwrap()
}

impl Harness {
    /// The server's URL (valkey harness only).
    pub fn store_url(&self) -> String {
        self.server.as_ref().expect("a valkey harness").url()
    }

    /// Writes `UserProfile::sample(i)` as `user_000`, `user_001`, … for `i` in `0..n`.
    pub async fn seed_samples(&self, n: i64) {
        let rows: Vec<(String, UserProfile)> = (0..n)
            .map(|i| (format!("user_{i:03}"), UserProfile::sample(i)))
            .collect();
        UserProfile::write_batch(&self.store, rows).await.unwrap();
    }

    /// A separate connection for admin commands (valkey harness only).
    pub async fn admin(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.store_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// `CONFIG RESETSTAT`: start counting commands afresh (valkey harness only).
    pub async fn reset_command_stats(&self) {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut self.admin().await)
            .await
            .unwrap();
    }

    /// Calls per command since the last reset, from `INFO commandstats` (which also counts the
    /// commands a script runs), without the admin connections' own `INFO`, `CONFIG RESETSTAT` and
    /// `CLIENT SETINFO`:
    /// e.g. `{"hmget": 3, "evalsha": 1}`.
    pub async fn command_calls(&self) -> BTreeMap<String, u64> {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut self.admin().await)
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
            .filter(|(name, _)| {
                name != "info" && name != "config|resetstat" && !name.starts_with("client|")
            })
            .collect()
    }
}

/// The repository's features.toml.
pub fn root_registry() -> fstore::registry::Registry {
    fstore::registry::Registry::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/features.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A vector over `user_profile` only: two features, one renamed.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
pub struct ProfileVector {
    #[fstore(view = "user_profile")]
    pub age: i64,
    #[fstore(view = "user_profile", rename = "days_since_signup")]
    pub tenure_days: i64,
}

/// `connected_clients` of the server, as `INFO clients` reports it over `admin`.
pub async fn connected_clients(admin: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("clients")
        .query_async(admin)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

/// Sends `DEBUG SLEEP seconds` from a connection of its own (the server must run with
/// `--enable-debug-command yes`): the whole server is blocked until it wakes up. The task ends
/// then, with the command's result.
pub fn debug_sleep(
    client: redis::Client,
    seconds: f64,
) -> tokio::task::JoinHandle<redis::RedisResult<()>> {
    tokio::spawn(async move {
        // No client-side deadline: this task ends when the server wakes up.
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(seconds)
            .query_async(&mut conn)
            .await
    })
}
