//! `Store`: a handle on a backend (Valkey/Redis or embedded) that executes plans.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Value};
use tokio::time::{timeout_at, Instant};

use crate::embedded::Embedded;
use crate::plan::{Command, WRITE_SCRIPT};
use crate::registry::Registry;
use crate::{Error, Result};

/// Default deadline for one round trip: serving must never hang on a slow server.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Default deadline for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default number of entities per pipeline in batch operations.
pub const DEFAULT_PIPELINE_CHUNK: usize = 1_000;

/// A handle on a feature store: a Valkey or Redis server, or the in-process embedded backend.
///
/// Cheap to clone (an `Arc`); share one `Store` across all tasks and handlers. On a server it
/// holds one multiplexed connection that reconnects automatically after a failure; every round
/// trip has a deadline ([`StoreBuilder::response_timeout`]). Typed batch reads (`read_batch`) use
/// a small pool of extra connections, opened on first use, whose replies are decoded straight from
/// the socket buffer (plain TCP and unix sockets with RESP2; other setups use the main connection).
///
/// ```no_run
/// # async fn demo() -> fstore_runtime::Result<()> {
/// use std::time::Duration;
/// use fstore_runtime::Store;
///
/// let store = Store::connect("redis://127.0.0.1:6379").await?;
/// let tuned = Store::builder("unix:///run/valkey/valkey.sock")
///     .response_timeout(Duration::from_millis(200))
///     .pipeline_chunk_size(500)
///     .build()
///     .await?;
/// let in_process = Store::embedded();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    /// The registry of the dynamic API ([`Store::with_registry`]); clones share it.
    registry: Option<Arc<Registry>>,
}

struct Inner {
    backend: Backend,
    response_timeout: Duration,
    chunk: usize,
    /// Pipelines executed, for [`Store::round_trips`].
    round_trips: AtomicU64,
}

enum Backend {
    Server {
        conn: ConnectionManager,
        /// Host and port or socket path, without credentials.
        addr: String,
        /// Raw connections for batch reads; `None` where unsupported (TLS, RESP3).
        fast: Option<crate::fast::Pool>,
    },
    Embedded(Embedded),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .field("response_timeout", &self.inner.response_timeout)
            .field("pipeline_chunk_size", &self.inner.chunk)
            .field("registry", &self.registry.as_ref().map(|r| r.file.as_str()))
            .finish()
    }
}

