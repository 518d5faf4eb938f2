//! The Valkey Cluster backend: batches grouped by shard, each shard's part one pipeline on the
//! raw transport, all shards at once.
//!
//! The `redis` crate's cluster client connects (checking the credentials), reads the topology
//! (`CLUSTER SLOTS`) and carries the pipelines on `rediss://`. Everything else rides the raw
//! transport of the server backend: a pool per node, the same encoder and reply checks. The
//! commands of a call are grouped by the shard that serves their slot (from a map kept here);
//! each group goes to its shard's primary (or, for reads with `read_from_replicas`, a replica)
//! as one pipeline, and the replies are put back in input order. A group that meets a
//! redirection (`MOVED`, `ASK`), a cluster that is changing (`TRYAGAIN`, `CLUSTERDOWN`) or a lost
//! connection (a failover, a resharding) is regrouped against a fresh map and sent again, a
//! bounded number of times within the call's deadline; reads and writes are idempotent, so a
//! resend is safe.
//!
//! Writes are one `EVALSHA` of the write script per entity (one key, so one slot), as on a
//! single server; each shard's write pipeline starts with `SCRIPT LOAD`, so that a node that
//! never saw the script (a new primary after a failover, a restarted node) has it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::Value;
use tokio::time::{timeout_at, Instant};

use super::redis_client::{collect, redis_error, PipelineSink};
use crate::command::{Command, Outcomes, AGG_SCRIPT, WRITE_SCRIPT};
use crate::exchange::{Collect, Collected, Decode, Read};
use crate::reply::{self, Reply};
use crate::resp::{self, Frame, Sink};
use crate::transport::{Pool, Setup, Target};
use crate::{Error, Result};

/// Slots of a cluster.
const SLOTS: usize = 16_384;
/// How often a call regroups and resends after a redirection or a lost connection.
const ATTEMPTS: usize = 3;
/// Shard index of a slot that no node serves.
const UNSERVED: u16 = u16::MAX;

/// A node: host and port.
type Node = (String, u16);

/// A connection to a Valkey Cluster.
pub(crate) struct Cluster {
    conn: ClusterConnection,
    /// The seed nodes, for messages.
    pub(crate) addrs: String,
    /// The shard of every slot, as last read; `None` until first needed.
    shards: RwLock<Option<Arc<ShardMap>>>,
    /// How raw connections are set up; `None` on TLS, where the cluster client carries the
    /// pipelines.
    setup: Option<Setup>,
    /// One pool per node, and per role (`true`: a replica, read with `READONLY`).
    pools: Mutex<HashMap<(Node, bool), Arc<Pool>>>,
    /// Send reads to replicas.
    replicas: bool,
    /// Round robin over a shard's replicas.
    next_replica: AtomicUsize,
    /// `WAIT` for this many replicas, this long, after every write pipeline.
    wait: Option<(usize, Duration)>,
}

/// Which shard serves each slot, and the nodes of each shard.
struct ShardMap {
    of_slot: Vec<u16>,
    shards: Vec<Shard>,
}

struct Shard {
    primary: Node,
    replicas: Vec<Node>,
}

/// Why a group failed.
enum Failure {
    /// A regrouped resend may help.
    Retry(Error),
    /// Final.
    Fatal(Error),
}

/// A group's commands as sent, and what to expect back.
struct Plan<'c> {
    /// Indices into the call's commands.
    members: Vec<usize>,
    /// How many replies come back: with writes, one for `SCRIPT LOAD` first.
    replies: usize,
    first: &'c Command,
    writes: bool,
}

impl Cluster {
    pub(crate) fn new(
        conn: ClusterConnection,
        addrs: String,
        setup: Option<Setup>,
        replicas: bool,
        wait: Option<(usize, Duration)>,
    ) -> Cluster {
        Cluster {
            conn,
            addrs,
            shards: RwLock::new(None),
            setup,
            pools: Mutex::new(HashMap::new()),
            replicas,
            next_replica: AtomicUsize::new(0),
            wait,
        }
    }

