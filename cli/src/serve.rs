//! `fstore serve`: features over HTTP, in the request and response shapes of Feast's Python
//! feature server, so that a Feast HTTP client can switch to it.
//!
//! [`router`] builds the service over a [`Store`] and its registry (every read goes through the
//! dynamic API, [`Store::get_feature_vector`]); [`serve`] runs it for the command, with
//! Prometheus metrics and a graceful shutdown.
//!
//! - `POST /get-online-features`: `{"features": ["view:feature", …], "entities": {"user_id":
//!   [ids]}, "full_feature_names": false}` answers `{"metadata": {"feature_names": [key,
//!   features…]}, "results": [{"values": [...], "statuses": [...], "event_timestamps":
//!   [...]}, …]}`: one result per column, the entity key's first (its values the ids as sent,
//!   `PRESENT`, timestamps `1970-01-01T00:00:00Z`), then one per feature, in the order asked
//!   for, with one value per id, its status
//!   ([`Status::feast_name`](fstore_runtime::Status::feast_name)) and the RFC 3339 time of its
//!   row's `_updated_at` (`1970-01-01T00:00:00Z` when there is no row). Features are named
//!   `feature`, or `view__feature` with `full_feature_names`.
//! - `GET /health`: 200 when the server answers `PING`, else 503.
//! - `GET /metrics`: the Prometheus text format (when a recorder's handle was given).
//!
//! Every error is `{"error": "<reason>"}`: 400 for a request that cannot be answered (malformed
//! JSON, an unknown view or feature, with the runtime's did-you-mean, an entity key that is not
//! the views' entity, no ids or more than the limit, ids that are neither strings nor integers,
//! two features of the same name), 413 for a body over the limit ([`DEFAULT_MAX_BODY`]), 503
//! when Valkey cannot answer, 500 for anything else (such as a stored value that does not
//! decode, or a panic, which never takes the server down). A request's ids may mix strings and
//! integers; each is echoed as sent, and `7` and `"7"` name the same entity.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use fstore_cli::serve::{install_metrics, router, Options};
//!
//! let registry = fstore_registry::Registry::from_path("features.toml")?;
//! let store = fstore_runtime::Store::connect("redis://127.0.0.1:6379").await?;
//! let options = Options::default().metrics(install_metrics()?);
//! let app = router(&store, registry, options);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:6566").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::future::{Future, IntoFuture as _};
use std::io::Write as _;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest as _, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{FutureExt as _, StreamExt as _, TryStreamExt as _};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{json, Value as JsonValue};

use fstore_registry::Registry;
use fstore_runtime::{EntityId, Error, Features, Store, StoreBuilder, Value};

use crate::get::value_json;
use crate::server::{OpsError, URL_VAR};

/// Where `fstore serve` listens by default: Feast's feature server port, on the loopback.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:6566";

/// The most entities one request may ask for by default.
pub const DEFAULT_MAX_ENTITIES: usize = 10_000;

/// The largest request body by default (the body limit is this, plus 256 bytes per entity a
/// request may ask for beyond [`DEFAULT_MAX_ENTITIES`]); a larger one gets 413.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// How long [`serve`] waits by default, after SIGTERM, for the requests in flight and for the
/// clients still connected before it closes their connections.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// How many entities of one request are read at once (each one round trip of one `HMGET` per
/// view, pipelined on the store's connections).
const CONCURRENT_READS: usize = 64;

/// The buckets of the latency histograms, in seconds: 100 µs to 2.5 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The event timestamp Feast gives the entity key column and values without a row.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// The routes, as the `path` label of the HTTP metrics (anything else is `other`).
const ROUTES: [&str; 3] = ["/get-online-features", "/health", "/metrics"];

/// How [`router`] serves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// The most entities one request may ask for; a request with more gets 400.
    pub max_entities: usize,
    /// What `GET /metrics` renders ([`install_metrics`]); `None` answers it 404.
    pub metrics: Option<PrometheusHandle>,
    /// How long [`serve`] waits, after SIGTERM, for the requests in flight and the clients still
    /// connected (such as one that sent half a request) before it closes their connections.
    pub shutdown_timeout: Duration,
}

