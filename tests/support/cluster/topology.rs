//! Who is who: `CLUSTER NODES` lines parsed ([`NodeEntry`]), the roles, replication and slots
//! they describe ([`Topology`]), and the owner of a slot in a `CLUSTER SLOTS` reply.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use redis::Value;

/// One line of `CLUSTER NODES`.
#[derive(Clone, Debug)]
pub(super) struct NodeEntry {
    pub(super) id: String,
    pub(super) port: u16,
    /// `master`, `slave`, `fail?`, `fail`, `handshake`, … (without `myself`).
    pub(super) flags: BTreeSet<String>,
    pub(super) primary_id: Option<String>,
    pub(super) connected: bool,
    pub(super) slots: Vec<(u16, u16)>,
}

impl NodeEntry {
    pub(super) fn healthy(&self) -> bool {
        self.connected
            && !["fail", "fail?", "handshake", "noaddr"]
                .iter()
                .any(|flag| self.flags.contains(*flag))
    }
}

/// Parses `CLUSTER NODES`: `id ip:port@cport[,hostname] flags primary ping pong epoch link slot…`.
pub(super) fn parse_nodes(text: &str) -> Result<Vec<NodeEntry>, String> {
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
pub(super) struct Topology {
    /// By node id.
    pub(super) nodes: BTreeMap<String, Role>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Role {
    pub(super) port: u16,
    pub(super) primary: bool,
    /// For a replica, its primary's id.
    pub(super) primary_id: Option<String>,
    pub(super) slots: Vec<(u16, u16)>,
}

impl Topology {
    pub(super) fn from_entries(entries: &[NodeEntry]) -> Topology {
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

    pub(super) fn role_of(&self, port: u16) -> Option<&Role> {
        self.nodes.values().find(|r| r.port == port)
    }

    pub(super) fn id_of(&self, port: u16) -> Option<&str> {
        self.nodes
            .iter()
            .find(|(_, r)| r.port == port)
            .map(|(id, _)| id.as_str())
    }

    /// Ports of the primaries that serve slots, ascending.
    pub(super) fn primaries(&self) -> Vec<u16> {
        let mut ports: Vec<_> = self
            .nodes
            .values()
            .filter(|r| r.primary && !r.slots.is_empty())
            .map(|r| r.port)
            .collect();
        ports.sort_unstable();
        ports
    }

    pub(super) fn replicas_of(&self, port: u16) -> Vec<u16> {
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

    pub(super) fn slots_of(&self, port: u16) -> Vec<(u16, u16)> {
        self.role_of(port)
            .map(|r| r.slots.clone())
            .unwrap_or_default()
    }

    pub(super) fn owner_of_slot(&self, slot: u16) -> Option<u16> {
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
pub(super) fn slot_owner(reply: &Value, slot: u16) -> Result<Option<u16>, String> {
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
