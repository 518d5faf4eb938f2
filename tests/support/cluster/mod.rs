//! A throwaway Valkey Cluster for integration tests (and the bench's cluster
//! rows): by default six nodes, three primaries with one replica each.
//!
//! [`TestCluster::start`] starts six [`TestServer`]s in cluster mode, joins them
//! with `valkey-cli --cluster create … --cluster-replicas 1`, and waits until
//! every node reports a healthy cluster and all nodes agree on the topology;
//! [`TestCluster::start_with`] takes another shape ([`ClusterOptions`]).
//! Every wait is bounded and panics saying what it waited for, with the last
//! observed state; start-up failures also carry the cli output and every node's
//! log. All nodes are killed and their directories removed on drop; when a test
//! panics, the node logs are printed.
//!
//! Each node gets an explicit `--cluster-port` (a free port): the default bus
//! port, port + 10000, does not exist for the high ports the OS hands out. That
//! needs Valkey, or Redis 7 or newer.
//!
//! The cli is `FSTORE_TEST_CLI` if set, else `valkey-cli` (next to the server
//! binary, then on `PATH`), else `redis-cli` (tried first when the server is a
//! `redis-server`).
//!
//! - `create.rs`: starting the nodes, `valkey-cli --cluster create`, finding the cli;
//! - `health.rs`: the bounded waits and the checks they poll;
//! - `observe.rs`: what each node reports, and the explanation of a failed wait;
//! - `topology.rs`: `CLUSTER NODES` / `CLUSTER SLOTS` parsed into who serves what.

mod create;
mod health;
mod observe;
mod topology;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use redis::cluster::ClusterClient;

use super::TestServer;
use create::{cli_binary, start_nodes};
use observe::node_conn;
use topology::Topology;

/// `cluster-node-timeout` of every node, in milliseconds: how long a node may
/// be unreachable before it is flagged as failing. Failover after a primary is
/// killed takes about 1.5 to 3 times this long. 1000 ms keeps failover tests
/// fast and is still far above any scheduling hiccup on a loaded test machine
/// (a false failure detection would need a node stalled for a whole second).
pub const NODE_TIMEOUT_MS: u64 = 1000;
const SLOT_COUNT: u32 = 16384;

/// How long `valkey-cli --cluster create` may run.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the created cluster may take to become healthy.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a killed primary's replica may take to take over.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a restarted node may take to rejoin, and the cluster to heal.
const REJOIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the nodes may disagree on the topology before a query gives up.
const AGREE_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(25);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Starts of a node retried on a fresh cluster bus port when that was taken.
const BUS_PORT_ATTEMPTS: usize = 3;
const CLI_OUTPUT_FILE: &str = "cluster-create.out";

/// The shape of a [`TestCluster`] and how its nodes are run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Primaries serving slots (at least 3, as `valkey-cli --cluster create` requires).
    pub primaries: usize,
    /// Replicas of each primary.
    pub replicas_per_primary: usize,
    /// A command that runs each node by exec-ing it (so that its pid is the node's), such as
    /// `["taskset", "-c", "0"]`; empty for none.
    pub wrapper: Vec<String>,
}

impl Default for ClusterOptions {
    /// Three primaries with one replica each, run directly.
    fn default() -> ClusterOptions {
        ClusterOptions {
            primaries: 3,
            replicas_per_primary: 1,
            wrapper: Vec::new(),
        }
    }
}

impl ClusterOptions {
    fn node_count(&self) -> usize {
        self.primaries * (1 + self.replicas_per_primary)
    }
}

/// A Valkey Cluster owned by one test: by default three primaries, one replica each.
pub struct TestCluster {
    /// Primaries first (as of start), then their replicas in the same order.
    nodes: Vec<TestServer>,
    options: ClusterOptions,
    /// The command line and output of `valkey-cli --cluster create`.
    cli_output: String,
    /// The agreed topology just before each `kill`, by killed port.
    before_kill: HashMap<u16, Topology>,
    /// Set once a panic message carried every node's log.
    logs_shown: AtomicBool,
    /// Connections for the harness's own queries, by port.
    conns: Mutex<HashMap<u16, redis::Connection>>,
}

impl TestCluster {
    /// Starts six nodes, creates the cluster with `valkey-cli --cluster create`
    /// and waits (up to 30 s) until every node says `cluster_state:ok` with all
    /// 16384 slots ok, every primary has exactly one replica with its
    /// replication link up, and all nodes agree on the topology.
    pub fn start() -> TestCluster {
        TestCluster::start_with(ClusterOptions::default())
    }

