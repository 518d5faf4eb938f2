//! Everything fstore takes from the `redis` crate, in one place: URL parsing, the TLS
//! transport (a `ConnectionManager` over `rediss://`, or a server that wants RESP3), the cluster
//! client's topology, and the mapping of its errors to [`Error`]. Commands are still encoded by
//! [`resp`](crate::resp) (through the [`Sink`] below) and replies still checked by
//! [`reply`](crate::reply): the crate's values are turned into [`Replies`] first.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Value};
use tokio::time::{timeout_at, Instant};

use crate::command::Command;
use crate::exchange::Collected;
use crate::reply::Replies;
use crate::resp::Sink;
use crate::transport::{Setup, Target};
use crate::{Error, Result};

/// The connection info of `url`, with `username` / `password` instead of the URL's when given.
///
/// # Errors
/// [`Error::Config`] for a malformed URL, or `rediss://` without the `tls` feature.
pub(crate) fn connection_info(
    url: &str,
    username: Option<&str>,
    password: Option<&str>,
) -> Result<redis::ConnectionInfo> {
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
    if let Some(user) = username {
        settings = settings.set_username(user);
    }
    if let Some(password) = password {
        settings = settings.set_password(password);
    }
    Ok(info.set_redis_settings(settings))
}

/// The address of `info` for messages, without credentials.
pub(crate) fn addr(info: &redis::ConnectionInfo) -> String {
    info.addr().to_string()
}

/// Where and how the raw transport connects for `info`, or `None` when it cannot (TLS, RESP3).
pub(crate) fn raw_target(
    info: &redis::ConnectionInfo,
    connect_timeout: Duration,
    max_idle: usize,
) -> Option<(Target, Setup)> {
    let target = match info.addr() {
        redis::ConnectionAddr::Tcp(host, port) => Target::Tcp(host.clone(), *port),
        #[cfg(unix)]
        redis::ConnectionAddr::Unix(path) => Target::Unix(path.clone()),
        _ => return None,
    };
    let settings = info.redis_settings();
    if settings.protocol() != redis::ProtocolVersion::RESP2 {
        return None;
    }
    Some((
        target,
        Setup {
            username: settings.username().map(str::to_owned),
            password: settings.password().map(str::to_owned),
            db: settings.db(),
            connect_timeout,
            max_idle,
        },
    ))
}

/// TLS certificates for `rediss://` (PEM): a private CA's root, a client certificate and key.
#[derive(Clone, Default)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) struct Certificates {
    pub(crate) root: Option<Vec<u8>>,
    pub(crate) client: Option<(Vec<u8>, Vec<u8>)>,
}

impl Certificates {
    #[cfg(feature = "tls")]
    fn to_redis(&self) -> Option<redis::TlsCertificates> {
        if self.root.is_none() && self.client.is_none() {
            return None;
        }
        Some(redis::TlsCertificates {
            client_tls: self.client.clone().map(|(client_cert, client_key)| {
                redis::ClientTlsConfig {
                    client_cert,
                    client_key,
                }
            }),
            root_cert: self.root.clone(),
        })
    }
}

/// A `redis` client for `info`.
///
/// # Errors
/// [`Error::Config`] for certificates that are not PEM.
pub(crate) fn client(info: redis::ConnectionInfo, certs: &Certificates) -> Result<redis::Client> {
    let addr = addr(&info);
    #[cfg(feature = "tls")]
    if let Some(certs) = certs.to_redis() {
        return redis::Client::build_with_tls(info, certs).map_err(|e| {
            Error::Config(format!(
                "cannot set up TLS for {addr}: {e}; the certificates must be PEM"
            ))
        });
    }
    let _ = certs;
    redis::Client::open(info).map_err(|e| Error::Config(format!("cannot connect to {addr}: {e}")))
}

/// A `redis` crate connection to one server (the TLS transport), made on first use.
pub(crate) struct Managed {
    conn: tokio::sync::OnceCell<ConnectionManager>,
    client: redis::Client,
    config: ConnectionManagerConfig,
    connect_timeout: Duration,
    addr: String,
}

