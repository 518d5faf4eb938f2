//! The embedded backend: an in-process store with Valkey's semantics, for quickstarts and tests.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::command::{Command, Op, Outcomes, RecordCommand, UPDATED_AT};
use crate::exchange::Read;
use crate::reply::{Replies, Reply};
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
                    Command::Pfcount { keys } => {
                        // Exact: the union of the members, which this backend keeps as the
                        // fields of each "HyperLogLog".
                        let mut members = std::collections::HashSet::new();
                        for key in keys {
                            if let Some(e) = state.live(key, now) {
                                members.extend(e.fields.keys().cloned());
                            }
                        }
                        replies.push_int(i64::try_from(members.len()).unwrap_or(i64::MAX));
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

/// Applies one aggregation event as [`AGG_SCRIPT`](crate::command::AGG_SCRIPT) does: the
/// overflow checks first, then the "HyperLogLogs" (kept as exact member sets), then each
/// resolution's expired buckets and the event's bucket, then the expiry.
fn record(state: &mut State, r: &RecordCommand, now: Instant) -> Result<()> {
    let refuse = |col: &str, what: &str| {
        Err(crate::reply::server_error(
            "EVALSHA",
            &r.key,
            format!(
                "OVERFLOW the sum {col} of {} would {what}; the event was not recorded",
                r.key
            )
            .as_bytes(),
        ))
    };
    {
        let entry = state.live(&r.key, now);
        let get = |col: &str| -> Option<&[u8]> {
            entry
                .as_ref()
                .and_then(|e| e.fields.get(col.as_bytes()))
                .map(Vec::as_slice)
        };
        for b in &r.blocks {
            for (op, col, val) in &b.ops {
                let col = format!("{col}{}", b.idx);
                let cur = get(&col).map(String::from_utf8_lossy);
                match op {
                    Op::SumInt => {
                        let cur: i128 = cur.and_then(|c| c.parse().ok()).unwrap_or(0);
                        let val: i128 = String::from_utf8_lossy(val).parse().unwrap_or(0);
                        if (cur + val).unsigned_abs() >= 9_200_000_000_000_000_000 {
                            return refuse(&col, "leave the 64-bit range");
                        }
                    }
                    Op::SumFloat => {
                        let cur: f64 = cur.and_then(|c| c.parse().ok()).unwrap_or(0.0);
                        let val: f64 = String::from_utf8_lossy(val).parse().unwrap_or(0.0);
                        if !(cur + val).is_finite() {
                            return refuse(&col, "not be a finite float");
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for h in &r.hlls {
        let e = state.live_or_insert(&h.key, now);
        e.fields
            .insert(h.value.clone().into_boxed_slice(), Vec::new());
        e.expires_at = now.checked_add(Duration::from_millis(h.ttl_ms));
    }
    let entry = state.live_or_insert(&r.key, now);
    let num = |e: &Entry, f: &str| -> Option<i64> {
        e.fields
            .get(f.as_bytes())
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
    };
    for b in &r.blocks {
        let (lof, hif) = (format!("_lo:{}", b.tag), format!("_hi:{}", b.tag));
        let (mut lo, mut hi) = (num(entry, &lof), num(entry, &hif));
        if let (Some(l), Some(h)) = (lo, hi) {
            if l < b.oldest {
                for d in l..=h.min(b.oldest - 1) {
                    for (_, col, _) in &b.ops {
                        entry.fields.remove(format!("{col}{d}").as_bytes());
                    }
                }
                (lo, hi) = if h < b.oldest {
                    (None, None)
                } else {
                    (Some(b.oldest), Some(h))
                };
            }
        }
        let lo = lo.map_or(b.idx, |l| l.min(b.idx));
        let hi = hi.map_or(b.idx, |h| h.max(b.idx));
        let mut newer = true;
        for (op, col, val) in &b.ops {
            let field: Box<[u8]> = format!("{col}{}", b.idx).into_bytes().into_boxed_slice();
            let old = entry
                .fields
                .get(&field)
                .map(|v| String::from_utf8_lossy(v).into_owned());
            let text = String::from_utf8_lossy(val);
            let set = match op {
                Op::Count | Op::SumInt => {
                    let add: i64 = if *op == Op::Count {
                        1
                    } else {
                        text.parse().unwrap_or(0)
                    };
                    let cur: i64 = old.and_then(|o| o.parse().ok()).unwrap_or(0);
                    Some(cur.saturating_add(add).to_string())
                }
                Op::SumFloat => {
                    let cur: f64 = old.and_then(|o| o.parse().ok()).unwrap_or(0.0);
                    let sum = cur + text.parse::<f64>().unwrap_or(0.0);
                    let mut out = Vec::new();
                    crate::codec::FeatureValue::encode(&sum, &mut out);
                    Some(String::from_utf8_lossy(&out).into_owned())
                }
                Op::LastTime => {
                    let ts = r.ts_ms;
                    newer = old
                        .and_then(|o| o.parse::<u64>().ok())
                        .is_none_or(|o| ts >= o);
                    newer.then(|| text.into_owned())
                }
                Op::Last => newer.then(|| text.into_owned()),
                Op::MinInt | Op::MaxInt => {
                    let v: i64 = text.parse().unwrap_or(0);
                    match old.and_then(|o| o.parse::<i64>().ok()) {
                        Some(o)
                            if (*op == Op::MinInt && v >= o) || (*op == Op::MaxInt && v <= o) =>
                        {
                            None
                        }
                        _ => Some(text.into_owned()),
                    }
                }
                Op::MinFloat | Op::MaxFloat => {
                    let v: f64 = text.parse().unwrap_or(0.0);
                    match old.and_then(|o| o.parse::<f64>().ok()) {
                        Some(o)
                            if (*op == Op::MinFloat && v >= o)
                                || (*op == Op::MaxFloat && v <= o) =>
                        {
                            None
                        }
                        _ => Some(text.into_owned()),
                    }
                }
            };
            if let Some(v) = set {
                entry.fields.insert(field, v.into_bytes());
            }
        }
        entry.fields.insert(
            lof.into_bytes().into_boxed_slice(),
            lo.to_string().into_bytes(),
        );
        entry.fields.insert(
            hif.into_bytes().into_boxed_slice(),
            hi.to_string().into_bytes(),
        );
    }
    entry.expires_at = now.checked_add(Duration::from_millis(r.ttl_ms));
    Ok(())
}