    /// Runs `read`'s commands, grouped by shard, and has it decode the replies in input order.
    /// The whole call, resends included, has the deadline `after`.
    ///
    /// # Errors
    /// Transport errors; the first error the decoder returns.
    pub(crate) async fn read<T: Send, D: Decode<T>>(
        &self,
        read: &mut Read<'_, '_, T, D>,
        after: Duration,
    ) -> Result<()> {
        let cmds = read.cmds();
        let groups = self.run(cmds, after).await?;
        let mut ordered: Vec<Option<Reply<'_>>> = vec![None; cmds.len()];
        for (plan, collected) in &groups {
            for (&i, reply) in plan.members.iter().zip(collected.replies.views()) {
                ordered[i] = Some(reply);
            }
        }
        let ordered: Vec<Reply<'_>> = ordered.into_iter().flatten().collect();
        read.decode_replies(&ordered)
    }

    /// Applies `writes`, one script call per entity; one result per write, in order.
    ///
    /// # Errors
    /// Transport errors; [`Error::NotReplicated`].
    pub(crate) async fn write(&self, writes: &[Command], after: Duration) -> Result<Outcomes> {
        let groups = self.run(writes, after).await?;
        let mut results: Vec<Option<Result<()>>> = (0..writes.len()).map(|_| None).collect();
        for (plan, collected) in &groups {
            let replies = collected.replies.views();
            let load_refused = replies
                .first()
                .and_then(|r| r.error_line())
                .map(|line| line.to_vec());
            let mut group_writes = Vec::with_capacity(plan.members.len());
            let mut ok = true;
            for (k, &i) in plan.members.iter().enumerate() {
                let write = &writes[i];
                let result = match (&load_refused, replies.get(1 + k)) {
                    // Without the script, no write of the group could run: say why.
                    (Some(line), _) => Err(reply::server_error("SCRIPT LOAD", write.key(), line)),
                    (None, Some(reply)) => reply::script_write(write, *reply),
                    (None, None) => Err(Error::UnexpectedReply {
                        command: "EVALSHA",
                        key: write.key().to_owned(),
                        expected: "one reply per write",
                        found: format!("{} replies", replies.len()),
                    }),
                };
                ok &= result.is_ok();
                results[i] = Some(result);
                group_writes.push(write);
            }
            // A write the server refused is reported as such, not as unreplicated.
            if let (Some((replicas, _)), true) = (self.wait, ok) {
                let wait = collected.replies.get(1 + plan.members.len());
                reply::replicated(replicas, wait, &group_writes)?;
            }
        }
        Ok(results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
    }

    /// Sends `cmds` grouped by shard, regrouping and resending what failed; returns each
    /// group's plan and replies.
    async fn run<'c>(
        &self,
        cmds: &'c [Command],
        after: Duration,
    ) -> Result<Vec<(Plan<'c>, Collected)>> {
        let deadline = Instant::now() + after;
        let timeout = || Error::Timeout {
            op: format!("{} commands on the cluster of {}", cmds.len(), self.addrs),
            after,
        };
        let work = async {
            let mut done = Vec::new();
            let mut pending: Vec<usize> = (0..cmds.len()).collect();
            for attempt in 1..=ATTEMPTS {
                let map = self.shard_map(attempt > 1, after).await?;
                let mut plans = plan(&map, cmds, &pending);
                if self.wait.is_some() {
                    plans
                        .iter_mut()
                        .filter(|(_, p)| p.writes)
                        .for_each(|(_, p)| p.replies += 1);
                }
                let sent = plans
                    .iter()
                    .map(|(shard, plan)| self.send(&map, *shard, cmds, plan, deadline, after));
                let results = futures_util::future::join_all(sent).await;
                pending.clear();
                for ((_, plan), result) in plans.into_iter().zip(results) {
                    match result {
                        Ok(collected) => done.push((plan, collected)),
                        Err(Failure::Retry(_)) if attempt < ATTEMPTS => {
                            pending.extend_from_slice(&plan.members);
                        }
                        Err(Failure::Retry(e) | Failure::Fatal(e)) => return Err(e),
                    }
                }
                if pending.is_empty() {
                    break;
                }
                pending.sort_unstable();
            }
            Ok(done)
        };
        timeout_at(deadline, work).await.map_err(|_| timeout())?
    }

