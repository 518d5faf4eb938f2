//! Raw RESP2 connections to one node, over TCP or a unix socket, pooled: what the server and
//! cluster backends send every command on (TLS goes through the `redis` crate instead).
//!
//! A round trip is an [`Exchange`]: it encodes its commands into the connection's output
//! buffer, then consumes replies from the read buffer as they arrive, synchronously, until it has
//! them all. [`Pool::call`] owns the loop around it: a connection from the pool or a new one
//! (authenticated, database selected, `READONLY` for replicas), the call's deadline, and one
//! retry on a fresh connection when a reused one turns out dead (every exchange is idempotent
//! or atomic). A connection that saw any error, timeout or unexpected reply is dropped, never
//! reused.

use std::collections::VecDeque;
use std::io;
#[cfg(unix)]
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout_at, Instant};

use crate::resp::{self, Frame};
use crate::{Error, Result};

/// Initial read-buffer size.
const READ_BUF: usize = 16 * 1024;
/// A pooled connection whose buffers grew beyond this gets fresh, small ones.
const MAX_IDLE_BUF: usize = 1024 * 1024;
/// Exchanges with at most this many replies may share the multiplexed connection.
pub(crate) const MUX_REPLIES: usize = 16;

/// Where a node listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    Tcp(String, u16),
    #[cfg(unix)]
    Unix(PathBuf),
}

/// How to open and set up connections to a node.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) db: i64,
    pub(crate) connect_timeout: Duration,
    /// Idle connections kept for reuse.
    pub(crate) max_idle: usize,
}

/// A pool of raw connections to one node, opened on demand.
pub(crate) struct Pool {
    target: Target,
    /// The node's address for messages, without credentials.
    addr: String,
    setup: Setup,
    /// Send `READONLY` on connect: reads from a cluster replica.
    readonly: bool,
    idle: Mutex<Vec<Conn>>,
    /// Connections taken from the pool and not yet given back.
    in_use: AtomicUsize,
    /// The shared connection of small exchanges made while another call holds a connection.
    mux: Mutex<Option<Mux>>,
}