    /// As [`start`](Self::start), with `options.primaries` primaries of
    /// `options.replicas_per_primary` replicas each, every node started under
    /// `options.wrapper`.
    pub fn start_with(options: ClusterOptions) -> TestCluster {
        assert!(
            options.primaries >= 3,
            "valkey-cli --cluster create needs at least 3 primaries, not {}",
            options.primaries
        );
        // Before starting anything: a missing cli is a setup problem.
        let cli = cli_binary();
        let mut cluster = TestCluster {
            nodes: start_nodes(options.node_count(), &options.wrapper),
            options,
            cli_output: String::new(),
            before_kill: HashMap::new(),
            logs_shown: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
        };
        cluster.create(&cli);
        let topology = cluster.wait_until(
            &format!(
                "the new cluster to become healthy ({} primaries, {} replica(s) each, all slots ok, replication up, all nodes agreeing)",
                cluster.options.primaries, cluster.options.replicas_per_primary
            ),
            START_TIMEOUT,
            |c| c.check_healthy(true),
        );
        cluster.order_nodes(&topology);
        cluster
    }

    /// The process id of every running node, for a handler that must kill them
    /// without unwinding (see [`kill_every_server`](crate::support::kill_every_server)).
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(TestServer::pid).collect()
    }

    /// `redis://127.0.0.1:PORT` of every node, killed ones included: the
    /// primaries as of start first, then their replicas in the same order.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(TestServer::url).collect()
    }

    /// The port of every node, in the order of [`TestCluster::urls`].
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(TestServer::port).collect()
    }

    /// The ports of the nodes that serve slots as primaries in the current
    /// `CLUSTER NODES` view that all running nodes agree on, ascending. A killed
    /// primary stays in the list until its replica has taken over.
    pub fn primaries(&self) -> Vec<u16> {
        self.agreed_topology().primaries()
    }

    /// The ports of the replicas of the primary on `port` in the current agreed
    /// `CLUSTER NODES` view, ascending (failed replicas included).
    pub fn replicas_of(&self, port: u16) -> Vec<u16> {
        self.node(port);
        self.agreed_topology().replicas_of(port)
    }

    /// The port of the primary that serves `key`'s slot right now, by
    /// `CLUSTER KEYSLOT` and the `CLUSTER SLOTS` answer of every running node
    /// (waiting, bounded, until they agree).
    pub fn node_for_key(&self, key: &str) -> u16 {
        self.wait_until(
            &format!("the running nodes to agree which primary serves key {key:?}"),
            AGREE_TIMEOUT,
            |c| c.check_owner_of_key(key),
        )
    }

    /// A plain (non-cluster) connection to the node on `port`, for raw checks.
    /// Key commands for slots the node does not serve get a MOVED error.
    pub fn conn(&self, port: u16) -> redis::Connection {
        self.node(port).conn()
    }

    /// The redis crate's synchronous cluster client with every node as an
    /// initial node. Timeouts and retries are short so that a call during a
    /// failover fails fast instead of hanging: retry in the test, with a fresh
    /// connection, in a bounded loop.
    pub fn cluster_client(&self) -> ClusterClient {
        ClusterClient::builder(self.urls())
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(Duration::from_secs(5))
            .retries(5)
            .min_retry_wait(10)
            .max_retry_wait(200)
            .build()
            .unwrap_or_else(|err| {
                panic!("cannot build a cluster client for {:?}: {err}", self.urls())
            })
    }

    /// Kills the node on `port` with SIGKILL (nothing if it is not running),
    /// remembering the topology just before for [`TestCluster::wait_for_failover`].
    pub fn kill(&mut self, port: u16) {
        let index = self.index_of(port);
        if self.nodes[index].child.is_none() {
            return;
        }
        if let Some(topology) = self.current_topology(port) {
            self.before_kill.insert(port, topology);
        }
        self.forget_conn(port);
        self.nodes[index].kill();
    }

    /// Starts the killed node on `port` again, on the same port and directory,
    /// with its `nodes.conf`, and waits (bounded) until it has rejoined: every
    /// running node sees it connected and not failing, all agree on the
    /// topology and on the cluster state. A former primary whose replica took
    /// over comes back as that replica's replica. Restarting a running node
    /// bounces it. For a fully healed cluster, follow with
    /// [`TestCluster::wait_healthy`].
    pub fn restart(&mut self, port: u16) {
        let index = self.index_of(port);
        self.forget_conn(port);
        self.nodes[index].restart();
        self.wait_until(
            &format!("restarted node 127.0.0.1:{port} to rejoin the cluster"),
            REJOIN_TIMEOUT,
            |c| c.check_rejoined(port),
        );
    }

    /// Waits (bounded) until the primary killed on `killed_port` has been
    /// replaced: every running node says `cluster_state:ok` with all slots ok,
    /// all agree on the topology, and all the killed primary's slots are served
    /// by one of its former replicas. Returns that new primary's port.
    pub fn wait_for_failover(&self, killed_port: u16) -> u16 {
        let node = self.node(killed_port);
        if node.child.is_some() {
            panic!("wait_for_failover({killed_port}): the node is running; kill it with TestCluster::kill first");
        }
        let Some(before) = self.before_kill.get(&killed_port) else {
            panic!(
                "wait_for_failover({killed_port}): the cluster topology from before the node was killed is unknown \
                 (it was not killed through TestCluster::kill, or no node answered then)"
            );
        };
        if before.slots_of(killed_port).is_empty() {
            panic!(
                "wait_for_failover({killed_port}): the node was not a primary serving slots when it was killed; \
                 topology then:\n{before}"
            );
        }
        if before.replicas_of(killed_port).is_empty() {
            panic!(
                "wait_for_failover({killed_port}): the primary had no replica to take over when it was killed; \
                 topology then:\n{before}"
            );
        }
        self.wait_until(
            &format!(
                "a former replica ({:?}) of killed primary 127.0.0.1:{killed_port} to take over its slots, \
                 with cluster_state:ok on every running node",
                before.replicas_of(killed_port)
            ),
            FAILOVER_TIMEOUT,
            |c| c.check_failed_over(killed_port, before),
        )
    }

    /// Waits (bounded) until the running nodes form a healthy cluster:
    /// `cluster_state:ok` with all slots ok everywhere, every running node seen
    /// connected and not failing by all the others, all agreeing on the
    /// topology, and every running replica's replication link up.
    pub fn wait_healthy(&self) {
        self.wait_until(
            "the running nodes to form a healthy cluster (all slots ok, all agreeing, replication up)",
            REJOIN_TIMEOUT,
            |c| c.check_healthy(false),
        );
    }

    /// The temporary directory of the node on `port` (removed on drop).
    pub fn dir(&self, port: u16) -> &Path {
        self.node(port).dir()
    }

    /// Every node's log, each under a header with its address.
    pub fn log(&self) -> String {
        let mut log = String::new();
        for node in &self.nodes {
            let running = if node.child.is_some() {
                "running"
            } else {
                "not running"
            };
            log.push_str(&format!(
                "=== log of cluster node {} ({running}, {}) ===\n",
                node.url(),
                node.dir().display()
            ));
            log.push_str(&node.log());
        }
        log
    }

    pub(super) fn node(&self, port: u16) -> &TestServer {
        &self.nodes[self.index_of(port)]
    }

    pub(super) fn index_of(&self, port: u16) -> usize {
        self.nodes
            .iter()
            .position(|n| n.port() == port)
            .unwrap_or_else(|| {
                panic!(
                    "no cluster node on port {port}; the nodes are {:?}",
                    self.ports()
                )
            })
    }

    /// Runs `f` on a connection to the node on `port`, reusing the last one
    /// unless `f` failed on it.
    pub(super) fn with_conn<T>(
        &self,
        port: u16,
        f: impl FnOnce(&mut redis::Connection) -> Result<T, String>,
    ) -> Result<T, String> {
        let cached = self.cached_conns().remove(&port);
        let mut conn = match cached {
            Some(conn) => conn,
            None => node_conn(port)?,
        };
        let result = f(&mut conn);
        if result.is_ok() {
            self.cached_conns().insert(port, conn);
        }
        result
    }

    pub(super) fn forget_conn(&self, port: u16) {
        self.cached_conns().remove(&port);
    }

    pub(super) fn cached_conns(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u16, redis::Connection>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn running_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(TestServer::port)
            .collect()
    }

    /// Panics with `problem`, the cli output and every node's log.
    pub(super) fn fail(&self, problem: &str) -> ! {
        self.logs_shown.store(true, Ordering::Relaxed);
        panic!(
            "test cluster {:?}: {problem}\n--- valkey-cli --cluster create ---\n{}\n{}--- end of cluster logs ---",
            self.ports(),
            self.cli_output,
            self.log()
        );
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if self.logs_shown.load(Ordering::Relaxed) {
            for node in &mut self.nodes {
                node.log_shown = true;
            }
        } else if thread::panicking() {
            eprintln!(
                "--- test cluster {:?}: valkey-cli --cluster create ---\n{}--- node logs follow ---",
                self.ports(),
                self.cli_output
            );
        }
        // Kill every node before any log is printed or directory removed (each
        // node's own drop does that).
        for node in &mut self.nodes {
            node.kill();
        }
    }
}