    /// Sends one group to its shard as one pipeline.
    async fn send(
        &self,
        map: &ShardMap,
        shard: Option<u16>,
        cmds: &[Command],
        plan: &Plan<'_>,
        deadline: Instant,
        after: Duration,
    ) -> std::result::Result<Collected, Failure> {
        let encode = |out: &mut dyn Sink| {
            if plan.writes {
                // A call's writes are all of one kind: entity writes or aggregation events.
                let script = match plan.members.first().map(|&i| &cmds[i]) {
                    Some(Command::Record(_)) => AGG_SCRIPT,
                    _ => WRITE_SCRIPT,
                };
                resp::args(out, &[b"SCRIPT", b"LOAD", script.as_bytes()]);
            }
            for &i in &plan.members {
                resp::command(out, &cmds[i]);
            }
            if let (Some((replicas, timeout)), true) = (self.wait, plan.writes) {
                resp::wait(
                    out,
                    replicas,
                    u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                );
            }
        };
        let replica = self.replicas && !plan.writes;
        let collected = match (
            &self.setup,
            shard.and_then(|s| map.shards.get(usize::from(s))),
        ) {
            (Some(setup), Some(shard)) => {
                let node = match (replica, shard.replicas.len()) {
                    (true, n) if n > 0 => {
                        &shard.replicas[self.next_replica.fetch_add(1, Ordering::Relaxed) % n]
                    }
                    _ => &shard.primary,
                };
                let pool = self.pool(node, replica && node != &shard.primary, setup);
                let mut collect = Collect::new(encode, plan.replies, plan.first.key());
                let op = || format!("a pipeline of {} commands to {}", plan.replies, pool.addr());
                pool.call(&mut collect, deadline, after, op)
                    .await
                    .map_err(|e| match e {
                        Error::Connection { .. } => Failure::Retry(e),
                        other => Failure::Fatal(other),
                    })?
            }
            // TLS, or a slot no node serves: the cluster client routes it (and reports why not).
            _ => {
                let mut sink = PipelineSink::default();
                encode(&mut sink);
                let pipe = sink.finish();
                let len = pipe.len();
                let addr = if replica {
                    SlotAddr::ReplicaOptional
                } else {
                    SlotAddr::Master
                };
                let route = Route::new(slot_of(plan.first.key().as_bytes()), addr);
                let values = self
                    .conn
                    .clone()
                    .route_pipeline(pipe, 0, len, SingleNodeRoutingInfo::SpecificNode(route))
                    .await
                    .map_err(|e| {
                        let retry = e.is_cluster_error()
                            || e.is_io_error()
                            || e.is_connection_dropped()
                            || e.is_connection_refusal()
                            || matches!(
                                e.code(),
                                Some("CLUSTERDOWN" | "TRYAGAIN" | "MOVED" | "ASK")
                            );
                        let e = redis_error(&self.addrs, e, Some(plan.first), after);
                        if retry {
                            Failure::Retry(e)
                        } else {
                            Failure::Fatal(e)
                        }
                    })?;
                collect(&values)
            }
        };
        if let Some(line) = redirected(&collected) {
            return Err(Failure::Retry(reply::server_error(
                plan.first.name(),
                plan.first.key(),
                &line,
            )));
        }
        Ok(collected)
    }

    /// Reads the slot map afresh and sends `PING` to every primary, at once.
    ///
    /// # Errors
    /// Transport errors; the first node that does not answer `PONG`.
    pub(crate) async fn ping(&self, after: Duration) -> Result<()> {
        let deadline = Instant::now() + after;
        let map = self.shard_map(true, after).await?;
        let Some(setup) = &self.setup else {
            // TLS: the cluster client sends it to every primary.
            let ping = redis::cmd("PING");
            let routing = RoutingInfo::MultiNode((
                redis::cluster_routing::MultipleNodeRoutingInfo::AllMasters,
                None,
            ));
            let mut conn = self.conn.clone();
            let sent = conn.route_command(ping, routing);
            timeout_at(deadline, sent)
                .await
                .map_err(|_| Error::Timeout {
                    op: format!("PING to the cluster of {}", self.addrs),
                    after,
                })?
                .map_err(|e| redis_error(&self.addrs, e, None, after))?;
            return Ok(());
        };
        let pings = map.shards.iter().map(|shard| async {
            let pool = self.pool(&shard.primary, false, setup);
            let mut collect = Collect::new(|out: &mut dyn Sink| resp::args(out, &[b"PING"]), 1, "");
            let op = || format!("PING to {}", pool.addr());
            let collected = pool.call(&mut collect, deadline, after, op).await?;
            reply::pong(collected.replies.get(0))
        });
        futures_util::future::join_all(pings)
            .await
            .into_iter()
            .collect::<Result<Vec<()>>>()
            .map(|_| ())
    }

    /// Closes every idle connection.
    pub(crate) fn close(&self) {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools.values().for_each(|p| p.close());
    }