impl Default for Options {
    /// [`DEFAULT_MAX_ENTITIES`], no metrics, [`DEFAULT_SHUTDOWN_TIMEOUT`].
    fn default() -> Options {
        Options {
            max_entities: DEFAULT_MAX_ENTITIES,
            metrics: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

impl Options {
    /// These options with `max` as the most entities of one request.
    pub fn max_entities(mut self, max: usize) -> Options {
        self.max_entities = max;
        self
    }

    /// These options with `GET /metrics` rendering `handle`.
    pub fn metrics(mut self, handle: PrometheusHandle) -> Options {
        self.metrics = Some(handle);
        self
    }

    /// These options with `timeout` as [`Options::shutdown_timeout`].
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Options {
        self.shutdown_timeout = timeout;
        self
    }

    /// The largest request body: [`DEFAULT_MAX_BODY`], plus 256 bytes per entity beyond
    /// [`DEFAULT_MAX_ENTITIES`] when more are allowed.
    fn max_body(&self) -> usize {
        DEFAULT_MAX_BODY.saturating_add(
            self.max_entities
                .saturating_sub(DEFAULT_MAX_ENTITIES)
                .saturating_mul(256),
        )
    }
}

/// What every handler shares.
struct App {
    /// The store with the registry attached.
    store: Store,
    registry: Arc<Registry>,
    max_entities: usize,
    max_body: usize,
    metrics: Option<PrometheusHandle>,
}

/// The HTTP service over `store` with `registry` attached: `POST /get-online-features`,
/// `GET /health`, `GET /metrics` (see the [module docs](self)), each request counted in
/// `fstore_http_requests_total{path,status}` and timed in
/// `fstore_http_request_duration_seconds{path}` (through the `metrics` facade, so wherever a
/// recorder is installed), and a panic in a handler answered 500.
pub fn router(store: &Store, registry: impl Into<Arc<Registry>>, options: Options) -> Router {
    let registry = registry.into();
    let app = Arc::new(App {
        store: store.with_registry(Arc::clone(&registry)),
        registry,
        max_entities: options.max_entities,
        max_body: options.max_body(),
        metrics: options.metrics,
    });
    let max_body = app.max_body;
    Router::new()
        .route(
            "/get-online-features",
            post(get_online_features).layer(DefaultBodyLimit::max(max_body)),
        )
        .route("/health", get(health))
        .route("/metrics", get(render_metrics))
        .fallback(not_found)
        .with_state(app)
        .layer(middleware::from_fn(observe))
}

/// Installs a Prometheus recorder as the global `metrics` recorder (latency histograms with
/// buckets from 100 µs to 2.5 s) and returns its handle for [`Options::metrics`]. Run
/// [`PrometheusHandle::run_upkeep`] now and then ([`serve`] does, every 5 s).
///
/// # Errors
/// [`OpsError::Server`] when a global recorder is already installed.
pub fn install_metrics() -> Result<PrometheusHandle, OpsError> {
    PrometheusBuilder::new()
        .set_buckets(&LATENCY_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| OpsError::Server(format!("cannot install the metrics recorder: {e}")))
}

/// The store `--url` names (a comma-separated list is a cluster), else the one `VALKEY_URL`
/// and the `FSTORE_*` variables describe ([`StoreBuilder::from_env`]).
///
/// # Errors
/// [`OpsError::NoUrl`] when neither names a server; [`OpsError::Store`] for a malformed
/// setting.
pub fn store_builder(url: Option<String>) -> Result<StoreBuilder, OpsError> {
    let Some(url) = url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()) else {
        return StoreBuilder::from_env(URL_VAR)?.ok_or(OpsError::NoUrl);
    };
    let urls: Vec<&str> = url
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect();
    Ok(match urls.as_slice() {
        [one] => Store::builder(one),
        many => Store::cluster_builder(many),
    })
}

/// Serves `registry`'s features from `store` on `listener` until SIGTERM or Ctrl-C (SIGINT),
/// then stops accepting, finishes the requests in flight, and closes the store. Connections
/// still open [`Options::shutdown_timeout`] after the signal (a request that never completes, a
/// client that sent half a request) are abandoned: `serve` returns, and they close when the
/// runtime is dropped.
///
/// Prints `fstore serve: listening on http://ADDR` to stderr once the signals are handled
/// (so a SIGTERM after that line always shuts down gracefully), and the shutdown's steps.
///
/// # Errors
/// [`OpsError::Server`] when the signal handlers cannot be installed or the server fails.
pub async fn serve(
    store: Store,
    registry: Registry,
    listener: tokio::net::TcpListener,
    options: Options,
) -> Result<(), OpsError> {
    let shutdown = shutdown_signal()
        .map_err(|e| OpsError::Server(format!("cannot handle SIGTERM and SIGINT: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| OpsError::Server(format!("cannot read the listening address: {e}")))?;
    let upkeep = options.metrics.clone().map(|handle| {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        })
    });
    let drain = options.shutdown_timeout;
    let app = router(&store, registry, options);
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    eprintln!("fstore serve: listening on http://{addr}");
    let served = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        eprintln!(
            "fstore serve: shutting down: finishing the requests in flight (for up to {}s)",
            drain.as_secs_f64()
        );
        let _ = stopping.send(());
    });
    let deadline = async move {
        if stopped.await.is_ok() {
            tokio::time::sleep(drain).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let served = tokio::select! {
        served = served.into_future() => served,
        () = deadline => {
            eprintln!(
                "fstore serve: shutdown timeout: closing the connections still open after {}s",
                drain.as_secs_f64()
            );
            Ok(())
        }
    };
    if let Some(upkeep) = upkeep {
        upkeep.abort();
    }
    store.close().await;
    served.map_err(|e| OpsError::Server(format!("the HTTP server failed: {e}")))?;
    eprintln!("fstore serve: stopped");
    Ok(())
}

/// A future that completes on SIGTERM or SIGINT (Ctrl-C), with both handlers installed before
/// it returns.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Counts and times every request, and answers 500 for a handler that panicked.
async fn observe(request: Request, next: Next) -> Response {
    let path = ROUTES
        .into_iter()
        .find(|route| *route == request.uri().path())
        .unwrap_or("other");
    let started = Instant::now();
    let response = match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal error: {what}"),
            )
        }
    };
    let status = response.status().as_u16().to_string();
    metrics::counter!("fstore_http_requests_total", "path" => path, "status" => status)
        .increment(1);
    metrics::histogram!("fstore_http_request_duration_seconds", "path" => path)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `{"error": reason}` with `status`.
fn error(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, Json(json!({ "error": reason.into() }))).into_response()
}

