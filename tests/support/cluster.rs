//! A throwaway six-node Valkey Cluster (three primaries with one replica each)
//! for integration tests.
//!
//! [`TestCluster::start`] starts six [`TestServer`]s in cluster mode, joins them
//! with `valkey-cli --cluster create … --cluster-replicas 1`, and waits until
//! every node reports a healthy cluster and all nodes agree on the topology.
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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::env;
use std::fmt;
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::panic;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use redis::cluster::ClusterClient;
use redis::Value;

use super::{find_on_path, free_port, info_field, server_binary, TestServer};

/// `cluster-node-timeout` of every node, in milliseconds: how long a node may
/// be unreachable before it is flagged as failing. Failover after a primary is
/// killed takes about 1.5 to 3 times this long. 1000 ms keeps failover tests
/// fast and is still far above any scheduling hiccup on a loaded test machine
/// (a false failure detection would need a node stalled for a whole second).
pub const NODE_TIMEOUT_MS: u64 = 1000;
/// Number of nodes: three primaries, each with one replica.
const NODE_COUNT: usize = 6;
const PRIMARY_COUNT: usize = 3;
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

/// A six-node Valkey Cluster owned by one test: three primaries, one replica each.
pub struct TestCluster {
    /// Primaries first (as of start), then their replicas in the same order.
    nodes: Vec<TestServer>,
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
        // Before starting anything: a missing cli is a setup problem.
        let cli = cli_binary();
        let mut cluster = TestCluster {
            nodes: start_nodes(NODE_COUNT),
            cli_output: String::new(),
            before_kill: HashMap::new(),
            logs_shown: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
        };
        cluster.create(&cli);
        let topology = cluster.wait_until(
            "the new cluster to become healthy (3 primaries, 1 replica each, all slots ok, replication up, all nodes agreeing)",
            START_TIMEOUT,
            |c| c.check_healthy(true),
        );
        cluster.order_nodes(&topology);
        cluster
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

    fn node(&self, port: u16) -> &TestServer {
        &self.nodes[self.index_of(port)]
    }