/// Why one attempt failed.
pub(crate) enum Failure {
    /// The connection failed: a fresh one may succeed.
    Io(io::Error),
    /// An answer that is an error for the caller (server error, bad reply, decode error).
    Fatal(Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// One round trip's commands and the reading of their replies.
pub(crate) trait Exchange {
    /// What the round trip returns.
    type Output;

    /// Appends the commands to send.
    fn encode(&mut self, out: &mut Vec<u8>);

    /// How many replies the commands get (top-level replies: an `EXEC` array counts once).
    fn replies(&self) -> usize;

    /// Consumes complete replies from the start of `buf`: how many bytes it used, and the
    /// output once every reply has been read. Called again with more bytes while it returns
    /// `None`.
    ///
    /// # Errors
    /// [`Failure::Fatal`] for a reply the caller must see as an error.
    fn read(&mut self, buf: &[u8]) -> std::result::Result<(usize, Option<Self::Output>), Failure>;

    /// Forgets what was read, before the exchange is tried again on a fresh connection.
    fn reset(&mut self);
}

impl Pool {
    pub(crate) fn new(target: Target, setup: Setup, readonly: bool) -> Pool {
        let addr = match &target {
            Target::Tcp(host, port) => format!("{host}:{port}"),
            #[cfg(unix)]
            Target::Unix(path) => path.display().to_string(),
        };
        Pool {
            target,
            addr,
            setup,
            readonly,
            idle: Mutex::new(Vec::new()),
            in_use: AtomicUsize::new(0),
            mux: Mutex::new(None),
        }
    }

    /// The node's address, without credentials.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// Runs `exchange` in one round trip before `deadline`; `op` names it in a timeout error
    /// (`after` being the deadline's length). A failure on a reused connection is retried once
    /// on a fresh one within the same deadline.
    ///
    /// A small exchange (at most [`MUX_REPLIES`] replies: a single read or write, a vector)
    /// made while another call holds a connection goes on the pool's shared, multiplexed
    /// connection, where concurrent calls' commands share one write and one read; anything else
    /// has a connection of its own, its replies decoded in place.
    ///
    /// # Errors
    /// [`Error::Timeout`], [`Error::Connection`], or the exchange's own errors.
    pub(crate) async fn call<X: Exchange + Send>(
        &self,
        exchange: &mut X,
        deadline: Instant,
        after: Duration,
        op: impl Fn() -> String,
    ) -> Result<X::Output> {
        let shared = exchange.replies() <= MUX_REPLIES && self.in_use.load(Ordering::Relaxed) > 0;
        let mut retried = false;
        loop {
            let (reused, attempt) = if shared {
                let (mux, reused) = self.mux(retried);
                let attempt = timeout_at(deadline, mux.call(exchange, self)).await;
                (reused, attempt)
            } else {
                let conn = if retried { None } else { self.take() };
                let reused = conn.is_some();
                (
                    reused,
                    timeout_at(deadline, self.dedicated(conn, exchange)).await,
                )
            };
            let failure = match attempt {
                Err(_) => return Err(Error::Timeout { op: op(), after }),
                Ok(Ok(output)) => return Ok(output),
                Ok(Err(failure)) => failure,
            };
            exchange.reset();
            match failure {
                Failure::Fatal(e) => return Err(e),
                Failure::Io(e) => {
                    self.clear();
                    if reused && !retried {
                        retried = true;
                        continue;
                    }
                    if e.kind() == io::ErrorKind::TimedOut {
                        return Err(Error::Timeout { op: op(), after });
                    }
                    return Err(Error::Connection {
                        addr: self.addr.clone(),
                        source: e.into(),
                    });
                }
            }
        }
    }

    /// `exchange` on `conn`, or on a new connection.
    async fn dedicated<X: Exchange>(
        &self,
        conn: Option<Conn>,
        exchange: &mut X,
    ) -> std::result::Result<X::Output, Failure> {
        let _in_use = InUse::new(&self.in_use);
        let mut conn = match conn {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        // On any error the connection is dropped here, with whatever it still holds.
        let output = conn.exchange(exchange).await?;
        self.release(conn);
        Ok(output)
    }

    /// The shared connection (a new one when there is none, it died, or `fresh` is asked for),
    /// and whether it was there before.
    fn mux(&self, fresh: bool) -> (Mux, bool) {
        let mut mux = self.mux.lock().unwrap_or_else(|e| e.into_inner());
        match mux.as_ref() {
            Some(m) if !fresh && !m.jobs.is_closed() => (m.clone(), true),
            _ => {
                let m = Mux::start();
                *mux = Some(m.clone());
                (m, false)
            }
        }
    }

    fn take(&self) -> Option<Conn> {
        self.idle.lock().ok()?.pop()
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
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.setup.max_idle {
                idle.push(conn);
            }
        }
    }

    /// Closes the idle connections and the shared one; a call in flight keeps its connection
    /// until it ends.
    pub(crate) fn close(&self) {
        self.clear();
    }

    /// Forgets every idle connection and the shared one (after a failure, they are likely all
    /// dead).
    fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
        if let Ok(mut mux) = self.mux.lock() {
            *mux = None;
        }
    }

    /// A new connection, authenticated, with its database selected (and `READONLY` sent for a
    /// replica).
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
        let stream = tokio::time::timeout(self.setup.connect_timeout, connect)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        let mut conn = Conn {
            stream,
            out: Vec::with_capacity(4096),
            buf: vec![0; READ_BUF],
            start: 0,
            end: 0,
        };
        let mut setup = SetupExchange {
            addr: self.addr.clone(),
            ..SetupExchange::default()
        };
        if let Some(password) = &self.setup.password {
            let mut auth: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &self.setup.username {
                auth.push(user.as_bytes());
            }
            auth.push(password.as_bytes());
            setup.push(&auth);
        }
        let db = self.setup.db.to_string();
        if self.setup.db != 0 {
            setup.push(&[b"SELECT", db.as_bytes()]);
        }
        if self.readonly {
            setup.push(&[b"READONLY"]);
        }
        if setup.expected == 0 {
            // No password given: a server that wants one answers NOAUTH, reported now.
            setup.push(&[b"PING"]);
        }
        conn.exchange(&mut setup).await?;
        Ok(conn)
    }
}

/// The connection setup commands (`AUTH`, `SELECT`, `READONLY`, or `PING`), each answered
/// with a status.
#[derive(Default)]
struct SetupExchange {
    addr: String,
    out: Vec<u8>,
    expected: usize,
    read: usize,
}

impl SetupExchange {
    fn push(&mut self, args: &[&[u8]]) {
        resp::args(&mut self.out, args);
        self.expected += 1;
    }
}

impl Exchange for SetupExchange {
    type Output = ();

    fn replies(&self) -> usize {
        self.expected
    }

    fn encode(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.out);
    }

    fn read(&mut self, buf: &[u8]) -> std::result::Result<(usize, Option<()>), Failure> {
        let mut pos = 0;
        let mut spans = Vec::new();
        while self.read < self.expected {
            let parsed = resp::parse(buf, pos, &mut spans)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let Some((frame, next)) = parsed else {
                return Ok((pos, None));
            };
            if let Frame::Error(line) = frame {
                let text = String::from_utf8_lossy(line.of(buf)).into_owned();
                let code = text.split(' ').next().unwrap_or_default();
                let auth = ["WRONGPASS", "NOAUTH"].contains(&code)
                    || text.contains("invalid password")
                    || text.contains("invalid username-password");
                return Err(Failure::Fatal(if auth {
                    Error::Auth {
                        addr: self.addr.clone(),
                        message: text,
                    }
                } else {
                    crate::reply::server_error("the connection setup", "", line.of(buf))
                }));
            }
            pos = next;
            self.read += 1;
        }
        Ok((pos, Some(())))
    }

    fn reset(&mut self) {
        self.read = 0;
    }
}

enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

/// One raw connection with its buffers: `out` is what to send, `buf[start..end]` what was read
/// and not yet consumed.
struct Conn {
    stream: Stream,
    out: Vec<u8>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Conn {
    /// Sends the exchange's commands and feeds it replies until it has them all.
    async fn exchange<X: Exchange>(
        &mut self,
        exchange: &mut X,
    ) -> std::result::Result<X::Output, Failure> {
        exchange.encode(&mut self.out);
        let sent = match &mut self.stream {
            Stream::Tcp(s) => s.write_all(&self.out).await,
            #[cfg(unix)]
            Stream::Unix(s) => s.write_all(&self.out).await,
        };
        self.out.clear();
        sent?;
        loop {
            let (used, output) = exchange.read(&self.buf[self.start..self.end])?;
            self.start += used;
            if let Some(output) = output {
                return Ok(output);
            }
            self.fill().await?;
        }
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
}

/// Counts a connection in use while alive.
struct InUse<'a>(&'a AtomicUsize);

impl<'a> InUse<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        InUse(count)
    }
}

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One request on the shared connection: its encoded commands, how many replies they get, and
/// where the replies' bytes go.
struct Job {
    bytes: Vec<u8>,
    replies: usize,
    done: oneshot::Sender<io::Result<Vec<u8>>>,
}

/// A handle on the shared connection of a pool: one task that connects, then writes the
/// commands of every waiting job in one write and hands each job the bytes of its replies, in
/// order (Valkey answers a connection's commands in the order sent). When the connection fails,
/// every job in flight gets the error and the task ends; the next call starts a new one.
#[derive(Clone)]
struct Mux {
    jobs: mpsc::UnboundedSender<Job>,
    /// The connection, handed to the task by the first call (which can connect: it knows the
    /// pool).
    conn: std::sync::Arc<Mutex<Option<oneshot::Sender<Conn>>>>,
}

impl Mux {
    fn start() -> Mux {
        let (jobs, rx) = mpsc::unbounded_channel();
        let (conn_tx, conn_rx) = oneshot::channel();
        tokio::spawn(mux_task(conn_rx, rx));
        Mux {
            jobs,
            conn: std::sync::Arc::new(Mutex::new(Some(conn_tx))),
        }
    }

    /// Runs `exchange` on the shared connection: its replies' bytes are copied out by the task
    /// and read here.
    async fn call<X: Exchange>(
        &self,
        exchange: &mut X,
        pool: &Pool,
    ) -> std::result::Result<X::Output, Failure> {
        let pending = self.conn.lock().ok().and_then(|mut c| c.take());
        if let Some(pending) = pending {
            let conn = pool.connect().await?;
            let _ = pending.send(conn);
        }
        let mut bytes = Vec::with_capacity(256);
        exchange.encode(&mut bytes);
        let (done, reply) = oneshot::channel();
        let job = Job {
            bytes,
            replies: exchange.replies(),
            done,
        };
        let gone = || io::Error::new(io::ErrorKind::BrokenPipe, "the shared connection closed");
        self.jobs.send(job).map_err(|_| gone())?;
        let replies = reply.await.map_err(|_| gone())??;
        match exchange.read(&replies)? {
            (_, Some(output)) => Ok(output),
            (_, None) => Err(Failure::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                "incomplete replies on the shared connection",
            ))),
        }
    }
}

