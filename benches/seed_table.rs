//! The seed's latency table, measured: fstore's typed API side by side with a hand-written
//! redis-rs client doing the same commands, in the same process, on the same server.
//!
//! ```text
//! cargo bench --bench seed_table                 # Markdown on stdout, progress on stderr
//! cargo bench --bench seed_table -- --json       # the same figures as JSON
//! cargo bench --bench seed_table -- --no-pin     # do not pin client and server to CPU 0
//! VALKEY_URL=redis://host:port cargo bench --bench seed_table   # an existing server
//! ```
//!
//! Without `VALKEY_URL` it starts its own `valkey-server` (`FSTORE_TEST_SERVER`, else
//! `valkey-server`, else `redis-server` from `PATH`) on a free 127.0.0.1 port with persistence
//! off, and kills it on exit, panic or Ctrl-C. By default the server runs under `taskset -c 0`
//! and the bench pins itself to CPU 0 as well. On a `VALKEY_URL` server it writes the keys
//! `fs:v1:{user_profile,user_risk_profile,user_activity}:bench_*`, which expire within an hour.
//!
//! `cargo test --all-targets` runs this file's `main` too, without the `--bench` argument that
//! `cargo bench` passes: it then makes a quick smoke run (own server, unpinned, 20 iterations per
//! row, no throughput or memory sections) so that the bench code is exercised in CI.
//!
//! The hand-written side is what a competent engineer writes directly against redis-rs: `format!`
//! keys, `redis::cmd`/`redis::pipe`, `query_async::<Value>` and a decoder that takes the reply
//! tree apart by value (`from_utf8` + `parse`). Both sides send the same commands, which is
//! checked once per row, as are the decoded values.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fstore::{FeatureVector as _, FeatureView as _, Store};
use redis::aio::MultiplexedConnection;
use redis::Value;

mod features {
    fstore::registry!("features.toml");
}

use features::{UserActivity, UserProfile, UserRiskProfile};

/// Two features of `user_profile`: `HMGET key age lifetime_value _updated_at`.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(registry = "features.toml", name = "user_profile")]
struct Two {
    age: i64,
    lifetime_value: f64,
}

/// A fraud model's input over the three user views: one `HMGET` per view, one pipeline.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml")]
struct Fraud {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_profile", name = "lifetime_value")]
    ltv: f64,
    #[fstore(view = "user_profile")]
    segment: String, // registry vocab: one-hot
    #[fstore(view = "user_risk_profile")]
    fraud_score: f64,
    #[fstore(view = "user_risk_profile")]
    txn_count_24h: i64, // registry default 0
    #[fstore(view = "user_activity")]
    sessions_7d: i64,
    #[fstore(view = "user_activity")]
    last_category: Option<String>, // registry vocab, index-encoded
}

// ---- counting allocator ----------------------------------------------------------------------

/// Wraps the system allocator; counts only while [`TRACK`] is set, so that the latency rows pay
/// one relaxed load per allocation and nothing else.
struct Counting;

static TRACK: AtomicBool = AtomicBool::new(false);
/// Allocator calls (`alloc`, `alloc_zeroed`, `realloc`) while tracking.
static CALLS: AtomicU64 = AtomicU64::new(0);
/// Bytes requested by those calls.
static BYTES: AtomicU64 = AtomicU64::new(0);
/// Live bytes, relative to when tracking started (frees of older blocks make it go down).
static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

#[global_allocator]
static GLOBAL: Counting = Counting;

fn note_alloc(size: usize) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(size as u64, Ordering::Relaxed);
    let live = LIVE.fetch_add(size as i64, Ordering::Relaxed) + size as i64;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() && TRACK.load(Ordering::Relaxed) {
            note_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() && TRACK.load(Ordering::Relaxed) {
            note_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        if TRACK.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() && TRACK.load(Ordering::Relaxed) {
            CALLS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
            let delta = new_size as i64 - layout.size() as i64;
            let live = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
}

/// What the allocator saw between [`Tracking::start`] and [`Tracking::stop`].
struct Tracked {
    calls: u64,
    bytes: u64,
    /// Peak live bytes above the start.
    peak: i64,
    /// Live bytes at the stop, above the start.
    retained: i64,
}

struct Tracking;

impl Tracking {
    fn start() -> Tracking {
        CALLS.store(0, Ordering::Relaxed);
        BYTES.store(0, Ordering::Relaxed);
        LIVE.store(0, Ordering::Relaxed);
        PEAK.store(0, Ordering::Relaxed);
        TRACK.store(true, Ordering::SeqCst);
        Tracking
    }

    fn stop(self) -> Tracked {
        TRACK.store(false, Ordering::SeqCst);
        Tracked {
            calls: CALLS.load(Ordering::Relaxed),
            bytes: BYTES.load(Ordering::Relaxed),
            peak: PEAK.load(Ordering::Relaxed),
            retained: LIVE.load(Ordering::Relaxed),
        }
    }
}

// ---- settings --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `cargo bench`: every section, many iterations.
    Full,
    /// `cargo test --all-targets`: a few iterations per row, to exercise the code.
    Smoke,
}

struct Settings {
    mode: Mode,
    json: bool,
    pin: bool,
    users: usize,
    warmup: usize,
    read_iters: usize,
    write100_iters: usize,
    write1000_iters: usize,
    /// Per latency row, whatever the iteration count.
    row_budget: Duration,
    throughput_secs: f64,
    alloc_calls: usize,
    memory_ids: usize,
    watchdog: Duration,
}

impl Settings {
    fn from_args() -> Settings {
        let mut bench = false;
        let mut json = false;
        let mut pin = true;
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--bench" => bench = true,
                "--json" => json = true,
                "--no-pin" => pin = false,
                "-h" | "--help" => {
                    eprintln!(
                        "usage: cargo bench --bench seed_table [-- --json] [-- --no-pin]\n\
                         VALKEY_URL=redis://host:port uses that server instead of starting one."
                    );
                    std::process::exit(0);
                }
                other => eprintln!("seed_table: ignoring argument {other:?}"),
            }
        }
        if bench {
            Settings {
                mode: Mode::Full,
                json,
                pin,
                users: 10_000,
                warmup: 200,
                read_iters: 2_000,
                write100_iters: 1_000,
                write1000_iters: 200,
                row_budget: Duration::from_secs(20),
                throughput_secs: 2.0,
                alloc_calls: 1_000,
                memory_ids: 100_000,
                watchdog: Duration::from_secs(30 * 60),
            }
        } else {
            Settings {
                mode: Mode::Smoke,
                json,
                pin: false,
                users: 2_000,
                warmup: 5,
                read_iters: 20,
                write100_iters: 20,
                write1000_iters: 5,
                row_budget: Duration::from_secs(2),
                throughput_secs: 0.0,
                alloc_calls: 20,
                memory_ids: 0,
                watchdog: Duration::from_secs(120),
            }
        }
    }
}

/// Progress and notes go to stderr; results to stdout.
macro_rules! note {
    ($($t:tt)*) => { eprintln!("seed_table: {}", format_args!($($t)*)) };
}