    /// The pool of `node` in its role.
    fn pool(&self, node: &Node, replica: bool, setup: &Setup) -> Arc<Pool> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let pool = pools.entry((node.clone(), replica)).or_insert_with(|| {
            let target = Target::Tcp(node.0.clone(), node.1);
            Arc::new(Pool::new(target, setup.clone(), replica))
        });
        Arc::clone(pool)
    }

    /// The shard map, read from the cluster when there is none yet or `refresh` is set.
    async fn shard_map(&self, refresh: bool, after: Duration) -> Result<Arc<ShardMap>> {
        if !refresh {
            if let Some(map) = self
                .shards
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                return Ok(map);
            }
        }
        let reply = self
            .conn
            .clone()
            .route_command(
                redis::cmd("CLUSTER").arg("SLOTS").clone(),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            )
            .await
            .map_err(|e| redis_error(&self.addrs, e, None, after))?;
        let map = Arc::new(
            ShardMap::parse(&reply).ok_or_else(|| Error::UnexpectedReply {
                command: "CLUSTER SLOTS",
                key: String::new(),
                expected: "an array of [start, end, [host, port, ...], ...] slot ranges",
                found: format!("{reply:?}").chars().take(80).collect(),
            })?,
        );
        *self.shards.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&map));
        Ok(map)
    }
}

/// The first error of `collected` that says the group went to the wrong node or the cluster is
/// changing: a resend after a fresh map may succeed.
fn redirected(collected: &Collected) -> Option<Vec<u8>> {
    let replies = &collected.replies;
    for frame in &replies.frames {
        if let Frame::Error(line) = frame {
            let line = line.of(&replies.buf);
            let code = line.split(|&b| b == b' ').next().unwrap_or_default();
            if matches!(code, b"MOVED" | b"ASK" | b"TRYAGAIN" | b"CLUSTERDOWN") {
                return Some(line.to_vec());
            }
        }
    }
    None
}

impl ShardMap {
    /// Parses a `CLUSTER SLOTS` reply; `None` when it has another shape.
    fn parse(reply: &Value) -> Option<ShardMap> {
        let Value::Array(ranges) = reply else {
            return None;
        };
        let mut of_slot = vec![UNSERVED; SLOTS];
        let mut shards: Vec<Shard> = Vec::new();
        for range in ranges {
            let Value::Array(parts) = range else {
                return None;
            };
            let (Some(Value::Int(start)), Some(Value::Int(end)), Some(primary)) =
                (parts.first(), parts.get(1), parts.get(2))
            else {
                return None;
            };
            let primary = node(primary)?;
            let index = match shards.iter().position(|s| s.primary == primary) {
                Some(i) => i,
                None => {
                    let replicas = parts[3..].iter().filter_map(node).collect();
                    shards.push(Shard { primary, replicas });
                    shards.len() - 1
                }
            };
            let shard = u16::try_from(index).ok()?;
            let start = usize::try_from(*start).ok()?;
            let end = usize::try_from(*end).ok()?;
            of_slot.get_mut(start..=end)?.fill(shard);
        }
        Some(ShardMap { of_slot, shards })
    }
}

/// The host and port of a node entry `[host, port, id, …]`.
fn node(entry: &Value) -> Option<Node> {
    let Value::Array(parts) = entry else {
        return None;
    };
    let (Some(host), Some(Value::Int(port))) = (parts.first(), parts.get(1)) else {
        return None;
    };
    let host = match host {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok()?,
        Value::SimpleString(s) => s.clone(),
        _ => return None,
    };
    Some((host, u16::try_from(*port).ok()?))
}

