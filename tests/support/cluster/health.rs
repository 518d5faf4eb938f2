//! Bounded waits on the cluster's state: healthy, failed over, rejoined, agreed on a key's
//! owner. Each check returns the observed state as its error, for the panic message.

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;

use super::observe::{observe_node, online_replicas, query, Observation};
use super::topology::{slot_owner, Topology};
use super::{TestCluster, AGREE_TIMEOUT, POLL_INTERVAL};
use crate::support::{info_field, TestServer};

impl TestCluster {
    /// Polls `attempt` until it succeeds; after `timeout` panics saying what was
    /// awaited, with the last failure (which describes the observed state).
    pub(super) fn wait_until<T>(
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

    /// What every running node reports right now.
    pub(super) fn observe(&self) -> Observation {
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
    pub(super) fn agreed_topology(&self) -> Topology {
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
    pub(super) fn current_topology(&self, port: u16) -> Option<Topology> {
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

    /// A healthy cluster of the running nodes; with `full`, also exactly the
    /// nodes, primaries and replicas per primary of the cluster's options.
    pub(super) fn check_healthy(&self, full: bool) -> Result<Topology, String> {
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
            let (nodes, primary_count) = (self.options.node_count(), self.options.primaries);
            if topology.nodes.len() != nodes || primaries.len() != primary_count {
                return Err(obs.explain(&format!(
                    "expected {nodes} nodes with {primary_count} primaries, the nodes see {} with primaries {primaries:?}",
                    topology.nodes.len()
                )));
            }
            for primary in &primaries {
                let replicas = topology.replicas_of(*primary);
                if replicas.len() != self.options.replicas_per_primary {
                    return Err(obs.explain(&format!(
                        "primary {primary} has replicas {replicas:?}, expected exactly {}",
                        self.options.replicas_per_primary
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
    pub(super) fn check_rejoined(&self, port: u16) -> Result<(), String> {
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

    pub(super) fn check_failed_over(&self, killed: u16, before: &Topology) -> Result<u16, String> {
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

    pub(super) fn check_owner_of_key(&self, key: &str) -> Result<u16, String> {
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