// ---- the server ------------------------------------------------------------------------------

/// The pid of the server we started, for the Ctrl-C handler and the watchdog.
static SERVER_PID: AtomicU32 = AtomicU32::new(0);
static SERVER_DIR: OnceLock<PathBuf> = OnceLock::new();

/// A `valkey-server` owned by the bench: killed and its directory removed on drop.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        SERVER_PID.store(0, Ordering::SeqCst);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Kills the server we started (if any) without unwinding: for Ctrl-C and the watchdog.
fn kill_server_and_exit(code: i32) -> ! {
    let pid = SERVER_PID.swap(0, Ordering::SeqCst);
    if pid != 0 {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    if let Some(dir) = SERVER_DIR.get() {
        let _ = fs::remove_dir_all(dir);
    }
    std::process::exit(code);
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

fn server_binary() -> String {
    if let Some(b) = std::env::var_os("FSTORE_TEST_SERVER").filter(|b| !b.is_empty()) {
        return b.to_string_lossy().into_owned();
    }
    ["valkey-server", "redis-server"]
        .iter()
        .find_map(|n| find_on_path(n))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| {
            panic!(
                "\n\n====================================================================\n \
                 NO VALKEY/REDIS SERVER FOR THE BENCHMARK: neither `valkey-server` nor\n \
                 `redis-server` is on PATH and FSTORE_TEST_SERVER is not set.\n\
                 ====================================================================\n \
                 Install one (`scripts/test` does: apt-get install -t bookworm-backports\n \
                 valkey-server), or set FSTORE_TEST_SERVER=/path/to/valkey-server, or\n \
                 VALKEY_URL=redis://host:port to use a running server.\n\
                 ====================================================================\n"
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

fn temp_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir =
        std::env::temp_dir().join(format!("fstore-seed-table-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).expect("cannot create the server's temp dir");
    dir
}

/// Polls until `child` answers on `port`: `INFO server` must show its pid, so that another
/// server that took the port is not mistaken for ours.
fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let want = format!("process_id:{}\r\n", child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited: {status}"));
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let mut reply = Vec::new();
            let mut buf = [0u8; 4096];
            if s.write_all(b"INFO server\r\n").is_ok() {
                while let Ok(n @ 1..) = s.read(&mut buf) {
                    reply.extend_from_slice(&buf[..n]);
                    if reply.ends_with(b"\r\n\r\n") || reply.len() > 1 << 16 {
                        break;
                    }
                }
            }
            let text = String::from_utf8_lossy(&reply);
            if text.contains(&want) {
                return Ok(());
            }
            if text.contains("process_id:") {
                return Err("another server answers on the port".into());
            }
        }
        if Instant::now() > deadline {
            return Err("no answer within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Server {
    /// Starts the server on a free port (retrying when another process takes the port first)
    /// and waits until it answers.
    fn start(pin: bool) -> Server {
        let binary = server_binary();
        let dir = temp_dir();
        let _ = SERVER_DIR.set(dir.clone());
        for _attempt in 0..5 {
            let port = free_port();
            let mut cmd = if pin {
                let mut c = Command::new("taskset");
                c.args(["-c", "0"]).arg(&binary);
                c
            } else {
                Command::new(&binary)
            };
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(&dir)
                .arg("--logfile")
                .arg(dir.join("server.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // `taskset -c 0 server` execs the server: the pid is the server's.
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run `{binary}`: {e}"));
            SERVER_PID.store(child.id(), Ordering::SeqCst);
            match wait_ready(&mut child, port) {
                Ok(()) => {
                    return Server {
                        child,
                        port,
                        dir: dir.clone(),
                    }
                }
                Err(why) => {
                    note!("server on port {port} did not start ({why}); retrying");
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        let log = fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        let _ = fs::remove_dir_all(&dir);
        panic!("`{binary}` did not start after 5 attempts; its log:\n{log}");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

// ---- pinning ---------------------------------------------------------------------------------

/// Pins this process (its only thread, so every thread started later too) to CPU 0 with
/// `taskset -p`. Returns what was done, for the report.
fn pin_self(settings: &Settings) -> (bool, String) {
    if settings.mode == Mode::Smoke {
        return (false, "not pinned (smoke run under `cargo test`)".into());
    }
    if !settings.pin {
        return (false, "not pinned (--no-pin)".into());
    }
    if find_on_path("taskset").is_none() {
        note!("taskset is not on PATH: running unpinned (install util-linux to pin)");
        return (false, "not pinned: taskset missing".into());
    }
    let pid = std::process::id().to_string();
    let out = Command::new("taskset")
        .args(["-p", "-c", "0", &pid])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let allowed = fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                        .map(|v| v.trim().to_owned())
                })
                .unwrap_or_else(|| "?".into());
            (
                true,
                format!(
                    "bench process and valkey-server pinned to CPU 0 (taskset; Cpus_allowed_list of the bench: {allowed})"
                ),
            )
        }
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr).trim().to_owned();
            note!("taskset -p failed ({why}): running unpinned");
            (false, format!("not pinned: taskset -p failed ({why})"))
        }
        Err(e) => {
            note!("cannot run taskset ({e}): running unpinned");
            (false, format!("not pinned: cannot run taskset ({e})"))
        }
    }
}

// ---- data ------------------------------------------------------------------------------------

/// SplitMix64: a fixed-seed generator for ids; no `rand` crate.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Entity ids: `bench_00042`, apart from the examples' `user_…` on a shared server.
fn id(i: usize) -> String {
    format!("bench_{i:05}")
}

fn user(i: usize) -> UserProfile {
    let n = i as u32;
    UserProfile {
        age: 18 + i64::from(n % 60),
        lifetime_value: f64::from(n) * 12.5 + 0.25,
        segment: ["basic", "premium", "vip"][i % 3].to_owned(),
        is_premium: i % 3 != 0,
        // Every fifth user has no country: an absent optional feature.
        country: (i % 5 != 0).then(|| ["DE", "FR", "NL", "US"][i % 4].to_owned()),
        days_since_signup: i64::from(n) * 3,
        embedding: (0..8).map(|k| (n * 8 + k) as f32 / 100.0).collect(),
    }
}

fn risk(i: usize) -> UserRiskProfile {
    UserRiskProfile {
        fraud_score: (i % 1000) as f64 / 1000.0,
        txn_count_24h: (i % 40) as i64,
        chargebacks_90d: (i % 3) as i64,
        is_flagged: i % 97 == 0,
    }
}

fn activity(i: usize) -> UserActivity {
    UserActivity {
        sessions_7d: (i % 30) as i64,
        clicks_24h: (i % 200) as i64,
        last_category: (i % 7 != 0)
            .then(|| ["books", "electronics", "fashion", "home", "sports"][i % 5].to_owned()),
        avg_session_seconds: (i % 600) as f64 + 0.5,
    }
}

struct Data {
    ids: Vec<String>,
    users: Vec<UserProfile>,
    /// Indices of users with every feature present (no `HDEL` needed to write them).
    complete: Vec<usize>,
}

impl Data {
    fn new(n: usize) -> Data {
        let users: Vec<UserProfile> = (0..n).map(user).collect();
        let complete = (0..n).filter(|&i| users[i].country.is_some()).collect();
        Data {
            ids: (0..n).map(id).collect(),
            users,
            complete,
        }
    }
}

async fn load(store: &Store, data: &Data) {
    let n = data.ids.len();
    UserProfile::write_batch(store, data.ids.iter().zip(&data.users))
        .await
        .expect("load user_profile");
    UserRiskProfile::write_batch(store, (0..n).map(|i| (&data.ids[i], risk(i))))
        .await
        .expect("load user_risk_profile");
    UserActivity::write_batch(store, (0..n).map(|i| (&data.ids[i], activity(i))))
        .await
        .expect("load user_activity");
}

// ---- the hand-written client -----------------------------------------------------------------

type HResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

mod hand {
    //! A hand-written redis-rs client for the same views: the baseline.

    use super::*;

    pub const PROFILE_FIELDS: [&str; 8] = [
        "age",
        "lifetime_value",
        "segment",
        "is_premium",
        "country",
        "days_since_signup",
        "embedding",
        "_updated_at",
    ];
    pub const TWO_FIELDS: [&str; 3] = ["age", "lifetime_value", "_updated_at"];
    pub const VEC_PROFILE: [&str; 4] = ["age", "lifetime_value", "segment", "_updated_at"];
    pub const VEC_RISK: [&str; 3] = ["fraud_score", "txn_count_24h", "_updated_at"];
    pub const VEC_ACTIVITY: [&str; 3] = ["sessions_7d", "last_category", "_updated_at"];
    const RISK_MAX_AGE_MS: u64 = 600_000;
    const PROFILE_TTL_MS: u64 = 3_600_000;

    fn bad(what: &str) -> Box<dyn std::error::Error + Send + Sync> {
        what.to_owned().into()
    }

    /// The values of an `HMGET` reply, by value.
    fn array(reply: Value, n: usize) -> HResult<Vec<Value>> {
        match reply {
            Value::Array(v) if v.len() == n => Ok(v),
            other => Err(bad(&format!("expected {n} values, got {other:?}"))),
        }
    }

    fn bytes(v: Value) -> HResult<Option<Vec<u8>>> {
        match v {
            Value::Nil => Ok(None),
            Value::BulkString(b) => Ok(Some(b)),
            other => Err(bad(&format!("expected a string, got {other:?}"))),
        }
    }

    fn req(v: Value, field: &str) -> HResult<Vec<u8>> {
        bytes(v)?.ok_or_else(|| bad(&format!("missing {field}")))
    }

    fn int(b: &[u8]) -> HResult<i64> {
        Ok(std::str::from_utf8(b)?.parse()?)
    }

    fn float(b: &[u8]) -> HResult<f64> {
        Ok(std::str::from_utf8(b)?.parse()?)
    }

    fn boolean(b: &[u8]) -> HResult<bool> {
        match b {
            b"true" | b"True" | b"1" => Ok(true),
            b"false" | b"False" | b"0" => Ok(false),
            _ => Err(bad("not a bool")),
        }
    }

    fn floats(b: &[u8]) -> HResult<Vec<f32>> {
        if b.len() % 4 != 0 {
            return Err(bad("embedding length"));
        }
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn absent(values: &[Value]) -> bool {
        values.iter().all(|v| matches!(v, Value::Nil))
    }

    pub fn decode_profile(reply: Value) -> HResult<Option<UserProfile>> {
        let values = array(reply, PROFILE_FIELDS.len())?;
        if absent(&values) {
            return Ok(None);
        }
        let mut v = values.into_iter();
        let mut next = || v.next().unwrap_or(Value::Nil);
        Ok(Some(UserProfile {
            age: int(&req(next(), "age")?)?,
            lifetime_value: float(&req(next(), "lifetime_value")?)?,
            segment: String::from_utf8(req(next(), "segment")?)?,
            is_premium: bytes(next())?.map_or(Ok(false), |b| boolean(&b))?,
            country: bytes(next())?.map(String::from_utf8).transpose()?,
            days_since_signup: int(&req(next(), "days_since_signup")?)?,
            embedding: floats(&req(next(), "embedding")?)?,
        }))
    }

    fn key(view: &str, id: &str) -> String {
        format!("fs:v1:{view}:{id}")
    }

    pub async fn read(conn: &mut MultiplexedConnection, id: &str) -> HResult<Option<UserProfile>> {
        let reply: Value = redis::cmd("HMGET")
            .arg(key("user_profile", id))
            .arg(&PROFILE_FIELDS[..])
            .query_async(conn)
            .await?;
        decode_profile(reply)
    }

    pub async fn read_two(conn: &mut MultiplexedConnection, id: &str) -> HResult<Option<Two>> {
        let reply: Value = redis::cmd("HMGET")
            .arg(key("user_profile", id))
            .arg(&TWO_FIELDS[..])
            .query_async(conn)
            .await?;
        let values = array(reply, TWO_FIELDS.len())?;
        if absent(&values) {
            return Ok(None);
        }
        let mut v = values.into_iter();
        let mut next = || v.next().unwrap_or(Value::Nil);
        Ok(Some(Two {
            age: int(&req(next(), "age")?)?,
            lifetime_value: float(&req(next(), "lifetime_value")?)?,
        }))
    }

    /// One pipeline of `HMGET`s per `chunk` ids.
    pub async fn read_batch(
        conn: &mut MultiplexedConnection,
        ids: &[&str],
        chunk: usize,
    ) -> HResult<Vec<Option<UserProfile>>> {
        let mut out = Vec::with_capacity(ids.len());
        for part in ids.chunks(chunk) {
            let mut pipe = redis::pipe();
            for id in part {
                pipe.cmd("HMGET")
                    .arg(key("user_profile", id))
                    .arg(&PROFILE_FIELDS[..]);
            }
            let replies: Vec<Value> = pipe.query_async(conn).await?;
            for reply in replies {
                out.push(decode_profile(reply)?);
            }
        }
        Ok(out)
    }

    fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    pub async fn vector(conn: &mut MultiplexedConnection, id: &str) -> HResult<Fraud> {
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET")
            .arg(key("user_profile", id))
            .arg(&VEC_PROFILE[..])
            .cmd("HMGET")
            .arg(key("user_risk_profile", id))
            .arg(&VEC_RISK[..])
            .cmd("HMGET")
            .arg(key("user_activity", id))
            .arg(&VEC_ACTIVITY[..]);
        let (p, r, a): (Value, Value, Value) = pipe.query_async(conn).await?;
        let now = now_ms();

        let p = array(p, VEC_PROFILE.len())?;
        if absent(&p) {
            return Err(bad("missing user_profile.age"));
        }
        let mut p = p.into_iter();
        let age = int(&req(p.next().unwrap_or_default(), "age")?)?;
        let ltv = float(&req(p.next().unwrap_or_default(), "lifetime_value")?)?;
        let segment = String::from_utf8(req(p.next().unwrap_or_default(), "segment")?)?;

        // `max_age = "10m"`: an older (or unstamped) row counts as missing.
        let r = array(r, VEC_RISK.len())?;
        let fresh = !absent(&r)
            && match &r[2] {
                Value::BulkString(b) => {
                    int(b).is_ok_and(|at| now.saturating_sub(at as u64) <= RISK_MAX_AGE_MS)
                }
                _ => false,
            };
        let (fraud_score, txn_count_24h) = if fresh {
            let mut r = r.into_iter();
            let score = float(&req(r.next().unwrap_or_default(), "fraud_score")?)?;
            let txn = bytes(r.next().unwrap_or_default())?.map_or(Ok(0), |b| int(&b))?;
            (score, txn)
        } else {
            return Err(bad("missing user_risk_profile.fraud_score"));
        };

        let a = array(a, VEC_ACTIVITY.len())?;
        if absent(&a) {
            return Err(bad("missing user_activity.sessions_7d"));
        }
        let mut a = a.into_iter();
        let sessions_7d = int(&req(a.next().unwrap_or_default(), "sessions_7d")?)?;
        let last_category = bytes(a.next().unwrap_or_default())?
            .map(String::from_utf8)
            .transpose()?;
        Ok(Fraud {
            age,
            ltv,
            segment,
            fraud_score,
            txn_count_24h,
            sessions_7d,
            last_category,
        })
    }

    fn embedding_bytes(e: &[f32]) -> Vec<u8> {
        e.iter().flat_map(|f| f.to_le_bytes()).collect()
    }

    /// Non-atomic: per entity `HSET key <features> _updated_at <now>` and `PEXPIRE key 3600000`
    /// (and `HDEL key country` when it is `None`), all in one pipeline.
    pub async fn write_batch(
        conn: &mut MultiplexedConnection,
        rows: &[(&str, &UserProfile)],
    ) -> HResult<()> {
        let now = now_ms();
        let mut pipe = redis::pipe();
        for (id, row) in rows {
            let key = key("user_profile", id);
            let hset = pipe
                .cmd("HSET")
                .arg(&key)
                .arg("age")
                .arg(row.age)
                .arg("lifetime_value")
                .arg(row.lifetime_value)
                .arg("segment")
                .arg(&row.segment)
                .arg("is_premium")
                .arg(if row.is_premium { "true" } else { "false" });
            if let Some(country) = &row.country {
                hset.arg("country").arg(country);
            }
            hset.arg("days_since_signup")
                .arg(row.days_since_signup)
                .arg("embedding")
                .arg(embedding_bytes(&row.embedding))
                .arg("_updated_at")
                .arg(now)
                .ignore();
            if row.country.is_none() {
                pipe.cmd("HDEL").arg(&key).arg("country").ignore();
            }
            pipe.cmd("PEXPIRE").arg(&key).arg(PROFILE_TTL_MS).ignore();
        }
        pipe.query_async::<()>(conn).await?;
        Ok(())
    }

    /// Atomic: fstore's write script, `EVALSHA sha 1 key ttl n <pairs> [country]` per entity.
    pub async fn write_batch_atomic(
        conn: &mut MultiplexedConnection,
        rows: &[(&str, &UserProfile)],
    ) -> HResult<()> {
        let now = now_ms();
        let sha = fstore::plan::write_script_sha();
        let mut pipe = redis::pipe();
        for (id, row) in rows {
            // The features present, plus `_updated_at`.
            let pairs = if row.country.is_some() { 8 } else { 7 };
            let cmd = pipe
                .cmd("EVALSHA")
                .arg(sha)
                .arg(1)
                .arg(key("user_profile", id))
                .arg(PROFILE_TTL_MS)
                .arg(pairs)
                .arg("age")
                .arg(row.age)
                .arg("lifetime_value")
                .arg(row.lifetime_value)
                .arg("segment")
                .arg(&row.segment)
                .arg("is_premium")
                .arg(if row.is_premium { "true" } else { "false" });
            if let Some(country) = &row.country {
                cmd.arg("country").arg(country);
            }
            cmd.arg("days_since_signup")
                .arg(row.days_since_signup)
                .arg("embedding")
                .arg(embedding_bytes(&row.embedding))
                .arg("_updated_at")
                .arg(now);
            if row.country.is_none() {
                cmd.arg("country");
            }
            cmd.ignore();
        }
        pipe.query_async::<()>(conn).await?;
        Ok(())
    }
}

// ---- measurement -----------------------------------------------------------------------------

/// Nanosecond samples of each side of one row.
struct Samples {
    sides: Vec<Vec<u64>>,
}

impl Samples {
    /// The `q`-quantile of side `side`, in µs.
    fn quantile_us(&self, side: usize, q: f64) -> f64 {
        let mut v = self.sides[side].clone();
        v.sort_unstable();
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1] as f64 / 1e3
    }

    fn len(&self) -> usize {
        self.sides[0].len()
    }
}

/// Runs `call(side)` for each side in turn (A B, B A, A B, …), `warmup` rounds unrecorded, then
/// up to `iters` rounds or until `budget` is spent. `call` prepares its input, times the call itself
/// and returns the time.
async fn measure<F>(
    sides: usize,
    warmup: usize,
    iters: usize,
    budget: Duration,
    mut call: F,
) -> Samples
where
    F: AsyncFnMut(usize) -> Duration,
{
    for _ in 0..warmup {
        for side in 0..sides {
            call(side).await;
        }
    }
    let mut samples = Samples {
        sides: vec![Vec::with_capacity(iters); sides],
    };
    let start = Instant::now();
    for round in 0..iters {
        // Who goes first rotates, so that no side always follows the same one.
        for k in 0..sides {
            let side = (round + k) % sides;
            let d = call(side).await;
            samples.sides[side].push(d.as_nanos() as u64);
        }
        if start.elapsed() > budget {
            break;
        }
    }
    samples
}

struct RowResult {
    name: &'static str,
    command: &'static str,
    seed_us: f64,
    fstore_p50: f64,
    fstore_p99: f64,
    hand_p50: f64,
    hand_p99: f64,
    iterations: usize,
}

impl RowResult {
    fn new(
        name: &'static str,
        command: &'static str,
        seed_us: f64,
        s: &Samples,
        fstore: usize,
        hand: usize,
    ) -> RowResult {
        RowResult {
            name,
            command,
            seed_us,
            fstore_p50: s.quantile_us(fstore, 0.5),
            fstore_p99: s.quantile_us(fstore, 0.99),
            hand_p50: s.quantile_us(hand, 0.5),
            hand_p99: s.quantile_us(hand, 0.99),
            iterations: s.len(),
        }
    }

    fn ratio(&self) -> f64 {
        self.fstore_p50 / self.hand_p50
    }
}

fn random_ids<'a>(rng: &mut SplitMix, data: &'a Data, n: usize) -> Vec<&'a str> {
    (0..n)
        .map(|_| data.ids[rng.below(data.ids.len())].as_str())
        .collect()
}

/// `n` distinct users with every feature present, for the write rows: a window of random
/// position in [`Data::complete`].
fn random_rows<'a>(
    rng: &mut SplitMix,
    data: &'a Data,
    n: usize,
) -> Vec<(&'a str, &'a UserProfile)> {
    let n = n.min(data.complete.len());
    let start = rng.below(data.complete.len() - n + 1);
    data.complete[start..start + n]
        .iter()
        .map(|&i| (data.ids[i].as_str(), &data.users[i]))
        .collect()
}

// ---- honesty checks --------------------------------------------------------------------------

fn check_commands() {
    assert_eq!(
        UserProfile::READ_FIELDS,
        hand::PROFILE_FIELDS,
        "hand-written HMGET fields differ from fstore's"
    );
    assert_eq!(Two::READ_FIELDS, hand::TWO_FIELDS);
    let views: Vec<(&str, &[&str])> = Fraud::VIEWS
        .iter()
        .map(|v| (v.name, v.read_fields))
        .collect();
    assert_eq!(
        views,
        [
            ("user_profile", &hand::VEC_PROFILE[..]),
            ("user_risk_profile", &hand::VEC_RISK[..]),
            ("user_activity", &hand::VEC_ACTIVITY[..]),
        ],
        "hand-written vector pipeline differs from fstore's"
    );
}

/// Every stored field of the profiles of `ids` except `_updated_at`, and whether each has a TTL
/// of at most an hour.
async fn stored(
    conn: &mut MultiplexedConnection,
    ids: &[&str],
) -> Vec<(HashMap<String, Vec<u8>>, bool)> {
    let mut out = Vec::new();
    for id in ids {
        let key = format!("fs:v1:user_profile:{id}");
        let mut map: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(conn)
            .await
            .expect("HGETALL");
        assert!(
            map.remove("_updated_at").is_some(),
            "{key}: no _updated_at in {map:?}"
        );
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(conn)
            .await
            .expect("PTTL");
        out.push((map, ttl > 0 && ttl <= 3_600_000));
    }
    out
}

async fn del(conn: &mut MultiplexedConnection, ids: &[&str]) {
    let keys: Vec<String> = ids
        .iter()
        .map(|id| format!("fs:v1:user_profile:{id}"))
        .collect();
    let _: i64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(conn)
        .await
        .expect("DEL");
}

/// Writes `rows` with each writer in turn onto deleted keys and checks that the stored hashes
/// are byte for byte the same (apart from `_updated_at`), with a TTL, and read back typed.
async fn check_writes(
    store: &Store,
    conn: &mut MultiplexedConnection,
    rows: &[(&str, &UserProfile)],
) {
    let ids: Vec<&str> = rows.iter().map(|(id, _)| *id).collect();
    del(conn, &ids).await;
    UserProfile::write_batch(store, rows.iter().copied())
        .await
        .expect("fstore write_batch");
    let by_fstore = stored(conn, &ids).await;
    for (name, atomic) in [("HSET+PEXPIRE", false), ("EVALSHA", true)] {
        del(conn, &ids).await;
        if atomic {
            hand::write_batch_atomic(conn, rows)
                .await
                .expect("hand EVALSHA");
        } else {
            hand::write_batch(conn, rows).await.expect("hand HSET");
        }
        let by_hand = stored(conn, &ids).await;
        for (i, (f, h)) in by_fstore.iter().zip(&by_hand).enumerate() {
            assert!(f.1 && h.1, "{}: missing TTL", ids[i]);
            assert_eq!(
                f.0, h.0,
                "{}: fstore and hand-written {name} stored different hashes",
                ids[i]
            );
        }
        let back = UserProfile::read_batch(store, &ids)
            .await
            .expect("read back");
        for ((_, row), got) in rows.iter().zip(back) {
            assert_eq!(
                got.as_ref(),
                Some(*row),
                "hand-written {name} write reads back differently"
            );
        }
    }
}

// ---- the latency table -----------------------------------------------------------------------

async fn latency_rows(
    settings: &Settings,
    store: &Store,
    conn: &MultiplexedConnection,
    data: &Data,
) -> Vec<RowResult> {
    let s = settings;
    let mut rows = Vec::new();
    let mut rng = SplitMix(0x5eed_7ab1e);
    check_commands();

    // 1. Single read, all features.
    {
        let probe = &data.ids[7];
        let a = UserProfile::read(store, probe).await.unwrap();
        let b = hand::read(&mut conn.clone(), probe).await.unwrap();
        assert_eq!(a, b, "single read: fstore and hand-written differ");
        assert_eq!(a.as_ref(), Some(&data.users[7]));
        let mut c = conn.clone();
        note!("row: single read, all features");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let id = data.ids[rng.below(data.ids.len())].as_str();
            let t = Instant::now();
            let found = if side == 0 {
                UserProfile::read(store, id).await.unwrap().is_some()
            } else {
                hand::read(&mut c, id).await.unwrap().is_some()
            };
            let d = t.elapsed();
            assert!(found);
            d
        })
        .await;
        rows.push(RowResult::new(
            "single read, all features (7)",
            "HMGET, 8 fields",
            100.0,
            &samples,
            0,
            1,
        ));
    }

    // 2. Single read, 2 features.
    {
        let probe = &data.ids[42];
        let a = Two::read(store, probe).await.unwrap();
        let b = hand::read_two(&mut conn.clone(), probe).await.unwrap();
        assert_eq!(a, b, "2-feature read: fstore and hand-written differ");
        let mut c = conn.clone();
        note!("row: single read, 2 features");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let id = data.ids[rng.below(data.ids.len())].as_str();
            let t = Instant::now();
            let found = if side == 0 {
                Two::read(store, id).await.unwrap().is_some()
            } else {
                hand::read_two(&mut c, id).await.unwrap().is_some()
            };
            let d = t.elapsed();
            assert!(found);
            d
        })
        .await;
        rows.push(RowResult::new(
            "single read, 2 features",
            "HMGET, 3 fields",
            100.0,
            &samples,
            0,
            1,
        ));
    }

    // 3. Batch read of 100.
    {
        let probe = random_ids(&mut rng, data, 100);
        let a = UserProfile::read_batch(store, &probe).await.unwrap();
        let b = hand::read_batch(&mut conn.clone(), &probe, 1_000)
            .await
            .unwrap();
        assert_eq!(a, b, "batch read: fstore and hand-written differ");
        let mut c = conn.clone();
        note!("row: batch read of 100");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let ids = random_ids(&mut rng, data, 100);
            let t = Instant::now();
            let n = if side == 0 {
                UserProfile::read_batch(store, &ids).await.unwrap().len()
            } else {
                hand::read_batch(&mut c, &ids, 1_000).await.unwrap().len()
            };
            let d = t.elapsed();
            assert_eq!(n, 100);
            d
        })
        .await;
        rows.push(RowResult::new(
            "batch read, 100 entities",
            "pipeline of 100 HMGET",
            300.0,
            &samples,
            0,
            1,
        ));
    }

    // 4. Multi-view vector.
    {
        for probe in [&data.ids[3], &data.ids[7], &data.ids[10]] {
            let a = Fraud::vector(store, probe).await.unwrap();
            let b = hand::vector(&mut conn.clone(), probe).await.unwrap();
            assert_eq!(a, b, "vector: fstore and hand-written differ");
        }
        let mut c = conn.clone();
        note!("row: multi-view vector");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let id = data.ids[rng.below(data.ids.len())].as_str();
            let t = Instant::now();
            let age = if side == 0 {
                Fraud::vector(store, id).await.unwrap().age
            } else {
                hand::vector(&mut c, id).await.unwrap().age
            };
            let d = t.elapsed();
            assert!(age >= 18);
            d
        })
        .await;
        rows.push(RowResult::new(
            "multi-view vector, 3 views",
            "pipeline of 3 HMGET",
            150.0,
            &samples,
            0,
            1,
        ));
    }

    // 5, 6. Batch writes: fstore (atomic, MULTI … EXEC) | hand HSET+PEXPIRE | hand EVALSHA.
    for (n, iters, seed_us) in [
        (100, s.write100_iters, 500.0),
        (1_000, s.write1000_iters, 5_000.0),
    ] {
        let probe = random_rows(&mut rng, data, n.min(100));
        check_writes(store, &mut conn.clone(), &probe).await;
        let mut c = conn.clone();
        note!("row: batch write of {n}");
        let samples = measure(3, s.warmup.min(20), iters, s.row_budget, async |side| {
            let batch = random_rows(&mut rng, data, n);
            let t = Instant::now();
            match side {
                0 => UserProfile::write_batch(store, batch.iter().copied())
                    .await
                    .unwrap(),
                1 => hand::write_batch(&mut c, &batch).await.unwrap(),
                _ => hand::write_batch_atomic(&mut c, &batch).await.unwrap(),
            }
            t.elapsed()
        })
        .await;
        let (plain, atomic) = if n == 100 {
            (
                "batch write, 100 entities",
                "batch write, 100 entities (hand-written also atomic)",
            )
        } else {
            (
                "batch write, 1,000 entities",
                "batch write, 1,000 entities (hand-written also atomic)",
            )
        };
        rows.push(RowResult::new(
            plain,
            "fstore one MULTI … EXEC (HSET, HDEL, PEXPIRE per entity) | hand HSET + PEXPIRE per entity",
            seed_us,
            &samples,
            0,
            1,
        ));
        rows.push(RowResult::new(
            atomic,
            "fstore one MULTI … EXEC | hand EVALSHA of fstore's write script per entity",
            seed_us,
            &samples,
            0,
            2,
        ));
    }
    rows
}

