//! `Store`: a handle on a backend (Valkey/Redis or embedded) that executes plans.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Value};
use tokio::time::{timeout_at, Instant};

use crate::cluster::Cluster;
use crate::embedded::Embedded;
use crate::plan::{Command, WRITE_SCRIPT};
use crate::registry::Registry;
use crate::{Error, KeyLayout, Result};

/// Default deadline for one round trip: serving must never hang on a slow server.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Default deadline for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default number of entities per pipeline in batch operations.
pub const DEFAULT_PIPELINE_CHUNK: usize = 1_000;

/// A handle on a feature store: a Valkey or Redis server, a Valkey Cluster, or the in-process
/// embedded backend.
///
/// Cheap to clone (an `Arc`); share one `Store` across all tasks and handlers. On a server it
/// holds one multiplexed connection that reconnects automatically after a failure; every round
/// trip has a deadline ([`StoreBuilder::response_timeout`]). Typed batch reads and batch writes
/// (`read_batch`, `write_batch`) use a small pool of extra connections, opened on first use, whose
/// replies are decoded straight from the socket buffer (plain TCP and unix sockets with RESP2;
/// other setups use the main connection).
///
/// On a cluster ([`Store::connect_cluster`]) the same operations run unchanged: single commands
/// are routed by key, batches are split by shard and sent to all shards at once, writes are one
/// transaction per entity, and a call that meets a failover is retried within its deadline.
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
/// let cluster = Store::connect_cluster(&["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]).await?;
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
    layout: KeyLayout,
    /// Pipelines executed, for [`Store::round_trips`].
    round_trips: AtomicU64,
}

enum Backend {
    Server(Box<Server>),
    Cluster(Cluster),
    Embedded(Embedded),
}

/// One Valkey or Redis server.
struct Server {
    /// Set once connected; a lazily built store connects on first use.
    conn: tokio::sync::OnceCell<ConnectionManager>,
    client: redis::Client,
    config: ConnectionManagerConfig,
    connect_timeout: Duration,
    /// Host and port or socket path, without credentials.
    addr: String,
    /// Raw connections for batch reads; `None` where unsupported (TLS, RESP3).
    fast: Option<crate::fast::Pool>,
    /// `WAIT` for this many replicas, this long, after writes.
    wait: Option<(usize, Duration)>,
}