/// The task behind a [`Mux`].
async fn mux_task(conn: oneshot::Receiver<Conn>, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let Ok(conn) = conn.await else {
        return;
    };
    let Conn {
        stream,
        mut out,
        mut buf,
        ..
    } = conn;
    let (mut reader, mut writer) = stream.split();
    let (mut start, mut end) = (0, 0);
    let mut waiting: VecDeque<(usize, oneshot::Sender<io::Result<Vec<u8>>>)> = VecDeque::new();
    let failed = loop {
        tokio::select! {
            job = jobs.recv() => {
                let Some(job) = job else { break None };
                out.clear();
                let mut add = |job: Job| {
                    out.extend_from_slice(&job.bytes);
                    waiting.push_back((job.replies, job.done));
                };
                add(job);
                while let Ok(job) = jobs.try_recv() {
                    add(job);
                }
                if let Err(e) = writer.write_all(&out).await {
                    break Some(e);
                }
            }
            read = reader.read(&mut buf[end..]), if !waiting.is_empty() => {
                match read {
                    Ok(0) => break Some(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection")),
                    Err(e) => break Some(e),
                    Ok(n) => end += n,
                }
                // Hand out every job whose replies are complete.
                while let Some(&(replies, _)) = waiting.front() {
                    let mut pos = start;
                    let mut complete = true;
                    for _ in 0..replies {
                        match resp::end_of(&buf[..end], pos) {
                            Ok(Some(next)) => pos = next,
                            Ok(None) => { complete = false; break; }
                            Err(e) => {
                                let e = io::Error::new(io::ErrorKind::InvalidData, e);
                                fail(&mut waiting, &e);
                                return;
                            }
                        }
                    }
                    if !complete {
                        break;
                    }
                    if let Some((_, done)) = waiting.pop_front() {
                        let _ = done.send(Ok(buf[start..pos].to_vec()));
                    }
                    start = pos;
                }
                if start == end {
                    (start, end) = (0, 0);
                } else if start > 0 {
                    buf.copy_within(start..end, 0);
                    end -= start;
                    start = 0;
                }
                if end == buf.len() {
                    let len = buf.len() * 2;
                    buf.resize(len, 0);
                }
            }
        }
    };
    if let Some(e) = failed {
        fail(&mut waiting, &e);
    }
}

/// Gives every waiting job the error `e`.
fn fail(waiting: &mut VecDeque<(usize, oneshot::Sender<io::Result<Vec<u8>>>)>, e: &io::Error) {
    for (_, done) in waiting.drain(..) {
        let _ = done.send(Err(io::Error::new(e.kind(), e.to_string())));
    }
}

/// The halves of a [`Stream`], for the shared connection's task.
enum ReadHalf {
    Tcp(tokio::net::tcp::OwnedReadHalf),
    #[cfg(unix)]
    Unix(tokio::net::unix::OwnedReadHalf),
}

enum WriteHalf {
    Tcp(tokio::net::tcp::OwnedWriteHalf),
    #[cfg(unix)]
    Unix(tokio::net::unix::OwnedWriteHalf),
}

impl Stream {
    fn split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Stream::Tcp(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            #[cfg(unix)]
            Stream::Unix(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
        }
    }
}

impl ReadHalf {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ReadHalf::Tcp(r) => r.read(buf).await,
            #[cfg(unix)]
            ReadHalf::Unix(r) => r.read(buf).await,
        }
    }
}

impl WriteHalf {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(w) => w.write_all(bytes).await,
            #[cfg(unix)]
            WriteHalf::Unix(w) => w.write_all(bytes).await,
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// Counts complete `+` lines, one at a time.
    struct Lines {
        want: usize,
        got: Vec<Vec<u8>>,
    }

    impl Exchange for Lines {
        type Output = Vec<Vec<u8>>;

        fn encode(&mut self, out: &mut Vec<u8>) {
            resp::args(out, &[b"PING"]);
        }

        fn replies(&self) -> usize {
            self.want
        }

        fn read(
            &mut self,
            buf: &[u8],
        ) -> std::result::Result<(usize, Option<Self::Output>), Failure> {
            let mut spans = Vec::new();
            let mut pos = 0;
            while self.got.len() < self.want {
                match resp::parse(buf, pos, &mut spans) {
                    Ok(Some((Frame::Status(s), next))) => {
                        self.got.push(s.of(buf).to_vec());
                        pos = next;
                    }
                    Ok(None) => return Ok((pos, None)),
                    other => panic!("{other:?}"),
                }
            }
            Ok((pos, Some(std::mem::take(&mut self.got))))
        }

        fn reset(&mut self) {
            self.got.clear();
        }
    }

    #[test]
    fn replies_split_at_every_point_are_read_whole() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for chunk in [1, 2, 3, 7, 64] {
                let (ours, mut theirs) = UnixStream::pair().unwrap();
                let sender = tokio::spawn(async move {
                    let mut request = [0u8; 14];
                    theirs.read_exact(&mut request).await.unwrap();
                    assert_eq!(&request, b"*1\r\n$4\r\nPING\r\n");
                    for part in b"+PONG\r\n+OK\r\n+QUEUED\r\n".chunks(chunk) {
                        theirs.write_all(part).await.unwrap();
                        tokio::task::yield_now().await;
                    }
                });
                let mut conn = Conn {
                    stream: Stream::Unix(ours),
                    out: Vec::new(),
                    buf: vec![0; 4],
                    start: 0,
                    end: 0,
                };
                let mut lines = Lines {
                    want: 3,
                    got: Vec::new(),
                };
                let got = conn.exchange(&mut lines).await.ok().unwrap();
                assert_eq!(got, [b"PONG".to_vec(), b"OK".to_vec(), b"QUEUED".to_vec()]);
                assert_eq!(conn.start, conn.end);
                sender.await.unwrap();
            }
        });
    }
}