async fn not_found(request: Request) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no route {} {}: fstore serve answers POST /get-online-features, GET /health and \
             GET /metrics",
            request.method(),
            request.uri().path()
        ),
    )
}

/// `GET /health`: 200 `{"status": "ok"}` when the server answers `PING`, else 503
/// `{"status": "unavailable", "error": reason}`.
async fn health(State(app): State<Arc<App>>) -> Response {
    match app.store.ping().await {
        Ok(()) => Json(json!({ "status": "ok" })).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// `GET /metrics`: the Prometheus text format.
async fn render_metrics(State(app): State<Arc<App>>) -> Response {
    let Some(handle) = &app.metrics else {
        return error(StatusCode::NOT_FOUND, "metrics are not enabled");
    };
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// `POST /get-online-features`.
async fn get_online_features(State(app): State<Arc<App>>, request: Request) -> Response {
    let body = match read_body(request, app.max_body).await {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let request = match FeatureRequest::parse(&body, &app.registry, app.max_entities) {
        Ok(request) => request,
        Err(reason) => return error(StatusCode::BAD_REQUEST, reason),
    };
    let (ids, references) = (&request.ids, &request.references);
    // By index: a closure over `&Id` would make the handler's future not `Send` (rust#64552).
    let read = futures_util::stream::iter(0..ids.len())
        .map(|i| app.store.get_feature_vector(&ids[i], references))
        .buffered(CONCURRENT_READS)
        .try_collect::<Vec<Features>>()
        .await;
    match read {
        Ok(rows) => {
            let body = request.response(&rows);
            (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from(body),
            )
                .into_response()
        }
        Err(e) => store_error(&e),
    }
}

/// The body of `request`, at most `limit` bytes: 413 for a larger one (before reading it, when
/// its `content-length` says so), else the reason it cannot be read.
async fn read_body(request: Request, limit: usize) -> Result<Bytes, Box<Response>> {
    let too_large = |size: Option<u64>| {
        let size = size.map_or_else(String::new, |n| format!("{n} bytes, "));
        Box::new(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is {size}more than the {limit} bytes a request may send: ask for \
                 fewer entities"
            ),
        ))
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
    if let Some(declared) = declared.filter(|d| *d > limit as u64) {
        return Err(too_large(Some(declared)));
    }
    // The limit is the router's `DefaultBodyLimit`, for a body without `content-length`.
    Bytes::from_request(request, &())
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(None)
            } else {
                Box::new(error(rejection.status(), rejection.body_text()))
            }
        })
}