// ---- allocations and memory ------------------------------------------------------------------

struct AllocRow {
    name: &'static str,
    fstore_calls: f64,
    fstore_bytes: f64,
    hand_calls: f64,
    hand_bytes: f64,
}

/// Allocator calls and bytes per call of `f`, averaged over `n` calls after a warm-up.
async fn allocs_per_call<F>(n: usize, per: usize, mut f: F) -> (f64, f64)
where
    F: AsyncFnMut(),
{
    for _ in 0..n.min(50) {
        f().await;
    }
    let t = Tracking::start();
    for _ in 0..n {
        f().await;
    }
    let r = t.stop();
    let div = (n * per) as f64;
    (r.calls as f64 / div, r.bytes as f64 / div)
}

async fn alloc_rows(
    settings: &Settings,
    store: &Store,
    conn: &MultiplexedConnection,
    data: &Data,
) -> Vec<AllocRow> {
    let n = settings.alloc_calls;
    let mut c = conn.clone();
    // Inputs prepared outside the counted section.
    let mut rng = SplitMix(0xa110c);
    let singles: Vec<&str> = random_ids(&mut rng, data, n.max(50));
    let batches: Vec<Vec<&str>> = (0..n.max(50))
        .map(|_| random_ids(&mut rng, data, 100))
        .collect();
    let writes: Vec<Vec<(&str, &UserProfile)>> = (0..(n / 10).max(5))
        .map(|_| random_rows(&mut rng, data, 100))
        .collect();
    let mut rows = Vec::new();

    macro_rules! pair {
        ($name:expr, $per:expr, $count:expr, $inputs:expr, |$x:ident| $fstore:expr, |$y:ident| $hand:expr) => {{
            let inputs = $inputs;
            let mut i = 0;
            let (fc, fb) = allocs_per_call($count, $per, async || {
                let $x = &inputs[i % inputs.len()];
                i += 1;
                $fstore;
            })
            .await;
            let mut i = 0;
            let (hc, hb) = allocs_per_call($count, $per, async || {
                let $y = &inputs[i % inputs.len()];
                i += 1;
                $hand;
            })
            .await;
            rows.push(AllocRow {
                name: $name,
                fstore_calls: fc,
                fstore_bytes: fb,
                hand_calls: hc,
                hand_bytes: hb,
            });
        }};
    }

    pair!(
        "single read, all features",
        1,
        n,
        &singles,
        |id| UserProfile::read(store, *id).await.unwrap(),
        |id| hand::read(&mut c, id).await.unwrap()
    );
    pair!(
        "single read, 2 features",
        1,
        n,
        &singles,
        |id| Two::read(store, *id).await.unwrap(),
        |id| hand::read_two(&mut c, id).await.unwrap()
    );
    pair!(
        "batch read of 100, per entity",
        100,
        (n / 10).max(5),
        &batches,
        |ids| UserProfile::read_batch(store, ids).await.unwrap(),
        |ids| hand::read_batch(&mut c, ids, 1_000).await.unwrap()
    );
    pair!(
        "multi-view vector, 3 views",
        1,
        n,
        &singles,
        |id| Fraud::vector(store, *id).await.unwrap(),
        |id| hand::vector(&mut c, id).await.unwrap()
    );
    pair!(
        "batch write of 100, per entity (hand: HSET+PEXPIRE)",
        100,
        (n / 20).max(5),
        &writes,
        |rows| UserProfile::write_batch(store, rows.iter().copied())
            .await
            .unwrap(),
        |rows| hand::write_batch(&mut c, rows).await.unwrap()
    );
    pair!(
        "batch write of 100, per entity (hand: EVALSHA)",
        100,
        (n / 20).max(5),
        &writes,
        |rows| UserProfile::write_batch(store, rows.iter().copied())
            .await
            .unwrap(),
        |rows| hand::write_batch_atomic(&mut c, rows).await.unwrap()
    );
    rows
}

