//! The server `get` and `stats` inspect: the store with the registry attached (the dynamic API,
//! which decodes values exactly as readers do) beside a raw connection of the `redis` crate for
//! what the dynamic API does not expose (`PTTL`, `HGET _updated_at`, `SCAN`, `HKEYS`,
//! `MEMORY USAGE`).

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use fstore_registry::Registry;
use fstore_runtime::Store;

use crate::LoadError;

/// The variable `get` and `stats` read the server's URL from when `--url` is not given.
pub const URL_VAR: &str = "VALKEY_URL";

/// Why `get` or `stats` could not run. Its `Display` is what the command prints to stderr; the
/// command exits 2 for every one of them.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpsError {
    /// Neither `--url` nor `VALKEY_URL` names a server.
    NoUrl,
    /// A URL these commands cannot use (several, for a cluster).
    Url(String),
    /// The registry could not be loaded.
    Registry(LoadError),
    /// The runtime refused or failed: an unknown view or feature (with a did-you-mean), an
    /// invalid entity id, the server unreachable.
    Store(fstore_runtime::Error),
    /// A command on the raw connection failed: what was sent, and what went wrong.
    Server(String),
}

impl fmt::Display for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpsError::NoUrl => write!(
                f,
                "error: no server to read: pass `--url redis://host:port` or set {URL_VAR}"
            ),
            OpsError::Url(message) => write!(f, "error: {message}"),
            OpsError::Registry(e) => write!(f, "{e}"),
            OpsError::Store(e) => write!(f, "error: {e}"),
            OpsError::Server(message) => write!(f, "error: {message}"),
        }
    }
}

impl std::error::Error for OpsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpsError::Registry(e) => Some(e),
            OpsError::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl From<fstore_runtime::Error> for OpsError {
    fn from(e: fstore_runtime::Error) -> OpsError {
        OpsError::Store(e)
    }
}

/// The URL to read: `--url` if given, else `VALKEY_URL` (an empty value counts as unset).
///
/// # Errors
/// [`OpsError::NoUrl`] when there is neither; [`OpsError::Url`] for a comma-separated list
/// (a cluster), which these commands do not inspect.
pub fn server_url(flag: Option<String>) -> Result<String, OpsError> {
    let url = flag
        .or_else(|| std::env::var(URL_VAR).ok())
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .ok_or(OpsError::NoUrl)?;
    if url.contains(',') {
        return Err(OpsError::Url(format!(
            "`{url}` lists several servers; `get` and `stats` read one server: pass one node's URL"
        )));
    }
    Ok(url)
}

/// One server, seen both ways: through the dynamic API and over a raw connection.
pub struct Server {
    /// The store with the registry attached.
    pub(crate) store: Store,
    /// The raw connection.
    pub(crate) raw: redis::aio::MultiplexedConnection,
    /// The registry, shared with the store.
    registry: Arc<Registry>,
}

impl Server {
    /// Connects to the server at `url` (`redis://[user:password@]host[:port][/db]`) twice: a
    /// [`Store`] with `registry` attached, and a raw connection.
    ///
    /// # Errors
    /// [`OpsError::Store`] or [`OpsError::Server`] when the URL is malformed or the server
    /// cannot be reached.
    pub async fn connect(url: &str, registry: Registry) -> Result<Server, OpsError> {
        let registry = Arc::new(registry);
        let store = Store::builder(url)
            .build()
            .await?
            .with_registry(Arc::clone(&registry));
        let raw = redis::Client::open(url)
            .map_err(|e| OpsError::Server(format!("cannot use the URL `{url}`: {e}")))?
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| OpsError::Server(format!("cannot connect to `{url}`: {e}")))?;
        Ok(Server {
            store,
            raw,
            registry,
        })
    }

    /// The attached registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The view `name`, or the error the dynamic API gives for an unknown one (with its
    /// did-you-mean).
    pub(crate) fn view(&self, name: &str) -> Result<&fstore_registry::View, OpsError> {
        let registry = self.registry();
        registry.view(name).ok_or_else(|| {
            OpsError::Store(fstore_runtime::Error::UnknownName {
                what: "view",
                name: name.to_owned(),
                help: fstore_registry::suggestion(
                    name,
                    registry.views.iter().map(|v| v.name.as_str()),
                ),
            })
        })
    }
}

/// What a key's `PTTL` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The key expires in this many milliseconds.
    In(u64),
    /// The key has no TTL (`PTTL` -1): it is never evicted by expiry, a defect for feature rows.
    Never,
    /// The key does not exist (`PTTL` -2).
    Missing,
}

impl Expiry {
    /// From a `PTTL` reply.
    pub fn from_pttl(pttl: i64) -> Expiry {
        match u64::try_from(pttl) {
            Ok(ms) => Expiry::In(ms),
            Err(_) if pttl == -1 => Expiry::Never,
            Err(_) => Expiry::Missing,
        }
    }
}

/// The epoch milliseconds of a stored `_updated_at`, as the runtime reads it (seconds with a
/// fraction, or integer milliseconds); `None` when it is neither.
pub fn parse_stamp(raw: &str) -> Option<u64> {
    fstore_runtime::parse_updated_at(raw.as_bytes()).ok()
}

/// Now, in epoch milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Milliseconds as seconds with one decimal: `3599.5`.
pub(crate) fn seconds(ms: i128) -> String {
    format!("{:.1}", ms as f64 / 1000.0)
}

/// Wraps a raw command's error with what was sent.
pub(crate) fn server_error(what: &str) -> impl FnOnce(redis::RedisError) -> OpsError + '_ {
    move |e| OpsError::Server(format!("{what} failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_in_both_forms() {
        assert_eq!(parse_stamp("1796101050.697"), Some(1_796_101_050_697));
        assert_eq!(parse_stamp("1796101050.6979"), Some(1_796_101_050_697));
        assert_eq!(parse_stamp("1796101050"), Some(1_796_101_050_000));
        assert_eq!(parse_stamp("1796101050697"), Some(1_796_101_050_697));
        assert_eq!(parse_stamp("1796101050697.5"), None);
        assert_eq!(parse_stamp("-1"), None);
        assert_eq!(parse_stamp("soon"), None);
        assert_eq!(parse_stamp(""), None);
    }

    #[test]
    fn expiry_from_pttl() {
        assert_eq!(Expiry::from_pttl(1500), Expiry::In(1500));
        assert_eq!(Expiry::from_pttl(-1), Expiry::Never);
        assert_eq!(Expiry::from_pttl(-2), Expiry::Missing);
    }

    #[test]
    fn no_url_is_a_clear_error() {
        let message = OpsError::NoUrl.to_string();
        assert!(
            message.contains("--url") && message.contains("VALKEY_URL"),
            "{message}"
        );
        assert!(matches!(
            server_url(Some("redis://a:1,redis://b:2".into())),
            Err(OpsError::Url(_))
        ));
        assert_eq!(
            server_url(Some(" redis://a:1 ".into())).unwrap(),
            "redis://a:1"
        );
    }
}
