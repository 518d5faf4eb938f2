//! The batch hot paths: `HMGET` pipelines and `MULTI` … `EXEC` write transactions over a small
//! pool of raw connections, their RESP2 replies decoded straight from the read buffer (no
//! `redis::Value` tree for reads, none per `QUEUED` for writes).
//!
//! Used by `read_batch` and `write_batch` on a server reached over plain TCP or a unix socket with
//! RESP2 (`write_batch` not with `wait_for_replicas`, whose `WAIT` must follow on the connection
//! that wrote); anything else (TLS, RESP3, clusters) keeps the `redis` crate path. A connection that saw any error, timeout or
//! unexpected reply is dropped, never reused.

use std::io;
#[cfg(unix)]
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio::time::{timeout, timeout_at, Instant};

use crate::plan::Command;
use crate::{Error, Result};

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 16;
/// Larger bulk strings are a protocol error (the server's own default `proto-max-bulk-len`).
const MAX_BULK: usize = 512 * 1024 * 1024;
/// A header line (`*n`, `$n`) longer than this is a protocol error.
const MAX_HEADER: usize = 32;
/// Initial read-buffer size.
const READ_BUF: usize = 16 * 1024;
/// A pooled connection whose buffers grew beyond this gets fresh, small ones.
const MAX_IDLE_BUF: usize = 1024 * 1024;

enum Target {
    Tcp(String, u16),
    #[cfg(unix)]
    Unix(PathBuf),
}

/// A pool of raw connections to one server, created lazily.
pub(crate) struct Pool {
    target: Target,
    username: Option<String>,
    password: Option<String>,
    db: i64,
    connect_timeout: Duration,
    idle: Mutex<Vec<Conn>>,
}