struct MemoryResult {
    ids: usize,
    fstore_peak: i64,
    fstore_retained: i64,
    hand_peak: i64,
    hand_retained: i64,
    result_bytes: usize,
}

/// Heap bytes of a `read_batch` result: the `Vec` and what its rows own.
fn result_bytes(rows: &Vec<Option<UserProfile>>) -> usize {
    rows.capacity() * std::mem::size_of::<Option<UserProfile>>()
        + rows
            .iter()
            .flatten()
            .map(|r| {
                r.segment.capacity()
                    + r.country.as_ref().map_or(0, String::capacity)
                    + r.embedding.capacity() * 4
            })
            .sum::<usize>()
}

async fn memory(
    settings: &Settings,
    store: &Store,
    conn: &MultiplexedConnection,
    data: &Data,
) -> MemoryResult {
    let mut rng = SplitMix(0x3e3);
    let ids = random_ids(&mut rng, data, settings.memory_ids);
    let chunk = store.pipeline_chunk_size();

    let t = Tracking::start();
    let rows = UserProfile::read_batch(store, &ids).await.unwrap();
    let f = t.stop();
    let result = result_bytes(&rows);
    drop(rows);

    let mut c = conn.clone();
    let t = Tracking::start();
    let rows = hand::read_batch(&mut c, &ids, chunk).await.unwrap();
    let h = t.stop();
    drop(rows);

    MemoryResult {
        ids: ids.len(),
        fstore_peak: f.peak,
        fstore_retained: f.retained,
        hand_peak: h.peak,
        hand_retained: h.retained,
        result_bytes: result,
    }
}

