//! `Store`: a handle on a backend (Valkey/Redis or embedded) that executes plans.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{timeout_at, Instant};

use crate::attached::Attached;
use crate::backend::redis_client::{self, redact, Certificates, Managed};
use crate::backend::{Backend, Cluster, Embedded, Server};
use crate::command::{Command, Outcomes};
use crate::error::{BatchWriteError, WriteOutcome};
use crate::exchange::Read;
use crate::registry::Registry;
use crate::reply::Reply;
use crate::transport::Pool;
use crate::{Error, KeyLayout, Result};

/// Default deadline for one round trip: serving must never hang on a slow server.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Default deadline for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default number of idle connections a store keeps per node ([`StoreBuilder::pool_size`]).
pub const DEFAULT_POOL_SIZE: usize = 64;
/// Default number of entities per pipeline in batch operations.
pub const DEFAULT_PIPELINE_CHUNK: usize = 1_000;

/// A handle on a feature store: a Valkey or Redis server, a Valkey Cluster, or the in-process
/// embedded backend.
///
/// Cheap to clone (an `Arc`); share one `Store` across all tasks and handlers. On a server it
/// keeps a small pool of connections, opened on demand, whose replies are decoded straight
/// from the socket buffer (`rediss://` goes through the `redis` crate's connection); a dead
/// connection is replaced by the next call, and every round trip has a deadline
/// ([`StoreBuilder::response_timeout`]).
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
    registry: Option<Arc<Attached>>,
    /// Writes of a string outside its feature's `vocab` are refused
    /// ([`Store::refusing_out_of_vocab`]).
    refuse_out_of_vocab: bool,
}

struct Inner {
    backend: Backend,
    response_timeout: Duration,
    chunk: usize,
    layout: KeyLayout,
    /// Pipelines executed, for [`Store::round_trips`].
    round_trips: AtomicU64,
    /// Set by [`Store::close`]: no new calls.
    closed: AtomicBool,
    /// Calls in flight, which `close` waits for.
    in_flight: AtomicUsize,
    /// Woken when `in_flight` drops to zero.
    drained: Notify,
}

impl Inner {
    fn new(backend: Backend, response_timeout: Duration, chunk: usize, layout: KeyLayout) -> Inner {
        Inner {
            backend,
            response_timeout,
            chunk,
            layout,
            round_trips: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            drained: Notify::new(),
        }
    }

    /// Registers a call in flight, or [`Error::Closed`].
    fn begin(&self) -> Result<InFlight<'_>> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let call = InFlight(self);
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        Ok(call)
    }
}

