//! A throwaway `valkey-server` for the suites and benches that need one (`#[path]`-included:
//! `tests/ops.rs`, `tests/load.rs`, `tests/serve.rs`, `benches/serve.rs`).

#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fstore_runtime::Value;

/// The `user_profile` row of `u1` the server suites seed: every feature but `is_premium` (which
/// has a default).
pub fn u1_profile() -> Vec<(&'static str, Value)> {
    let embedding: Vec<f32> = (0..8).map(|i| i as f32 / 8.0).collect();
    vec![
        ("age", Value::Int(28)),
        ("lifetime_value", Value::Float(1250.5)),
        ("segment", Value::from("premium")),
        ("country", Value::from("DE")),
        ("days_since_signup", Value::Int(10)),
        ("embedding", Value::from(embedding)),
    ]
}

/// Sends `commands` (each `[name, arg…]`) to the server at `url` as another writer would, one
/// after the other; panics on any error.
pub async fn raw_commands(url: &str, commands: &[&[&str]]) {
    let mut raw = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for args in commands {
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        let _: redis::Value = cmd.query_async(&mut raw).await.unwrap();
    }
}

/// A `valkey-server` (or `redis-server`) on a free port of 127.0.0.1, in a temp dir, with no
/// persistence; killed on drop.
pub struct TestServer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl TestServer {
    pub fn start() -> TestServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("fstore-cli-valkey-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let child = spawn(port, &dir);
        let mut server = TestServer { child, port, dir };
        server.wait_ready();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server now (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a new, empty server on the same port (after [`TestServer::kill`], or killing
    /// this one first) and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(self.port, &self.dir);
        self.wait_ready();
    }

    /// Waits until the server answers PING, or panics with its log.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited ({status}):\n{}", self.log());
            }
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut reply = [0u8; 7];
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut reply).is_ok()
                    && &reply == b"+PONG\r\n"
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server did not answer PING within 10s:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server on `port`, with `dir` as its directory and `dir/server.log` as its log.
fn spawn(port: u16, dir: &Path) -> Child {
    let binary = server_binary();
    Command::new(&binary)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join("server.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"))
}

/// `FSTORE_TEST_SERVER`, else `valkey-server` or `redis-server` on `PATH`; a loud failure
/// saying how to install one when there is none.
fn server_binary() -> String {
    if let Some(binary) = std::env::var_os("FSTORE_TEST_SERVER").filter(|b| !b.is_empty()) {
        return binary.to_string_lossy().into_owned();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["valkey-server", "redis-server"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|candidate| Path::is_file(candidate))
        })
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| {
            panic!(
                "\n\nNO VALKEY/REDIS SERVER: neither `valkey-server` nor `redis-server` is on \
                 PATH.\nInstall one (`apt-get install valkey-server`, or `scripts/test`, which \
                 installs it), or point the tests at a binary: \
                 FSTORE_TEST_SERVER=/path/to/valkey-server.\nThese tests are never skipped for \
                 lack of a server.\n"
            )
        })
}
