//! What the nodes report: one node's `CLUSTER INFO`, `CLUSTER NODES` and `INFO replication`
//! ([`NodeState`]), and every running node's at one moment ([`Observation`]), with the text that
//! explains a failed wait.

use super::topology::{parse_nodes, NodeEntry, Topology};
use super::{CONNECT_TIMEOUT, IO_TIMEOUT, SLOT_COUNT};
use crate::support::info_field;

/// A short-lived connection to one node, with timeouts.
pub(super) fn node_conn(port: u16) -> Result<redis::Connection, String> {
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

pub(super) fn query<T: redis::FromRedisValue>(
    conn: &mut redis::Connection,
    args: &[&str],
) -> Result<T, String> {
    redis::cmd(args[0])
        .arg(&args[1..])
        .query(conn)
        .map_err(|e| format!("{}: {e}", args.join(" ")))
}

/// What one node says about the cluster.
pub(super) struct NodeState {
    /// `CLUSTER INFO`.
    pub(super) info: String,
    /// `CLUSTER NODES`, raw and parsed.
    pub(super) nodes_text: String,
    pub(super) entries: Vec<NodeEntry>,
    /// `INFO replication`.
    pub(super) replication: String,
}

pub(super) fn observe_node(conn: &mut redis::Connection) -> Result<NodeState, String> {
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
    pub(super) fn topology(&self) -> Topology {
        Topology::from_entries(&self.entries)
    }

    pub(super) fn check_slots_ok(&self) -> Result<(), String> {
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
pub(super) fn field<'a>(text: &'a str, name: &str) -> &'a str {
    info_field(text, name).unwrap_or("?")
}

/// `slaveN:…,state=online,…` lines of `INFO replication`.
pub(super) fn online_replicas(replication: &str) -> usize {
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
pub(super) struct Observation {
    pub(super) nodes: Vec<(u16, Result<NodeState, String>)>,
    pub(super) stopped: Vec<u16>,
}

impl Observation {
    pub(super) fn running(&self) -> Vec<u16> {
        self.nodes.iter().map(|(port, _)| *port).collect()
    }

    /// Every running node's state, or an error if one did not answer.
    pub(super) fn answers(&self) -> Result<Vec<(u16, &NodeState)>, String> {
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
    pub(super) fn agreed(&self, states: &[(u16, &NodeState)]) -> Result<Topology, String> {
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
    pub(super) fn all_running_seen_healthy(
        &self,
        states: &[(u16, &NodeState)],
    ) -> Result<(), String> {
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
    pub(super) fn explain(&self, problem: &str) -> String {
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
