//! The Valkey Cluster backend: the `redis` crate's async cluster client, plus the grouping of
//! pipelines by shard that batches need.
//!
//! The cluster client routes a single command by its key and follows `MOVED` / `ASK`
//! redirections, but sends a pipeline whole to one node. A batch spans every shard, so
//! [`Cluster::execute`] splits it: the commands are grouped by the shard that serves their slot
//! (from a `CLUSTER SLOTS` map kept here), each group goes to its shard as one pipeline, all groups
//! at once, and the replies are put back in input order. A group that fails with a redirection or
//! a lost connection (a failover, a resharding) is regrouped against a fresh map and sent again, a
//! bounded number of times within the call's deadline; reads and writes are idempotent, so a
//! resend is safe.
//!
//! Writes are one transaction per entity (`MULTI`, `HSET`, `HDEL`, `PEXPIRE`, `EXEC`): a
//! transaction must stay within one slot, and one entity's key is one slot. Scripts are not used
//! on a cluster, as each node would need its own copy loaded.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{RedisError, Value};
use tokio::time::{timeout_at, Instant};

use crate::plan::{
    append_transaction, check_replicated, transaction_replies, wait_command, Command,
};
use crate::{Error, Result};

/// Slots of a cluster.
const SLOTS: usize = 16_384;
/// How often a call regroups and resends after a redirection or a lost connection.
const ATTEMPTS: usize = 3;
/// Shard index of a slot that no node serves.
const UNSERVED: u16 = u16::MAX;

/// A connection to a Valkey Cluster.
pub(crate) struct Cluster {
    conn: ClusterConnection,
    /// The seed nodes, for messages.
    pub(crate) addrs: String,
    /// The shard of every slot, as last read; `None` until first needed.
    shards: RwLock<Option<Arc<ShardMap>>>,
    /// Send reads to replicas.
    replicas: bool,
    /// `WAIT` for this many replicas, this long, after every write pipeline.
    wait: Option<(usize, Duration)>,
}

/// Why a group's pipeline failed.
enum Failure {
    /// The client's error: a regrouped resend may help.
    Redis(RedisError),
    /// Final: the writes were applied on the primary but not acknowledged by enough replicas.
    Fatal(Error),
}

/// Which shard serves each slot: an index per slot into the list of primaries.
struct ShardMap {
    of_slot: Vec<u16>,
}

impl Cluster {
    pub(crate) fn new(
        conn: ClusterConnection,
        addrs: String,
        replicas: bool,
        wait: Option<(usize, Duration)>,
    ) -> Cluster {
        Cluster {
            conn,
            addrs,
            shards: RwLock::new(None),
            replicas,
            wait,
        }
    }

    /// Executes `commands` (reads and writes) and returns one reply per command, in order: for a
    /// write, the number of fields set or the first server error of its transaction. The whole
    /// call, resends included, has the deadline `response_timeout`.
    pub(crate) async fn execute(
        &self,
        commands: &[Command],
        response_timeout: Duration,
    ) -> Result<Vec<Value>> {
        let deadline = Instant::now() + response_timeout;
        let timeout = || Error::Timeout {
            op: format!(
                "{} commands on the cluster of {}",
                commands.len(),
                self.addrs
            ),
            after: response_timeout,
        };
        timeout_at(deadline, self.execute_grouped(commands, response_timeout))
            .await
            .map_err(|_| timeout())?
    }

    async fn execute_grouped(&self, commands: &[Command], after: Duration) -> Result<Vec<Value>> {
        // A lone read needs no grouping: the client routes it by its key.
        if let [cmd @ (Command::Hmget { .. } | Command::Pttl { .. })] = commands {
            use redis::aio::ConnectionLike as _;
            let reply = self
                .conn
                .clone()
                .req_packed_command(&cmd.to_cmd())
                .await
                .map_err(|e| self.error(e, commands, after))?;
            return Ok(vec![reply]);
        }
        let mut replies = vec![Value::Nil; commands.len()];
        let mut pending: Vec<usize> = (0..commands.len()).collect();
        for attempt in 1..=ATTEMPTS {
            let map = self.shard_map(attempt > 1, after).await?;
            let groups = group(&map, commands, &pending);
            let sent = groups.iter().map(|g| self.send_group(commands, g));
            let results = futures_util::future::join_all(sent).await;
            pending.clear();
            for (group, result) in groups.iter().zip(results) {
                match result {
                    Ok(values) => {
                        for (&i, value) in group.iter().zip(values) {
                            replies[i] = value;
                        }
                    }
                    Err(Failure::Redis(e)) if attempt < ATTEMPTS && is_retryable(&e) => {
                        pending.extend_from_slice(group);
                    }
                    Err(Failure::Redis(e)) => return Err(self.error(e, commands, after)),
                    Err(Failure::Fatal(e)) => return Err(e),
                }
            }
            if pending.is_empty() {
                break;
            }
            pending.sort_unstable();
        }
        Ok(replies)
    }

