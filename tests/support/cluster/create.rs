//! Starting the nodes and joining them with `valkey-cli --cluster create`; finding the cli.

use std::collections::HashMap;
use std::env;
use std::fs::{self, File};
use std::panic;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

use super::topology::Topology;
use super::{
    TestCluster, BUS_PORT_ATTEMPTS, CLI_OUTPUT_FILE, CLI_TIMEOUT, NODE_TIMEOUT_MS, POLL_INTERVAL,
};
use crate::support::{find_on_path, free_port, is_executable, server_binary, TestServer};

impl TestCluster {
    /// Runs `valkey-cli --cluster create` over all nodes.
    pub(super) fn create(&mut self, cli: &Path) {
        let out_path = self.nodes[0].dir().join(CLI_OUTPUT_FILE);
        let out = File::create(&out_path).unwrap();
        let mut cmd = Command::new(cli);
        cmd.args(["--cluster", "create"]);
        for node in &self.nodes {
            cmd.arg(format!("127.0.0.1:{}", node.port()));
        }
        cmd.arg("--cluster-replicas")
            .arg(self.options.replicas_per_primary.to_string())
            .arg("--cluster-yes")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        let command_line = format!("{cmd:?}").replace('"', "");
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(err) => {
                self.cli_output = format!("$ {command_line}\n(could not run: {err})\n");
                self.fail(&format!("cannot run `{}`: {err}", cli.display()));
            }
        };
        let deadline = Instant::now() + CLI_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            thread::sleep(POLL_INTERVAL);
        };
        let output = fs::read(&out_path).unwrap_or_default();
        self.cli_output = format!(
            "$ {command_line}\n{}",
            strip_colors(&String::from_utf8_lossy(&output))
        );
        match status {
            None => self.fail(&format!(
                "`{}` did not finish within {CLI_TIMEOUT:?} (killed)",
                cli.display()
            )),
            Some(status) if !status.success() => self.fail(&format!(
                "`{} --cluster create` failed ({status})",
                cli.display()
            )),
            Some(_) => {}
        }
    }

    /// Puts the primaries first (ascending port), then their replicas in the same order.
    pub(super) fn order_nodes(&mut self, topology: &Topology) {
        let mut rank = HashMap::new();
        let primaries = topology.primaries();
        for (i, &primary) in primaries.iter().enumerate() {
            rank.insert(primary, i);
            for replica in topology.replicas_of(primary) {
                rank.insert(replica, primaries.len() + i);
            }
        }
        self.nodes
            .sort_by_key(|n| (rank.get(&n.port()).copied().unwrap_or(usize::MAX), n.port()));
    }
}

/// Starts `count` cluster-mode nodes in parallel.
pub(super) fn start_nodes(count: usize, wrapper: &[String]) -> Vec<TestServer> {
    let results: Vec<thread::Result<TestServer>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|_| scope.spawn(|| start_node(wrapper)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut nodes = Vec::new();
    let mut failure = None;
    for result in results {
        match result {
            Ok(node) => nodes.push(node),
            Err(payload) => {
                failure.get_or_insert(payload);
            }
        }
    }
    if let Some(payload) = failure {
        drop(nodes);
        panic::resume_unwind(payload);
    }
    nodes
}

/// Starts one cluster-mode node with its own cluster bus port, under `wrapper`.
fn start_node(wrapper: &[String]) -> TestServer {
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let node_timeout = NODE_TIMEOUT_MS.to_string();
    let mut attempt = 1;
    loop {
        let bus_port = free_port().to_string();
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            &node_timeout,
            "--cluster-port",
            &bus_port,
            // A replica always tries to fail over, however long its link was down
            // (a restarted node may be killed again before its first sync).
            "--cluster-replica-validity-factor",
            "0",
            // Start a replica's first sync at once instead of after 5 s.
            "--repl-diskless-sync-delay",
            "0",
            "--appendonly",
            "no",
        ];
        if attempt == BUS_PORT_ATTEMPTS {
            return TestServer::start_wrapped(&wrapper, &args);
        }
        match panic::catch_unwind(|| TestServer::start_wrapped(&wrapper, &args)) {
            Ok(node) => return node,
            // The bus port was taken: the server retries fresh client ports, not it.
            Err(payload) if panic_text(&*payload).contains("address already in use") => {
                attempt += 1
            }
            Err(payload) => panic::resume_unwind(payload),
        }
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// `FSTORE_TEST_CLI`, else `valkey-cli` / `redis-cli` next to the server binary
/// or on `PATH` (the one matching the server first).
pub(super) fn cli_binary() -> PathBuf {
    if let Some(cli) = env::var_os("FSTORE_TEST_CLI").filter(|c| !c.is_empty()) {
        return PathBuf::from(cli);
    }
    let server = PathBuf::from(server_binary());
    let is_redis = server
        .file_name()
        .is_some_and(|name| name.to_string_lossy().contains("redis"));
    let names = if is_redis {
        ["redis-cli", "valkey-cli"]
    } else {
        ["valkey-cli", "redis-cli"]
    };
    let server_dir = server.parent().filter(|d| !d.as_os_str().is_empty());
    for name in names {
        if let Some(candidate) = server_dir
            .map(|d| d.join(name))
            .filter(|c| is_executable(c))
        {
            return candidate;
        }
        if let Some(candidate) = find_on_path(name) {
            return candidate;
        }
    }
    panic!(
        "\n\n\
         ====================================================================\n \
         NO valkey-cli (OR redis-cli) FOR THE CLUSTER TESTS\n\
         ====================================================================\n \
         The cluster tests create their cluster with `valkey-cli --cluster create`,\n \
         and found no `valkey-cli` or `redis-cli` next to `{}` or on PATH.\n \
         Install Debian's valkey-tools (a dependency of valkey-server):\n   \
         apt-get install -t bookworm-backports valkey-tools\n \
         or point the tests at a cli:\n   \
         FSTORE_TEST_CLI=/path/to/valkey-cli cargo test\n\
         ====================================================================\n",
        server.display()
    )
}

/// `text` without the ANSI color sequences (`ESC [ … m`) the cli prints.
fn strip_colors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip `[`, parameters, and the final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