// ---- throughput ------------------------------------------------------------------------------

struct Throughput {
    tasks: usize,
    fstore_ops: f64,
    hand_ops: f64,
}

/// Single-entity reads from `tasks` concurrent tasks for `secs` seconds; ops/s.
async fn run_tasks(tasks: usize, secs: f64, ids: Arc<Vec<String>>, side: Side) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for t in 0..tasks {
        let stop = Arc::clone(&stop);
        let ids = Arc::clone(&ids);
        let side = side.clone();
        handles.push(tokio::spawn(async move {
            let mut rng = SplitMix(0x7e57 + t as u64);
            let mut ops = 0u64;
            let (mut conn, store) = match side {
                Side::Fstore(s) => (None, Some(s)),
                Side::Hand(c) => (Some(c), None),
            };
            while !stop.load(Ordering::Relaxed) {
                let id = ids[rng.below(ids.len())].as_str();
                let found = match (&store, &mut conn) {
                    (Some(s), _) => UserProfile::read(s, id).await.unwrap().is_some(),
                    (None, Some(c)) => hand::read(c, id).await.unwrap().is_some(),
                    (None, None) => unreachable!(),
                };
                assert!(found);
                ops += 1;
            }
            ops
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for h in handles {
        total += h.await.expect("throughput task panicked");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

#[derive(Clone)]
enum Side {
    Fstore(Store),
    Hand(MultiplexedConnection),
}

fn throughput(settings: &Settings, url: &str, data: &Data) -> (usize, Vec<Throughput>) {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    let ids = Arc::new(data.ids.clone());
    let out = rt.block_on(async {
        let store = Store::connect(url).await.expect("connect");
        let conn = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let mut out = Vec::new();
        for tasks in [1, 16, 64] {
            note!("throughput: {tasks} task(s)");
            // A short warm-up per side, then the measured run.
            let _ = run_tasks(tasks, 0.2, Arc::clone(&ids), Side::Fstore(store.clone())).await;
            let f = run_tasks(
                tasks,
                settings.throughput_secs,
                Arc::clone(&ids),
                Side::Fstore(store.clone()),
            )
            .await;
            let _ = run_tasks(tasks, 0.2, Arc::clone(&ids), Side::Hand(conn.clone())).await;
            let h = run_tasks(
                tasks,
                settings.throughput_secs,
                Arc::clone(&ids),
                Side::Hand(conn.clone()),
            )
            .await;
            out.push(Throughput {
                tasks,
                fstore_ops: f,
                hand_ops: h,
            });
        }
        out
    });
    (workers, out)
}

/// `valkey-benchmark -c 50 -n 100000 -t get -q` on the same server, when the binary exists.
fn server_benchmark(url: &str) -> Result<(String, String), String> {
    let Some(binary) = ["valkey-benchmark", "redis-benchmark"]
        .iter()
        .find_map(|n| find_on_path(n))
    else {
        return Err(
            "no valkey-benchmark or redis-benchmark on PATH (Debian: apt-get install valkey-tools)"
                .into(),
        );
    };
    let Some(hostport) = url
        .strip_prefix("redis://")
        .filter(|h| !h.contains('@') && !h.contains('/'))
    else {
        return Err(format!(
            "cannot pass {url} to {} (only redis://host:port)",
            binary.display()
        ));
    };
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "6379"));
    let out = Command::new(&binary)
        .args([
            "-h", host, "-p", port, "-c", "50", "-n", "100000", "-t", "get", "-q",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .split(['\r', '\n'])
        .rfind(|l| l.contains("requests per second"))
        .map(|l| l.trim().to_owned())
        .ok_or_else(|| format!("unexpected output: {text}"))?;
    let name = binary
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    Ok((format!("{name} -c 50 -n 100000 -t get"), line))
}

// ---- report ----------------------------------------------------------------------------------

struct Report {
    mode: Mode,
    pinning: String,
    server: String,
    runtime: String,
    users: usize,
    rows: Vec<RowResult>,
    allocs: Vec<AllocRow>,
    memory: Option<MemoryResult>,
    throughput: Option<(usize, Vec<Throughput>)>,
    server_bench: Option<Result<(String, String), String>>,
}

fn f1(x: f64) -> String {
    format!("{x:.1}")
}

fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## fstore vs hand-written redis-rs: the seed's latency table\n"
    );
    let _ = writeln!(
        s,
        "mode: {:?}; server: {}; {}; {}; {} users per view\n",
        r.mode, r.server, r.pinning, r.runtime, r.users
    );
    let _ = writeln!(
        s,
        "| row | seed | fstore p50 | fstore p99 | hand-written p50 | hand-written p99 | ratio |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for row in &r.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.2} |",
            row.name,
            f1(row.seed_us),
            f1(row.fstore_p50),
            f1(row.fstore_p99),
            f1(row.hand_p50),
            f1(row.hand_p99),
            row.ratio()
        );
    }
    let _ = writeln!(
        s,
        "\nµs; ratio = fstore p50 / hand-written p50. The \"also atomic\" rows compare the same \
         fstore samples with a hand-written EVALSHA of fstore's write script, measured in the same \
         rotation (fstore, HSET+PEXPIRE, EVALSHA)."
    );
    for row in &r.rows {
        let _ = writeln!(
            s,
            "- {}: {} ({} iterations)",
            row.name, row.command, row.iterations
        );
    }

    if let Some((workers, tp)) = &r.throughput {
        let _ = writeln!(
            s,
            "\n### Throughput: single-entity UserProfile::read, one shared Store\n\n\
             multi-thread runtime, {workers} worker thread(s)\n\n\
             | tasks | fstore ops/s | hand-written ops/s (one shared MultiplexedConnection) |\n|---:|---:|---:|"
        );
        for t in tp {
            let _ = writeln!(
                s,
                "| {} | {:.0} | {:.0} |",
                t.tasks, t.fstore_ops, t.hand_ops
            );
        }
    }
    match &r.server_bench {
        Some(Ok((cmd, line))) => {
            let _ = writeln!(s, "\n`{cmd}` on the same server: {line}");
        }
        Some(Err(why)) => {
            let _ = writeln!(s, "\nserver benchmark skipped: {why}");
        }
        None => {}
    }

    let _ = writeln!(
        s,
        "\n### Allocations per call (current-thread runtime, counting allocator)\n\n\
         allocator calls (alloc, alloc_zeroed, realloc) and bytes requested, per call or per entity\n\n\
         | operation | fstore allocs | fstore bytes | hand-written allocs | hand-written bytes |\n|---|---:|---:|---:|---:|"
    );
    for a in &r.allocs {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.0} | {:.2} | {:.0} |",
            a.name, a.fstore_calls, a.fstore_bytes, a.hand_calls, a.hand_bytes
        );
    }
    if let Some(m) = &r.memory {
        let _ = writeln!(
            s,
            "\n### Peak memory of read_batch over {} ids\n\n\
             | | peak live bytes above start | retained after the call | \n|---|---:|---:|\n\
             | fstore read_batch | {} | {} |\n\
             | hand-written, same chunks | {} | {} |\n\n\
             result (Vec<Option<UserProfile>> and what its rows own): {} bytes; fstore peak / result = {:.2}",
            m.ids,
            m.fstore_peak,
            m.fstore_retained,
            m.hand_peak,
            m.hand_retained,
            m.result_bytes,
            m.fstore_peak as f64 / m.result_bytes as f64
        );
    }
    s
}

