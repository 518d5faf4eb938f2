//! The embedded backend: an in-process store with Valkey's semantics, for quickstarts and tests.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::command::{Command, OpValue, Outcomes, RecordCommand, UPDATED_AT};
use crate::exchange::Read;
use crate::reply::{Replies, Reply};
use crate::ring;
use crate::Result;

/// An in-process hash store with the semantics fstore relies on: hashes of byte fields, key
/// expiry in milliseconds, atomic per-entity writes. [`Store::embedded`](crate::Store::embedded)
/// runs on it; the same behaviour suite runs against it and against a real Valkey.
///
/// Its raw methods let tests seed data the way another writer (a Python job, say) would, and
/// inspect what fstore wrote:
///
/// ```
/// let store = fstore_runtime::Store::embedded();
/// let db = store.as_embedded().unwrap();
/// db.hset("fs:v1:user_profile:u1", &[("age", b"28".as_slice()), ("_source", b"py")]);
/// assert_eq!(db.pttl("fs:v1:user_profile:u1"), Some(None)); // present, no expiry
/// ```
#[derive(Debug, Default)]
pub struct Embedded {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    keys: HashMap<String, Entry>,
    writes_since_sweep: usize,
}

#[derive(Debug, Default)]
struct Entry {
    fields: HashMap<Box<[u8]>, Vec<u8>>,
    expires_at: Option<Instant>,
}

impl State {
    /// The live entry of `key`, dropping it first when it has expired.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.keys.get(key).is_some_and(|e| e.is_expired(now)) {
            self.keys.remove(key);
        }
        self.keys.get_mut(key)
    }

    /// The live entry of `key`, created empty (without expiry) when absent.
    fn live_or_insert(&mut self, key: &str, now: Instant) -> &mut Entry {
        if self.keys.get(key).is_some_and(|e| e.is_expired(now)) {
            self.keys.remove(key);
        }
        self.keys.entry(key.to_owned()).or_default()
    }

    /// The number of distinct members of the union of the "HyperLogLogs" `keys` (exact: this
    /// backend keeps each one's members as its fields).
    fn count_members<'k>(&mut self, keys: impl IntoIterator<Item = &'k str>, now: Instant) -> i64 {
        let mut members = std::collections::HashSet::new();
        for key in keys {
            if let Some(e) = self.live(key, now) {
                members.extend(e.fields.keys().cloned());
            }
        }
        i64::try_from(members.len()).unwrap_or(i64::MAX)
    }

    /// Removes expired keys once the number of writes since the last sweep exceeds the number
    /// of keys, so that memory stays bounded at amortised O(1) per write.
    fn maybe_sweep(&mut self, now: Instant) {
        self.writes_since_sweep += 1;
        if self.writes_since_sweep > self.keys.len() {
            self.keys.retain(|_, e| !e.is_expired(now));
            self.writes_since_sweep = 0;
        }
    }
}