impl Managed {
    pub(crate) fn new(
        client: redis::Client,
        addr: String,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Managed {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(response_timeout))
            // Few, quick reconnect attempts: a call that finds the connection broken starts a
            // new attempt itself, so a long background retry only delays errors.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        Managed {
            conn: tokio::sync::OnceCell::new(),
            client,
            config,
            connect_timeout,
            addr,
        }
    }

    /// The connection, made now on first use (or after an earlier attempt failed). A `PING`
    /// reports a server that requires a password now rather than at the first read.
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
                let ping = conn.clone().send_packed_command(&redis::cmd("PING")).await;
                if let Ok(Value::ServerError(e)) = ping {
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

    /// Connects now.
    ///
    /// # Errors
    /// As [`Managed::send`].
    pub(crate) async fn connect(&self) -> Result<()> {
        self.conn().await.map(|_| ())
    }

    /// Sends `pipe` (encoded by `resp` through a [`PipelineSink`]) in one round trip before
    /// `deadline` and collects its replies; a dropped connection is retried
    /// once within the deadline. `first` names the round trip in errors.
    ///
    /// # Errors
    /// [`Error::Timeout`], [`Error::Connection`], [`Error::Auth`], [`Error::PermissionDenied`].
    pub(crate) async fn send(
        &self,
        pipe: &redis::Pipeline,
        first: Option<&Command>,
        deadline: Instant,
        after: Duration,
    ) -> Result<Collected> {
        let addr = self.addr.as_str();
        let conn = self.conn().await?;
        let timeout = || Error::Timeout {
            op: format!("a pipeline of {} commands to {addr}", pipe.len()),
            after,
        };
        let attempt = || {
            let mut conn = conn.clone();
            async move { conn.send_packed_commands(pipe, 0, pipe.len()).await }
        };
        let result = match timeout_at(deadline, attempt())
            .await
            .map_err(|_| timeout())?
        {
            Err(e)
                if e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() =>
            {
                timeout_at(deadline, attempt())
                    .await
                    .map_err(|_| timeout())?
            }
            other => other,
        };
        let values = result.map_err(|e| redis_error(addr, e, first, after))?;
        Ok(collect(&values))
    }
}

/// Encoded commands as a `redis` pipeline: the same arguments [`resp`](crate::resp) writes.
#[derive(Default)]
pub(crate) struct PipelineSink {
    pipe: redis::Pipeline,
    cmd: Option<redis::Cmd>,
}

impl PipelineSink {
    pub(crate) fn finish(mut self) -> redis::Pipeline {
        if let Some(cmd) = self.cmd.take() {
            self.pipe.add_command(cmd);
        }
        self.pipe
    }
}

impl Sink for PipelineSink {
    fn array(&mut self, args: usize) {
        if let Some(cmd) = self.cmd.take() {
            self.pipe.add_command(cmd);
        }
        self.cmd = Some(redis::Cmd::with_capacity(args, 64));
    }

    fn arg(&mut self, arg: &[u8]) {
        if let Some(cmd) = self.cmd.as_mut() {
            cmd.arg(arg);
        }
    }
}

/// The `redis` crate's replies as [`Collected`] ones.
pub(crate) fn collect(values: &[Value]) -> Collected {
    let mut out = Collected {
        replies: Replies::with_capacity(values.len()),
    };
    for value in values {
        push(&mut out.replies, value);
    }
    out
}

/// Appends `value` to `replies`.
fn push(replies: &mut Replies, value: &Value) {
    match value {
        Value::Array(items) if items.iter().all(|v| bytes(v).is_some() || *v == Value::Nil) => {
            replies.push_values(items.iter().map(bytes));
        }
        // `HGETALL` on RESP3: field, value, field, value…, as on RESP2.
        Value::Map(pairs)
            if pairs
                .iter()
                .all(|(f, v)| bytes(f).is_some() && bytes(v).is_some()) =>
        {
            replies.push_values(pairs.iter().flat_map(|(f, v)| [bytes(f), bytes(v)]));
        }
        Value::Int(i) => replies.push_int(*i),
        Value::Nil => replies.push_nil(),
        Value::Okay => replies.push_status(b"OK"),
        Value::SimpleString(s) => replies.push_status(s.as_bytes()),
        Value::ServerError(e) => {
            let line = match e.details() {
                Some(details) => format!("{} {details}", e.code()),
                None => e.code().to_owned(),
            };
            replies.push_error(line.as_bytes());
        }
        other => replies.push_other(format!("{other:?}").chars().take(80).collect()),
    }
}

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        Value::Okay => Some(b"OK"),
        _ => None,
    }
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

/// `url` with any password replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
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
    use super::*;

    #[test]
    fn redact_hides_passwords() {
        assert_eq!(redact("redis://u:secret@h:1"), "redis://u:***@h:1");
        assert_eq!(redact("redis://:secret@h"), "redis://:***@h");
        assert_eq!(redact("redis://h:1/0"), "redis://h:1/0");
    }

    #[test]
    fn the_pipeline_sink_takes_the_same_arguments() {
        let mut sink = PipelineSink::default();
        crate::resp::command(&mut sink, &Command::hmget("k".into(), &["a", "b"]));
        crate::resp::wait(&mut sink, 1, 5);
        let pipe = sink.finish();
        let mut raw = Vec::new();
        crate::resp::command(&mut raw, &Command::hmget("k".into(), &["a", "b"]));
        crate::resp::wait(&mut raw, 1, 5);
        assert_eq!(pipe.get_packed_pipeline(), raw);
    }
}