fn json(r: &Report) -> String {
    let rows: Vec<_> = r
        .rows
        .iter()
        .map(|x| {
            serde_json::json!({
                "row": x.name, "command": x.command, "seed_us": x.seed_us,
                "fstore_p50_us": x.fstore_p50, "fstore_p99_us": x.fstore_p99,
                "hand_p50_us": x.hand_p50, "hand_p99_us": x.hand_p99,
                "ratio": x.ratio(), "iterations": x.iterations,
            })
        })
        .collect();
    let allocs: Vec<_> = r
        .allocs
        .iter()
        .map(|a| {
            serde_json::json!({
                "operation": a.name,
                "fstore_allocs": a.fstore_calls, "fstore_bytes": a.fstore_bytes,
                "hand_allocs": a.hand_calls, "hand_bytes": a.hand_bytes,
            })
        })
        .collect();
    let throughput = r.throughput.as_ref().map(|(workers, tp)| {
        serde_json::json!({
            "worker_threads": workers,
            "runs": tp.iter().map(|t| serde_json::json!({
                "tasks": t.tasks, "fstore_ops_per_s": t.fstore_ops, "hand_ops_per_s": t.hand_ops,
            })).collect::<Vec<_>>(),
        })
    });
    let memory = r.memory.as_ref().map(|m| {
        serde_json::json!({
            "ids": m.ids, "fstore_peak_bytes": m.fstore_peak, "fstore_retained_bytes": m.fstore_retained,
            "hand_peak_bytes": m.hand_peak, "hand_retained_bytes": m.hand_retained,
            "result_bytes": m.result_bytes,
        })
    });
    let server_bench = r.server_bench.as_ref().map(|b| match b {
        Ok((cmd, line)) => serde_json::json!({"command": cmd, "result": line}),
        Err(why) => serde_json::json!({"skipped": why}),
    });
    let v = serde_json::json!({
        "mode": format!("{:?}", r.mode),
        "pinning": r.pinning,
        "server": r.server,
        "runtime": r.runtime,
        "users": r.users,
        "rows": rows,
        "throughput": throughput,
        "server_benchmark": server_bench,
        "allocations_per_call": allocs,
        "read_batch_memory": memory,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

// ---- main ------------------------------------------------------------------------------------

/// Kills our server and exits on Ctrl-C, and after `limit` in any case: the bench never hangs and
/// never leaves a server behind.
fn guard_thread(limit: Duration) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("signal runtime");
        rt.block_on(async {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    note!("interrupted: stopping the server");
                    kill_server_and_exit(130);
                }
                () = tokio::time::sleep(limit) => {
                    note!("still running after {limit:?}: giving up");
                    kill_server_and_exit(1);
                }
            }
        });
    });
}