impl Entry {
    fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

impl Embedded {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied command: every command is
        // applied in full before the guard is released, so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers `read`'s commands as Valkey would answer the same pipeline, and has it decode
    /// the replies.
    ///
    /// # Errors
    /// The first error the decoder returns.
    pub(crate) fn read<T, D>(&self, read: &mut Read<'_, '_, T, D>) -> Result<()>
    where
        D: FnMut(&[Command], &[Reply<'_>]) -> Result<T>,
    {
        let cmds = read.cmds();
        let now = Instant::now();
        let mut replies = Replies::with_capacity(cmds.len());
        {
            let mut state = self.lock();
            for cmd in cmds {
                match cmd {
                    Command::Hmget { key, fields } => {
                        let entry = state.live(key, now);
                        let fields = fields.iter().map(|f| {
                            entry
                                .as_ref()
                                .and_then(|e| e.fields.get(f.as_bytes()))
                                .map(Vec::as_slice)
                        });
                        replies.push_values(fields);
                    }
                    Command::Pttl { key } => replies.push_int(match state.live(key, now) {
                        None => -2,
                        Some(Entry {
                            expires_at: None, ..
                        }) => -1,
                        Some(Entry {
                            expires_at: Some(at),
                            ..
                        }) => i64::try_from(at.saturating_duration_since(now).as_millis())
                            .unwrap_or(i64::MAX),
                    }),
                    Command::Hgetall { key, .. } => {
                        // Field, value, field, value…, as the server's RESP2 reply.
                        let entry = state.live(key, now);
                        let pairs = entry.iter().flat_map(|e| {
                            e.fields
                                .iter()
                                .flat_map(|(f, v)| [Some(&f[..]), Some(v.as_slice())])
                        });
                        replies.push_values(pairs);
                    }
                    Command::Pfcount { keys } => {
                        let n = state.count_members(keys.iter().map(String::as_str), now);
                        replies.push_int(n);
                    }
                    Command::Write(_) | Command::Record(_) => {
                        replies.push_other("a write in a read".to_owned())
                    }
                }
            }
        }
        read.decode_replies(&replies.views())
    }

    /// Applies `writes` (each atomically, all under one lock) and returns one result per write.
    pub(crate) fn write(&self, writes: &[Command]) -> Outcomes {
        let now = Instant::now();
        let mut state = self.lock();
        writes
            .iter()
            .map(|cmd| {
                if let Command::Record(r) = cmd {
                    state.maybe_sweep(now);
                    return record(&mut state, r, now);
                }
                if let Command::Write(w) = cmd {
                    state.maybe_sweep(now);
                    let entry = state.live_or_insert(w.key(), now);
                    // As the write script: stamp only when every feature field left is one this
                    // write sets (no feature reads fresher than its own last write).
                    let whole = entry.fields.keys().all(|f| {
                        f.first() == Some(&b'_')
                            || w.set().any(|(s, _)| s.as_bytes() == &**f)
                            || w.delete().iter().any(|d| d.as_bytes() == &**f)
                    });
                    for (field, value) in w.set() {
                        if !whole && field == UPDATED_AT {
                            continue;
                        }
                        entry.fields.insert(field.as_bytes().into(), value.to_vec());
                    }
                    for field in w.delete() {
                        entry.fields.remove(field.as_bytes());
                    }
                    entry.expires_at = now.checked_add(Duration::from_millis(w.ttl_ms()));
                }
                Ok(())
            })
            .collect()
    }

    /// Sets raw fields of `key` as `HSET` would (creating it without expiry if absent).
    pub fn hset(&self, key: &str, fields: &[(&str, &[u8])]) {
        let now = Instant::now();
        let mut state = self.lock();
        let entry = state.live_or_insert(key, now);
        for (f, v) in fields {
            entry.fields.insert(f.as_bytes().into(), v.to_vec());
        }
    }

    /// The raw fields of `key`, as `HGETALL` would return them (sorted by field).
    pub fn hgetall(&self, key: &str) -> Vec<(String, Vec<u8>)> {
        let mut state = self.lock();
        let mut out: Vec<_> = state
            .live(key, Instant::now())
            .map(|e| {
                e.fields
                    .iter()
                    .map(|(f, v)| (String::from_utf8_lossy(f).into_owned(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Deletes `key`; returns whether it existed.
    pub fn del(&self, key: &str) -> bool {
        let mut state = self.lock();
        let existed = state.live(key, Instant::now()).is_some();
        state.keys.remove(key);
        existed
    }

    /// Sets (`Some`) or removes (`None`) the expiry of `key`; returns whether it exists.
    pub fn pexpire(&self, key: &str, ttl: Option<Duration>) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        match state.live(key, now) {
            Some(e) => {
                e.expires_at = ttl.and_then(|t| now.checked_add(t));
                true
            }
            None => false,
        }
    }

    /// The remaining time to live of `key`: `None` when absent, `Some(None)` when it has no expiry.
    pub fn pttl(&self, key: &str) -> Option<Option<Duration>> {
        let now = Instant::now();
        let mut state = self.lock();
        state
            .live(key, now)
            .map(|e| e.expires_at.map(|at| at.saturating_duration_since(now)))
    }

    /// The live keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        let now = Instant::now();
        let state = self.lock();
        let mut keys: Vec<String> = state
            .keys
            .iter()
            .filter(|(_, e)| !e.is_expired(now))
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        keys
    }

    /// The `_updated_at` stamp of `key` (epoch milliseconds), if it has one that parses.
    pub fn updated_at_ms(&self, key: &str) -> Option<u64> {
        let mut state = self.lock();
        let raw = state
            .live(key, Instant::now())?
            .fields
            .get(UPDATED_AT.as_bytes())?;
        crate::stamp::decode(raw).ok()
    }
}

/// Applies one aggregation event as [`AGG_SCRIPT`](crate::command::AGG_SCRIPT) does: every
/// ring's new slot is computed first (a ring of the wrong size or an overflowing sum refuses the
/// event), then the "HyperLogLogs" (kept as exact member sets) of the updated blocks, the
/// rings and string values, and the expiry.
fn record(state: &mut State, r: &RecordCommand, now: Instant) -> Result<()> {
    let refuse = |what: String| {
        Err(crate::reply::server_error(
            "EVALSHA",
            &r.key,
            what.as_bytes(),
        ))
    };
    let mut writes: Vec<(Box<[u8]>, Vec<u8>)> = Vec::new();
    let mut done = vec![false; r.blocks.len()];
    // Whether a block started a bucket: only then is the hash's expiry set, as the script does.
    let mut started = false;
    {
        let entry = state.live(&r.key, now);
        for (b, block) in r.blocks.iter().enumerate() {
            let stored = entry
                .as_ref()
                .and_then(|e| e.fields.get(block.field.as_bytes()));
            let mut bytes = match stored {
                None => ring::empty(block.slots, block.width),
                Some(v) if v.len() == block.slots as usize * block.width * 8 => v.clone(),
                Some(v) => {
                    return refuse(format!(
                        "CORRUPT the field {} of {} is {} bytes, not a ring of {} slots of {} \
                         cells; the event was not recorded",
                        block.field,
                        r.key,
                        v.len(),
                        block.slots,
                        block.width
                    ))
                }
            };
            let mut cells = ring::read_slot(&bytes, block.slot, block.width);
            let fresh = cells[0] < block.idx as f64;
            let ops = block.ops.iter().map(|(op, v)| (*op, v));
            let newer = match ring::update(&mut cells, block.idx as f64, r.ts_ms as f64, ops) {
                Err(what) => {
                    return refuse(format!(
                        "OVERFLOW a sum in {} of {} would {what}; the event was not recorded",
                        block.field, r.key
                    ))
                }
                Ok(None) => continue,
                Ok(Some(newer)) => newer,
            };
            if newer {
                for (_, v) in &block.ops {
                    if let OpValue::Text { field, value } = v {
                        writes.push((field.as_bytes().into(), value.clone()));
                    }
                }
            }
            ring::write_slot(&mut bytes, block.slot, &cells);
            writes.push((block.field.as_bytes().into(), bytes));
            done[b] = true;
            started |= fresh;
        }
    }
    let mut added = vec![false; r.hlls.len()];
    for (k, h) in r.hlls.iter().enumerate() {
        if !done.get(h.block.wrapping_sub(1)).copied().unwrap_or(false) {
            continue;
        }
        // As the script: the expiry is set when the "HyperLogLog" changes (a new member).
        let e = state.live_or_insert(&h.key, now);
        added[k] = e
            .fields
            .insert(h.value.clone().into_boxed_slice(), Vec::new())
            .is_none();
        if added[k] {
            e.expires_at = now.checked_add(Duration::from_millis(h.ttl_ms));
        }
    }
    let ttl = Duration::from_millis(r.ttl_ms);
    for u in &r.unions {
        let Some(h) = r.hlls.get(u.hll.wrapping_sub(1)) else {
            continue;
        };
        let Some(block) = r.blocks.get(h.block.wrapping_sub(1)) else {
            continue;
        };
        if !done[h.block - 1] {
            continue;
        }
        // As the script: a newer bucket (or a field absent or damaged) rebuilds the union
        // from the window's "HyperLogLogs"; an event inside the union's window that added a
        // member adds it to the union too (a union found smaller than the field's count was
        // lost: rebuilt); the field keeps the union's bucket and count.
        let e = block.idx;
        let ends: Option<(i64, i64)> = state
            .live(&r.key, now)
            .and_then(|entry| entry.fields.get(u.field.as_bytes()))
            .and_then(|v| ring::parse_union(v));
        let mut target = None;
        let mut count = None;
        match ends {
            Some((cur, before)) if e <= cur => {
                if added[u.hll - 1] && e > cur - u.buckets as i64 {
                    let entry = state.live_or_insert(&u.key, now);
                    if entry
                        .fields
                        .insert(h.value.clone().into_boxed_slice(), Vec::new())
                        .is_none()
                    {
                        let n = entry.fields.len() as i64;
                        if n < before {
                            target = Some(cur);
                        } else {
                            entry.expires_at = now.checked_add(ttl);
                            count = Some((cur, n));
                        }
                    }
                }
            }
            _ => target = Some(e),
        }
        if let Some(t) = target {
            let prefix = &h.key[..h.key.len() - e.to_string().len()];
            let mut members = HashMap::new();
            for b in (t - u.buckets as i64 + 1).max(0)..=t {
                if let Some(source) = state.live(&format!("{prefix}{b}"), now) {
                    members.extend(source.fields.keys().map(|m| (m.clone(), Vec::new())));
                }
            }
            let n = members.len() as i64;
            let entry = state.live_or_insert(&u.key, now);
            entry.fields = members;
            entry.expires_at = now.checked_add(ttl);
            count = Some((t, n));
        }
        if let Some((t, n)) = count {
            writes.push((
                u.field.as_bytes().into(),
                ring::union_value(t, n).into_bytes(),
            ));
        }
    }
    if writes.is_empty() {
        return Ok(());
    }
    let entry = state.live_or_insert(&r.key, now);
    entry.fields.extend(writes);
    if started {
        entry.expires_at = now.checked_add(Duration::from_millis(r.ttl_ms));
    }
    Ok(())
}