impl Pool {
    /// A pool for `info`, or `None` when the fast path does not support it (TLS, RESP3, …).
    pub(crate) fn new(info: &redis::ConnectionInfo, connect_timeout: Duration) -> Option<Pool> {
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
        Some(Pool {
            target,
            username: settings.username().map(str::to_owned),
            password: settings.password().map(str::to_owned),
            db: settings.db(),
            connect_timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn take(&self) -> Option<Conn> {
        self.idle.lock().ok()?.pop()
    }

    fn put(&self, conn: Conn) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }

    /// Returns `conn` to the pool when it holds nothing unread, with oversized buffers replaced.
    fn release(&self, mut conn: Conn) {
        if conn.start != conn.end {
            return;
        }
        conn.start = 0;
        conn.end = 0;
        if conn.buf.len() > MAX_IDLE_BUF {
            conn.buf = vec![0; READ_BUF];
        }
        if conn.out.capacity() > MAX_IDLE_BUF {
            conn.out = Vec::with_capacity(4096);
        }
        self.put(conn);
    }

    /// Forgets every idle connection (after the server went away, they are all dead).
    fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// `conn`, or a new connection when there is none.
    async fn ready(&self, conn: Option<Conn>) -> std::result::Result<Conn, Failure> {
        match conn {
            Some(conn) => Ok(conn),
            None => self.connect().await,
        }
    }

    /// A new, authenticated connection with its database selected.
    async fn connect(&self) -> std::result::Result<Conn, Failure> {
        let connect = async {
            let stream = match &self.target {
                Target::Tcp(host, port) => {
                    let s = TcpStream::connect((host.as_str(), *port)).await?;
                    s.set_nodelay(true)?;
                    Stream::Tcp(s)
                }
                #[cfg(unix)]
                Target::Unix(path) => Stream::Unix(UnixStream::connect(path).await?),
            };
            Ok::<_, io::Error>(stream)
        };
        let stream = timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| Failure::Io(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")))?
            .map_err(Failure::Io)?;
        let mut conn = Conn {
            stream,
            out: Vec::with_capacity(4096),
            buf: vec![0; READ_BUF],
            start: 0,
            end: 0,
        };
        let mut setup = 0;
        if let Some(password) = &self.password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &self.username {
                args.push(user.as_bytes());
            }
            args.push(password.as_bytes());
            encode(&mut conn.out, &args);
            setup += 1;
        }
        let db = self.db.to_string();
        if self.db != 0 {
            encode(&mut conn.out, &[b"SELECT", db.as_bytes()]);
            setup += 1;
        }
        if setup == 0 {
            return Ok(conn);
        }
        conn.flush().await.map_err(Failure::Io)?;
        for _ in 0..setup {
            let line = conn.read_line().await?;
            if line != b"+OK" {
                let text = String::from_utf8_lossy(line.strip_prefix(b"-").unwrap_or(&line));
                return Err(Failure::Io(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("connection setup (AUTH/SELECT) refused: {text}"),
                )));
            }
        }
        Ok(conn)
    }
}

enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

/// One raw connection with its buffers: `out` is what to send, `buf[start..end]` what was read
/// and not yet parsed.
struct Conn {
    stream: Stream,
    out: Vec<u8>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Conn {
    async fn flush(&mut self) -> io::Result<()> {
        let result = match &mut self.stream {
            Stream::Tcp(s) => s.write_all(&self.out).await,
            #[cfg(unix)]
            Stream::Unix(s) => s.write_all(&self.out).await,
        };
        self.out.clear();
        result
    }

    /// Reads more bytes after `end`, compacting or growing the buffer first.
    async fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
        let n = match &mut self.stream {
            Stream::Tcp(s) => s.read(&mut self.buf[self.end..]).await?,
            #[cfg(unix)]
            Stream::Unix(s) => s.read(&mut self.buf[self.end..]).await?,
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        self.end += n;
        Ok(())
    }

    /// One reply line (setup replies), without its `\r\n`.
    async fn read_line(&mut self) -> std::result::Result<Vec<u8>, Failure> {
        loop {
            let pending = &self.buf[self.start..self.end];
            if let Some(nl) = pending.windows(2).position(|w| w == b"\r\n") {
                let line = pending[..nl].to_vec();
                self.start += nl + 2;
                return Ok(line);
            }
            if pending.len() > 64 * 1024 {
                return Err(Failure::Io(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "reply line too long",
                )));
            }
            self.fill().await.map_err(Failure::Io)?;
        }
    }
}

/// Appends one command in RESP: `*n\r\n$len\r\narg\r\n…`.
fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    header(out, b'*', args.len());
    for arg in args {
        header(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `HMGET key field…` for `cmd` (which must be an `Hmget`).
fn encode_hmget(out: &mut Vec<u8>, cmd: &Command) {
    if let Command::Hmget { key, fields } = cmd {
        header(out, b'*', 2 + fields.len());
        out.extend_from_slice(b"$5\r\nHMGET\r\n");
        bulk(out, key.as_bytes());
        for field in fields.iter() {
            bulk(out, field.as_bytes());
        }
    }
}

fn bulk(out: &mut Vec<u8>, arg: &[u8]) {
    header(out, b'$', arg.len());
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    let mut digits = [0u8; 20];
    out.extend_from_slice(decimal(n as u64, &mut digits));
    out.extend_from_slice(b"\r\n");
}

/// The decimal digits of `n`, written at the end of `digits`.
fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

/// A complete reply to an `HMGET`, parsed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply<'a> {
    /// An array; its values are in the caller's vector.
    Array,
    /// An error reply: its line, without the `-` and `\r\n`.
    Error(&'a [u8]),
    /// A reply of another shape, described.
    Other(String),
}

/// Parses one reply from the start of `buf`: `Ok(None)` when `buf` does not hold all of it yet,
/// else the reply and the number of bytes it took. The values of an array go to `values`
/// (cleared first). A malformed reply is an `Err` describing it; it never panics.
pub(crate) fn parse_hmget<'a>(
    buf: &'a [u8],
    values: &mut Vec<Option<&'a [u8]>>,
) -> std::result::Result<Option<(usize, Reply<'a>)>, String> {
    values.clear();
    let Some((kind, line, mut pos)) = line_at(buf, 0)? else {
        return Ok(None);
    };
    match kind {
        b'*' => {
            let n = number(line)?;
            if n < 0 {
                return Ok(Some((pos, Reply::Other("a nil array".to_owned()))));
            }
            for _ in 0..n {
                let Some((kind, line, next)) = line_at(buf, pos)? else {
                    return Ok(None);
                };
                match kind {
                    b'$' => {
                        let len = number(line)?;
                        if len < 0 {
                            values.push(None);
                            pos = next;
                            continue;
                        }
                        let len = usize::try_from(len).map_err(|_| "bad length".to_owned())?;
                        if len > MAX_BULK {
                            return Err(format!("a bulk string of {len} bytes"));
                        }
                        let end = next + len;
                        if buf.len() < end + 2 {
                            return Ok(None);
                        }
                        if &buf[end..end + 2] != b"\r\n" {
                            return Err("a bulk string not followed by CRLF".to_owned());
                        }
                        values.push(Some(&buf[next..end]));
                        pos = end + 2;
                    }
                    b'+' => {
                        values.push(Some(line));
                        pos = next;
                    }
                    other => {
                        return Ok(Some((
                            next,
                            Reply::Other(format!("an array element of type {:?}", other as char)),
                        )))
                    }
                }
            }
            Ok(Some((pos, Reply::Array)))
        }
        b'-' => Ok(Some((pos, Reply::Error(line)))),
        b'+' | b':' => Ok(Some((
            pos,
            Reply::Other(format!(
                "{}{}",
                kind as char,
                String::from_utf8_lossy(line)
                    .chars()
                    .take(60)
                    .collect::<String>()
            )),
        ))),
        b'$' => {
            let len = number(line)?;
            if len < 0 {
                pos = pos.min(buf.len());
                return Ok(Some((pos, Reply::Other("nil".to_owned()))));
            }
            Ok(Some((pos, Reply::Other("a bulk string".to_owned()))))
        }
        other => Err(format!("a reply starting with byte {other:#04x}")),
    }
}

/// A line: its type byte, its text and where the next line starts.
type Line<'a> = (u8, &'a [u8], usize);

/// The line starting at `pos`: its type byte, its text and where the next one starts. Lines of
/// error and simple-string replies may be long; headers may not.
fn line_at(buf: &[u8], pos: usize) -> std::result::Result<Option<Line<'_>>, String> {
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let rest = &buf[pos + 1..];
    let limit = if matches!(kind, b'-' | b'+') {
        64 * 1024
    } else {
        MAX_HEADER
    };
    match rest.iter().take(limit).position(|&b| b == b'\n') {
        Some(nl) => {
            if nl == 0 || rest[nl - 1] != b'\r' {
                return Err("a line not ended by CRLF".to_owned());
            }
            Ok(Some((kind, &rest[..nl - 1], pos + 1 + nl + 1)))
        }
        None if rest.len() >= limit => Err(format!(
            "a {:?} line longer than {limit} bytes",
            kind as char
        )),
        None => Ok(None),
    }
}