/// The response to a runtime error: 400 for the request's names or ids, 503 when the server
/// cannot answer, 500 for anything else.
fn store_error(e: &Error) -> Response {
    let status = match e {
        Error::UnknownName { .. } | Error::InvalidEntityId { .. } => StatusCode::BAD_REQUEST,
        Error::Closed => StatusCode::SERVICE_UNAVAILABLE,
        e if e.is_transient()
            || e.is_timeout()
            || e.is_connection()
            || e.is_auth()
            || e.is_permission_denied() =>
        {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        eprintln!("fstore serve: 500: {e}");
    }
    error(status, e.to_string())
}

/// An entity id as sent: a string or an integer.
#[derive(Debug, Clone, PartialEq)]
enum Id {
    String(String),
    Int(i64),
    UInt(u64),
}

impl EntityId for Id {
    fn write_id(&self, out: &mut String) {
        match self {
            Id::String(s) => s.write_id(out),
            Id::Int(i) => i.write_id(out),
            Id::UInt(u) => u.write_id(out),
        }
    }
}

/// A checked `POST /get-online-features` request.
#[derive(Debug)]
struct FeatureRequest {
    /// `view:feature`, as sent.
    references: Vec<String>,
    /// The response's column names after the entity key: `feature` or `view__feature`.
    names: Vec<String>,
    /// The entity key, as sent (`user_id` or `user`).
    key: String,
    ids: Vec<Id>,
}

impl FeatureRequest {
    /// Checks `body` against `registry`; the reason it cannot be answered otherwise (unknown
    /// names, which the runtime reports with its did-you-mean, are left to the read).
    fn parse(body: &[u8], registry: &Registry, max_entities: usize) -> Result<Self, String> {
        let body: JsonValue =
            serde_json::from_slice(body).map_err(|e| format!("malformed JSON: {e}"))?;
        let JsonValue::Object(body) = body else {
            return Err(format!(
                "the body is {}, not an object such as {{\"features\": [\"view:feature\"], \
                 \"entities\": {{\"user_id\": [\"u1\"]}}}}",
                kind(&body)
            ));
        };
        if body.get("feature_service").is_some_and(|s| !s.is_null()) {
            return Err(
                "`feature_service` is not supported: list the features, as `view:feature`, in \
                 `features`"
                    .to_owned(),
            );
        }
        let references: Vec<String> = match body.get("features") {
            None | Some(JsonValue::Null) => {
                return Err("no `features`: list them as `view:feature`".to_owned())
            }
            Some(JsonValue::Array(features)) if !features.is_empty() => features
                .iter()
                .map(|f| {
                    f.as_str().map(str::to_owned).ok_or_else(|| {
                        format!(
                            "`features` holds {}; each feature is a string `view:feature`",
                            kind(f)
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(JsonValue::Array(_)) => {
                return Err("`features` is empty: list them as `view:feature`".to_owned())
            }
            Some(other) => {
                return Err(format!(
                    "`features` is {}, not a list of `view:feature` strings",
                    kind(other)
                ))
            }
        };
        let full_names = match body.get("full_feature_names") {
            None | Some(JsonValue::Null) => false,
            Some(JsonValue::Bool(b)) => *b,
            Some(other) => {
                return Err(format!(
                    "`full_feature_names` is {}, not true or false",
                    kind(other)
                ))
            }
        };
        let (key, ids) = match body.get("entities") {
            Some(JsonValue::Object(entities)) => {
                let mut keys = entities.iter();
                match (keys.next(), keys.next()) {
                    (Some((key, ids)), None) => (key.clone(), ids),
                    (None, _) => {
                        return Err(
                            "`entities` is empty: give one entity key and its ids, such \
                                    as {\"user_id\": [\"u1\"]}"
                                .to_owned(),
                        )
                    }
                    (Some(_), Some(_)) => {
                        let keys: Vec<String> = entities.keys().map(|k| format!("`{k}`")).collect();
                        return Err(format!(
                            "`entities` has several keys ({}); a request reads one entity",
                            keys.join(", ")
                        ));
                    }
                }
            }
            None | Some(JsonValue::Null) => {
                return Err(
                    "no `entities`: give one entity key and its ids, such as {\"user_id\": \
                     [\"u1\"]}"
                        .to_owned(),
                )
            }
            Some(other) => {
                return Err(format!(
                    "`entities` is {}, not an object such as {{\"user_id\": [\"u1\"]}}",
                    kind(other)
                ))
            }
        };
        let ids = match ids {
            JsonValue::Array(ids) if ids.is_empty() => {
                return Err(format!("`entities.{key}` is empty: give at least one id"))
            }
            JsonValue::Array(ids) if ids.len() > max_entities => {
                return Err(format!(
                    "`entities.{key}` has {} ids, more than the {max_entities} one request may \
                     ask for (`--max-entities`): split it",
                    ids.len()
                ))
            }
            JsonValue::Array(ids) => ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let parsed = match id {
                        JsonValue::String(s) => Some(Id::String(s.clone())),
                        JsonValue::Number(n) => {
                            n.as_i64().map(Id::Int).or_else(|| n.as_u64().map(Id::UInt))
                        }
                        _ => None,
                    };
                    parsed.ok_or_else(|| {
                        format!(
                            "`entities.{key}[{i}]` is {}; an id is a string or an integer",
                            kind(id)
                        )
                    })
                })
                .collect::<Result<Vec<Id>, String>>()?,
            other => {
                return Err(format!(
                    "`entities.{key}` is {}, not a list of ids",
                    kind(other)
                ))
            }
        };
        check_entity_key(&key, &references, registry)?;
        let names = column_names(&references, full_names)?;
        Ok(FeatureRequest {
            references,
            names,
            key,
            ids,
        })
    }

    /// The response body: Feast's `GetOnlineFeaturesResponse` as its feature server prints it,
    /// one result per column (the entity key, then each feature), one value per id.
    fn response(&self, rows: &[Features]) -> Vec<u8> {
        let columns = self.names.len();
        let mut out = Vec::with_capacity(256 + rows.len() * (columns + 1) * 48);
        out.extend_from_slice(b"{\"metadata\":{\"feature_names\":[");
        write_str(&mut out, &self.key);
        for name in &self.names {
            out.push(b',');
            write_str(&mut out, name);
        }
        out.extend_from_slice(b"]},\"results\":[{\"values\":[");
        for (i, id) in self.ids.iter().enumerate() {
            comma(&mut out, i);
            match id {
                Id::String(s) => write_str(&mut out, s),
                Id::Int(n) => {
                    let _ = write!(out, "{n}");
                }
                Id::UInt(n) => {
                    let _ = write!(out, "{n}");
                }
            }
        }
        out.extend_from_slice(b"],\"statuses\":[");
        repeat(&mut out, b"\"PRESENT\"", self.ids.len());
        out.extend_from_slice(b"],\"event_timestamps\":[");
        repeat(&mut out, format!("\"{EPOCH}\"").as_bytes(), self.ids.len());
        out.extend_from_slice(b"]}");
        // One pass over the rows, filling each column's three lists.
        let list = || Vec::with_capacity(rows.len() * 16);
        let mut values: Vec<Vec<u8>> = (0..columns).map(|_| list()).collect();
        let mut statuses: Vec<Vec<u8>> = (0..columns).map(|_| list()).collect();
        let mut stamps: Vec<Vec<u8>> = (0..columns).map(|_| list()).collect();
        let mut last_stamp: Option<(u64, String)> = None;
        for (i, row) in rows.iter().enumerate() {
            let cells = row
                .values()
                .iter()
                .zip(row.statuses())
                .zip(row.updated_at());
            for (column, ((value, status), at)) in cells.enumerate().take(columns) {
                comma(&mut values[column], i);
                write_value(&mut values[column], value);
                comma(&mut statuses[column], i);
                write_str(&mut statuses[column], status.feast_name());
                comma(&mut stamps[column], i);
                let stamp = match at {
                    None => EPOCH,
                    Some(ms) => {
                        if last_stamp.as_ref().is_none_or(|(last, _)| *last != ms) {
                            last_stamp = Some((ms, rfc3339(ms)));
                        }
                        last_stamp.as_ref().map_or(EPOCH, |(_, text)| text.as_str())
                    }
                };
                write_str(&mut stamps[column], stamp);
            }
        }
        for ((values, statuses), stamps) in values.iter().zip(&statuses).zip(&stamps) {
            out.extend_from_slice(b",{\"values\":[");
            out.extend_from_slice(values);
            out.extend_from_slice(b"],\"statuses\":[");
            out.extend_from_slice(statuses);
            out.extend_from_slice(b"],\"event_timestamps\":[");
            out.extend_from_slice(stamps);
            out.extend_from_slice(b"]}");
        }
        out.extend_from_slice(b"]}");
        out
    }
}

/// A `,` before every item of a list but the first (`index` 0).
fn comma(out: &mut Vec<u8>, index: usize) {
    if index > 0 {
        out.push(b',');
    }
}

/// `item` `n` times, comma-separated.
fn repeat(out: &mut Vec<u8>, item: &[u8], n: usize) {
    for i in 0..n {
        comma(out, i);
        out.extend_from_slice(item);
    }
}

/// `s` as a JSON string.
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail, and a string always serializes.
    let _ = serde_json::to_writer(out, s);
}

/// `value` as JSON: a number, string, boolean, list of numbers or `null` (as is a float JSON
/// cannot hold, such as NaN); a `float_list`'s elements in their shortest `f32` form.
fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) if x.is_finite() => {
            let _ = serde_json::to_writer(out, x);
        }
        Value::String(s) => write_str(out, s),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null => out.extend_from_slice(b"null"),
        Value::FloatList(list) => {
            out.push(b'[');
            for (i, x) in list.iter().enumerate() {
                comma(out, i);
                if x.is_finite() {
                    let _ = serde_json::to_writer(&mut *out, x);
                } else {
                    out.extend_from_slice(b"null");
                }
            }
            out.push(b']');
        }
        other => {
            let _ = serde_json::to_writer(out, &value_json(other));
        }
    }
}