impl Store {
    /// Connects to a Valkey or Redis server with default settings.
    ///
    /// `url` is `redis://[user:password@]host[:port][/db]`, or `unix:///path/to/socket`.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL; [`Error::Connection`] or [`Error::Timeout`] when the
    /// server cannot be reached within the connect timeout.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::builder(url).build().await
    }

    /// A builder for a server connection with non-default settings.
    pub fn builder(url: &str) -> StoreBuilder {
        StoreBuilder {
            url: url.to_owned(),
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            chunk: DEFAULT_PIPELINE_CHUNK,
        }
    }

    /// A store on the in-process embedded backend: no server, the same semantics (TTL included).
    ///
    /// Each call makes a new, empty store; clones of the returned `Store` share it.
    pub fn embedded() -> Store {
        Store {
            inner: Arc::new(Inner {
                backend: Backend::Embedded(Embedded::new()),
                response_timeout: DEFAULT_RESPONSE_TIMEOUT,
                chunk: DEFAULT_PIPELINE_CHUNK,
                round_trips: AtomicU64::new(0),
            }),
            registry: None,
        }
    }

    /// A handle on the same backend (sharing its connection) with `registry` attached, for the
    /// dynamic, registry-driven API: [`read`](Store::read), [`read_batch`](Store::read_batch),
    /// [`get_feature_vector`](Store::get_feature_vector) and [`write`](Store::write).
    ///
    /// `self` is left as it was; typed views work on both handles. Takes a [`Registry`] or an
    /// `Arc<Registry>` (to share one registry between stores without copying it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use fstore_runtime::registry::Registry;
    /// use fstore_runtime::{Store, Value};
    ///
    /// let registry = Registry::parse(r#"
    ///     [entities.user]
    ///     [views.user_profile]
    ///     entity = "user"
    ///     ttl = "1h"
    ///     [views.user_profile.features]
    ///     age = "int"
    /// "#, "features.toml")?;
    ///
    /// let plain = Store::embedded();
    /// let store = plain.with_registry(registry);
    /// store.write("user_profile", "user_123", &[("age", Value::Int(28))]).await?;
    ///
    /// // Same backend: the plain handle sees the data, but has no registry for the dynamic API.
    /// assert!(plain.registry().is_none());
    /// assert!(plain.read("user_profile", "user_123", None).await.is_err());
    /// assert_eq!(store.registry().unwrap().views[0].name, "user_profile");
    /// # Ok(()) }
    /// ```
    #[must_use = "`with_registry` returns a new handle and leaves `self` without a registry"]
    pub fn with_registry(&self, registry: impl Into<Arc<Registry>>) -> Store {
        Store {
            inner: Arc::clone(&self.inner),
            registry: Some(registry.into()),
        }
    }

    /// The registry attached with [`with_registry`](Store::with_registry), if any.
    ///
    /// ```
    /// let store = fstore_runtime::Store::embedded();
    /// assert!(store.registry().is_none());
    /// ```
    pub fn registry(&self) -> Option<&Registry> {
        self.registry.as_deref()
    }

    /// The store the environment variable `var` names: a server when it holds a URL, else the
    /// embedded backend (unset or empty). Handy for programs that run against Valkey in
    /// production and in-process in development: `Store::from_env("VALKEY_URL")`.
    ///
    /// # Errors
    /// As [`Store::connect`], when `var` holds a URL.
    pub async fn from_env(var: &str) -> Result<Store> {
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => Store::connect(&url).await,
            _ => Ok(Store::embedded()),
        }
    }

    /// The embedded backend's raw data, when this store runs on it.
    pub fn as_embedded(&self) -> Option<&Embedded> {
        match &self.inner.backend {
            Backend::Embedded(e) => Some(e),
            Backend::Server { .. } => None,
        }
    }

    /// A human-readable description of the backend: `valkey at 127.0.0.1:6379` or `embedded`.
    pub fn backend_name(&self) -> String {
        match &self.inner.backend {
            Backend::Server { addr, .. } => format!("server at {addr}"),
            Backend::Embedded(_) => "embedded (in-process)".to_owned(),
        }
    }

    /// How many entities a batch operation sends per pipeline.
    pub fn pipeline_chunk_size(&self) -> usize {
        self.inner.chunk
    }

    /// How many pipelines (round trips) this store and its clones have sent so far, whatever the
    /// backend: one per [`execute`](Self::execute) with commands, per `write_batch` transaction
    /// and per `read_batch` chunk. A write script reloaded after a server restart is not counted.
    /// For tests and metrics.
    pub fn round_trips(&self) -> u64 {
        self.inner.round_trips.load(Ordering::Relaxed)
    }

    /// The deadline of one round trip.
    pub fn response_timeout(&self) -> Duration {
        self.inner.response_timeout
    }

    /// The raw-connection pool of the batch-read path and the server's address, when this store
    /// has one.
    pub(crate) fn fast_pool(&self) -> Option<(&crate::fast::Pool, &str)> {
        match &self.inner.backend {
            Backend::Server {
                fast: Some(pool),
                addr,
                ..
            } => Some((pool, addr)),
            _ => None,
        }
    }

    /// Counts one round trip made outside [`execute`](Self::execute).
    pub(crate) fn count_round_trip(&self) {
        self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
    }

    /// Executes `commands` in one pipeline (one round trip) and returns one reply per command.
    ///
    /// Generated code calls this with the plans it builds; callers with plans of their own may
    /// too. Replies that are server errors are returned as [`Reply::ServerError`](crate::Reply::ServerError); transport
    /// failures are errors. Each command is atomic on its own; the pipeline as a whole is not.
    ///
    /// # Errors
    /// [`Error::Timeout`] when no answer arrives within the response timeout;
    /// [`Error::Connection`] when the connection fails and a reconnect does not help.
    pub async fn execute(&self, commands: &[Command]) -> Result<Vec<Value>> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
        match &self.inner.backend {
            Backend::Embedded(db) => Ok(db.execute(commands)),
            Backend::Server { conn, addr, .. } => {
                let mut replies = match commands {
                    // One command needs no pipeline (and no pipeline's bookkeeping).
                    [one] => {
                        self.round_trip(conn, addr, Request::One(&one.to_cmd()))
                            .await?
                    }
                    _ => {
                        let mut pipe = redis::Pipeline::with_capacity(commands.len());
                        for cmd in commands {
                            cmd.append_to(&mut pipe);
                        }
                        self.round_trip(conn, addr, Request::Many(&pipe)).await?
                    }
                };
                self.load_script_if_missing(conn, addr, commands, &mut replies)
                    .await?;
                Ok(replies)
            }
        }
    }

    /// Applies `writes` (all [`Command::Write`]) as one transaction: on a server, one pipeline
    /// `MULTI`, then `HSET` / `HDEL` / `PEXPIRE` per entity, then `EXEC`, so that the whole
    /// chunk is applied or (when the connection drops before `EXEC`) nothing is; no key is left
    /// without its expiry. Returns one reply per write, as [`execute`](Self::execute) would: the
    /// number of fields set, or the first server error of that entity's commands.
    pub(crate) async fn execute_writes(&self, writes: &[Command]) -> Result<Vec<Value>> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let Backend::Server { conn, addr, .. } = &self.inner.backend else {
            // The embedded backend applies a whole `execute` under one lock.
            return self.execute(writes).await;
        };
        self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
        let mut pipe = redis::Pipeline::with_capacity(writes.len() * 2);
        pipe.atomic();
        let mut counts = Vec::with_capacity(writes.len());
        for cmd in writes {
            counts.push(cmd.append_unscripted(&mut pipe));
        }
        let mut replies = self
            .round_trip(conn, addr, Request::Transaction(&pipe))
            .await?;
        let results = match replies.pop() {
            Some(Value::Array(results)) if results.len() == pipe.len() => results,
            // `EXECABORT` (a command was refused while queueing): every write failed with it.
            Some(error @ Value::ServerError(_)) => return Ok(vec![error; writes.len()]),
            other => {
                return Err(Error::UnexpectedReply {
                    command: "EXEC",
                    key: writes[0].key().to_owned(),
                    expected: "one result per queued command",
                    found: format!("{other:?}").chars().take(80).collect(),
                })
            }
        };
        let mut results = results.into_iter();
        Ok(counts
            .iter()
            .zip(writes)
            .map(|(&count, cmd)| {
                let mut reply = Value::Int(cmd.fields_set() as i64);
                for result in results.by_ref().take(count) {
                    if matches!(result, Value::ServerError(_))
                        && !matches!(reply, Value::ServerError(_))
                    {
                        reply = result;
                    }
                }
                reply
            })
            .collect())
    }

    /// After a server restart or `SCRIPT FLUSH` the write script is unknown: load it and resend
    /// the writes that were refused (they are idempotent), in one more round trip.
    async fn load_script_if_missing(
        &self,
        conn: &ConnectionManager,
        addr: &str,
        commands: &[Command],
        replies: &mut [Value],
    ) -> Result<()> {
        let missing: Vec<usize> = replies
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Value::ServerError(e) if e.code() == "NOSCRIPT"))
            .map(|(i, _)| i)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::Pipeline::with_capacity(missing.len() + 1);
        pipe.cmd("SCRIPT").arg("LOAD").arg(WRITE_SCRIPT);
        for &i in &missing {
            commands[i].append_to(&mut pipe);
        }
        let retried = self.round_trip(conn, addr, Request::Many(&pipe)).await?;
        // The first reply is SCRIPT LOAD's (the hash, or an error the writes will repeat).
        for (&i, reply) in missing.iter().zip(retried.into_iter().skip(1)) {
            replies[i] = reply;
        }
        Ok(())
    }

    /// One round trip with the deadline; a dropped connection is retried once within the same
    /// deadline, so that the first call after a server restart succeeds.
    async fn round_trip(
        &self,
        conn: &ConnectionManager,
        addr: &str,
        request: Request<'_>,
    ) -> Result<Vec<Value>> {
        let after = self.inner.response_timeout;
        let deadline = Instant::now() + after;
        let timeout = || Error::Timeout {
            op: match request {
                Request::One(_) => format!("a reply from {addr}"),
                Request::Many(pipe) | Request::Transaction(pipe) => {
                    format!("a pipeline of {} commands to {addr}", pipe.len())
                }
            },
            after,
        };
        let attempt = || {
            let mut conn = conn.clone();
            async move {
                match request {
                    Request::One(cmd) => conn.send_packed_command(cmd).await.map(|v| vec![v]),
                    Request::Many(pipe) => conn.send_packed_commands(pipe, 0, pipe.len()).await,
                    // Skip `MULTI`'s `OK` and one `QUEUED` per command; keep `EXEC`'s array.
                    Request::Transaction(pipe) => {
                        conn.send_packed_commands(pipe, pipe.len() + 1, 1).await
                    }
                }
            }
        };
        let first = timeout_at(deadline, attempt())
            .await
            .map_err(|_| timeout())?;
        let result = match first {
            Err(e) if is_reconnectable(&e) => timeout_at(deadline, attempt())
                .await
                .map_err(|_| timeout())?,
            other => other,
        };
        result.map_err(|e| connection_error(addr, e, after))
    }
}