fn number(line: &[u8]) -> std::result::Result<i64, String> {
    let bad = || {
        format!(
            "a malformed length {:?}",
            String::from_utf8_lossy(line)
                .chars()
                .take(30)
                .collect::<String>()
        )
    };
    let (neg, digits) = match line.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, line),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let n = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Ok(if neg { -n } else { n })
}

/// Why one attempt failed.
enum Failure {
    /// The connection failed: a fresh one may succeed.
    Io(io::Error),
    /// An answer that is an error for the caller (server error, bad reply, decode error).
    Fatal(Error),
}

/// The attempts of one round trip on a pooled connection: the deadline, and one retry on a fresh
/// connection after a reused one failed (both users send idempotent commands). A plain struct
/// rather than a function taking an async closure, so that the callers' futures stay `Send`.
struct Attempts<'p> {
    pool: &'p Pool,
    addr: &'p str,
    after: Duration,
    deadline: Instant,
    reused: bool,
    retried: bool,
}

impl<'p> Attempts<'p> {
    fn new(pool: &'p Pool, addr: &'p str, after: Duration) -> Self {
        Attempts {
            pool,
            addr,
            after,
            deadline: Instant::now() + after,
            reused: false,
            retried: false,
        }
    }

    /// A pooled connection for the first attempt, `None` (connect afresh) for the retry.
    fn take(&mut self) -> Option<Conn> {
        let conn = if self.retried { None } else { self.pool.take() };
        self.reused = conn.is_some();
        conn
    }