/// Checks that `key` names the one entity of the views `references` name: the entity's name
/// (`user`) or, as Feast's join keys are usually named, the name followed by `_id` (`user_id`).
/// References that are malformed or name an unknown view are left to the read, which reports
/// them with a did-you-mean.
fn check_entity_key(key: &str, references: &[String], registry: &Registry) -> Result<(), String> {
    let mut entities: Vec<&str> = Vec::new();
    for reference in references {
        let Some(view) = reference
            .split_once(':')
            .and_then(|(view, _)| registry.view(view))
        else {
            continue;
        };
        if !entities.contains(&view.entity.as_str()) {
            entities.push(&view.entity);
        }
    }
    match entities.as_slice() {
        [] => Ok(()),
        [entity] => {
            if key == *entity || key.strip_suffix("_id") == Some(entity) {
                Ok(())
            } else {
                Err(format!(
                    "entity key `{key}` is not the entity `{entity}` of the requested views: send \
                     the ids as `{entity}_id` (or `{entity}`)"
                ))
            }
        }
        several => {
            let several: Vec<String> = several.iter().map(|e| format!("`{e}`")).collect();
            Err(format!(
                "the features belong to views of different entities ({}); a request reads one \
                 entity: split it",
                several.join(", ")
            ))
        }
    }
}