/// Groups `pending` (indices into `cmds`) by shard, in input order within a group, and plans
/// each group. Commands on unserved slots get a group per slot (shard `None`), so that their
/// errors stay their own.
fn plan<'c>(
    map: &ShardMap,
    cmds: &'c [Command],
    pending: &[usize],
) -> Vec<(Option<u16>, Plan<'c>)> {
    let mut by_shard: HashMap<u32, usize> = HashMap::new();
    let mut plans: Vec<(Option<u16>, Plan<'c>)> = Vec::new();
    for &i in pending {
        let cmd = &cmds[i];
        let slot = slot_of(cmd.key().as_bytes());
        let shard = map.of_slot[usize::from(slot)];
        let id = if shard == UNSERVED {
            (1 << 16) | u32::from(slot)
        } else {
            u32::from(shard)
        };
        let g = *by_shard.entry(id).or_insert_with(|| {
            plans.push((
                (shard != UNSERVED).then_some(shard),
                Plan {
                    members: Vec::new(),
                    replies: 0,
                    first: cmd,
                    writes: false,
                },
            ));
            plans.len() - 1
        });
        let plan = &mut plans[g].1;
        plan.members.push(i);
        if matches!(cmd, Command::Write(_) | Command::Record(_)) && !plan.writes {
            // `SCRIPT LOAD`, sent first.
            plan.replies += 1;
            plan.writes = true;
        }
        plan.replies += 1;
    }
    plans
}

/// The cluster slot of `key`: CRC16 (XMODEM) of its hash tag (the text between the first `{` and
/// the next `}`, when not empty) or of the whole key, modulo 16384.
pub(crate) fn slot_of(key: &[u8]) -> u16 {
    let tagged = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            rest.iter()
                .position(|&b| b == b'}')
                .map(|close| &rest[..close])
        })
        .filter(|tag| !tag.is_empty());
    let mut crc: u16 = 0;
    for &b in tagged.unwrap_or(key) {
        crc = (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ b)];
    }
    crc % SLOTS as u16
}

/// CRC16-CCITT (XMODEM, polynomial 0x1021), as the cluster specification uses.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_the_cluster_specification() {
        // From the cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(slot_of(b"123456789"), 0x31C3);
        assert_eq!(slot_of(b"foo"), 12182);
        assert_eq!(slot_of(b"{user1000}.following"), slot_of(b"user1000"));
        assert_eq!(slot_of(b"foo{}{bar}"), slot_of(b"foo{}{bar}"));
        assert_ne!(slot_of(b"foo{}{bar}"), slot_of(b"bar"));
        assert_eq!(slot_of(b"foo{{bar}}zap"), slot_of(b"{bar"));
        assert_eq!(slot_of(b"foo{bar}{zap}"), slot_of(b"bar"));
        assert_eq!(
            slot_of(b"fs:v1:user_profile:{u1}"),
            slot_of(b"fs:v1:user_risk_profile:{u1}")
        );
    }

    #[test]
    fn shard_map_from_cluster_slots() {
        let node = |port| {
            Value::Array(vec![
                Value::BulkString(b"127.0.0.1".to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node(7000),
                node(7003),
            ]),
            Value::Array(vec![Value::Int(5461), Value::Int(10922), node(7001)]),
            Value::Array(vec![Value::Int(10923), Value::Int(16383), node(7000)]),
        ]);
        let map = ShardMap::parse(&reply).unwrap();
        assert_eq!(map.of_slot[0], 0);
        assert_eq!(map.of_slot[5461], 1);
        assert_eq!(map.of_slot[16383], 0);
        assert!(ShardMap::parse(&Value::Int(1)).is_none());
        let out_of_range = Value::Array(vec![Value::Array(vec![
            Value::Int(0),
            Value::Int(20_000),
            node(7000),
        ])]);
        assert!(ShardMap::parse(&out_of_range).is_none());
    }

    #[test]
    fn groups_keep_input_order_per_shard() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(8191),
                Value::Array(vec![Value::BulkString(b"a".to_vec()), Value::Int(1)]),
            ]),
            Value::Array(vec![
                Value::Int(8192),
                Value::Int(16383),
                Value::Array(vec![Value::BulkString(b"b".to_vec()), Value::Int(2)]),
            ]),
        ]);
        let map = ShardMap::parse(&reply).unwrap();
        let keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let cmds: Vec<Command> = keys
            .iter()
            .map(|k| Command::Pttl {
                key: (*k).to_owned(),
            })
            .collect();
        let pending: Vec<usize> = (0..cmds.len()).collect();
        let groups: Vec<Vec<usize>> = plan(&map, &cmds, &pending)
            .into_iter()
            .map(|(_, p)| p.members)
            .collect();
        let mut all: Vec<usize> = groups.concat();
        all.sort_unstable();
        assert_eq!(all, pending);
        for g in &groups {
            assert!(g.windows(2).all(|w| w[0] < w[1]), "{groups:?}");
            let shard = |i: usize| slot_of(keys[i].as_bytes()) < 8192;
            assert!(g.iter().all(|&i| shard(i) == shard(g[0])), "{groups:?}");
        }
    }
}