    /// The outcome of an attempt (`None` when the deadline passed): the call's result, or `None`
    /// to try again on a fresh connection. `op` names the round trip in a timeout error.
    fn outcome<T>(
        &mut self,
        attempt: Option<std::result::Result<T, Failure>>,
        op: impl Fn() -> String,
    ) -> Option<Result<T>> {
        let timeout_error = || Error::Timeout {
            op: op(),
            after: self.after,
        };
        let failure = match attempt {
            None => return Some(Err(timeout_error())),
            Some(Ok(value)) => return Some(Ok(value)),
            Some(Err(failure)) => failure,
        };
        Some(match failure {
            Failure::Fatal(e) => Err(e),
            Failure::Io(e) => {
                self.pool.clear();
                if self.reused && !self.retried {
                    self.retried = true;
                    return None;
                }
                if e.kind() == io::ErrorKind::TimedOut {
                    Err(timeout_error())
                } else {
                    Err(Error::Connection {
                        addr: self.addr.to_owned(),
                        source: e.into(),
                    })
                }
            }
        })
    }
}

/// Sends `cmds` (all `HMGET`s) in one pipeline on a pooled connection and appends `decode` of
/// each reply to `out`, as replies arrive. The whole round trip has the store's response timeout;
/// a failure on a reused connection is retried once on a fresh one within the same deadline.
pub(crate) async fn hmget_each<T>(
    pool: &Pool,
    addr: &str,
    after: Duration,
    cmds: &[Command],
    out: &mut Vec<T>,
    mut decode: impl FnMut(&Command, &[Option<&[u8]>]) -> Result<T>,
) -> Result<()> {
    let base = out.len();
    let op = || {
        if cmds.len() == 1 {
            format!("a reply from {addr}")
        } else {
            format!("a pipeline of {} commands to {addr}", cmds.len())
        }
    };
    let mut attempts = Attempts::new(pool, addr, after);
    loop {
        let conn = attempts.take();
        let attempt = async {
            // On any error the connection is dropped here, with whatever it still holds.
            let mut conn = pool.ready(conn).await?;
            read_hmgets(&mut conn, cmds, out, &mut decode).await?;
            pool.release(conn);
            Ok(())
        };
        let attempt = timeout_at(attempts.deadline, attempt).await.ok();
        if let Some(result) = attempts.outcome(attempt, op) {
            if result.is_err() {
                out.truncate(base);
            }
            return result;
        }
        out.truncate(base);
    }
}

