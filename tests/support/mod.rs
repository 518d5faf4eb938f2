#![allow(dead_code)]
//! Throwaway `valkey-server` processes for integration tests.
//!
//! Every [`TestServer`] runs its own server on a free 127.0.0.1 port (or a unix
//! socket) in its own temporary directory, with persistence off, and is killed
//! and cleaned up on drop. When a test panics, the server log is printed.
//!
//! The binary is `FSTORE_TEST_SERVER` if set, else `valkey-server`, else
//! `redis-server` from `PATH`. A missing binary is a loud failure, never a skip:
//! `scripts/test` installs one.

use std::env;
use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a server may take to answer its first PING.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a start is retried on a fresh port when the chosen one was taken.
const PORT_ATTEMPTS: usize = 5;
const POLL_INTERVAL: Duration = Duration::from_millis(20);
const LOG_FILE: &str = "server.log";
/// stdout and stderr of the process: errors from before the log file is open.
const OUTPUT_FILE: &str = "server.out";
const SOCKET_FILE: &str = "server.sock";

enum Listen {
    Tcp(u16),
    Unix(PathBuf),
}

/// A `valkey-server` (or `redis-server`) owned by one test.
pub struct TestServer {
    child: Option<Child>,
    listen: Listen,
    dir: PathBuf,
    extra_args: Vec<String>,
    /// Set once a panic message carried the log, so that drop does not repeat it.
    log_shown: bool,
}

enum StartError {
    /// The server could not bind its port: someone else took it first.
    PortTaken,
    Exited(ExitStatus),
    TimedOut,
}

