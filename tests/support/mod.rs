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
//!
//! [`TestServer::start_wrapped`] runs the server through a command that execs it (the bench's
//! `taskset -c 0`). [`kill_every_server`] kills every server this process has running, without
//! unwinding: for a Ctrl-C handler or a watchdog.
//!
//! [`TestServer::start_tls`] starts a TLS-only server (`--port 0 --tls-port P`) on certificates
//! that the `openssl` CLI generates at start in the server's directory ([`TlsFiles`]); a missing
//! `openssl` is a loud failure too. [`TestServer::add_acl_users`] creates the ACL users
//! [`READER`] (the read-only grant) and [`WRITER`].

pub mod cluster;
mod server_binary;

use std::env;
use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use server_binary::{find_on_path, is_executable, missing_server, server_binary};

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
    /// TLS only: `--port 0 --tls-port P`.
    Tls(u16),
}

/// A `valkey-server` (or `redis-server`) owned by one test.
pub struct TestServer {
    child: Option<Child>,
    listen: Listen,
    dir: PathBuf,
    /// A command (and its arguments) that execs the server binary; empty for none.
    wrapper: Vec<String>,
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
        TestServer::start_wrapped(&[], extra_args)
    }

    /// As [`start_with`](Self::start_with), the server run as the last argument of `wrapper`, a
    /// command that execs it so that the process is the server's (such as `taskset -c 0`: the
    /// bench pins its server to a CPU). An empty `wrapper` runs the server directly.
    pub fn start_wrapped(wrapper: &[&str], extra_args: &[&str]) -> TestServer {
        let owned = |args: &[&str]| args.iter().map(|a| a.to_string()).collect();
        let mut server = TestServer::new(
            Listen::Tcp(free_port()),
            unique_temp_dir(),
            owned(extra_args),
        );
        server.wrapper = owned(wrapper);
        server.start_on_free_port()
    }

    /// Starts a server that listens only for TLS, on a free port of 127.0.0.1, with certificates
    /// generated now in its directory: a CA, a server certificate for `127.0.0.1` and a client
    /// certificate, both signed by the CA. `client_auth` is its `--tls-auth-clients`.
    ///
    /// [`url`](Self::url) is then `rediss://127.0.0.1:PORT`; [`client`](Self::client) (with the
    /// `tls` feature) trusts the CA and presents the client certificate.
    pub fn start_tls(client_auth: ClientAuth) -> (TestServer, TlsFiles) {
        let dir = unique_temp_dir();
        let files = TlsFiles::generate(&dir);
        let mut extra_args = Vec::new();
        for (flag, path) in [
            ("--tls-cert-file", &files.server_cert),
            ("--tls-key-file", &files.server_key),
            ("--tls-ca-cert-file", &files.ca_cert),
        ] {
            extra_args.push(flag.to_owned());
            extra_args.push(path.to_string_lossy().into_owned());
        }
        extra_args.push("--tls-auth-clients".to_owned());
        extra_args.push(client_auth.as_arg().to_owned());
        let server = TestServer::new(Listen::Tls(free_port()), dir, extra_args);
        (server.start_on_free_port(), files)
    }

    /// A server to run on `listen` in `dir`, not started yet.
    fn new(listen: Listen, dir: PathBuf, extra_args: Vec<String>) -> TestServer {
        TestServer {
            child: None,
            listen,
            dir,
            wrapper: Vec::new(),
            extra_args,
            log_shown: false,
        }
    }

    /// Starts the server, on a fresh port when the chosen one was taken.
    fn start_on_free_port(mut self) -> TestServer {
        let server = &mut self;
        let mut attempt = 1;
        loop {
            match server.spawn_and_wait() {
                Ok(()) => return self,
                // Another process took the port between `free_port` and the bind.
                Err(StartError::PortTaken) if attempt < PORT_ATTEMPTS => {
                    attempt += 1;
                    server.listen = match server.listen {
                        Listen::Tls(_) => Listen::Tls(free_port()),
                        _ => Listen::Tcp(free_port()),
                    };
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
        let mut server = TestServer::new(Listen::Unix(socket), dir, Vec::new());
        if let Err(err) = server.spawn_and_wait() {
            server.fail(err);
        }
        server
    }

    /// `redis://127.0.0.1:PORT`, `rediss://127.0.0.1:PORT` (TLS) or `unix:///path/to/server.sock`.
    pub fn url(&self) -> String {
        match &self.listen {
            Listen::Tcp(port) => format!("redis://127.0.0.1:{port}"),
            Listen::Unix(path) => format!("unix://{}", path.display()),
            Listen::Tls(port) => format!("rediss://127.0.0.1:{port}"),
        }
    }

    /// [`url`](Self::url) with ACL credentials: `redis://user:password@127.0.0.1:PORT` (or
    /// `rediss://…`). Panics for a unix-socket server.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        let (scheme, port) = match &self.listen {
            Listen::Tcp(port) => ("redis", port),
            Listen::Tls(port) => ("rediss", port),
            Listen::Unix(path) => {
                panic!("no URL with credentials for unix socket {}", path.display())
            }
        };
        format!("{scheme}://{user}:{password}@127.0.0.1:{port}")
    }

    /// The TCP (or TLS) port. Panics for a unix-socket server, which has none.
    pub fn port(&self) -> u16 {
        match &self.listen {
            Listen::Tcp(port) | Listen::Tls(port) => *port,
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

    /// The process id of the running server, `None` when it is not running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server with SIGKILL and waits for it to exit. Does nothing if
    /// it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.take_child() {
            // An error means the process has already exited; `wait` reaps it.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server process, no longer registered for [`kill_every_server`]: it is reaped (or
    /// about to be) by its owner, after which its pid may belong to another process.
    fn take_child(&mut self) -> Option<Child> {
        let child = self.child.take()?;
        running().retain(|(pid, _)| *pid != child.id());
        Some(child)
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

    /// A client for this server, for raw commands (HSET, TTL, …) in tests, as the `default`
    /// user. For a TLS server (which needs the `tls` feature) it trusts the test CA and presents
    /// the client certificate, so that it works with `--tls-auth-clients yes` too.
    pub fn client(&self) -> redis::Client {
        match &self.listen {
            Listen::Tls(_) => self.tls_client(),
            _ => redis::Client::open(self.url()).unwrap(),
        }
    }

    #[cfg(feature = "tls")]
    fn tls_client(&self) -> redis::Client {
        let files = TlsFiles::in_dir(&self.dir);
        redis::Client::build_with_tls(
            self.url(),
            redis::TlsCertificates {
                client_tls: Some(redis::ClientTlsConfig {
                    client_cert: files.client_cert_pem(),
                    client_key: files.client_key_pem(),
                }),
                root_cert: Some(files.ca_pem()),
            },
        )
        .unwrap_or_else(|err| panic!("cannot make a TLS client for {}: {err}", self.url()))
    }

    #[cfg(not(feature = "tls"))]
    fn tls_client(&self) -> redis::Client {
        panic!(
            "a client for the TLS test server {} needs the `tls` feature (cargo test --all-features)",
            self.url()
        )
    }

    /// `ACL SETUSER name rules…`, as the `default` user.
    pub fn acl_setuser<S: redis::ToRedisArgs + std::fmt::Debug>(&self, name: &str, rules: &[S]) {
        let result: redis::RedisResult<()> = redis::cmd("ACL")
            .arg("SETUSER")
            .arg(name)
            .arg(rules)
            .query(&mut self.conn());
        if let Err(err) = result {
            panic!(
                "ACL SETUSER {name} {rules:?} failed on {}: {err}",
                self.url()
            );
        }
    }

    /// Creates the ACL users [`READER`] and [`WRITER`]; the `default` user stays as it was
    /// (no password, every permission), for admin connections.
    pub fn add_acl_users(&self) {
        for user in [READER, WRITER] {
            self.acl_setuser(user.name, &user.rules());
        }
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
        let mut cmd = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(&binary);
                cmd
            }
            None => Command::new(&binary),
        };
        match &self.listen {
            Listen::Tcp(port) => {
                cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
            }
            Listen::Tls(port) => {
                cmd.args(["--port", "0", "--bind", "127.0.0.1", "--tls-port"])
                    .arg(port.to_string());
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
            .unwrap_or_else(|err| match self.wrapper.first() {
                Some(wrapper) => panic!("cannot run `{wrapper}` (to run `{binary}`): {err}"),
                None => missing_server(&format!("cannot run `{binary}`: {err}")),
            });
        running().push((child.id(), self.dir.clone()));
        self.child = Some(child);
    }

    /// Polls until the server answers PING, making sure the answer comes from
    /// our process and not from another server that took the port.
    ///
    /// A TLS-only server is polled without a client (which would need the `tls` feature): it is
    /// ready once this run's log says "Ready to accept connections", which it writes only after
    /// binding every listener, so the port is ours (a taken port makes it exit with "Address
    /// already in use"). No probe connection: a TCP connect without a handshake makes the server
    /// log an "Error accepting a client connection" warning that would mislead failure logs.
    fn wait_until_ready(&mut self, seen: [usize; 2]) -> Result<(), StartError> {
        if let Listen::Tls(_) = self.listen {
            return self.wait_until_tls_ready(seen);
        }
        let client = self.client();
        let pid = self.child.as_ref().map(Child::id).unwrap();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.take_child();
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

    fn wait_until_tls_ready(&mut self, seen: [usize; 2]) -> Result<(), StartError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.take_child();
                return if self.output_since(seen).contains("Address already in use") {
                    Err(StartError::PortTaken)
                } else {
                    Err(StartError::Exited(status))
                };
            }
            if self
                .output_since(seen)
                .contains("Ready to accept connections")
            {
                return Ok(());
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
            StartError::TimedOut => format!("did not become ready within {READY_TIMEOUT:?}"),
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

/// The servers this process has started and not yet killed: pid and directory.
fn running() -> std::sync::MutexGuard<'static, Vec<(u32, PathBuf)>> {
    static RUNNING: Mutex<Vec<(u32, PathBuf)>> = Mutex::new(Vec::new());
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Kills (SIGKILL, through the `kill` command) every server this process has started and not
/// killed yet, and removes their directories, without unwinding or waiting for the owners' drop:
/// for a Ctrl-C handler or a watchdog that exits the process next.
pub fn kill_every_server() {
    for (pid, dir) in running().drain(..) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = fs::remove_dir_all(dir);
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

/// An ACL user that [`TestServer::add_acl_users`] creates.
#[derive(Clone, Copy, Debug)]
pub struct AclUser {
    pub name: &'static str,
    pub password: &'static str,
    /// Its commands and key patterns, after `on >password resetkeys resetchannels -@all`.
    pub grants: &'static [&'static str],
}

impl AclUser {
    /// The full `ACL SETUSER` rules.
    pub fn rules(&self) -> Vec<String> {
        let mut rules = vec![
            "on".to_owned(),
            format!(">{}", self.password),
            "resetkeys".to_owned(),
            "resetchannels".to_owned(),
            "-@all".to_owned(),
        ];
        rules.extend(self.grants.iter().map(|g| g.to_string()));
        rules
    }
}

/// The read-only user: exactly `+hmget +pttl +ping ~fs:*`, nothing more.
///
/// That is enough to connect: the connection handshake of the `redis` crate (1.8, RESP2) sends
/// `AUTH user password` (flagged `no-auth`: exempt from ACL command checks, like `HELLO`), then
/// `CLIENT SETINFO LIB-NAME` / `LIB-VER`, whose replies it ignores, so their `NOPERM` is harmless;
/// `SELECT` only for a database other than 0. The raw connections of the batch-read path
/// (runtime/src/fast.rs) send `AUTH` only. `StoreBuilder::build` loads the write script with
/// `SCRIPT LOAD` and ignores a refusal. So no grant beyond the is needed; `ACL LOG` on
/// such a server shows the refused `client|setinfo` and `script|load`.
///
/// Its password doubles as the secret that must never appear in Debug, Display or error text.
pub const READER: AclUser = AclUser {
    name: "reader",
    password: "s3cr3t-P4ss",
    grants: &["+hmget", "+pttl", "+ping", "~fs:*"],
};

/// A user that may read and write features, and nothing else: `EVALSHA` of the write script
/// (whose `TYPE`, `HKEYS`, `HSET`, `HDEL` and `PEXPIRE` are checked against the same grants)
/// and `SCRIPT LOAD` for it.
pub const WRITER: AclUser = AclUser {
    name: "writer",
    password: "wr1ter-P4ss",
    grants: &[
        "+hmget",
        "+pttl",
        "+ping",
        "+evalsha",
        "+script|load",
        "+type",
        "+hkeys",
        "+hset",
        "+hdel",
        "+pexpire",
        "~fs:*",
    ],
};

/// Who must present a client certificate to a TLS test server (`--tls-auth-clients`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `optional`: a certificate is checked when given, but not required.
    Optional,
    /// `yes`: mutual TLS, a client without a certificate signed by the CA is refused.
    Required,
}

impl ClientAuth {
    fn as_arg(self) -> &'static str {
        match self {
            ClientAuth::Optional => "optional",
            ClientAuth::Required => "yes",
        }
    }
}

/// The PEM files of a TLS test server, in its directory (removed with it).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The test CA, which signed the server and client certificates.
    pub ca_cert: PathBuf,
    /// For `127.0.0.1` (subjectAltName `IP:127.0.0.1`, which rustls checks).
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// For client authentication (extendedKeyUsage clientAuth).
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A second CA, unrelated to the server: trusting only it must fail verification.
    pub other_ca_cert: PathBuf,
}

impl TlsFiles {
    /// The CA certificate (PEM), for `StoreBuilder::tls_root_certificate`.
    pub fn ca_pem(&self) -> Vec<u8> {
        read_pem(&self.ca_cert)
    }

    /// The client certificate (PEM), for `StoreBuilder::tls_client_certificate`.
    pub fn client_cert_pem(&self) -> Vec<u8> {
        read_pem(&self.client_cert)
    }

    /// The client certificate's private key (PEM).
    pub fn client_key_pem(&self) -> Vec<u8> {
        read_pem(&self.client_key)
    }

    /// The unrelated CA's certificate (PEM).
    pub fn other_ca_pem(&self) -> Vec<u8> {
        read_pem(&self.other_ca_cert)
    }

    /// The file names in `dir`.
    fn in_dir(dir: &Path) -> TlsFiles {
        TlsFiles {
            ca_cert: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
            other_ca_cert: dir.join("other-ca.crt"),
        }
    }

    /// Generates every file in `dir` with the `openssl` CLI (EC P-256 keys, valid for 2 days).
    fn generate(dir: &Path) -> TlsFiles {
        let files = TlsFiles::in_dir(dir);
        let write = |name: &str, text: &str| fs::write(dir.join(name), text).unwrap();
        write(
            "ca.cnf",
            "[req]\n\
             distinguished_name = dn\n\
             prompt = no\n\
             x509_extensions = ca\n\
             [dn]\n\
             CN = fstore test CA\n\
             [ca]\n\
             basicConstraints = critical, CA:TRUE\n\
             keyUsage = critical, keyCertSign, cRLSign\n\
             subjectKeyIdentifier = hash\n",
        );
        write(
            "leaf.cnf",
            "[req]\n\
             distinguished_name = dn\n\
             prompt = no\n\
             [dn]\n\
             CN = fstore test\n",
        );
        write(
            "server.ext",
            "basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = IP:127.0.0.1\n\
             authorityKeyIdentifier = keyid\n",
        );
        write(
            "client.ext",
            "basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = clientAuth\n\
             authorityKeyIdentifier = keyid\n",
        );
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        for (ca, key) in [("ca.crt", "ca.key"), ("other-ca.crt", "other-ca.key")] {
            openssl(
                dir,
                &[
                    &["req", "-x509", "-config", "ca.cnf", "-days", "2", "-sha256"],
                    &ec[..],
                    &["-keyout", key, "-out", ca],
                ]
                .concat(),
            );
        }
        for (name, serial) in [("server", "1001"), ("client", "1002")] {
            let (csr, key, crt, ext) = (
                format!("{name}.csr"),
                format!("{name}.key"),
                format!("{name}.crt"),
                format!("{name}.ext"),
            );
            openssl(
                dir,
                &[
                    &[
                        "req",
                        "-new",
                        "-config",
                        "leaf.cnf",
                        "-subj",
                        &format!("/CN=fstore test {name}"),
                    ],
                    &ec[..],
                    &["-keyout", &key, "-out", &csr],
                ]
                .concat(),
            );
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.crt",
                    "-CAkey",
                    "ca.key",
                    "-set_serial",
                    serial,
                    "-days",
                    "2",
                    "-sha256",
                    "-extfile",
                    &ext,
                    "-out",
                    &crt,
                ],
            );
        }
        files
    }
}

fn read_pem(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// Runs `openssl args…` in `dir`; panics with its output when it fails or is missing.
fn openssl(dir: &Path, args: &[&str]) {
    let binary = env::var_os("FSTORE_TEST_OPENSSL")
        .filter(|b| !b.is_empty())
        .map(PathBuf::from)
        .or_else(|| find_on_path("openssl"))
        .unwrap_or_else(|| {
            panic!(
                "\n\n\
                 ====================================================================\n \
                 NO `openssl` CLI FOR THE TLS TESTS: it generates their certificates.\n \
                 Install it (apt-get install openssl) or set FSTORE_TEST_OPENSSL=/path/to/openssl.\n \
                 Tests are never skipped for lack of it.\n\
                 ====================================================================\n"
            )
        });
    let output = Command::new(&binary)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("cannot run `{}`: {err}", binary.display()));
    if !output.status.success() {
        panic!(
            "`{} {}` failed ({}) in {}:\n{}{}",
            binary.display(),
            args.join(" "),
            output.status,
            dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
}