async fn read_hmgets<T>(
    conn: &mut Conn,
    cmds: &[Command],
    out: &mut Vec<T>,
    decode: &mut impl FnMut(&Command, &[Option<&[u8]>]) -> Result<T>,
) -> std::result::Result<(), Failure> {
    for cmd in cmds {
        encode_hmget(&mut conn.out, cmd);
    }
    conn.flush().await.map_err(Failure::Io)?;
    let mut spare: Vec<Option<&'static [u8]>> = Vec::with_capacity(16);
    for cmd in cmds {
        loop {
            let mut values = reuse(std::mem::take(&mut spare));
            let parsed = parse_hmget(&conn.buf[conn.start..conn.end], &mut values)
                .map_err(|found| bad_reply(cmd, found))?;
            let Some((used, reply)) = parsed else {
                spare = reuse(values);
                conn.fill().await.map_err(Failure::Io)?;
                continue;
            };
            let decoded = match reply {
                Reply::Array => decode(cmd, &values),
                Reply::Error(line) => Err(server_error(cmd, line)),
                Reply::Other(found) => Err(Error::UnexpectedReply {
                    command: "HMGET",
                    key: cmd.key().to_owned(),
                    expected: "an array",
                    found,
                }),
            };
            spare = reuse(values);
            out.push(decoded.map_err(Failure::Fatal)?);
            conn.start += used;
            break;
        }
    }
    Ok(())
}

/// Applies `writes` (all [`Command::Write`]) as one `MULTI` … `EXEC` transaction in one round
/// trip on a pooled connection, and returns one reply per write as
/// [`transaction_replies`](crate::plan::transaction_replies) makes them. The replies are read
/// straight from the buffer: no `redis::Value` per `QUEUED`.
pub(crate) async fn transaction(
    pool: &Pool,
    addr: &str,
    after: Duration,
    writes: &[Command],
) -> Result<Vec<redis::Value>> {
    let op = || format!("a transaction of {} writes to {addr}", writes.len());
    let mut attempts = Attempts::new(pool, addr, after);
    loop {
        let conn = attempts.take();
        let attempt = async {
            let mut conn = pool.ready(conn).await?;
            let counts = encode_transaction(&mut conn.out, writes);
            conn.flush().await.map_err(Failure::Io)?;
            let replies = read_transaction(&mut conn, counts.iter().sum(), &writes[0]).await?;
            pool.release(conn);
            crate::plan::transaction_replies(writes, &counts, &replies).map_err(Failure::Fatal)
        };
        let attempt = timeout_at(attempts.deadline, attempt).await.ok();
        if let Some(result) = attempts.outcome(attempt, op) {
            return result;
        }
    }
}

/// Appends `MULTI`, each write's `HSET`, `HDEL` (when it removes fields) and `PEXPIRE`, and
/// `EXEC`; returns how many commands each write queued.
fn encode_transaction(out: &mut Vec<u8>, writes: &[Command]) -> Vec<usize> {
    out.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
    let mut counts = Vec::with_capacity(writes.len());
    for cmd in writes {
        let Command::Write(w) = cmd else {
            out.extend_from_slice(&cmd.to_cmd().get_packed_command());
            counts.push(1);
            continue;
        };
        let key = w.key().as_bytes();
        let set = w.set();
        header(out, b'*', 2 + 2 * set.len());
        out.extend_from_slice(b"$4\r\nHSET\r\n");
        bulk(out, key);
        for (field, value) in set {
            bulk(out, field.as_bytes());
            bulk(out, value);
        }
        let mut count = 2;
        if !w.delete().is_empty() {
            header(out, b'*', 2 + w.delete().len());
            out.extend_from_slice(b"$4\r\nHDEL\r\n");
            bulk(out, key);
            for field in w.delete() {
                bulk(out, field.as_bytes());
            }
            count += 1;
        }
        out.extend_from_slice(b"*3\r\n$7\r\nPEXPIRE\r\n");
        bulk(out, key);
        let mut digits = [0u8; 20];
        bulk(out, decimal(w.ttl_ms(), &mut digits));
        counts.push(count);
    }
    out.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
    counts
}

