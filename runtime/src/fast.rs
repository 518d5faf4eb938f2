//! The batch-read hot path: `HMGET` pipelines over a small pool of raw connections, their RESP2
//! replies decoded straight from the read buffer (no `redis::Value` tree).
//!
//! Used by `read_batch` on a server reached over plain TCP or a unix socket with RESP2; anything
//! else (TLS, RESP3) keeps the `redis` crate path. A connection that saw any error, timeout or
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

    /// Forgets every idle connection (after the server went away, they are all dead).
    fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
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
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
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
    let deadline = Instant::now() + after;
    let base = out.len();
    let timeout_error = || Error::Timeout {
        op: if cmds.len() == 1 {
            format!("a reply from {addr}")
        } else {
            format!("a pipeline of {} commands to {addr}", cmds.len())
        },
        after,
    };
    let mut retried = false;
    loop {
        let (conn, reused) = match pool.take() {
            Some(c) if !retried => (Some(c), true),
            _ => (None, false),
        };
        let attempt = attempt(pool, conn, cmds, out, &mut decode);
        let failure = match timeout_at(deadline, attempt).await {
            Err(_) => {
                out.truncate(base);
                return Err(timeout_error());
            }
            Ok(Ok(())) => return Ok(()),
            Ok(Err(failure)) => failure,
        };
        out.truncate(base);
        match failure {
            Failure::Fatal(e) => return Err(e),
            Failure::Io(e) => {
                pool.clear();
                if reused && !retried {
                    retried = true;
                    continue;
                }
                if e.kind() == io::ErrorKind::TimedOut {
                    return Err(timeout_error());
                }
                return Err(Error::Connection {
                    addr: addr.to_owned(),
                    source: e.into(),
                });
            }
        }
    }
}

async fn attempt<T>(
    pool: &Pool,
    conn: Option<Conn>,
    cmds: &[Command],
    out: &mut Vec<T>,
    decode: &mut impl FnMut(&Command, &[Option<&[u8]>]) -> Result<T>,
) -> std::result::Result<(), Failure> {
    let mut conn = match conn {
        Some(c) => c,
        None => pool.connect().await?,
    };
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
            // On any error the connection is dropped here, with whatever it still holds.
            out.push(decoded.map_err(Failure::Fatal)?);
            conn.start += used;
            break;
        }
    }
    if conn.start == conn.end {
        conn.start = 0;
        conn.end = 0;
        if conn.buf.len() > MAX_IDLE_BUF {
            conn.buf = vec![0; READ_BUF];
        }
        if conn.out.capacity() > MAX_IDLE_BUF {
            conn.out = Vec::with_capacity(4096);
        }
        pool.put(conn);
    }
    Ok(())
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
    let mut raw = Vec::with_capacity(line.len() + 3);
    raw.push(b'-');
    raw.extend_from_slice(line);
    raw.extend_from_slice(b"\r\n");
    let message = match redis::parse_redis_value(&raw) {
        Ok(redis::Value::ServerError(e)) => e.to_string(),
        _ => String::from_utf8_lossy(line).into_owned(),
    };
    let code = line.split(|&b| b == b' ').next().unwrap_or_default();
    Error::from_server("HMGET", cmd.key(), &String::from_utf8_lossy(code), message)
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
}