impl Server {
    /// The connection, made now if this is the first use of a lazily built store (or an earlier
    /// attempt failed).
    async fn conn(&self) -> Result<&ConnectionManager> {
        self.conn
            .get_or_try_init(|| async {
                let deadline = Instant::now() + self.connect_timeout;
                let connect =
                    ConnectionManager::new_with_config(self.client.clone(), self.config.clone());
                let conn = timeout_at(deadline, connect)
                    .await
                    .map_err(|_| Error::Timeout {
                        op: format!("a connection to {}", self.addr),
                        after: self.connect_timeout,
                    })?
                    .map_err(|e| redis_error(&self.addr, e, None, self.connect_timeout))?;
                // One round trip: PING, so that a server that requires a password (it answers
                // every command but AUTH with NOAUTH) is reported now rather than at the first
                // read; and the write script, so that the first writes need no second round
                // trip. A user without permission for SCRIPT (a read-only ACL user) can still
                // read; writes then report the server's refusal themselves. The manager's own
                // response timeout bounds the round trip.
                let mut setup = redis::pipe();
                setup.cmd("PING");
                setup.cmd("SCRIPT").arg("LOAD").arg(WRITE_SCRIPT);
                let replies = conn.clone().send_packed_commands(&setup, 0, 2).await;
                if let Ok([Value::ServerError(e), ..]) = replies.as_deref() {
                    if e.code() == "NOAUTH" {
                        return Err(Error::Auth {
                            addr: self.addr.clone(),
                            message: format!("{e}; the server requires a password"),
                        });
                    }
                }
                Ok(conn)
            })
            .await
    }
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
        StoreBuilder::new(vec![url.to_owned()], false)
    }

    /// Connects to a Valkey (or Redis) Cluster with default settings, given the URLs of one or
    /// more of its nodes (`redis://host:port`, or `rediss://` with the `tls` feature); the
    /// client discovers the others.
    ///
    /// The typed and dynamic operations run unchanged: single commands are routed by key, and
    /// batches are split by shard, sent to all shards at once, and answered in input order.
    ///
    /// # Errors
    /// As [`StoreBuilder::build`].
    pub async fn connect_cluster<S: AsRef<str>>(urls: &[S]) -> Result<Store> {
        Store::cluster_builder(urls).build().await
    }

    /// A builder for a cluster connection with non-default settings, such as
    /// [`read_from_replicas`](StoreBuilder::read_from_replicas) or
    /// [`hash_tag_entities`](StoreBuilder::hash_tag_entities).
    ///
    /// ```no_run
    /// # async fn demo() -> fstore_runtime::Result<()> {
    /// use std::time::Duration;
    /// use fstore_runtime::Store;
    ///
    /// let store = Store::cluster_builder(&["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"])
    ///     .hash_tag_entities(true)
    ///     .read_from_replicas(true)
    ///     .wait_for_replicas(1, Duration::from_millis(100))
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn cluster_builder<S: AsRef<str>>(urls: &[S]) -> StoreBuilder {
        StoreBuilder::new(urls.iter().map(|u| u.as_ref().to_owned()).collect(), true)
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
                layout: KeyLayout::Plain,
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
            Backend::Server(_) | Backend::Cluster(_) => None,
        }
    }

    /// A human-readable description of the backend, without credentials: `server at
    /// 127.0.0.1:6379`, `cluster of 10.0.0.1:6379, 10.0.0.2:6379` or `embedded (in-process)`.
    pub fn backend_name(&self) -> String {
        match &self.inner.backend {
            Backend::Server(server) => format!("server at {}", server.addr),
            Backend::Cluster(cluster) => format!("cluster of {}", cluster.addrs),
            Backend::Embedded(_) => "embedded (in-process)".to_owned(),
        }
    }

    /// How entity ids are placed in keys ([`StoreBuilder::hash_tag_entities`]).
    pub fn key_layout(&self) -> KeyLayout {
        self.inner.layout
    }

    /// How many entities a batch operation sends per pipeline.
    pub fn pipeline_chunk_size(&self) -> usize {
        self.inner.chunk
    }

    /// How many pipelines (round trips) this store and its clones have sent so far, whatever the
    /// backend: one per [`execute`](Self::execute) with commands, per `write_batch` transaction
    /// and per `read_batch` chunk. A write script reloaded after a server restart is not counted.
    /// On a cluster, one such call counts once although it sends one pipeline per shard (at the
    /// same time), and its resends after a failover are not counted. For tests and metrics.
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
            Backend::Server(server) => server
                .fast
                .as_ref()
                .map(|pool| (pool, server.addr.as_str())),
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
            Backend::Cluster(cluster) => {
                cluster.execute(commands, self.inner.response_timeout).await
            }
            Backend::Server(server) => {
                let mut replies = match commands {
                    // One command needs no pipeline (and no pipeline's bookkeeping).
                    [one] => {
                        self.round_trip(server, commands, Request::One(&one.to_cmd()))
                            .await?
                    }
                    _ => {
                        let mut pipe = redis::Pipeline::with_capacity(commands.len());
                        for cmd in commands {
                            cmd.append_to(&mut pipe);
                        }
                        self.round_trip(server, commands, Request::Many(&pipe))
                            .await?
                    }
                };
                self.load_script_if_missing(server, commands, &mut replies)
                    .await?;
                let writes = commands.iter().any(|c| matches!(c, Command::Write(_)));
                if writes && replies.iter().all(|r| !matches!(r, Value::ServerError(_))) {
                    self.wait_for_replicas(server, commands).await?;
                }
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
        let Backend::Server(server) = &self.inner.backend else {
            // The embedded backend applies a whole `execute` under one lock; a cluster makes one
            // transaction per entity, as a transaction cannot span slots.
            return self.execute(writes).await;
        };
        self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
        // The raw connections, unless a `WAIT` must follow on the connection that wrote.
        if let (Some(pool), None) = (&server.fast, server.wait) {
            let after = self.inner.response_timeout;
            return crate::fast::transaction(pool, &server.addr, after, writes).await;
        }
        let mut pipe = redis::Pipeline::with_capacity(writes.len() * 3 + 2);
        let counts = crate::plan::append_transaction(&mut pipe, writes);
        let replies = self
            .round_trip(server, writes, Request::Many(&pipe))
            .await?;
        let replies = crate::plan::transaction_replies(writes, &counts, &replies)?;
        if replies.iter().all(|r| !matches!(r, Value::ServerError(_))) {
            self.wait_for_replicas(server, writes).await?;
        }
        Ok(replies)
    }

    /// After a server restart or `SCRIPT FLUSH` the write script is unknown: load it and resend
    /// the writes that were refused (they are idempotent), in one more round trip.
    async fn load_script_if_missing(
        &self,
        server: &Server,
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
        let retried = self
            .round_trip(server, commands, Request::Many(&pipe))
            .await?;
        // The first reply is SCRIPT LOAD's (the hash, or an error the writes will repeat).
        for (&i, reply) in missing.iter().zip(retried.into_iter().skip(1)) {
            replies[i] = reply;
        }
        Ok(())
    }

    /// With [`StoreBuilder::wait_for_replicas`]: `WAIT` until enough replicas acknowledged the
    /// writes just sent on the connection.
    async fn wait_for_replicas(&self, server: &Server, writes: &[Command]) -> Result<()> {
        let Some(wait) = server.wait else {
            return Ok(());
        };
        let wait_cmd = crate::plan::wait_command(wait);
        let reply = self
            .round_trip(server, writes, Request::One(&wait_cmd))
            .await?;
        let writes: Vec<&Command> = writes.iter().collect();
        crate::plan::check_replicated(wait.0, reply.first(), &writes)
    }

    /// One round trip with the deadline; a dropped connection is retried once within the same
    /// deadline, so that the first call after a server restart succeeds. `commands` are what the
    /// request carries, for error messages.
    async fn round_trip(
        &self,
        server: &Server,
        commands: &[Command],
        request: Request<'_>,
    ) -> Result<Vec<Value>> {
        let addr = server.addr.as_str();
        let conn = server.conn().await?;
        let after = self.inner.response_timeout;
        let deadline = Instant::now() + after;
        let timeout = || Error::Timeout {
            op: match request {
                Request::One(_) => format!("a reply from {addr}"),
                Request::Many(pipe) => {
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
        result.map_err(|e| redis_error(addr, e, commands.first(), after))
    }
}

/// What one round trip sends.
#[derive(Clone, Copy)]
enum Request<'a> {
    One(&'a redis::Cmd),
    Many(&'a redis::Pipeline),
}

/// Errors after which a fresh connection may succeed.
fn is_reconnectable(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error()
}

/// The error for a client error talking to `addr` (a server, or a cluster's seed list) while
/// sending `command`: [`Error::Auth`] for refused credentials, [`Error::PermissionDenied`] for a
/// `NOPERM`, [`Error::Timeout`] for the client's own deadline, else [`Error::Connection`].
pub(crate) fn redis_error(
    addr: &str,
    e: RedisError,
    command: Option<&Command>,
    after: Duration,
) -> Error {
    // The cluster client reports a failed first connection as an I/O error whose text is the
    // node's error: the kind is lost, only the words remain.
    let cluster_auth = e.kind() == redis::ErrorKind::Io && {
        let text = e.to_string();
        text.contains("Failed to create initial connections")
            && ["AuthenticationFailed", "WRONGPASS", "NOAUTH"]
                .iter()
                .any(|w| text.contains(w))
    };
    if cluster_auth
        || e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH"))
    {
        return Error::Auth {
            addr: addr.to_owned(),
            message: e.to_string(),
        };
    }
    if e.code() == Some("NOPERM") {
        return Error::PermissionDenied {
            command: command.map_or("the connection setup", Command::name),
            key: command.map(Command::key).unwrap_or_default().to_owned(),
            message: e.to_string(),
        };
    }
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

/// Settings for a server or cluster connection; made by [`Store::builder`] or
/// [`Store::cluster_builder`].
///
/// Credentials come from the URL (`redis://user:password@host:6379`) or from
/// [`username`](Self::username) / [`password`](Self::password), which take precedence. They never
/// appear in `Debug` output, in [`Store::backend_name`] or in error messages.
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is awaited"]
pub struct StoreBuilder {
    urls: Vec<String>,
    cluster: bool,
    username: Option<String>,
    password: Option<String>,
    response_timeout: Duration,
    connect_timeout: Duration,
    chunk: usize,
    layout: KeyLayout,
    read_from_replicas: bool,
    wait: Option<(usize, Duration)>,
    lazy: bool,
    #[cfg(feature = "tls")]
    root_cert: Option<Vec<u8>>,
    #[cfg(feature = "tls")]
    client_cert: Option<(Vec<u8>, Vec<u8>)>,
}

impl fmt::Debug for StoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<String> = self.urls.iter().map(|u| redact(u)).collect();
        let mut d = f.debug_struct("StoreBuilder");
        d.field("urls", &urls)
            .field("cluster", &self.cluster)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("response_timeout", &self.response_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("pipeline_chunk_size", &self.chunk)
            .field("key_layout", &self.layout)
            .field("read_from_replicas", &self.read_from_replicas)
            .field("wait_for_replicas", &self.wait)
            .field("connect_lazily", &self.lazy);
        #[cfg(feature = "tls")]
        d.field("tls_root_certificate", &self.root_cert.is_some())
            .field("tls_client_certificate", &self.client_cert.is_some());
        d.finish()
    }
}

impl StoreBuilder {
    fn new(urls: Vec<String>, cluster: bool) -> StoreBuilder {
        StoreBuilder {
            urls,
            cluster,
            username: None,
            password: None,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            chunk: DEFAULT_PIPELINE_CHUNK,
            layout: KeyLayout::Plain,
            read_from_replicas: false,
            wait: None,
            lazy: false,
            #[cfg(feature = "tls")]
            root_cert: None,
            #[cfg(feature = "tls")]
            client_cert: None,
        }
    }

    /// The deadline of one round trip (default 500 ms). A call that gets no answer in time
    /// returns [`Error::Timeout`]; the next call works as soon as the server answers again. On a
    /// cluster it bounds the whole call, retries after a failover included.
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
    /// results. On a cluster a pipeline is further split by shard.
    pub fn pipeline_chunk_size(mut self, entities: usize) -> Self {
        self.chunk = entities.max(1);
        self
    }

    /// The ACL username, instead of the URL's.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The password, instead of the URL's. Never shown in `Debug` output or errors.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Puts entity ids in a cluster hash tag: `fs:v1:user_profile:{user_123}` instead of
    /// `fs:v1:user_profile:user_123` (default `false`).
    ///
    /// Every view of one entity then lives in one slot, on one node: a multi-view
    /// [`vector`](crate::vector::vector) of one entity is one pipeline to one node instead of
    /// one per view, and an entity's views fail over together. The trade-off: keys are spread by
    /// entity only, so one very hot entity loads one node with all its views; and the layout is
    /// part of the data format, so every reader and writer of the data (a Python job included)
    /// must use the same one; switching it is a migration. Works on a single server too.
    pub fn hash_tag_entities(mut self, enabled: bool) -> Self {
        self.layout = if enabled {
            KeyLayout::HashTag
        } else {
            KeyLayout::Plain
        };
        self
    }

    /// Cluster only: sends reads to replicas (default `false`: primaries). Spreads the read load,
    /// at the price of reading data a few milliseconds behind the primary's (asynchronous
    /// replication). Writes always go to primaries.
    pub fn read_from_replicas(mut self, enabled: bool) -> Self {
        self.read_from_replicas = enabled;
        self
    }

    /// After every write (each pipeline of a batch), waits up to `timeout` until `replicas`
    /// replicas have acknowledged it (`WAIT`); fewer in time is [`Error::NotReplicated`]
    /// (default: no wait). Valkey replicates asynchronously: without this, a write acknowledged
    /// by a primary that dies a moment later may be missing on the replica that takes over.
    /// Keep `timeout` below the [`response_timeout`](Self::response_timeout).
    pub fn wait_for_replicas(mut self, replicas: usize, timeout: Duration) -> Self {
        self.wait = (replicas > 0).then_some((replicas, timeout));
        self
    }

    /// Builds the store without connecting (default `false`): [`build`](Self::build) then fails
    /// only for a bad configuration, and the connection is made on first use, retried by each
    /// call until the server is up. For services that may start before their Valkey does. Not
    /// for clusters, whose client needs the topology up front.
    pub fn connect_lazily(mut self, enabled: bool) -> Self {
        self.lazy = enabled;
        self
    }

    /// Trusts the certificate authority `pem` (PEM bytes) for `rediss://` URLs, instead of the
    /// system's roots: for servers with certificates of a private CA.
    #[cfg(feature = "tls")]
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_cert = Some(pem.into());
        self
    }

    /// Presents this client certificate and private key (PEM bytes) for mutual TLS
    /// (`tls-auth-clients yes` on the server).
    #[cfg(feature = "tls")]
    pub fn tls_client_certificate(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_cert = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Connects and returns the store.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL (or `rediss://` without the `tls` feature);
    /// [`Error::Auth`] for refused credentials; [`Error::Connection`] or [`Error::Timeout`] when
    /// the server cannot be reached within the connect timeout (not with
    /// [`connect_lazily`](Self::connect_lazily)).
    pub async fn build(self) -> Result<Store> {
        let backend = if self.cluster {
            Backend::Cluster(self.build_cluster().await?)
        } else {
            let server = self.build_server()?;
            if !self.lazy {
                server.conn().await?;
            }
            Backend::Server(Box::new(server))
        };
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                response_timeout: self.response_timeout,
                chunk: self.chunk,
                layout: self.layout,
                round_trips: AtomicU64::new(0),
            }),
            registry: None,
        })
    }

    /// The connection info of `url`, with the builder's credentials.
    fn connection_info(&self, url: &str) -> Result<redis::ConnectionInfo> {
        use redis::IntoConnectionInfo as _;
        if !cfg!(feature = "tls") && url.starts_with("rediss:") {
            return Err(Error::Config(format!(
                "{:?} is a TLS URL, but fstore was built without TLS; enable its `tls` feature",
                redact(url)
            )));
        }
        let info = url.into_connection_info().map_err(|e| {
            Error::Config(format!(
                "cannot use {:?} as a server URL ({e}); expected redis://host:port, \
                 rediss://host:port or unix:///path",
                redact(url)
            ))
        })?;
        let mut settings = info.redis_settings().clone();
        if let Some(user) = &self.username {
            settings = settings.set_username(user);
        }
        if let Some(password) = &self.password {
            settings = settings.set_password(password);
        }
        Ok(info.set_redis_settings(settings))
    }

    fn build_server(&self) -> Result<Server> {
        let [url] = self.urls.as_slice() else {
            return Err(Error::Config(format!(
                "a server store takes one URL, not {}; use Store::cluster_builder for a cluster",
                self.urls.len()
            )));
        };
        let info = self.connection_info(url)?;
        let addr = info.addr().to_string();
        let client = self.client(info.clone())?;
        let fast = crate::fast::Pool::new(&info, self.connect_timeout);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            // Few, quick reconnect attempts: a call that finds the connection broken starts a
            // new attempt itself, so a long background retry only delays errors.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        Ok(Server {
            conn: tokio::sync::OnceCell::new(),
            client,
            config,
            connect_timeout: self.connect_timeout,
            addr,
            fast,
            wait: self.wait,
        })
    }

    #[cfg(feature = "tls")]
    fn client(&self, info: redis::ConnectionInfo) -> Result<redis::Client> {
        let certs = redis::TlsCertificates {
            client_tls: self.client_cert.clone().map(|(client_cert, client_key)| {
                redis::ClientTlsConfig {
                    client_cert,
                    client_key,
                }
            }),
            root_cert: self.root_cert.clone(),
        };
        let addr = info.addr().to_string();
        if certs.client_tls.is_none() && certs.root_cert.is_none() {
            return redis::Client::open(info).map_err(|e| tls_config_error(&addr, e));
        }
        redis::Client::build_with_tls(info, certs).map_err(|e| tls_config_error(&addr, e))
    }

    #[cfg(not(feature = "tls"))]
    fn client(&self, info: redis::ConnectionInfo) -> Result<redis::Client> {
        let addr = info.addr().to_string();
        redis::Client::open(info)
            .map_err(|e| Error::Config(format!("cannot connect to {addr}: {e}")))
    }

    async fn build_cluster(&self) -> Result<Cluster> {
        use redis::cluster::ClusterClientBuilder;
        if self.urls.is_empty() {
            return Err(Error::Config(
                "a cluster store needs the URL of at least one node".to_owned(),
            ));
        }
        if self.lazy {
            return Err(Error::Config(
                "connect_lazily is for single servers; a cluster client needs the topology up front"
                    .to_owned(),
            ));
        }
        let infos = self
            .urls
            .iter()
            .map(|u| self.connection_info(u))
            .collect::<Result<Vec<_>>>()?;
        let addrs = infos
            .iter()
            .map(|i| i.addr().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let first = infos[0].redis_settings().clone();
        let mut builder = ClusterClientBuilder::new(infos)
            .connection_timeout(self.connect_timeout)
            .response_timeout(self.response_timeout)
            // Quick retries: the call's own deadline bounds them, and a failover takes seconds.
            .retries(4)
            .min_retry_wait(10)
            .max_retry_wait(100);
        if let Some(user) = first.username() {
            builder = builder.username(user);
        }
        if let Some(password) = first.password() {
            builder = builder.password(password);
        }
        if self.read_from_replicas {
            builder = builder.read_routing_strategy(
                redis::cluster_read_routing::RoundRobinReplicaStrategy::default(),
            );
        }
        #[cfg(feature = "tls")]
        {
            if self.root_cert.is_some() || self.client_cert.is_some() {
                builder = builder.certs(redis::TlsCertificates {
                    client_tls: self.client_cert.clone().map(|(client_cert, client_key)| {
                        redis::ClientTlsConfig {
                            client_cert,
                            client_key,
                        }
                    }),
                    root_cert: self.root_cert.clone(),
                });
            }
        }
        let client = builder
            .build()
            .map_err(|e| Error::Config(format!("cannot use the cluster nodes {addrs}: {e}")))?;
        let deadline = Instant::now() + self.connect_timeout;
        let conn = timeout_at(deadline, client.get_async_connection())
            .await
            .map_err(|_| Error::Timeout {
                op: format!("a connection to the cluster of {addrs}"),
                after: self.connect_timeout,
            })?
            .map_err(|e| redis_error(&addrs, e, None, self.connect_timeout))?;
        Ok(Cluster::new(
            conn,
            addrs,
            self.read_from_replicas,
            self.wait,
        ))
    }
}

#[cfg(feature = "tls")]
fn tls_config_error(addr: &str, e: RedisError) -> Error {
    Error::Config(format!(
        "cannot set up TLS for {addr}: {e}; the certificates must be PEM"
    ))
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