    /// Sends one shard's commands as one pipeline and returns one reply per command.
    async fn send_group(
        &self,
        commands: &[Command],
        group: &[usize],
    ) -> std::result::Result<Vec<Value>, Failure> {
        let mut pipe = redis::Pipeline::with_capacity(group.len() * 2);
        // Per command, how many commands it queued in its transaction (`None` for a read).
        let mut queued = Vec::with_capacity(group.len());
        for &i in group {
            let cmd = &commands[i];
            if let Command::Write(_) = cmd {
                queued.push(Some(append_transaction(&mut pipe, [cmd])[0]));
            } else {
                cmd.append_to(&mut pipe);
                queued.push(None);
            }
        }
        let writes = queued.iter().any(Option::is_some);
        let wait = self.wait.filter(|_| writes);
        if let Some(wait) = wait {
            pipe.add_command(wait_command(wait));
        }
        let addr = if self.replicas && !writes {
            SlotAddr::ReplicaOptional
        } else {
            SlotAddr::Master
        };
        let first = commands[group[0]].key();
        let route = Route::new(slot_of(first.as_bytes()), addr);
        let len = pipe.len();
        let mut values = self
            .conn
            .clone()
            .route_pipeline(pipe, 0, len, SingleNodeRoutingInfo::SpecificNode(route))
            .await
            .map_err(Failure::Redis)?;
        let mut out = Vec::with_capacity(group.len());
        let mut pos = 0;
        for (&i, queued) in group.iter().zip(&queued) {
            let cmd = &commands[i];
            let Some(queued) = *queued else {
                out.push(values.get_mut(pos).map_or(Value::Nil, std::mem::take));
                pos += 1;
                continue;
            };
            let end = (pos + queued + 2).min(values.len());
            let reply =
                transaction_replies([cmd], &[queued], &values[pos..end]).map_err(Failure::Fatal)?;
            out.extend(reply);
            pos = end;
        }
        // A write the server refused is reported as such, not as unreplicated.
        let refused = out.iter().any(|r| matches!(r, Value::ServerError(_)));
        if let (Some((replicas, _)), false) = (wait, refused) {
            let writes: Vec<&Command> = group.iter().map(|&i| &commands[i]).collect();
            check_replicated(replicas, values.get(pos), &writes).map_err(Failure::Fatal)?;
        }
        Ok(out)
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
            .map_err(|e| self.error(e, &[], after))?;
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

    fn error(&self, e: RedisError, commands: &[Command], after: Duration) -> Error {
        crate::store::redis_error(&self.addrs, e, commands.first(), after)
    }
}

impl ShardMap {
    /// Parses a `CLUSTER SLOTS` reply; `None` when it has another shape.
    fn parse(reply: &Value) -> Option<ShardMap> {
        let Value::Array(ranges) = reply else {
            return None;
        };
        let mut of_slot = vec![UNSERVED; SLOTS];
        let mut primaries: HashMap<(Vec<u8>, i64), u16> = HashMap::new();
        for range in ranges {
            let Value::Array(parts) = range else {
                return None;
            };
            let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(primary))) =
                (parts.first(), parts.get(1), parts.get(2))
            else {
                return None;
            };
            let (Some(host), Some(Value::Int(port))) = (primary.first(), primary.get(1)) else {
                return None;
            };
            let host = match host {
                Value::BulkString(b) => b.clone(),
                Value::SimpleString(s) => s.clone().into_bytes(),
                _ => return None,
            };
            let next = u16::try_from(primaries.len()).ok()?;
            let shard = *primaries.entry((host, *port)).or_insert(next);
            let start = usize::try_from(*start).ok()?;
            let end = usize::try_from(*end).ok()?;
            of_slot.get_mut(start..=end)?.fill(shard);
        }
        Some(ShardMap { of_slot })
    }
}

/// Groups `pending` (indices into `commands`) by shard, in input order within a group. Commands
/// on unserved slots get a group per slot, so that their errors stay their own.
fn group(map: &ShardMap, commands: &[Command], pending: &[usize]) -> Vec<Vec<usize>> {
    let mut by_shard: HashMap<u32, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &i in pending {
        let slot = slot_of(commands[i].key().as_bytes());
        let shard = map.of_slot[usize::from(slot)];
        let id = if shard == UNSERVED {
            (1 << 16) | u32::from(slot)
        } else {
            u32::from(shard)
        };
        let g = *by_shard.entry(id).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

/// Errors after which a regrouped resend may succeed: redirections, a cluster that is changing,
/// and lost connections.
fn is_retryable(e: &RedisError) -> bool {
    e.is_cluster_error()
        || e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(e.code(), Some("CLUSTERDOWN" | "TRYAGAIN" | "MOVED" | "ASK"))
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
        let groups = group(&map, &cmds, &pending);
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