/// Reads the replies of a transaction with `queued` queued commands: `MULTI`'s, one per queued
/// command, and `EXEC`'s (an error, or an array of one reply per queued command).
async fn read_transaction(
    conn: &mut Conn,
    queued: usize,
    first: &Command,
) -> std::result::Result<Vec<redis::Value>, Failure> {
    let bad = |found: String| {
        Failure::Fatal(Error::UnexpectedReply {
            command: "EXEC",
            key: first.key().to_owned(),
            expected: "a well-formed RESP2 reply",
            found,
        })
    };
    let mut replies = Vec::with_capacity(queued + 2);
    // `EXEC`'s array, once its header has been read.
    let mut results: Option<(usize, Vec<redis::Value>)> = None;
    loop {
        let buf = &conn.buf[conn.start..conn.end];
        let Some((kind, line, used)) = line_at(buf, 0).map_err(bad)? else {
            conn.fill().await.map_err(Failure::Io)?;
            continue;
        };
        let exec_header = replies.len() == queued + 1 && results.is_none();
        let value = match kind {
            b'*' if exec_header => {
                let n = number(line).map_err(bad)?;
                let n = usize::try_from(n).map_err(|_| bad(format!("EXEC reply *{n}")))?;
                results = Some((n, Vec::with_capacity(n)));
                None
            }
            b'+' => Some(redis::Value::Okay),
            b':' => Some(redis::Value::Int(number(line).map_err(bad)?)),
            b'-' => Some(error_value(line)),
            other => {
                return Err(bad(format!(
                    "a reply of type {:?} in a transaction",
                    other as char
                )))
            }
        };
        conn.start += used;
        match (value, &mut results) {
            (None, _) => {}
            (Some(value), Some((_, items))) => items.push(value),
            (Some(value), None) => replies.push(value),
        }
        if let Some((n, items)) = &mut results {
            if items.len() == *n {
                replies.push(redis::Value::Array(std::mem::take(items)));
                return Ok(replies);
            }
        } else if replies.len() == queued + 2 {
            // `EXEC` answered with an error (or a status): the transaction was refused.
            return Ok(replies);
        }
    }
}

/// The `redis` crate's value for an error line (without its `-`).
fn error_value(line: &[u8]) -> redis::Value {
    let mut raw = Vec::with_capacity(line.len() + 3);
    raw.push(b'-');
    raw.extend_from_slice(line);
    raw.extend_from_slice(b"\r\n");
    redis::parse_redis_value(&raw)
        .unwrap_or_else(|_| redis::Value::SimpleString(String::from_utf8_lossy(line).into_owned()))
}

/// The same (empty) vector, for values of another lifetime: keeps its allocation.
fn reuse<'b>(mut v: Vec<Option<&[u8]>>) -> Vec<Option<&'b [u8]>> {
    v.clear();
    v.into_iter().map(|_| None).collect()
}

fn bad_reply(cmd: &Command, found: String) -> Failure {
    Failure::Fatal(Error::UnexpectedReply {
        command: "HMGET",
        key: cmd.key().to_owned(),
        expected: "a well-formed RESP2 reply",
        found,
    })
}