/// The response's feature names: `feature`, or `view__feature` with `full_names`; 400 when two
/// are the same, as Feast refuses them.
fn column_names(references: &[String], full_names: bool) -> Result<Vec<String>, String> {
    let names: Vec<String> = references
        .iter()
        .map(|r| match r.split_once(':') {
            Some((view, feature)) if full_names => format!("{view}__{feature}"),
            Some((_, feature)) => feature.to_owned(),
            None => r.clone(),
        })
        .collect();
    let mut seen = HashSet::with_capacity(names.len());
    let mut duplicates: Vec<&str> = names
        .iter()
        .filter(|n| !seen.insert(n.as_str()))
        .map(String::as_str)
        .collect();
    if duplicates.is_empty() {
        return Ok(names);
    }
    duplicates.dedup();
    let duplicates: Vec<String> = duplicates.iter().map(|d| format!("`{d}`")).collect();
    let help = if full_names {
        "ask for each feature once"
    } else {
        "ask for each feature once, or set `full_feature_names` to true to name them \
         `view__feature`"
    };
    Err(format!(
        "several features named {}: {help}",
        duplicates.join(", ")
    ))
}

/// What a JSON value is, for errors: `a number 1.5`, `null`, `an object`.
fn kind(value: &JsonValue) -> String {
    match value {
        JsonValue::Null => "null".to_owned(),
        JsonValue::Bool(b) => format!("a boolean {b}"),
        JsonValue::Number(n) => format!("a number {n}"),
        JsonValue::String(s) => format!("a string {}", json!(s)),
        JsonValue::Array(_) => "a list".to_owned(),
        JsonValue::Object(_) => "an object".to_owned(),
    }
}