    fn index_of(&self, port: u16) -> usize {
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
    fn with_conn<T>(
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

    fn forget_conn(&self, port: u16) {
        self.cached_conns().remove(&port);
    }

    fn cached_conns(&self) -> std::sync::MutexGuard<'_, HashMap<u16, redis::Connection>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn running_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(TestServer::port)
            .collect()
    }

    /// Runs `valkey-cli --cluster create` over all nodes.
    fn create(&mut self, cli: &Path) {
        let out_path = self.nodes[0].dir().join(CLI_OUTPUT_FILE);
        let out = File::create(&out_path).unwrap();
        let mut cmd = Command::new(cli);
        cmd.args(["--cluster", "create"]);
        for node in &self.nodes {
            cmd.arg(format!("127.0.0.1:{}", node.port()));
        }
        cmd.args(["--cluster-replicas", "1", "--cluster-yes"])
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
    fn order_nodes(&mut self, topology: &Topology) {
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

    /// Polls `attempt` until it succeeds; after `timeout` panics saying what was
    /// awaited, with the last failure (which describes the observed state).
    fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut attempt: impl FnMut(&Self) -> Result<T, String>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            match attempt(self) {
                Ok(value) => return value,
                Err(last) => {
                    if Instant::now() >= deadline {
                        self.fail(&format!(
                            "timed out after {timeout:?} waiting for {what}\n{last}"
                        ));
                    }
                }
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Panics with `problem`, the cli output and every node's log.
    fn fail(&self, problem: &str) -> ! {
        self.logs_shown.store(true, Ordering::Relaxed);
        panic!(
            "test cluster {:?}: {problem}\n--- valkey-cli --cluster create ---\n{}\n{}--- end of cluster logs ---",
            self.ports(),
            self.cli_output,
            self.log()
        );
    }

    /// What every running node reports right now.
    fn observe(&self) -> Observation {
        let nodes = self
            .running_ports()
            .into_iter()
            .map(|port| (port, self.with_conn(port, observe_node)))
            .collect();
        let stopped = self
            .nodes
            .iter()
            .filter(|n| n.child.is_none())
            .map(TestServer::port)
            .collect();
        Observation { nodes, stopped }
    }

    /// The topology the running nodes agree on, waiting (bounded) for agreement.
    fn agreed_topology(&self) -> Topology {
        self.wait_until(
            "the running nodes to agree on the cluster topology",
            AGREE_TIMEOUT,
            |c| {
                let obs = c.observe();
                let states = obs.answers()?;
                obs.agreed(&states)
            },
        )
    }

    /// The agreed topology if the running nodes agree right now, else the view
    /// of the node on `port`, else of any running node.
    fn current_topology(&self, port: u16) -> Option<Topology> {
        let obs = self.observe();
        let views: Vec<_> = obs
            .nodes
            .iter()
            .filter_map(|(p, state)| state.as_ref().ok().map(|s| (*p, s.topology())))
            .collect();
        if views.len() == obs.nodes.len() && views.windows(2).all(|w| w[0].1 == w[1].1) {
            return views.into_iter().next().map(|(_, t)| t);
        }
        let own = views.iter().position(|(p, _)| *p == port).unwrap_or(0);
        views.into_iter().nth(own).map(|(_, t)| t)
    }

    /// A healthy cluster of the running nodes; with `full`, also exactly six
    /// nodes, three primaries with one replica each.
    fn check_healthy(&self, full: bool) -> Result<Topology, String> {
        let obs = self.observe();
        let states = obs.answers()?;
        for (port, state) in &states {
            state
                .check_slots_ok()
                .map_err(|e| obs.explain(&format!("node {port}: {e}")))?;
        }
        obs.all_running_seen_healthy(&states)?;
        let topology = obs.agreed(&states)?;
        if full {
            let primaries = topology.primaries();
            if topology.nodes.len() != NODE_COUNT || primaries.len() != PRIMARY_COUNT {
                return Err(obs.explain(&format!(
                    "expected {NODE_COUNT} nodes with {PRIMARY_COUNT} primaries, the nodes see {} with primaries {primaries:?}",
                    topology.nodes.len()
                )));
            }
            for primary in &primaries {
                let replicas = topology.replicas_of(*primary);
                if replicas.len() != 1 {
                    return Err(obs.explain(&format!(
                        "primary {primary} has replicas {replicas:?}, expected exactly one"
                    )));
                }
            }
        }
        // Replication links, as the replicas and primaries themselves report them.
        for (port, state) in &states {
            let role = topology.role_of(*port).ok_or_else(|| {
                obs.explain(&format!(
                    "running node {port} is missing from the agreed topology"
                ))
            })?;
            if let Some(primary_id) = &role.primary_id {
                let primary = topology.nodes.get(primary_id).map(|r| r.port);
                let repl = &state.replication;
                let up = info_field(repl, "role") == Some("slave")
                    && info_field(repl, "master_link_status") == Some("up")
                    && primary.is_some()
                    && info_field(repl, "master_port") == primary.map(|p| p.to_string()).as_deref();
                if !up {
                    return Err(obs.explain(&format!(
                        "replica {port} is not replicating from primary {primary:?} with its link up"
                    )));
                }
            } else if role.primary {
                let running = obs.running();
                let expected = topology
                    .replicas_of(*port)
                    .into_iter()
                    .filter(|r| running.contains(r))
                    .count();
                let online = online_replicas(&state.replication);
                if online != expected {
                    return Err(obs.explain(&format!(
                        "primary {port} has {online} online replicas, expected {expected}"
                    )));
                }
            }
        }
        Ok(topology)
    }

    /// The restarted node on `port` is known, connected and healthy to every
    /// running node, they all agree on the topology and on the cluster state.
    fn check_rejoined(&self, port: u16) -> Result<(), String> {
        let obs = self.observe();
        let states = obs.answers()?;
        obs.all_running_seen_healthy(&states)?;
        obs.agreed(&states)?;
        let cluster_states: BTreeSet<_> = states
            .iter()
            .map(|(_, s)| info_field(&s.info, "cluster_state").unwrap_or("?"))
            .collect();
        if cluster_states.len() != 1 {
            return Err(obs.explain(&format!(
                "the nodes disagree on cluster_state ({cluster_states:?}) after node {port} restarted"
            )));
        }
        Ok(())
    }

    fn check_failed_over(&self, killed: u16, before: &Topology) -> Result<u16, String> {
        let obs = self.observe();
        let states = obs.answers()?;
        for (port, state) in &states {
            state
                .check_slots_ok()
                .map_err(|e| obs.explain(&format!("node {port}: {e}")))?;
        }
        let topology = obs.agreed(&states)?;
        let candidates = before.replicas_of(killed);
        let mut owners = BTreeSet::new();
        for &(start, end) in &before.slots_of(killed) {
            for slot in start..=end {
                owners.insert(topology.owner_of_slot(slot));
            }
        }
        let owners: Vec<_> = owners.into_iter().collect();
        match owners[..] {
            [Some(owner)] if owner != killed && candidates.contains(&owner) => {
                if obs.running().contains(&owner) {
                    Ok(owner)
                } else {
                    Err(obs.explain(&format!("the new primary {owner} of the killed node's slots is not running")))
                }
            }
            _ => Err(obs.explain(&format!(
                "the slots of killed primary {killed} are served by {owners:?}, expected one of its former replicas {candidates:?}"
            ))),
        }
    }

    fn check_owner_of_key(&self, key: &str) -> Result<u16, String> {
        let ports = self.running_ports();
        let mut answers = Vec::new();
        let mut slot = None;
        for &port in &ports {
            let answer = self.with_conn(port, |conn| {
                let key_slot: u16 = match slot {
                    Some(slot) => slot,
                    None => query(conn, &["CLUSTER", "KEYSLOT", key])?,
                };
                slot = Some(key_slot);
                let slots: Value = query(conn, &["CLUSTER", "SLOTS"])?;
                slot_owner(&slots, key_slot)
            });
            answers.push((port, answer));
        }
        let describe = |problem: &str| {
            let mut text = format!(
                "{problem}\n--- last observed state (CLUSTER SLOTS owner of slot {slot:?}) ---\n"
            );
            for (port, answer) in &answers {
                text.push_str(&format!("node {port}: {answer:?}\n"));
            }
            text
        };
        let owners: BTreeSet<_> = answers.iter().map(|(_, a)| a.clone()).collect();
        match owners.iter().collect::<Vec<_>>()[..] {
            [Ok(Some(owner))] => Ok(*owner),
            [] => Err(describe("no node is running")),
            _ => Err(describe(
                "the nodes do not all name one primary for the slot",
            )),
        }
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

/// Starts `count` cluster-mode nodes in parallel.
fn start_nodes(count: usize) -> Vec<TestServer> {
    let results: Vec<thread::Result<TestServer>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..count).map(|_| scope.spawn(start_node)).collect();
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

/// Starts one cluster-mode node with its own cluster bus port.
fn start_node() -> TestServer {
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
            return TestServer::start_with(&args);
        }
        match panic::catch_unwind(|| TestServer::start_with(&args)) {
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
fn cli_binary() -> PathBuf {
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

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A short-lived connection to one node, with timeouts.
fn node_conn(port: u16) -> Result<redis::Connection, String> {
    let url = format!("redis://127.0.0.1:{port}");
    let client = redis::Client::open(url.as_str()).map_err(|e| format!("{url}: {e}"))?;
    let conn = client
        .get_connection_with_timeout(CONNECT_TIMEOUT)
        .map_err(|e| format!("cannot connect: {e}"))?;
    conn.set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    conn.set_write_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

fn query<T: redis::FromRedisValue>(
    conn: &mut redis::Connection,
    args: &[&str],
) -> Result<T, String> {
    redis::cmd(args[0])
        .arg(&args[1..])
        .query(conn)
        .map_err(|e| format!("{}: {e}", args.join(" ")))
}

/// What one node says about the cluster.
struct NodeState {
    /// `CLUSTER INFO`.
    info: String,
    /// `CLUSTER NODES`, raw and parsed.
    nodes_text: String,
    entries: Vec<NodeEntry>,
    /// `INFO replication`.
    replication: String,
}

fn observe_node(conn: &mut redis::Connection) -> Result<NodeState, String> {
    let info: String = query(conn, &["CLUSTER", "INFO"])?;
    let nodes_text: String = query(conn, &["CLUSTER", "NODES"])?;
    let replication: String = query(conn, &["INFO", "replication"])?;
    let entries = parse_nodes(&nodes_text)?;
    Ok(NodeState {
        info,
        nodes_text,
        entries,
        replication,
    })
}

impl NodeState {
    fn topology(&self) -> Topology {
        Topology::from_entries(&self.entries)
    }

    fn check_slots_ok(&self) -> Result<(), String> {
        let field = |name| field(&self.info, name);
        let slots = SLOT_COUNT.to_string();
        if field("cluster_state") != "ok"
            || field("cluster_slots_assigned") != slots
            || field("cluster_slots_ok") != slots
        {
            return Err(format!(
                "cluster_state:{} cluster_slots_assigned:{} cluster_slots_ok:{} (want ok, {SLOT_COUNT}, {SLOT_COUNT})",
                field("cluster_state"),
                field("cluster_slots_assigned"),
                field("cluster_slots_ok"),
            ));
        }
        Ok(())
    }
}

/// `field` of an INFO-style reply, or `?`.
fn field<'a>(text: &'a str, name: &str) -> &'a str {
    info_field(text, name).unwrap_or("?")
}

/// `slaveN:…,state=online,…` lines of `INFO replication`.
fn online_replicas(replication: &str) -> usize {
    replication
        .lines()
        .filter(|line| {
            line.strip_prefix("slave")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                && line.contains("state=online")
        })
        .count()
}

/// The reports of every running node at one moment.
struct Observation {
    nodes: Vec<(u16, Result<NodeState, String>)>,
    stopped: Vec<u16>,
}

impl Observation {
    fn running(&self) -> Vec<u16> {
        self.nodes.iter().map(|(port, _)| *port).collect()
    }

    /// Every running node's state, or an error if one did not answer.
    fn answers(&self) -> Result<Vec<(u16, &NodeState)>, String> {
        let mut states = Vec::new();
        for (port, state) in &self.nodes {
            match state {
                Ok(state) => states.push((*port, state)),
                Err(err) => {
                    return Err(self.explain(&format!("node {port} does not answer: {err}")))
                }
            }
        }
        if states.is_empty() {
            return Err(self.explain("no node is running"));
        }
        Ok(states)
    }

    /// The topology every running node reports, if they all agree.
    fn agreed(&self, states: &[(u16, &NodeState)]) -> Result<Topology, String> {
        let (first_port, first) = states[0];
        let topology = first.topology();
        for (port, state) in &states[1..] {
            if state.topology() != topology {
                return Err(self.explain(&format!(
                    "nodes {first_port} and {port} disagree on the topology:\n{first_port} sees:\n{topology}{port} sees:\n{}",
                    state.topology()
                )));
            }
        }
        Ok(topology)
    }

    /// Every running node sees every running node once, connected and not
    /// flagged failing or in handshake.
    fn all_running_seen_healthy(&self, states: &[(u16, &NodeState)]) -> Result<(), String> {
        let running = self.running();
        for (viewer, state) in states {
            for port in &running {
                let seen: Vec<_> = state.entries.iter().filter(|e| e.port == *port).collect();
                let healthy = match seen[..] {
                    [entry] => entry.healthy(),
                    _ => false,
                };
                if !healthy {
                    return Err(self.explain(&format!(
                        "node {viewer} does not see running node {port} exactly once, connected and healthy"
                    )));
                }
            }
        }
        Ok(())
    }

    /// `problem`, then the observed state of every node.
    fn explain(&self, problem: &str) -> String {
        let mut text = format!("{problem}\n--- last observed state ---\n");
        for (port, state) in &self.nodes {
            match state {
                Ok(s) => {
                    text.push_str(&format!(
                        "node 127.0.0.1:{port}: cluster_state:{} slots_ok:{} known_nodes:{} size:{} | role:{}",
                        field(&s.info, "cluster_state"),
                        field(&s.info, "cluster_slots_ok"),
                        field(&s.info, "cluster_known_nodes"),
                        field(&s.info, "cluster_size"),
                        field(&s.replication, "role"),
                    ));
                    if field(&s.replication, "role") == "slave" {
                        text.push_str(&format!(
                            " master_port:{} master_link_status:{}",
                            field(&s.replication, "master_port"),
                            field(&s.replication, "master_link_status"),
                        ));
                    } else {
                        text.push_str(&format!(
                            " online_replicas:{}",
                            online_replicas(&s.replication)
                        ));
                    }
                    text.push_str("\n  CLUSTER NODES:\n");
                    for line in s.nodes_text.lines() {
                        text.push_str(&format!("    {line}\n"));
                    }
                }
                Err(err) => text.push_str(&format!("node 127.0.0.1:{port}: no answer: {err}\n")),
            }
        }
        if !self.stopped.is_empty() {
            text.push_str(&format!("killed (not running): {:?}\n", self.stopped));
        }
        text
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Clone, Debug)]
struct NodeEntry {
    id: String,
    port: u16,
    /// `master`, `slave`, `fail?`, `fail`, `handshake`, … (without `myself`).
    flags: BTreeSet<String>,
    primary_id: Option<String>,
    connected: bool,
    slots: Vec<(u16, u16)>,
}

impl NodeEntry {
    fn healthy(&self) -> bool {
        self.connected
            && !["fail", "fail?", "handshake", "noaddr"]
                .iter()
                .any(|flag| self.flags.contains(*flag))
    }
}

/// Parses `CLUSTER NODES`: `id ip:port@cport[,hostname] flags primary ping pong epoch link slot…`.
fn parse_nodes(text: &str) -> Result<Vec<NodeEntry>, String> {
    let mut entries = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let malformed = || format!("malformed CLUSTER NODES line: {line:?}");
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 8 {
            return Err(malformed());
        }
        let address = fields[1].split(['@', ',']).next().unwrap_or_default();
        let port = address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(malformed)?;
        let flags = fields[2]
            .split(',')
            .filter(|f| *f != "myself")
            .map(str::to_string)
            .collect();
        let mut slots = Vec::new();
        // `[slot->-id]` / `[slot-<-id]`: a slot being migrated or imported.
        for range in fields[8..].iter().filter(|r| !r.starts_with('[')) {
            let (start, end) = range.split_once('-').unwrap_or((range, range));
            let parse = |s: &str| s.parse::<u16>().map_err(|_| malformed());
            slots.push((parse(start)?, parse(end)?));
        }
        slots.sort_unstable();
        entries.push(NodeEntry {
            id: fields[0].to_string(),
            port,
            flags,
            primary_id: Some(fields[3]).filter(|id| *id != "-").map(str::to_string),
            connected: fields[7] == "connected",
            slots,
        });
    }
    Ok(entries)
}

/// Who is who in one node's `CLUSTER NODES` view: roles, replication and slots,
/// without the transient flags and link states.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Topology {
    /// By node id.
    nodes: BTreeMap<String, Role>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Role {
    port: u16,
    primary: bool,
    /// For a replica, its primary's id.
    primary_id: Option<String>,
    slots: Vec<(u16, u16)>,
}

impl Topology {
    fn from_entries(entries: &[NodeEntry]) -> Topology {
        let nodes = entries
            .iter()
            .map(|e| {
                let role = Role {
                    port: e.port,
                    primary: e.flags.contains("master"),
                    primary_id: e.primary_id.clone(),
                    slots: e.slots.clone(),
                };
                (e.id.clone(), role)
            })
            .collect();
        Topology { nodes }
    }

    fn role_of(&self, port: u16) -> Option<&Role> {
        self.nodes.values().find(|r| r.port == port)
    }

    fn id_of(&self, port: u16) -> Option<&str> {
        self.nodes
            .iter()
            .find(|(_, r)| r.port == port)
            .map(|(id, _)| id.as_str())
    }

    /// Ports of the primaries that serve slots, ascending.
    fn primaries(&self) -> Vec<u16> {
        let mut ports: Vec<_> = self
            .nodes
            .values()
            .filter(|r| r.primary && !r.slots.is_empty())
            .map(|r| r.port)
            .collect();
        ports.sort_unstable();
        ports
    }

    fn replicas_of(&self, port: u16) -> Vec<u16> {
        let Some(id) = self.id_of(port) else {
            return Vec::new();
        };
        let mut ports: Vec<_> = self
            .nodes
            .values()
            .filter(|r| r.primary_id.as_deref() == Some(id))
            .map(|r| r.port)
            .collect();
        ports.sort_unstable();
        ports
    }

    fn slots_of(&self, port: u16) -> Vec<(u16, u16)> {
        self.role_of(port)
            .map(|r| r.slots.clone())
            .unwrap_or_default()
    }

    fn owner_of_slot(&self, slot: u16) -> Option<u16> {
        self.nodes
            .values()
            .find(|r| {
                r.slots
                    .iter()
                    .any(|&(start, end)| (start..=end).contains(&slot))
            })
            .map(|r| r.port)
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut roles: Vec<_> = self.nodes.iter().collect();
        roles.sort_by_key(|(_, r)| r.port);
        for (id, role) in roles {
            let short = &id[..id.len().min(8)];
            if let Some(primary) = &role.primary_id {
                let primary_port = self.nodes.get(primary).map(|r| r.port);
                writeln!(f, "  {} ({short}) replica of {primary_port:?}", role.port)?;
            } else {
                let slots: Vec<_> = role
                    .slots
                    .iter()
                    .map(|(s, e)| {
                        if s == e {
                            s.to_string()
                        } else {
                            format!("{s}-{e}")
                        }
                    })
                    .collect();
                let kind = if role.primary { "primary" } else { "no role" };
                writeln!(
                    f,
                    "  {} ({short}) {kind}, slots [{}]",
                    role.port,
                    slots.join(" ")
                )?;
            }
        }
        Ok(())
    }
}

/// The port of the primary serving `slot` in a `CLUSTER SLOTS` reply.
fn slot_owner(reply: &Value, slot: u16) -> Result<Option<u16>, String> {
    let malformed = || format!("malformed CLUSTER SLOTS reply: {reply:?}");
    let Value::Array(ranges) = reply else {
        return Err(malformed());
    };
    for range in ranges {
        let Value::Array(items) = range else {
            return Err(malformed());
        };
        let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(primary))) =
            (items.first(), items.get(1), items.get(2))
        else {
            return Err(malformed());
        };
        if (*start..=*end).contains(&i64::from(slot)) {
            return match primary.get(1) {
                Some(Value::Int(port)) => u16::try_from(*port).map(Some).map_err(|_| malformed()),
                _ => Err(malformed()),
            };
        }
    }
    Ok(None)
}