/// A call in flight; its end may let [`Store::close`] finish.
struct InFlight<'a>(&'a Inner);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.drained.notify_waiters();
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .field("response_timeout", &self.inner.response_timeout)
            .field("pipeline_chunk_size", &self.inner.chunk)
            .field("registry", &self.registry().map(|r| r.file.as_str()))
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
            inner: Arc::new(Inner::new(
                Backend::Embedded(Embedded::new()),
                DEFAULT_RESPONSE_TIMEOUT,
                DEFAULT_PIPELINE_CHUNK,
                KeyLayout::Plain,
            )),
            registry: None,
            refuse_out_of_vocab: false,
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
            registry: Some(Arc::new(Attached::new(registry.into()))),
            refuse_out_of_vocab: self.refuse_out_of_vocab,
        }
    }

    /// A handle on the same backend (sharing its connection and registry) that refuses to write
    /// a string outside its feature's declared `vocab`: the write (the whole batch, for
    /// `write_batch`) fails with [`Error::InvalidValue`] naming the view, the feature, the
    /// vocabulary and the value, and nothing is sent. By default such values are written (a
    /// new category may reach the store before the model's vocabulary), and feature vectors
    /// report them ([`Report::out_of_vocab`](crate::Report::out_of_vocab)).
    ///
    /// Applies to typed views whose features declare a `vocab` (from the registry, or
    /// `#[fstore(vocab = [...])]`) and to the dynamic [`write`](Store::write) and
    /// [`write_batch`](Store::write_batch).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use fstore_runtime::registry::Registry;
    /// use fstore_runtime::{Error, Store, Value};
    ///
    /// let registry = Registry::parse(r#"
    ///     [entities.user]
    ///     [views.user_profile]
    ///     entity = "user"
    ///     ttl = "1h"
    ///     [views.user_profile.features]
    ///     segment = { type = "string", vocab = ["basic", "vip"] }
    /// "#, "features.toml")?;
    /// let store = Store::embedded().with_registry(registry);
    /// let gold = [("segment", Value::from("gold"))];
    /// store.write("user_profile", "u1", &gold).await?; // written
    ///
    /// let strict = store.refusing_out_of_vocab();
    /// let err = strict.write("user_profile", "u2", &gold).await.unwrap_err();
    /// assert!(matches!(err, Error::InvalidValue { .. }));
    /// assert!(strict.read("user_profile", "u2", None).await?.is_none());
    /// # Ok(()) }
    /// ```
    #[must_use = "`refusing_out_of_vocab` returns a new handle and leaves `self` as it was"]
    pub fn refusing_out_of_vocab(&self) -> Store {
        Store {
            inner: Arc::clone(&self.inner),
            registry: self.registry.clone(),
            refuse_out_of_vocab: true,
        }
    }

    /// Whether this handle refuses values outside a feature's `vocab`
    /// ([`refusing_out_of_vocab`](Store::refusing_out_of_vocab)).
    pub fn refuses_out_of_vocab(&self) -> bool {
        self.refuse_out_of_vocab
    }

    /// [`Error::InvalidValue`] for the first write outside its feature's `vocab`, when this
    /// handle refuses them.
    fn check_vocab(&self, writes: &[Command]) -> Result<()> {
        if !self.refuse_out_of_vocab {
            return Ok(());
        }
        let miss = writes.iter().find_map(|c| match c {
            Command::Write(w) => w.out_of_vocab(),
            _ => None,
        });
        miss.map_or(Ok(()), |m| Err(m.to_error()))
    }

    /// The registry attached with [`with_registry`](Store::with_registry), if any.
    ///
    /// ```
    /// let store = fstore_runtime::Store::embedded();
    /// assert!(store.registry().is_none());
    /// ```
    pub fn registry(&self) -> Option<&Registry> {
        self.registry.as_deref().map(|a| &*a.registry)
    }

    /// The attached registry with its per-view plans.
    pub(crate) fn attached(&self) -> Option<&Attached> {
        self.registry.as_deref()
    }

    /// The store the environment describes: a server when the variable `var` holds a URL, a
    /// cluster when it holds several (comma-separated), else the embedded backend (unset or
    /// empty). Handy for programs that run against Valkey in production and in-process in
    /// development: `Store::from_env("VALKEY_URL")`.
    ///
    /// With a URL, these variables are read too, each optional:
    ///
    /// | variable | builder setting |
    /// |---|---|
    /// | `FSTORE_USERNAME`, `FSTORE_PASSWORD` | [`username`](StoreBuilder::username), [`password`](StoreBuilder::password) |
    /// | `FSTORE_RESPONSE_TIMEOUT_MS`, `FSTORE_CONNECT_TIMEOUT_MS` | [`response_timeout`](StoreBuilder::response_timeout), [`connect_timeout`](StoreBuilder::connect_timeout), in milliseconds |
    /// | `FSTORE_POOL_SIZE` | [`pool_size`](StoreBuilder::pool_size) |
    /// | `FSTORE_PIPELINE_CHUNK` | [`pipeline_chunk_size`](StoreBuilder::pipeline_chunk_size) |
    /// | `FSTORE_HASH_TAG_ENTITIES` (`true`/`false`) | [`hash_tag_entities`](StoreBuilder::hash_tag_entities) |
    /// | `FSTORE_TLS_CA_FILE` | `tls_root_certificate` (a PEM file; `tls` feature) |
    /// | `FSTORE_TLS_CERT_FILE` with `FSTORE_TLS_KEY_FILE` | `tls_client_certificate` (PEM files; `tls` feature) |
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable for a value that does not parse or a file that
    /// cannot be read; otherwise as [`StoreBuilder::build`].
    pub async fn from_env(var: &str) -> Result<Store> {
        match StoreBuilder::from_env(var)? {
            Some(builder) => builder.build().await,
            None => Ok(Store::embedded()),
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
    /// backend: one per single read or write, per `read_batch` chunk and per `write_batch`
    /// transaction. A write script reloaded after a server restart is not counted. On a
    /// cluster, one such call counts once although it sends one pipeline per shard (at the
    /// same time), and its resends after a failover are not counted. For tests and metrics.
    pub fn round_trips(&self) -> u64 {
        self.inner.round_trips.load(Ordering::Relaxed)
    }

    /// The calls in flight on this store (and its clones): begun and not yet returned, the ones
    /// [`close`](Store::close) waits for. For tests and metrics.
    pub fn calls_in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    /// The deadline of one round trip.
    pub fn response_timeout(&self) -> Duration {
        self.inner.response_timeout
    }

    /// Checks that the backend answers: one `PING` (to every primary of a cluster, after reading
    /// its slot map afresh), within the response timeout. For health checks: `GET /health`
    /// returning 503 when this fails.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> fstore_runtime::Result<()> {
    /// let store = fstore_runtime::Store::embedded();
    /// store.ping().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Connection`], [`Error::Timeout`], [`Error::Auth`], [`Error::Closed`].
    pub async fn ping(&self) -> Result<()> {
        let _call = self.inner.begin()?;
        self.inner.backend.ping(self.inner.response_timeout).await
    }

    /// Closes the store gracefully: from now on every call on it and on its clones returns
    /// [`Error::Closed`]; the calls already in flight finish, and then the idle connections
    /// are closed. Returns once they are. Dropping the last clone of a store closes its
    /// connections too, without waiting; `close` is for a shutdown that must not cut a write
    /// short.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = fstore_runtime::Store::embedded();
    /// let clone = store.clone();
    /// store.close().await;
    /// assert!(matches!(clone.ping().await, Err(fstore_runtime::Error::Closed)));
    /// # }
    /// ```
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        loop {
            let drained = self.inner.drained.notified();
            if self.inner.in_flight.load(Ordering::SeqCst) == 0 {
                break;
            }
            drained.await;
        }
        self.inner.backend.close();
    }

    /// Runs the read commands `cmds` in one round trip (nothing when empty) and appends
    /// `decode` of each `group` of consecutive replies to `out`: the one way every read
    /// (typed, vector, dynamic) reaches the backend. A transient server error (`LOADING`, …)
    /// is retried within the deadline.
    pub(crate) async fn run_reads<T: Send>(
        &self,
        cmds: &[Command],
        group: usize,
        out: &mut Vec<T>,
        decode: impl FnMut(&[Command], &[Reply<'_>]) -> Result<T> + Send,
    ) -> Result<()> {
        if cmds.is_empty() {
            return Ok(());
        }
        let _call = self.inner.begin()?;
        let mut decode = decode;
        let before = out.len();
        let mut retry = Retry::new(self.inner.response_timeout);
        loop {
            self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
            crate::trace::round_trip(cmds.len());
            let mut read = Read::new(cmds, group, &mut *out, &mut decode);
            match self.inner.backend.read(&mut read, retry.left()).await {
                Err(e) if e.is_transient_server() && retry.pause().await => out.truncate(before),
                done => return done,
            }
        }
    }

    /// Sends `cmds` (all writes) in pipelines of [`Store::pipeline_chunk_size`], one after the
    /// other; `Ok` when every entity was applied, else [`Error::Batch`] with each one's outcome.
    /// A transport error stops the call: that pipeline's entities are unknown, the rest not sent.
    pub(crate) async fn run_write_batch(&self, cmds: &[Command]) -> Result<()> {
        // One call for `close`: it waits for the whole batch, which is refused whole (before
        // anything is sent) if the store is already closed.
        self.check_vocab(cmds)?;
        let _call = self.inner.begin()?;
        let mut outcomes: Vec<WriteOutcome> = Vec::with_capacity(cmds.len());
        let mut cause: Option<Box<Error>> = None;
        let mut stopped = false;
        for chunk in cmds.chunks(self.pipeline_chunk_size().max(1)) {
            if stopped {
                outcomes.extend(chunk.iter().map(|_| WriteOutcome::NotSent));
                continue;
            }
            match self.write_pipeline(chunk).await {
                Ok(results) => outcomes.extend(results.into_iter().map(|r| match r {
                    Ok(()) => WriteOutcome::Applied,
                    Err(e) => WriteOutcome::Refused(e),
                })),
                Err(e @ Error::NotReplicated { .. }) => {
                    outcomes.extend(chunk.iter().map(|_| WriteOutcome::NotReplicated));
                    cause.get_or_insert_with(|| Box::new(e));
                }
                Err(e) => {
                    outcomes.extend(chunk.iter().map(|_| WriteOutcome::Unknown));
                    cause = Some(Box::new(e));
                    stopped = true;
                }
            }
        }
        if outcomes.iter().all(WriteOutcome::is_applied) {
            Ok(())
        } else {
            Err(Error::Batch(Box::new(BatchWriteError::new(
                outcomes, cause,
            ))))
        }
    }

    /// Applies `writes` in one round trip, each its own atomic unit; one result per write: the
    /// one way every write reaches the backend. Writes refused for a transient reason are sent
    /// again within the deadline.
    pub(crate) async fn run_writes(&self, writes: &[Command]) -> Result<Outcomes> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        self.check_vocab(writes)?;
        let _call = self.inner.begin()?;
        self.write_pipeline(writes).await
    }

    /// [`run_writes`](Self::run_writes) within a call already begun.
    async fn write_pipeline(&self, writes: &[Command]) -> Result<Outcomes> {
        let mut retry = Retry::new(self.inner.response_timeout);
        self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
        crate::trace::round_trip(writes.len());
        let mut results = self.inner.backend.write(writes, retry.left()).await?;
        // Writes refused for a passing reason (LOADING, READONLY after a failover, …) are sent
        // again, alone, within the deadline: a write is idempotent.
        loop {
            let again: Vec<usize> = (0..results.len())
                .filter(|&i| results[i].as_ref().is_err_and(Error::is_transient_server))
                .collect();
            if again.is_empty() || !retry.pause().await {
                return Ok(results);
            }
            let cmds: Vec<Command> = again.iter().map(|&i| writes[i].clone()).collect();
            self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
            let redo = self.inner.backend.write(&cmds, retry.left()).await?;
            for (i, result) in again.into_iter().zip(redo) {
                results[i] = result;
            }
        }
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
    pool_size: usize,
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
            .field("connect_lazily", &self.lazy)
            .field("pool_size", &self.pool_size);
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
            pool_size: DEFAULT_POOL_SIZE,
            #[cfg(feature = "tls")]
            root_cert: None,
            #[cfg(feature = "tls")]
            client_cert: None,
        }
    }

    /// The builder the environment describes (see [`Store::from_env`]): `None` when `var` is
    /// unset or empty.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable for a value that does not parse or a file that
    /// cannot be read.
    pub fn from_env(var: &str) -> Result<Option<StoreBuilder>> {
        StoreBuilder::from_vars(var, |name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables read by `get`.
    fn from_vars(var: &str, get: impl Fn(&str) -> Option<String>) -> Result<Option<StoreBuilder>> {
        let Some(urls) = get(var).filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let urls: Vec<&str> = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let mut b = match urls.as_slice() {
            [one] => Store::builder(one),
            many => Store::cluster_builder(many),
        };
        let number = |name: &str| -> Result<Option<u64>> {
            get(name)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| Error::Config(format!("{name}={v:?} is not a whole number")))
                })
                .transpose()
        };
        if let Some(user) = get("FSTORE_USERNAME") {
            b = b.username(user);
        }
        if let Some(password) = get("FSTORE_PASSWORD") {
            b = b.password(password);
        }
        if let Some(ms) = number("FSTORE_RESPONSE_TIMEOUT_MS")? {
            b = b.response_timeout(Duration::from_millis(ms));
        }
        if let Some(ms) = number("FSTORE_CONNECT_TIMEOUT_MS")? {
            b = b.connect_timeout(Duration::from_millis(ms));
        }
        if let Some(n) = number("FSTORE_POOL_SIZE")? {
            b = b.pool_size(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(n) = number("FSTORE_PIPELINE_CHUNK")? {
            b = b.pipeline_chunk_size(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(v) = get("FSTORE_HASH_TAG_ENTITIES") {
            let on = match v.trim() {
                "true" | "1" => true,
                "false" | "0" | "" => false,
                _ => {
                    return Err(Error::Config(format!(
                        "FSTORE_HASH_TAG_ENTITIES={v:?} is not `true` or `false`"
                    )))
                }
            };
            b = b.hash_tag_entities(on);
        }
        let file = |name: &str| -> Result<Option<Vec<u8>>> {
            get(name)
                .map(|path| {
                    std::fs::read(&path)
                        .map_err(|e| Error::Config(format!("{name}={path:?} cannot be read: {e}")))
                })
                .transpose()
        };
        let ca = file("FSTORE_TLS_CA_FILE")?;
        let cert = file("FSTORE_TLS_CERT_FILE")?;
        let key = file("FSTORE_TLS_KEY_FILE")?;
        if cert.is_some() != key.is_some() {
            return Err(Error::Config(
                "FSTORE_TLS_CERT_FILE and FSTORE_TLS_KEY_FILE go together: set both or neither"
                    .to_owned(),
            ));
        }
        b.tls_from_env(ca, cert.zip(key))
    }

    #[cfg(feature = "tls")]
    fn tls_from_env(
        mut self,
        ca: Option<Vec<u8>>,
        client: Option<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Option<StoreBuilder>> {
        if let Some(ca) = ca {
            self = self.tls_root_certificate(ca);
        }
        if let Some((cert, key)) = client {
            self = self.tls_client_certificate(cert, key);
        }
        Ok(Some(self))
    }

    #[cfg(not(feature = "tls"))]
    fn tls_from_env(
        self,
        ca: Option<Vec<u8>>,
        client: Option<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Option<StoreBuilder>> {
        if ca.is_some() || client.is_some() {
            return Err(Error::Config(
                "FSTORE_TLS_* files are set, but fstore was built without TLS; enable its `tls` \
                 feature"
                    .to_owned(),
            ));
        }
        Ok(Some(self))
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

    /// How many idle connections per node the store keeps for reuse (default 64, at least 1).
    ///
    /// Each call takes a connection from the pool (or opens one when none is idle) and gives it
    /// back when done, so a store needs about as many connections as it has calls in flight;
    /// connections beyond this many are closed when their call ends. Raise it for services with
    /// more concurrent calls per store, to avoid reconnecting under load.
    pub fn pool_size(mut self, connections: usize) -> Self {
        self.pool_size = connections.max(1);
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
    /// `vector` of one entity is one pipeline to one node instead of
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
            Backend::Cluster(Box::new(self.build_cluster().await?))
        } else {
            let server = self.build_server()?;
            if !self.lazy {
                server
                    .connect(self.connect_timeout.max(self.response_timeout))
                    .await?;
            }
            Backend::Server(Box::new(server))
        };
        Ok(Store {
            inner: Arc::new(Inner::new(
                backend,
                self.response_timeout,
                self.chunk,
                self.layout,
            )),
            registry: None,
            refuse_out_of_vocab: false,
        })
    }

    fn certificates(&self) -> Certificates {
        #[cfg(feature = "tls")]
        {
            Certificates {
                root: self.root_cert.clone(),
                client: self.client_cert.clone(),
            }
        }
        #[cfg(not(feature = "tls"))]
        Certificates::default()
    }

    fn connection_info(&self, url: &str) -> Result<redis::ConnectionInfo> {
        redis_client::connection_info(url, self.username.as_deref(), self.password.as_deref())
    }

    fn build_server(&self) -> Result<Server> {
        let [url] = self.urls.as_slice() else {
            return Err(Error::Config(format!(
                "a server store takes one URL, not {}; use Store::cluster_builder for a cluster",
                self.urls.len()
            )));
        };
        let info = self.connection_info(url)?;
        let addr = redis_client::addr(&info);
        if let Some((target, setup)) =
            redis_client::raw_target(&info, self.connect_timeout, self.pool_size)
        {
            return Ok(Server::raw(Pool::new(target, setup, false), self.wait));
        }
        let client = redis_client::client(info, &self.certificates())?;
        let managed = Managed::new(
            client,
            addr.clone(),
            self.connect_timeout,
            self.response_timeout,
        );
        Ok(Server::managed(managed, addr, self.wait))
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
            .map(redis_client::addr)
            .collect::<Vec<_>>()
            .join(", ");
        // Nodes are reached at the addresses the cluster announces, with the seeds' settings.
        let setup = redis_client::raw_target(&infos[0], self.connect_timeout, self.pool_size)
            .map(|(_, setup)| setup);
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
            .map_err(|e| redis_client::redis_error(&addrs, e, None, self.connect_timeout))?;
        Ok(Cluster::new(
            conn,
            addrs,
            setup,
            self.read_from_replicas,
            self.wait,
        ))
    }
}

/// The deadline of one call and its pauses between attempts after a transient server error:
/// 5 ms, doubling up to 100 ms, never past the deadline.
struct Retry {
    after: Duration,
    deadline: tokio::time::Instant,
    pause: Duration,
    retried: bool,
}

impl Retry {
    fn new(after: Duration) -> Retry {
        Retry {
            after,
            deadline: tokio::time::Instant::now() + after,
            pause: Duration::from_millis(5),
            retried: false,
        }
    }

    /// The time left for an attempt: the whole deadline for the first (which a timeout
    /// reports as it was configured).
    fn left(&self) -> Duration {
        if !self.retried {
            return self.after;
        }
        self.deadline
            .saturating_duration_since(tokio::time::Instant::now())
    }

    /// Sleeps before the next attempt; `false` (without sleeping) when the attempt after the
    /// pause would have less than one pause's time left.
    async fn pause(&mut self) -> bool {
        let left = self
            .deadline
            .saturating_duration_since(tokio::time::Instant::now());
        if left < self.pause * 2 {
            return false;
        }
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(100));
        self.retried = true;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_environment_configures_the_builder() {
        assert!(StoreBuilder::from_vars("URL", vars(&[])).unwrap().is_none());
        assert!(StoreBuilder::from_vars("URL", vars(&[("URL", " ")]))
            .unwrap()
            .is_none());
        let b = StoreBuilder::from_vars(
            "URL",
            vars(&[
                ("URL", "redis://h:1"),
                ("FSTORE_USERNAME", "reader"),
                ("FSTORE_PASSWORD", "s3cret"),
                ("FSTORE_RESPONSE_TIMEOUT_MS", "250"),
                ("FSTORE_CONNECT_TIMEOUT_MS", "2000"),
                ("FSTORE_POOL_SIZE", "8"),
                ("FSTORE_PIPELINE_CHUNK", "200"),
                ("FSTORE_HASH_TAG_ENTITIES", "true"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(b.urls, ["redis://h:1"]);
        assert!(!b.cluster);
        assert_eq!(b.username.as_deref(), Some("reader"));
        assert_eq!(b.password.as_deref(), Some("s3cret"));
        assert_eq!(b.response_timeout, Duration::from_millis(250));
        assert_eq!(b.connect_timeout, Duration::from_secs(2));
        assert_eq!((b.pool_size, b.chunk), (8, 200));
        assert_eq!(b.layout, KeyLayout::HashTag);
        assert!(!format!("{b:?}").contains("s3cret"));

        let cluster = StoreBuilder::from_vars("URL", vars(&[("URL", "redis://a:1, redis://b:2")]))
            .unwrap()
            .unwrap();
        assert!(cluster.cluster);
        assert_eq!(cluster.urls, ["redis://a:1", "redis://b:2"]);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (pairs, says) in [
            (
                vec![("URL", "redis://h"), ("FSTORE_POOL_SIZE", "many")],
                "FSTORE_POOL_SIZE=\"many\" is not a whole number",
            ),
            (
                vec![("URL", "redis://h"), ("FSTORE_HASH_TAG_ENTITIES", "yes")],
                "FSTORE_HASH_TAG_ENTITIES",
            ),
            (
                vec![
                    ("URL", "redis://h"),
                    ("FSTORE_TLS_CA_FILE", "/no/such/ca.pem"),
                ],
                "FSTORE_TLS_CA_FILE=\"/no/such/ca.pem\" cannot be read",
            ),
        ] {
            let err = StoreBuilder::from_vars("URL", vars(&pairs)).unwrap_err();
            assert!(err.to_string().contains(says), "{err}");
        }
    }
}