/// The server error of an error line, worded exactly as on the `redis` crate path.
fn server_error(cmd: &Command, line: &[u8]) -> Error {
    match error_value(line) {
        redis::Value::ServerError(e) => {
            Error::from_server("HMGET", cmd.key(), e.code(), e.to_string())
        }
        _ => {
            let code = line.split(|&b| b == b' ').next().unwrap_or_default();
            Error::from_server(
                "HMGET",
                cmd.key(),
                &String::from_utf8_lossy(code),
                String::from_utf8_lossy(line).into_owned(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Option<(usize, Vec<Option<Vec<u8>>>)>;

    fn parse(buf: &[u8]) -> std::result::Result<Parsed, String> {
        let mut values = Vec::new();
        Ok(parse_hmget(buf, &mut values)?.map(|(used, reply)| {
            assert_eq!(reply, Reply::Array);
            (used, values.iter().map(|v| v.map(<[u8]>::to_vec)).collect())
        }))
    }

    #[test]
    fn nil_empty_and_binary_bulks() {
        let buf = b"*4\r\n$-1\r\n$0\r\n\r\n$4\r\n\x00\r\n\xff\r\n$2\r\n42\r\n";
        let (used, values) = parse(buf).unwrap().unwrap();
        assert_eq!(used, buf.len());
        assert_eq!(
            values,
            vec![
                None,
                Some(vec![]),
                Some(b"\x00\r\n\xff".to_vec()),
                Some(b"42".to_vec())
            ]
        );
    }

    #[test]
    fn trailing_bytes_are_left() {
        let buf = b"*1\r\n$1\r\na\r\n*0\r\n";
        let (used, values) = parse(buf).unwrap().unwrap();
        assert_eq!(used, 11);
        assert_eq!(values, vec![Some(b"a".to_vec())]);
        assert_eq!(parse(&buf[used..]).unwrap().unwrap().0, 4);
    }

    #[test]
    fn error_reply() {
        let mut values = Vec::new();
        let buf = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        let (used, reply) = parse_hmget(buf, &mut values).unwrap().unwrap();
        assert_eq!(used, buf.len());
        assert_eq!(reply, Reply::Error(&buf[1..buf.len() - 2]));
        let cmd = Command::hmget("k".into(), &["a"]);
        let Error::Server { message, .. } = server_error(&cmd, &buf[1..buf.len() - 2]) else {
            panic!()
        };
        assert!(message.contains("WRONGTYPE"), "{message}");
    }

    #[test]
    fn other_shapes() {
        let mut values = Vec::new();
        for buf in [
            &b":1\r\n"[..],
            b"+OK\r\n",
            b"*-1\r\n",
            b"$-1\r\n",
            b"$1\r\nx\r\n",
        ] {
            let (_, reply) = parse_hmget(buf, &mut values).unwrap().unwrap();
            assert!(matches!(reply, Reply::Other(_)), "{buf:?}: {reply:?}");
        }
        let (_, reply) = parse_hmget(b"*1\r\n:5\r\n", &mut values).unwrap().unwrap();
        assert!(matches!(reply, Reply::Other(_)));
    }

    #[test]
    fn incomplete_at_every_split_point() {
        let buf = b"*3\r\n$3\r\nabc\r\n$-1\r\n$5\r\nx\r\ny\0\r\n";
        for split in 0..buf.len() {
            assert_eq!(parse(&buf[..split]).unwrap(), None, "split at {split}");
        }
        let (used, values) = parse(buf).unwrap().unwrap();
        assert_eq!(used, buf.len());
        assert_eq!(values.len(), 3);
        let err = b"-ERR oops\r\n";
        for split in 0..err.len() {
            assert_eq!(parse(&err[..split]).unwrap(), None);
        }
    }

    #[test]
    fn huge_and_malformed_headers_are_errors() {
        for buf in [
            &b"*1\r\n$99999999999\r\n"[..],
            b"*1\r\n$999999999999999999999\r\n",
            b"*x\r\n",
            b"*\r\n",
            b"*1\n",
            b"*1\r\n$3\r\nabcXY",
            b"?\r\n",
            b"*1\r\n$--1\r\n",
            b"*111111111111111111111111111111111111111111",
        ] {
            assert!(parse(buf).is_err(), "{buf:?}");
        }
    }

    #[test]
    fn encoding() {
        let mut out = Vec::new();
        encode_hmget(&mut out, &Command::hmget("key".into(), &["a", "bc"]));
        assert_eq!(
            out,
            b"*4\r\n$5\r\nHMGET\r\n$3\r\nkey\r\n$1\r\na\r\n$2\r\nbc\r\n"
        );
        out.clear();
        header(&mut out, b'$', 1234567890);
        assert_eq!(out, b"$1234567890\r\n");
    }

    fn write(key: &str, with_none: bool) -> Command {
        let mut w = crate::RowWriter::with_capacity(3);
        w.put("age", &28i64);
        w.put("segment", &"a b".to_owned());
        if with_none {
            w.put("country", &None::<String>);
        }
        Command::Write(w.finish(key.into(), 3_600_000, 42))
    }

    #[test]
    fn transactions_encode_as_the_redis_crate_does() {
        let writes = [write("fs:v1:u:1", true), write("fs:v1:u:2", false)];
        let mut out = Vec::new();
        let counts = encode_transaction(&mut out, &writes);
        let mut pipe = redis::Pipeline::new();
        assert_eq!(counts, crate::plan::append_transaction(&mut pipe, &writes));
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&pipe.get_packed_pipeline())
        );
    }

    /// `read_transaction` over a socket pair, the reply sent `chunk` bytes at a time.
    fn read_split(
        reply: &[u8],
        queued: usize,
        chunk: usize,
    ) -> std::result::Result<Vec<redis::Value>, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (ours, mut theirs) = UnixStream::pair().unwrap();
            let reply = reply.to_vec();
            let sender = tokio::spawn(async move {
                for part in reply.chunks(chunk.max(1)) {
                    theirs.write_all(part).await.unwrap();
                    theirs.flush().await.unwrap();
                    tokio::task::yield_now().await;
                }
                // Closed: a reader that wants more gets end-of-file.
                drop(theirs);
            });
            let mut conn = Conn {
                stream: Stream::Unix(ours),
                out: Vec::new(),
                buf: vec![0; 8],
                start: 0,
                end: 0,
            };
            let first = write("k", false);
            let result = read_transaction(&mut conn, queued, &first).await;
            sender.await.unwrap();
            result.map_err(|f| match f {
                Failure::Fatal(e) => e.to_string(),
                Failure::Io(e) => format!("io: {e}"),
            })
        })
    }

    #[test]
    fn transaction_replies_at_every_split() {
        let applied: &[u8] =
            b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:2\r\n-WRONGTYPE bad\r\n:1\r\n";
        let refused: &[u8] = b"+OK\r\n+QUEUED\r\n-NOPERM no\r\n+QUEUED\r\n-EXECABORT discarded\r\n";
        for chunk in [1, 2, 3, 7, 64] {
            let got = read_split(applied, 3, chunk).unwrap();
            assert_eq!(got.len(), 5, "{got:?}");
            assert_eq!(got[0], redis::Value::Okay);
            let redis::Value::Array(results) = &got[4] else {
                panic!("{got:?}")
            };
            assert_eq!(results[0], redis::Value::Int(2));
            assert!(matches!(&results[1], redis::Value::ServerError(e) if e.code() == "WRONGTYPE"));
            let got = read_split(refused, 3, chunk).unwrap();
            assert!(matches!(&got[2], redis::Value::ServerError(e) if e.code() == "NOPERM"));
            assert!(matches!(&got[4], redis::Value::ServerError(e) if e.code() == "EXECABORT"));
        }
    }

    #[test]
    fn malformed_transaction_replies_are_errors() {
        for (reply, expected) in [
            (&b"+OK\r\n$3\r\nabc\r\n"[..], "a reply of type '$'"),
            (b"+OK\r\n+QUEUED\r\n*-1\r\n", "EXEC reply *-1"),
            (b"+OK\r\n+QUEUED\r\n*1\r\n*1\r\n", "a reply of type '*'"),
            (b"+OK\r\n:12a\r\n", "malformed"),
            (b"+OK\n", "CRLF"),
        ] {
            let err = read_split(reply, 1, 3).unwrap_err();
            assert!(err.contains(expected), "{err}");
            assert!(err.contains("`k`"), "{err}");
        }
        // The server closing the connection mid-reply is a connection failure.
        let err = read_split(b"+OK\r\n+QUE", 1, 4).unwrap_err();
        assert!(err.starts_with("io:"), "{err}");
    }
}