/// Epoch milliseconds as RFC 3339 in UTC, the way protobuf's JSON prints a `Timestamp`:
/// `2021-12-31T23:00:00Z`, with three fraction digits when the milliseconds are not zero
/// (`2021-12-31T23:00:00.250Z`).
fn rfc3339(ms: u64) -> String {
    let (secs, millis) = (ms / 1000, ms % 1000);
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    // Howard Hinnant's `civil_from_days`, for days since 1970-01-01 (never negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    if millis == 0 {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    const REGISTRY: &str = r#"
        [entities.user]
        [entities.item]
        [views.user_profile]
        entity = "user"
        ttl = "1h"
        [views.user_profile.features]
        age = "int"
        country = { type = "string", optional = true }
        embedding = { type = "float_list", len = 2 }
        [views.user_risk]
        entity = "user"
        ttl = "1h"
        [views.user_risk.features]
        fraud_score = "float"
        txn_count = { type = "int", default = 0 }
        age = "int"
        [views.item_stats]
        entity = "item"
        ttl = "1h"
        [views.item_stats.features]
        price = "float"
    "#;

    fn registry() -> Registry {
        Registry::parse(REGISTRY, "features.toml").unwrap()
    }

    fn parse(body: &str) -> Result<FeatureRequest, String> {
        FeatureRequest::parse(body.as_bytes(), &registry(), 3)
    }

    #[test]
    fn timestamps_as_protobuf_prints_them() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_640_991_600_000), "2021-12-31T23:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(951_868_799_250), "2000-02-29T23:59:59.250Z");
        assert_eq!(rfc3339(4_102_444_800_001), "2100-01-01T00:00:00.001Z");
        assert_eq!(rfc3339(1_709_251_199_000), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn a_request_names_its_columns_and_ids() {
        let request = parse(
            r#"{"features": ["user_profile:age", "user_risk:fraud_score"],
                "entities": {"user_id": ["u1", 7, 18446744073709551615]}}"#,
        )
        .unwrap();
        assert_eq!(request.key, "user_id");
        assert_eq!(request.names, ["age", "fraud_score"]);
        assert_eq!(
            request.ids,
            [Id::String("u1".into()), Id::Int(7), Id::UInt(u64::MAX)]
        );
        let request = parse(
            r#"{"features": ["user_profile:age", "user_risk:age"], "full_feature_names": true,
                "entities": {"user": ["u1"]}}"#,
        )
        .unwrap();
        assert_eq!(request.names, ["user_profile__age", "user_risk__age"]);
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let cases = [
            ("{", "malformed JSON"),
            ("[]", "the body is a list, not an object"),
            (r#"{"entities": {"user_id": ["u1"]}}"#, "no `features`"),
            (
                r#"{"features": [], "entities": {"user_id": ["u1"]}}"#,
                "`features` is empty",
            ),
            (
                r#"{"features": ["user_profile:age", 3], "entities": {"user_id": ["u1"]}}"#,
                "`features` holds a number 3",
            ),
            (
                r#"{"feature_service": "fs", "entities": {"user_id": ["u1"]}}"#,
                "`feature_service` is not supported",
            ),
            (r#"{"features": ["user_profile:age"]}"#, "no `entities`"),
            (
                r#"{"features": ["user_profile:age"], "entities": {}}"#,
                "`entities` is empty",
            ),
            (
                r#"{"features": ["user_profile:age"], "entities": {"user_id": []}}"#,
                "`entities.user_id` is empty",
            ),
            (
                r#"{"features": ["user_profile:age"], "entities": {"user_id": [1, 2, 3, 4]}}"#,
                "has 4 ids, more than the 3",
            ),
            (
                r#"{"features": ["user_profile:age"], "entities": {"user_id": ["u1", 1.5]}}"#,
                "`entities.user_id[1]` is a number 1.5; an id is a string or an integer",
            ),
            (
                r#"{"features": ["user_profile:age"], "entities": {"user_id": [null]}}"#,
                "`entities.user_id[0]` is null",
            ),
            (
                r#"{"features": ["user_profile:age"], "entities": {"user_id": "u1"}}"#,
                "`entities.user_id` is a string \"u1\", not a list of ids",
            ),
            (
                r#"{"features": ["user_profile:age"], "entities": {"a": [1], "b": [2]}}"#,
                "`entities` has several keys (`a`, `b`)",
            ),
            (
                r#"{"features": ["user_profile:age"], "entities": {"item_id": ["u1"]}}"#,
                "entity key `item_id` is not the entity `user` of the requested views: send the \
                 ids as `user_id` (or `user`)",
            ),
            (
                r#"{"features": ["user_profile:age", "item_stats:price"],
                    "entities": {"user_id": ["u1"]}}"#,
                "views of different entities (`user`, `item`)",
            ),
            (
                r#"{"features": ["user_profile:age", "user_risk:age"],
                    "entities": {"user_id": ["u1"]}}"#,
                "several features named `age`: ask for each feature once, or set \
                 `full_feature_names`",
            ),
            (
                r#"{"features": ["user_profile:age"], "full_feature_names": "yes",
                    "entities": {"user_id": ["u1"]}}"#,
                "`full_feature_names` is a string \"yes\", not true or false",
            ),
        ];
        for (body, expected) in cases {
            let reason = parse(body).unwrap_err();
            assert!(
                reason.contains(expected),
                "{body}\n  gave: {reason}\n  expected: {expected}"
            );
        }
    }

    /// Sends one HTTP/1.1 request to `addr` and returns the status and the body.
    async fn send(
        addr: std::net::SocketAddr,
        method: &str,
        path: &str,
        body: &str,
    ) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\nconnection: \
             close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap();
        (status, body)
    }

    async fn start(app: Router) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    #[test]
    fn responses_keep_feasts_order_of_keys() {
        let request = parse(
            r#"{"features": ["user_profile:age", "user_profile:embedding"],
                "entities": {"user_id": ["u\"1", 2]}}"#,
        )
        .unwrap();
        let row: Features = [
            ("user_profile__age", Value::Int(28)),
            (
                "user_profile__embedding",
                Value::FloatList(vec![0.1, f32::NAN]),
            ),
        ]
        .into_iter()
        .collect();
        let none: Features = [
            ("user_profile__age", Value::Null),
            ("user_profile__embedding", Value::Float(f64::INFINITY)),
        ]
        .into_iter()
        .collect();
        let body = String::from_utf8(request.response(&[row, none])).unwrap();
        assert_eq!(
            body,
            concat!(
                r#"{"metadata":{"feature_names":["user_id","age","embedding"]},"results":["#,
                r#"{"values":["u\"1",2],"statuses":["PRESENT","PRESENT"],"#,
                r#""event_timestamps":["1970-01-01T00:00:00Z","1970-01-01T00:00:00Z"]},"#,
                r#"{"values":[28,null],"statuses":["PRESENT","PRESENT"],"#,
                r#""event_timestamps":["1970-01-01T00:00:00Z","1970-01-01T00:00:00Z"]},"#,
                r#"{"values":[[0.1,null],null],"statuses":["PRESENT","PRESENT"],"#,
                r#""event_timestamps":["1970-01-01T00:00:00Z","1970-01-01T00:00:00Z"]}]}"#,
            )
        );
        serde_json::from_str::<JsonValue>(&body).unwrap();
    }

    #[tokio::test]
    async fn feast_shape_from_the_embedded_backend() {
        let store = Store::embedded().with_registry(registry());
        store
            .write(
                "user_profile",
                "u1",
                &[
                    ("age", Value::Int(28)),
                    ("embedding", Value::FloatList(vec![0.5, 1.0])),
                ],
            )
            .await
            .unwrap();
        let addr = start(router(&store, registry(), Options::default())).await;
        let (status, body) = send(
            addr,
            "POST",
            "/get-online-features",
            r#"{"features": ["user_profile:age", "user_profile:country",
                "user_profile:embedding", "user_risk:txn_count"],
                "entities": {"user_id": ["u1", "nobody"]}}"#,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let body: JsonValue = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body["metadata"]["feature_names"],
            json!(["user_id", "age", "country", "embedding", "txn_count"])
        );
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), 5);
        assert_eq!(results[0]["values"], json!(["u1", "nobody"]));
        assert_eq!(results[0]["statuses"], json!(["PRESENT", "PRESENT"]));
        assert_eq!(results[0]["event_timestamps"], json!([EPOCH, EPOCH]));
        assert_eq!(results[1]["values"], json!([28, null]));
        assert_eq!(results[1]["statuses"], json!(["PRESENT", "NOT_FOUND"]));
        assert_eq!(results[2]["values"], json!([null, null]));
        assert_eq!(results[2]["statuses"], json!(["NULL_VALUE", "NOT_FOUND"]));
        assert_eq!(results[3]["values"], json!([[0.5, 1.0], null]));
        // The registry default, for a view without a row: NOT_FOUND, as the runtime says.
        assert_eq!(results[4]["values"], json!([0, 0]));
        assert_eq!(results[4]["statuses"], json!(["NOT_FOUND", "NOT_FOUND"]));
        let stamp = results[1]["event_timestamps"][0].as_str().unwrap();
        assert!(
            stamp.ends_with('Z') && stamp.len() >= 20 && stamp > "2024",
            "{stamp}"
        );
        assert_eq!(results[1]["event_timestamps"][1], EPOCH);

        let (status, body) = send(
            addr,
            "POST",
            "/get-online-features",
            r#"{"features": ["user_profile:agee"], "entities": {"user_id": ["u1"]}}"#,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            r#"{"error":"unknown feature `user_profile:agee`; did you mean `user_profile:age`?"}"#
        );
        let (status, body) = send(
            addr,
            "POST",
            "/get-online-features",
            r#"{"features": ["user_profile:age"], "entities": {"user_id": [""]}}"#,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("invalid entity id"), "{body}");

        let (status, body) = send(addr, "GET", "/health", "").await;
        assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
        let (status, body) = send(addr, "GET", "/metrics", "").await;
        assert_eq!(status, 404);
        assert!(body.contains("metrics are not enabled"), "{body}");
        let (status, body) = send(addr, "GET", "/nowhere", "").await;
        assert_eq!(status, 404);
        assert!(body.contains("no route GET /nowhere"), "{body}");
    }

    #[tokio::test]
    async fn a_closed_store_is_unavailable() {
        let store = Store::embedded();
        let addr = start(router(&store, registry(), Options::default())).await;
        store.close().await;
        let (status, body) = send(addr, "GET", "/health", "").await;
        assert_eq!(status, 503, "{body}");
        let (status, body) = send(
            addr,
            "POST",
            "/get-online-features",
            r#"{"features": ["user_profile:age"], "entities": {"user_id": ["u1"]}}"#,
        )
        .await;
        assert_eq!(status, 503, "{body}");
    }

    #[tokio::test]
    async fn a_panic_is_a_500_and_the_server_goes_on() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = Router::new().route("/boom", get(boom)).merge(router(
            &Store::embedded(),
            registry(),
            Options::default(),
        ));
        let app = app.layer(middleware::from_fn(observe));
        let addr = start(app).await;
        let (status, body) = send(addr, "GET", "/boom", "").await;
        assert_eq!(status, 500);
        assert_eq!(body, r#"{"error":"internal error: boom"}"#);
        let (status, _) = send(addr, "GET", "/health", "").await;
        assert_eq!(status, 200);
    }
}