/// What one round trip sends.
#[derive(Clone, Copy)]
enum Request<'a> {
    One(&'a redis::Cmd),
    Many(&'a redis::Pipeline),
    /// An atomic pipeline: only `EXEC`'s reply is returned.
    Transaction(&'a redis::Pipeline),
}

/// Errors after which a fresh connection may succeed.
fn is_reconnectable(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error()
}

fn connection_error(addr: &str, e: RedisError, after: Duration) -> Error {
    if e.is_timeout() {
        return Error::Timeout {
            op: format!("a reply from {addr}"),
            after,
        };
    }
    Error::Connection {
        addr: addr.to_owned(),
        source: e,
    }
}

/// Settings for a server connection; made by [`Store::builder`].
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is awaited"]
pub struct StoreBuilder {
    url: String,
    response_timeout: Duration,
    connect_timeout: Duration,
    chunk: usize,
}

impl fmt::Debug for StoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreBuilder")
            .field("url", &redact(&self.url))
            .field("response_timeout", &self.response_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("pipeline_chunk_size", &self.chunk)
            .finish()
    }
}

impl StoreBuilder {
    /// The deadline of one round trip (default 500 ms). A call that gets no answer in time
    /// returns [`Error::Timeout`]; the next call works as soon as the server answers again.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The deadline for establishing a connection (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many entities a batch operation sends per pipeline (default 1,000; at least 1).
    /// Larger batches are split into several pipelines, so that memory stays bounded by the
    /// results.
    pub fn pipeline_chunk_size(mut self, entities: usize) -> Self {
        self.chunk = entities.max(1);
        self
    }

    /// Connects and returns the store.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL; [`Error::Connection`] or [`Error::Timeout`] when the
    /// server cannot be reached within the connect timeout.
    pub async fn build(self) -> Result<Store> {
        let client = redis::Client::open(self.url.as_str()).map_err(|e| {
            Error::Config(format!(
                "cannot use {:?} as a server URL ({e}); expected redis://host:port or unix:///path",
                redact(&self.url)
            ))
        })?;
        let addr = client.get_connection_info().addr().to_string();
        let fast = crate::fast::Pool::new(client.get_connection_info(), self.connect_timeout);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            // Few, quick reconnect attempts: a call that finds the connection broken starts a
            // new attempt itself, so a long background retry only delays errors.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        let deadline = Instant::now() + self.connect_timeout;
        let conn = timeout_at(deadline, ConnectionManager::new_with_config(client, config))
            .await
            .map_err(|_| Error::Timeout {
                op: format!("a connection to {addr}"),
                after: self.connect_timeout,
            })?
            .map_err(|e| connection_error(&addr, e, self.connect_timeout))?;
        // Load the write script up front, so that the first writes need no second round trip.
        // A user without permission for SCRIPT (a read-only ACL user) can still read; writes
        // then report the server's refusal themselves.
        let load = redis::cmd("SCRIPT").arg("LOAD").arg(WRITE_SCRIPT).clone();
        let mut loader = conn.clone();
        let _ = timeout_at(
            Instant::now() + self.response_timeout,
            loader.send_packed_command(&load),
        )
        .await;
        Ok(Store {
            inner: Arc::new(Inner {
                backend: Backend::Server { conn, addr, fast },
                response_timeout: self.response_timeout,
                chunk: self.chunk,
                round_trips: AtomicU64::new(0),
            }),
            registry: None,
        })
    }
}

/// `url` with any password replaced by `***`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_passwords() {
        assert_eq!(redact("redis://u:secret@h:1"), "redis://u:***@h:1");
        assert_eq!(redact("redis://:secret@h"), "redis://:***@h");
        assert_eq!(redact("redis://h:1/0"), "redis://h:1/0");
    }
}