async fn server_version(conn: &mut MultiplexedConnection) -> String {
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(conn)
        .await
        .unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    match (field("valkey_version:"), field("redis_version:")) {
        (Some(v), _) => format!("valkey {v}"),
        (None, Some(v)) => format!("redis {v}"),
        _ => "unknown version".into(),
    }
}

fn main() {
    let settings = Settings::from_args();
    // Before any thread exists, so that every thread inherits the affinity.
    let (pinned, pinning) = pin_self(&settings);
    note!("{:?} run; {pinning}", settings.mode);
    guard_thread(settings.watchdog);

    let external = std::env::var("VALKEY_URL").ok().filter(|u| !u.is_empty());
    let external = match (settings.mode, external) {
        (Mode::Smoke, Some(_)) => {
            note!("smoke run: ignoring VALKEY_URL, starting a throwaway server");
            None
        }
        (_, url) => url,
    };
    let server = match &external {
        Some(url) => {
            note!("using VALKEY_URL={url} (not started or pinned by the bench)");
            None
        }
        None => {
            let s = Server::start(pinned);
            note!(
                "started {} on {}{}",
                server_binary(),
                s.url(),
                if pinned { " under taskset -c 0" } else { "" }
            );
            Some(s)
        }
    };
    let url = external.unwrap_or_else(|| server.as_ref().map(Server::url).unwrap_or_default());

    let data = Data::new(settings.users);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (version, rows, allocs, memory) = rt.block_on(async {
        let store = Store::connect(&url).await.expect("fstore cannot connect");
        let conn = redis::Client::open(url.as_str())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("redis-rs cannot connect");
        let version = server_version(&mut conn.clone()).await;
        note!(
            "server: {version}; loading {} users into 3 views",
            settings.users
        );
        let t = Instant::now();
        load(&store, &data).await;
        note!("loaded in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
        let rows = latency_rows(&settings, &store, &conn, &data).await;
        note!("allocations per call");
        let allocs = alloc_rows(&settings, &store, &conn, &data).await;
        let memory = if settings.memory_ids > 0 {
            note!("peak memory of read_batch over {} ids", settings.memory_ids);
            Some(memory(&settings, &store, &conn, &data).await)
        } else {
            None
        };
        (version, rows, allocs, memory)
    });
    drop(rt);

    let (throughput, server_bench) = if settings.throughput_secs > 0.0 {
        let tp = throughput(&settings, &url, &data);
        note!("server benchmark");
        (Some(tp), Some(server_benchmark(&url)))
    } else {
        (None, None)
    };

    let report = Report {
        mode: settings.mode,
        pinning,
        server: format!(
            "{version} ({})",
            if server.is_some() {
                "started by the bench, 127.0.0.1 TCP"
            } else {
                "VALKEY_URL"
            }
        ),
        runtime: "latency and allocations: tokio current-thread; throughput: tokio multi-thread"
            .into(),
        users: settings.users,
        rows,
        allocs,
        memory,
        throughput,
        server_bench,
    };
    if settings.json {
        println!("{}", json(&report));
    } else {
        println!("{}", markdown(&report));
    }
    drop(server);
}