impl TestServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// Starts a server on a free port of 127.0.0.1, with `extra_args` after the
    /// defaults (so `--save 60 1` or `--appendonly yes` override them).
    pub fn start_with(extra_args: &[&str]) -> TestServer {
        let mut server = TestServer {
            child: None,
            listen: Listen::Tcp(free_port()),
            dir: unique_temp_dir(),
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
            log_shown: false,
        };
        let mut attempt = 1;
        loop {
            match server.spawn_and_wait() {
                Ok(()) => return server,
                // Another process took the port between `free_port` and the bind.
                Err(StartError::PortTaken) if attempt < PORT_ATTEMPTS => {
                    attempt += 1;
                    server.listen = Listen::Tcp(free_port());
                }
                Err(err) => server.fail(err),
            }
        }
    }

    /// Starts a server that listens only on a unix socket in its temporary directory.
    pub fn start_unix() -> TestServer {
        let dir = unique_temp_dir();
        let socket = dir.join(SOCKET_FILE);
        // sun_path holds 108 bytes including the terminating NUL.
        if socket.as_os_str().len() >= 108 {
            let _ = fs::remove_dir(&dir);
            panic!(
                "unix socket path {} is too long for a socket address; set TMPDIR to a shorter directory",
                socket.display()
            );
        }
        let mut server = TestServer {
            child: None,
            listen: Listen::Unix(socket),
            dir,
            extra_args: Vec::new(),
            log_shown: false,
        };
        if let Err(err) = server.spawn_and_wait() {
            server.fail(err);
        }
        server
    }

    /// `redis://127.0.0.1:PORT`, or `unix:///path/to/server.sock`.
    pub fn url(&self) -> String {
        match &self.listen {
            Listen::Tcp(port) => format!("redis://127.0.0.1:{port}"),
            Listen::Unix(path) => format!("unix://{}", path.display()),
        }
    }

    /// The TCP port. Panics for a unix-socket server, which has none.
    pub fn port(&self) -> u16 {
        match &self.listen {
            Listen::Tcp(port) => *port,
            Listen::Unix(path) => panic!(
                "server listens on unix socket {}, not on a TCP port",
                path.display()
            ),
        }
    }

    /// The server's temporary directory (its `--dir`), removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills the server with SIGKILL and waits for it to exit. Does nothing if
    /// it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // An error means the process has already exited; `wait` reaps it.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port or socket and directory (killing
    /// it first if it is still running), and waits until it answers PING.
    pub fn restart(&mut self) {
        self.kill();
        let mut attempt = 1;
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                // The port can stay busy for a moment after the old process died.
                Err(StartError::PortTaken) if attempt < PORT_ATTEMPTS => {
                    attempt += 1;
                    self.kill();
                    thread::sleep(Duration::from_millis(200));
                }
                Err(err) => self.fail(err),
            }
        }
    }

    /// The server's log (every run so far), followed by anything it printed.
    pub fn log(&self) -> String {
        let mut log = fs::read_to_string(self.dir.join(LOG_FILE)).unwrap_or_default();
        let output = fs::read_to_string(self.dir.join(OUTPUT_FILE)).unwrap_or_default();
        if !output.trim().is_empty() {
            log.push_str("--- stdout/stderr ---\n");
            log.push_str(&output);
        }
        log
    }

    /// A client for this server, for raw commands (HSET, TTL, …) in tests.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).unwrap()
    }

    /// A new synchronous connection to this server.
    pub fn conn(&self) -> redis::Connection {
        self.client()
            .get_connection_with_timeout(Duration::from_secs(5))
            .unwrap_or_else(|err| panic!("cannot connect to test server {}: {err}", self.url()))
    }

    fn spawn_and_wait(&mut self) -> Result<(), StartError> {
        // Only this run's part of the log tells why this run failed.
        let seen = self.output_sizes();
        self.spawn();
        self.wait_until_ready(seen)
    }

    fn spawn(&mut self) {
        let binary = server_binary();
        let output = File::options()
            .create(true)
            .append(true)
            .open(self.dir.join(OUTPUT_FILE))
            .unwrap();
        let mut cmd = Command::new(&binary);
        match &self.listen {
            Listen::Tcp(port) => {
                cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
            }
            Listen::Unix(path) => {
                cmd.args(["--port", "0", "--unixsocket"])
                    .arg(path)
                    .args(["--unixsocketperm", "700"]);
            }
        }
        cmd.args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join(LOG_FILE))
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output);
        let child = cmd
            .spawn()
            .unwrap_or_else(|err| missing_server(&format!("cannot run `{binary}`: {err}")));
        self.child = Some(child);
    }

    /// Polls until the server answers PING, making sure the answer comes from
    /// our process and not from another server that took the port.
    fn wait_until_ready(&mut self, seen: [usize; 2]) -> Result<(), StartError> {
        let client = self.client();
        let pid = self.child.as_ref().map(Child::id).unwrap();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return if self.output_since(seen).contains("Address already in use") {
                    Err(StartError::PortTaken)
                } else {
                    Err(StartError::Exited(status))
                };
            }
            if let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_millis(500)) {
                let info: redis::RedisResult<String> =
                    redis::cmd("INFO").arg("server").query(&mut conn);
                if let Ok(info) = info {
                    if info_field(&info, "process_id") == Some(pid.to_string().as_str()) {
                        return Ok(());
                    }
                    // Another server answers on our port: ours will fail to bind.
                }
            }
            if Instant::now() >= deadline {
                return Err(StartError::TimedOut);
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Current sizes of the log and output files.
    fn output_sizes(&self) -> [usize; 2] {
        [LOG_FILE, OUTPUT_FILE].map(|f| fs::read(self.dir.join(f)).map_or(0, |b| b.len()))
    }

    /// What the server wrote to its log and output files after `seen`.
    fn output_since(&self, seen: [usize; 2]) -> String {
        let mut text = String::new();
        for (file, seen) in [LOG_FILE, OUTPUT_FILE].into_iter().zip(seen) {
            let bytes = fs::read(self.dir.join(file)).unwrap_or_default();
            text.push_str(&String::from_utf8_lossy(bytes.get(seen..).unwrap_or(&[])));
        }
        text
    }

    fn fail(&mut self, err: StartError) -> ! {
        let what = match err {
            StartError::PortTaken => "could not bind its port (address already in use)".to_string(),
            StartError::Exited(status) => format!("exited during startup ({status})"),
            StartError::TimedOut => format!("did not answer PING within {READY_TIMEOUT:?}"),
        };
        self.kill();
        self.log_shown = true;
        panic!(
            "test server `{}` at {} {what}\n--- server log ({}) ---\n{}",
            server_binary(),
            self.url(),
            self.dir.display(),
            self.log()
        );
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if thread::panicking() && !self.log_shown {
            let log = self.log();
            if !log.is_empty() {
                eprintln!(
                    "--- log of test server {} ({}) ---\n{log}--- end of server log ---",
                    self.url(),
                    self.dir.display(),
                );
            }
        }
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A port on 127.0.0.1 that was free a moment ago (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server binary the tests run: `FSTORE_TEST_SERVER` if set, else
/// `valkey-server` or `redis-server` from `PATH`. Panics, saying how to install
/// one, if there is none.
pub fn server_binary() -> String {
    static BINARY: OnceLock<String> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(binary) = env::var_os("FSTORE_TEST_SERVER").filter(|b| !b.is_empty()) {
                return binary.to_string_lossy().into_owned();
            }
            ["valkey-server", "redis-server"]
                .iter()
                .find_map(|name| find_on_path(name))
                .map(|path| path.to_string_lossy().into_owned())
                .unwrap_or_else(|| {
                    missing_server("neither `valkey-server` nor `redis-server` is on PATH")
                })
        })
        .clone()
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

fn missing_server(problem: &str) -> ! {
    panic!(
        "\n\n\
         ====================================================================\n \
         NO VALKEY/REDIS SERVER FOR THE INTEGRATION TESTS: {problem}\n\
         ====================================================================\n \
         Run the suite with `scripts/test`, which installs one, or install it:\n   \
         apt-get install -t bookworm-backports valkey-server\n \
         (with a bookworm-backports apt source), or point the tests at a binary:\n   \
         FSTORE_TEST_SERVER=/path/to/valkey-server cargo test\n \
         Tests are never skipped for lack of a server.\n\
         ====================================================================\n"
    )
}

/// A fresh, empty directory under the system temp dir, unique to this process
/// and call.
fn unique_temp_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    loop {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = env::temp_dir().join(format!("fstore-test-{}-{n}-{nanos}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(err) => panic!(
                "cannot create test server directory {}: {err}",
                dir.display()
            ),
        }
    }
}

/// The value of `field` in an `INFO` reply (`field:value` lines).
fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        line.strip_prefix(field)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::trim)
    })
}
