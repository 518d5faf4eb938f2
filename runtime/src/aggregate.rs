//! Real-time aggregations, computed inside the store: sliding-window counts, sums, averages,
//! minimums, maximums, last values and approximate distinct counts over a stream of events.
//!
//! # Layout
//!
//! One hash per (aggregation, entity), `{namespace}:v{version}:{aggregation}:{{{id}}}` (the id in
//! braces: a hash tag, so that every key of one entity is in one cluster slot; `%` and `}` in the
//! id are written `%25` and `%7D`, so that the tag is the whole id). Events are counted in
//! *buckets*: time slots of one of the aggregation's granularities (its *resolutions*),
//! numbered `floor(event_ms / resolution_ms)`. Each resolution `T` (in seconds) keeps its
//! buckets in a *ring* `r:T:S:C:columns` (such as `r:60:61:2:n,sf:amount`) of `S` fixed-size
//! slots (the longest window read at `T`, in buckets, plus one), kept in fields of `C` slots,
//! as many as fit in 64 bytes (`r:60:61:2:n,sf:amount/0` to `/30`: small enough for the server
//! to keep a hash of up to 128 such fields as a compact listpack, and for the script to handle
//! short strings only), bucket `i` in slot `i mod S`,
//! each slot the bucket's number and its columns as little-endian `f64`s: the count, each
//! sum, minimum and maximum, the time of the bucket's latest event and its values (`int`
//! values in two exact parts, so that sums are exact over the whole `i64` range). A newer
//! bucket overwrites the slot of one `S` buckets older, which no window covers any more, so
//! a ring never grows. A `string` field's last value is kept in a field per slot,
//! `l:F:T:S:slot`. A `distinct` feature keeps one HyperLogLog per bucket, at
//! `{hash key}:d:F:T:i`, and the *union* of its window's buckets for the window that ends at the
//! newest bucket recorded, at `{hash key}:u:F:T:N` (`N`: the window in buckets). The first event
//! of a newer bucket rebuilds the union (`PFMERGE` of the window's HyperLogLogs), every later
//! event of that window adds to it, and the union's bucket and `PFCOUNT` are kept in the hash's
//! field `u:F:T:N` (`"{bucket} {count}"`), so that a read finds the count with the rings.
//! Changing an aggregation's features changes its rings' names, so a
//! new declaration starts from empty rings instead of misreading old ones.
//!
//! # Semantics
//!
//! - **Windows, to the bucket.** A feature with window `W` is read at the resolution `R` its
//!   declaration chose (the finest granularity that covers `W` in at most
//!   [`MAX_BUCKETS_PER_WINDOW`](crate::registry::MAX_BUCKETS_PER_WINDOW) buckets). Read at
//!   time `now`, it covers the `W / R` buckets ending with the one `now` is in: the events
//!   whose time `t` has `floor(t / R)` in `floor(now / R) - W / R + 1 ..= floor(now / R)`. The
//!   covered span is between `W - R` and `W` long: its recent edge is `now`, its old edge is a
//!   bucket boundary.
//! - **Event time.** Events are bucketed by their own time, not their arrival. The clock that
//!   says what *now* is, for expiry, late events and reads, is the caller's: the system clock
//!   of the process that records or reads (`record_at`/`read_at` take it explicitly).
//! - **Late events** are accepted into their buckets while some window still covers them: at
//!   each resolution, an event is added to its bucket when that bucket is one of the last
//!   `keep` buckets at arrival (`keep`: the longest window read at that resolution, in
//!   buckets); an event no window can cover any more is refused and counted
//!   ([`Recorded::Late`]). An event more than one finest granularity ahead of the clock is
//!   refused too ([`Recorded::Future`]). Writers whose clocks disagree by more than a window:
//!   an event whose slot already holds a newer bucket (written by a writer whose clock is
//!   ahead) is not added at that resolution, since no window of that writer covers it.
//! - **At-least-once ingest double counts**: an event recorded twice counts twice (`distinct`
//!   excepted). There is no event id.
//! - **Atomic per event.** Each event is an atomic unit of a call of [`AGG_SCRIPT`] (which
//!   applies a group of events, each on its own): every feature of the aggregation is
//!   updated, or none (a bucket's integer sum that would leave the `i64` range,
//!   a float sum that would overflow, a ring of the wrong size, a key of another type: each is
//!   refused before anything is written).
//! - **Bounded memory.** A ring has a fixed size (a new bucket takes the slot of one that left
//!   every window at its resolution); the hash's expiry, the longest window plus one coarsest
//!   bucket, is set by the first event of each bucket (so it expires that long after the start
//!   of its latest bucket, at most one finest bucket sooner after its last event); each
//!   HyperLogLog expires when its bucket leaves the windows, and a union (one per `distinct`
//!   window) as the hash, from when it was last made or changed.
//! - **Approximate `distinct`.** Valkey's HyperLogLog (the `PFCOUNT` of the union of the
//!   window's buckets) has a standard error of 0.81%; it is exact for small sets in practice.
//!   The embedded backend counts exactly. A read takes the union's count from the hash when the
//!   union's window holds the same events as the reader's: it ends inside the reader's window,
//!   at a bucket with events, and the buckets it covers before the reader's window had none
//!   (so an entity with an event in the clock's bucket, or none for a window's length before
//!   its last one, is read in one round trip). Otherwise (a clock in the past, events in the
//!   buckets the reader's window has left, a damaged field) the entity is read again with a
//!   `PFCOUNT` of the window's HyperLogLogs: a second round trip, never another count. Late
//!   events are added to the union too.
//! - **Sums** of `int` fields are exact (`i64`; a window's sum beyond it is a decode error);
//!   those of `float` fields are `f64` additions in arrival order within a bucket, then over
//!   the window's buckets, so they can differ from another order's sum in the last digits.
//!   `avg` is the window's sum divided by its count.
//!
//! # Cost
//!
//! A read is one round trip: the rings of the resolutions its features are read at (`ceil(S / C)`
//! fields each: 44 for an hour of minutes and a day of hours of a count and a sum, however long
//! the windows; plus, for a string's `last`, one field per bucket of its window, and one per
//! `distinct` feature, its union's count), as one `HGETALL` when that is at least three
//! quarters of the fields the hash can hold (the server walks a small hash once, where an
//! `HMGET` would look each field up), else one `HMGET` of those fields. When a union does not
//! fit the reader's window (see above), a second round trip reads the entity again with one
//! `PFCOUNT` per `distinct` window
//! (at most [`MAX_BUCKETS_PER_WINDOW`](crate::registry::MAX_BUCKETS_PER_WINDOW) keys); a batch
//! sends one such pipeline for all its entities that need it. A ring is
//! `S × cells × 8` bytes (`61 × 3 × 8 = 1,464` for a count and a float sum over an hour of
//! minutes). A record is one script call per event on a cluster, per group of up to 32
//! consecutive events on one server (pipelined for batches); each event reads the chunks of its
//! buckets with one `HMGET` and writes them with one `HSET` (its expiry is set by the first event
//! of each bucket); a `distinct` feature adds one `PFADD` to the bucket's HyperLogLog and, when
//! that changed it, one to the union (and a `PFCOUNT` when the union changed), plus one
//! `PFMERGE` of the window per entity and bucket.

use std::collections::HashMap;
use std::sync::Arc;

use crate::codec::FeatureValue;
pub use crate::command::{agg_script_sha, RecordCommand, AGG_SCRIPT};
use crate::command::{Block, Command, Fields, Hll, Op, OpValue, Union};
use crate::dynamic::{Features, Value};
use crate::registry::{AggFunction, Aggregation, FeatureType, Registry};
use crate::reply::{self, Reply};
use crate::ring;
use crate::{EntityId, Error, Result, Store};

/// The latest event time accepted, in epoch milliseconds: 2⁵³ (the year 287,396), below which
/// times are exact as the script's numbers.
pub const MAX_EVENT_MS: u64 = 1 << 53;

/// What became of one recorded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recorded {
    /// Added to every feature whose windows can cover it, atomically.
    Applied,
    /// Refused: older than every window can cover at arrival (nothing was sent).
    Late,
    /// Refused: more than one finest granularity ahead of the clock (nothing was sent).
    Future,
}

/// What a [`Store::record_batch_at`] (or a generated `record_batch`) did: how many events were applied, and which were refused
/// for their time (indices into the input).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordReport {
    /// Events applied.
    pub applied: usize,
    /// Events refused as [`Recorded::Late`], by index in the input.
    pub late: Vec<usize>,
    /// Events refused as [`Recorded::Future`], by index in the input.
    pub future: Vec<usize>,
}

/// One feature of an aggregation, as [`Spec::build`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct FeatureDecl<'a> {
    /// The feature's name.
    pub name: &'a str,
    /// What it computes.
    pub function: AggFunction,
    /// The event field it is computed over (`None` for `count`).
    pub of: Option<&'a str>,
    /// The window, in milliseconds.
    pub window_ms: u64,
    /// The bucket size the window is read at, in milliseconds.
    pub resolution_ms: u64,
}

/// One resolution of an aggregation: its ring and the columns every event updates in it.
#[derive(Debug, Clone)]
struct Tier {
    ms: u64,
    /// Buckets kept: the longest window read at this resolution, in buckets.
    keep: u64,
    /// The resolution in seconds, as in field and key names.
    tag: Arc<str>,
    /// The ring's slots: `keep + 1`, room for one bucket ahead of the clock.
    slots: u64,
    /// Slots per field ([`ring::chunk_slots`] of `width`).
    chunk: u64,
    /// The ring's fields, one per chunk of `chunk` slots:
    /// `r:{seconds}:{slots}:{chunk}:{columns}/{k}`, such as `r:60:61:2:n,sf:amount/0`.
    fields: Vec<Arc<str>>,
    /// Cells per slot: the bucket number, then the columns'.
    width: usize,
    /// Every event's updates at this resolution, in the script's order (`t` before the lasts).
    columns: Vec<Column>,
    /// Event field indices with a HyperLogLog per bucket.
    distinct: Vec<usize>,
    /// The unions of the `distinct` windows read at this resolution.
    unions: Vec<WindowUnion>,
}

/// The union of a `distinct` window's HyperLogLogs, kept by the recording script for the
/// window that ends at the newest bucket, its count in the hash.
#[derive(Debug, Clone)]
struct WindowUnion {
    /// The event field counted.
    of: usize,
    /// The window, in buckets.
    buckets: u64,
    /// The hash field holding its bucket and count (`"{bucket} {count}"`), and the suffix of
    /// its key after the hash's: `u:{of}:{seconds}:{buckets}`.
    field: Arc<str>,
}

/// One column of a ring.
#[derive(Debug, Clone)]
struct Column {
    op: Op,
    /// The event field giving the value (`None`: the count's `1`, or the event's time).
    of: Option<usize>,
    /// The column's first cell in a slot.
    cell: usize,
    /// For a string's last value: its fields' prefix (`l:merchant:3600:25:`), made once.
    text: Option<Arc<str>>,
}

/// The columns a resolution's features need, collected while building a [`Spec`].
#[derive(Debug, Default)]
struct Kinds {
    count: bool,
    sums: Vec<usize>,
    mins: Vec<usize>,
    maxs: Vec<usize>,
    lasts: Vec<usize>,
}

impl Kinds {
    /// The columns of a ring of `slots` slots at resolution `tag`, over `event`'s fields.
    fn columns(&self, tag: &str, slots: u64, event: &[(String, FeatureType)]) -> Vec<Column> {
        let float = |i: usize| event[i].1 == FeatureType::Float;
        let mut ops: Vec<(Op, Option<usize>)> = Vec::new();
        if self.count {
            ops.push((Op::Count, None));
        }
        for &i in &self.sums {
            ops.push((if float(i) { Op::SumFloat } else { Op::SumInt }, Some(i)));
        }
        for &i in &self.mins {
            ops.push((if float(i) { Op::MinFloat } else { Op::MinInt }, Some(i)));
        }
        for &i in &self.maxs {
            ops.push((if float(i) { Op::MaxFloat } else { Op::MaxInt }, Some(i)));
        }
        if !self.lasts.is_empty() {
            ops.push((Op::LastTime, None));
            for &i in &self.lasts {
                let op = match event[i].1 {
                    FeatureType::Int => Op::LastInt,
                    FeatureType::Float | FeatureType::Bool => Op::LastFloat,
                    _ => Op::LastText,
                };
                ops.push((op, Some(i)));
            }
        }
        let mut cell = 1;
        ops.into_iter()
            .map(|(op, of)| {
                let column = Column {
                    op,
                    of,
                    cell,
                    text: match (op, of) {
                        (Op::LastText, Some(i)) => {
                            Some(Arc::from(format!("l:{}:{tag}:{slots}:", event[i].0)))
                        }
                        _ => None,
                    },
                };
                cell += op.cells();
                column
            })
            .collect()
    }
}

/// One feature, resolved against the event fields and its tier's ring.
#[derive(Debug, Clone)]
struct Feature {
    name: String,
    function: AggFunction,
    of: Option<usize>,
    resolution_ms: u64,
    tier: usize,
    buckets: u64,
    /// The cell of the value (`count`: the count; `last`: the value) in a slot, and the second
    /// cell read (`avg`: the count; `last`: the time).
    cells: [usize; 2],
    /// A string's last value: the prefix of its fields.
    text: Option<Arc<str>>,
}

/// An aggregation as the runtime computes it: built from its registry declaration.
#[derive(Debug, Clone)]
pub struct Spec {
    name: String,
    prefix: String,
    event: Vec<(String, FeatureType)>,
    features: Vec<Feature>,
    tiers: Vec<Tier>,
    finest_ms: u64,
    ttl_ms: u64,
    /// Per event field: whether a record takes it as text (a `distinct` or a string `last`).
    as_text: Vec<bool>,
    /// The fields an entity's hash can hold (see [`ReadPlan`]'s choice of `HGETALL`).
    hash_fields: usize,
    /// The last read plan made, reused while the clock stays in the same buckets.
    plan: PlanCache,
}

/// The last [`ReadPlan`] of a [`Spec`]: a read at a clock in the same bucket of every
/// resolution reads the same fields.
#[derive(Default)]
struct PlanCache(std::sync::Mutex<Option<Arc<ReadPlan>>>);

impl std::fmt::Debug for PlanCache {
    /// Opaque: two specs of one declaration are equal whatever they last read.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlanCache")
    }
}

impl Clone for PlanCache {
    /// An empty cache: plans are cheap to make again.
    fn clone(&self) -> PlanCache {
        PlanCache::default()
    }
}

impl Spec {
    /// The spec of `aggregation` (declared in `registry`, which validated it).
    ///
    /// # Errors
    /// [`Error::Config`] when the declaration is inconsistent (which a validated registry never
    /// is).
    pub fn new(registry: &Registry, aggregation: &Aggregation) -> Result<Spec> {
        Spec::build(
            &aggregation.name,
            &registry.key_prefix(&aggregation.name),
            aggregation.granularity_ms.first().copied().unwrap_or(1000),
            aggregation.event.iter().map(|f| (f.name.as_str(), f.ty)),
            aggregation.features.iter().map(|f| FeatureDecl {
                name: &f.name,
                function: f.function,
                of: f.of.as_deref(),
                window_ms: f.window_ms,
                resolution_ms: f.resolution_ms,
            }),
        )
    }

    /// The spec of aggregation `name` from its parts, as `registry!` generates them: the key
    /// prefix (`fs:v1:user_txn:`), the finest granularity, the event fields and the features
    /// (each with the resolution its declaration chose).
    ///
    /// # Errors
    /// [`Error::Config`] when a window is not a whole number of its resolution's buckets, a
    /// resolution is not whole seconds, or a feature's function does not apply to its `of`.
    pub fn build<'a>(
        name: &str,
        prefix: &str,
        finest_ms: u64,
        event: impl IntoIterator<Item = (&'a str, FeatureType)>,
        decls: impl IntoIterator<Item = FeatureDecl<'a>>,
    ) -> Result<Spec> {
        let bad = |what: String| Error::Config(format!("aggregation `{name}`: {what}"));
        let event: Vec<(String, FeatureType)> =
            event.into_iter().map(|(n, t)| (n.to_owned(), t)).collect();
        let mut tiers: Vec<(Tier, Kinds)> = Vec::new();
        let mut features = Vec::new();
        for f in decls {
            if f.resolution_ms < 1000
                || f.resolution_ms % 1000 != 0
                || f.window_ms % f.resolution_ms != 0
            {
                return Err(bad(format!(
                    "feature `{}`: window {} ms at resolution {} ms",
                    f.name, f.window_ms, f.resolution_ms
                )));
            }
            let buckets = f.window_ms / f.resolution_ms;
            let of = match &f.of {
                None => None,
                Some(name) => Some(event.iter().position(|(n, _)| n == name).ok_or_else(|| {
                    bad(format!("feature `{}`: no event field `{name}`", f.name))
                })?),
            };
            let t = match tiers.iter().position(|(t, _)| t.ms == f.resolution_ms) {
                Some(t) => t,
                None => {
                    let tier = Tier {
                        ms: f.resolution_ms,
                        keep: 0,
                        tag: Arc::from((f.resolution_ms / 1000).to_string()),
                        slots: 0,
                        chunk: 1,
                        fields: Vec::new(),
                        width: 0,
                        columns: Vec::new(),
                        distinct: Vec::new(),
                        unions: Vec::new(),
                    };
                    tiers.push((tier, Kinds::default()));
                    tiers.len() - 1
                }
            };
            let (tier, kinds) = &mut tiers[t];
            tier.keep = tier.keep.max(buckets);
            let ty = of.map(|i| event[i].1);
            let numeric = matches!(ty, Some(FeatureType::Int | FeatureType::Float));
            let push = |list: &mut Vec<usize>, i: usize| {
                if !list.contains(&i) {
                    list.push(i);
                }
            };
            match (f.function, of) {
                (AggFunction::Count, None) => kinds.count = true,
                (AggFunction::Sum, Some(i)) if numeric => push(&mut kinds.sums, i),
                (AggFunction::Avg, Some(i)) if numeric => {
                    kinds.count = true;
                    push(&mut kinds.sums, i);
                }
                (AggFunction::Min, Some(i)) if numeric => push(&mut kinds.mins, i),
                (AggFunction::Max, Some(i)) if numeric => push(&mut kinds.maxs, i),
                (AggFunction::Last, Some(i)) if ty != Some(FeatureType::FloatList) => {
                    push(&mut kinds.lasts, i)
                }
                (AggFunction::Distinct, Some(i))
                    if matches!(ty, Some(FeatureType::Int | FeatureType::String)) =>
                {
                    push(&mut tier.distinct, i);
                    if !tier
                        .unions
                        .iter()
                        .any(|u| u.of == i && u.buckets == buckets)
                    {
                        tier.unions.push(WindowUnion {
                            of: i,
                            buckets,
                            field: Arc::from(format!("u:{}:{}:{buckets}", event[i].0, tier.tag)),
                        });
                    }
                }
                (function, _) => {
                    return Err(bad(format!(
                        "feature `{}`: `{}` of {:?}",
                        f.name,
                        function.name(),
                        ty.map(FeatureType::name)
                    )))
                }
            }
            features.push(Feature {
                name: f.name.to_owned(),
                function: f.function,
                of,
                resolution_ms: f.resolution_ms,
                tier: t,
                buckets,
                cells: [0, 0],
                text: None,
            });
        }
        tiers.sort_by_key(|(t, _)| t.ms);
        let tiers: Vec<Tier> = tiers
            .into_iter()
            .map(|(mut tier, kinds)| {
                let tag = Arc::clone(&tier.tag);
                tier.slots = tier.keep + 1;
                tier.columns = kinds.columns(&tag, tier.slots, &event);
                tier.width = 1 + tier.columns.iter().map(|c| c.op.cells()).sum::<usize>();
                let names: Vec<String> = tier
                    .columns
                    .iter()
                    .map(|c| match c.of {
                        Some(i) => format!("{}:{}", c.op.name(), event[i].0),
                        None => c.op.name().to_owned(),
                    })
                    .collect();
                tier.chunk = ring::chunk_slots(tier.width);
                let ring = format!("r:{tag}:{}:{}:{}", tier.slots, tier.chunk, names.join(","));
                tier.fields = (0..tier.slots.div_ceil(tier.chunk))
                    .map(|k| Arc::from(format!("{ring}/{k}")))
                    .collect();
                tier
            })
            .collect();
        for f in &mut features {
            f.tier = tiers
                .iter()
                .position(|t| t.ms == f.resolution_ms)
                .unwrap_or_default();
            let tier = &tiers[f.tier];
            let cell = |want: &dyn Fn(Op) -> bool, of: Option<usize>| {
                tier.columns
                    .iter()
                    .find(|c| want(c.op) && c.of == of)
                    .map_or(0, |c| c.cell)
            };
            let count = cell(&|op| op == Op::Count, None);
            let time = cell(&|op| op == Op::LastTime, None);
            f.cells = match f.function {
                AggFunction::Count => [count, 0],
                AggFunction::Sum => [cell(&|op| matches!(op, Op::SumInt | Op::SumFloat), f.of), 0],
                AggFunction::Avg => [
                    cell(&|op| matches!(op, Op::SumInt | Op::SumFloat), f.of),
                    count,
                ],
                AggFunction::Min => [cell(&|op| matches!(op, Op::MinInt | Op::MinFloat), f.of), 0],
                AggFunction::Max => [cell(&|op| matches!(op, Op::MaxInt | Op::MaxFloat), f.of), 0],
                AggFunction::Last => [
                    cell(
                        &|op| matches!(op, Op::LastInt | Op::LastFloat | Op::LastText),
                        f.of,
                    ),
                    time,
                ],
                _ => [0, 0],
            };
            if f.function == AggFunction::Last {
                f.text = tier
                    .columns
                    .iter()
                    .find(|c| c.op == Op::LastText && c.of == f.of)
                    .and_then(|c| c.text.clone());
            }
        }
        // The fields an entity's hash can hold: every ring's, a string's last value per slot,
        // each union's count.
        let hash_fields = tiers
            .iter()
            .map(|t| {
                let lasts = t.columns.iter().filter(|c| c.op == Op::LastText).count();
                t.fields.len() + lasts * t.slots as usize + t.unions.len()
            })
            .sum();
        let as_text = (0..event.len())
            .map(|i| {
                tiers.iter().any(|t| {
                    t.distinct.contains(&i)
                        || t.columns
                            .iter()
                            .any(|c| c.op == Op::LastText && c.of == Some(i))
                })
            })
            .collect();
        let finest_ms = finest_ms.max(1);
        let coarsest = tiers.iter().map(|t| t.ms).max().unwrap_or(finest_ms);
        let longest = tiers.iter().map(|t| t.keep * t.ms).max().unwrap_or(0);
        Ok(Spec {
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            event,
            features,
            tiers,
            finest_ms,
            ttl_ms: longest + coarsest,
            as_text,
            hash_fields,
            plan: PlanCache::default(),
        })
    }

    /// The aggregation's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The event fields, in declaration order, with their types.
    pub fn event_fields(&self) -> impl ExactSizeIterator<Item = (&str, FeatureType)> + '_ {
        self.event.iter().map(|(n, t)| (n.as_str(), *t))
    }

    /// The feature names, in declaration order.
    pub fn feature_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.features.iter().map(|f| f.name.as_str())
    }

    /// The hash's expiry, refreshed by every event: the longest window plus one coarsest
    /// bucket.
    pub fn ttl_ms(&self) -> u64 {
        self.ttl_ms
    }

    /// The key of entity `id`'s hash: `fs:v1:user_txn:{user_1}`.
    ///
    /// # Errors
    /// [`Error::InvalidEntityId`] for the empty id.
    pub fn key(&self, id: impl EntityId) -> Result<String> {
        let mut key = String::with_capacity(self.prefix.len() + 16);
        key.push_str(&self.prefix);
        key.push('{');
        let start = key.len();
        id.write_id(&mut key);
        if key.len() == start {
            return Err(Error::InvalidEntityId {
                view: self.name.clone(),
                id: String::new(),
                reason: "an entity id cannot be empty",
            });
        }
        // The id is the hash tag of every key of the entity: a `}` in it would end the tag early
        // (an id starting with `}` would leave it empty, and each key would hash whole, to
        // different cluster slots), so `%` and `}` are written `%25` and `%7D`.
        if key[start..].contains(['%', '}']) {
            let id = key.split_off(start);
            for c in id.chars() {
                match c {
                    '%' => key.push_str("%25"),
                    '}' => key.push_str("%7D"),
                    c => key.push(c),
                }
            }
        }
        key.push('}');
        Ok(key)
    }

    /// The command that records one event (its field values in [`event_fields`] order) at
    /// time `ts_ms`, with the clock at `now_ms`; `Err(Late or Future)` when the event is
    /// refused for its time.
    ///
    /// [`event_fields`]: Spec::event_fields
    fn record_command(
        &self,
        key: String,
        now_ms: u64,
        ts_ms: u64,
        values: &[Value],
    ) -> Result<std::result::Result<Command, Recorded>> {
        if values.len() != self.event.len() {
            return Err(Error::InvalidValue {
                view: self.name.clone(),
                feature: "(event)".to_owned(),
                expected: format!("{} event fields", self.event.len()),
                found: format!("{} values", values.len()),
            });
        }
        // Each field as the ring's numeric value (an integer's two parts, a float, a bool's 0
        // or 1) and, when a HyperLogLog or a string's last value takes it, as text.
        let mut text: Vec<Vec<u8>> = Vec::with_capacity(values.len());
        let mut numbers: Vec<OpValue> = Vec::with_capacity(values.len());
        for (((name, ty), value), &as_text) in self.event.iter().zip(values).zip(&self.as_text) {
            let mut out = Vec::new();
            let (ok, number) = match (ty, value) {
                (FeatureType::Int, Value::Int(v)) => {
                    let (hi, lo) = ring::split(*v);
                    (text_of(v, as_text, &mut out), OpValue::Int(hi, lo))
                }
                (FeatureType::Float, Value::Float(v)) if v.is_finite() => {
                    (text_of(v, as_text, &mut out), OpValue::Float(v.to_bits()))
                }
                (FeatureType::String, Value::String(v)) => {
                    (text_of(v, as_text, &mut out), OpValue::None)
                }
                (FeatureType::Bool, Value::Bool(v)) => (
                    text_of(v, as_text, &mut out),
                    OpValue::Float(if *v { 1f64 } else { 0f64 }.to_bits()),
                ),
                _ => (false, OpValue::None),
            };
            numbers.push(number);
            if !ok {
                return Err(Error::InvalidValue {
                    view: self.name.clone(),
                    feature: name.clone(),
                    expected: match ty {
                        FeatureType::Float => "a finite `float` (`Value::Float`)".to_owned(),
                        other => format!("an `{}` event field", other.name()),
                    },
                    found: value.describe(),
                });
            }
            text.push(out);
        }
        if ts_ms > MAX_EVENT_MS {
            return Err(Error::InvalidValue {
                view: self.name.clone(),
                feature: "(event time)".to_owned(),
                expected: format!(
                    "epoch milliseconds up to 2^53 ({MAX_EVENT_MS}), which every reader compares \
                     exactly"
                ),
                found: ts_ms.to_string(),
            });
        }
        if ts_ms > now_ms.saturating_add(self.finest_ms) {
            return Ok(Err(Recorded::Future));
        }
        let mut blocks = Vec::with_capacity(self.tiers.len());
        let mut hlls = Vec::new();
        let mut unions = Vec::new();
        for tier in &self.tiers {
            let idx = (ts_ms / tier.ms) as i64;
            let oldest = (now_ms / tier.ms) as i64 - tier.keep as i64 + 1;
            if idx < oldest {
                continue;
            }
            let slot = idx as u64 % tier.slots;
            let chunk = slot / tier.chunk;
            let ops = tier
                .columns
                .iter()
                .map(|c| {
                    let value = match (c.of, &c.text) {
                        (Some(i), Some(prefix)) => OpValue::Text {
                            field: ring::text_field(prefix, slot),
                            value: text[i].clone(),
                        },
                        (Some(i), None) => numbers[i].clone(),
                        (None, _) => OpValue::None,
                    };
                    (c.op, value)
                })
                .collect();
            for &i in &tier.distinct {
                // When the bucket leaves the last window, plus one bucket (saturating: a clock
                // near the end of u64 must not overflow).
                let until =
                    (idx.saturating_add(tier.keep as i64 + 1) as u64).saturating_mul(tier.ms);
                hlls.push(Hll {
                    key: format!("{key}:d:{}:{}:{idx}", self.event[i].0, tier.tag),
                    block: blocks.len() + 1,
                    value: text[i].clone(),
                    ttl_ms: until.saturating_sub(now_ms).max(1),
                });
                for u in tier.unions.iter().filter(|u| u.of == i) {
                    unions.push(Union {
                        key: format!("{key}:{}", u.field),
                        hll: hlls.len(),
                        field: Arc::clone(&u.field),
                        buckets: u.buckets,
                    });
                }
            }
            blocks.push(Block {
                field: Arc::clone(&tier.fields[chunk as usize]),
                slots: tier.chunk.min(tier.slots - chunk * tier.chunk),
                slot: slot % tier.chunk,
                idx,
                width: tier.width,
                ops,
            });
        }
        if blocks.is_empty() {
            return Ok(Err(Recorded::Late));
        }
        Ok(Ok(Command::Record(Box::new(RecordCommand {
            key,
            ttl_ms: self.ttl_ms,
            ts_ms,
            blocks,
            hlls,
            unions,
        }))))
    }

    /// The read of entity `key` at time `now_ms`: one `HMGET` (or `HGETALL`) of the rings the
    /// windows are read from (and of the slots' fields of a string's last value, and of each
    /// `distinct` union's count), and, in a full read, one `PFCOUNT` per `distinct` feature; and how to compute
    /// each feature from them.
    pub(crate) fn read_plan(&self, now_ms: u64) -> Arc<ReadPlan> {
        let buckets: Vec<u64> = self.tiers.iter().map(|t| now_ms / t.ms).collect();
        let mut cache = self
            .plan
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(plan) = cache.as_ref().filter(|p| p.buckets == buckets) {
            return Arc::clone(plan);
        }
        let plan = Arc::new(self.make_read_plan(now_ms, buckets));
        *cache = Some(Arc::clone(&plan));
        plan
    }

    /// The read plan at `now_ms`, made anew (`buckets`: the clock's bucket per resolution).
    fn make_read_plan(&self, now_ms: u64, buckets: Vec<u64>) -> ReadPlan {
        let mut fields: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut field = |name: String| -> usize {
            *index.entry(name).or_insert_with_key(|name| {
                fields.push(name.clone());
                fields.len() - 1
            })
        };
        let mut distincts = Vec::new();
        let mut needs = Vec::with_capacity(self.features.len());
        for f in &self.features {
            let tier = &self.tiers[f.tier];
            let cur = (now_ms / tier.ms) as i64;
            let first = (cur - f.buckets as i64 + 1).max(0);
            let mut need = Needs {
                chunks: Vec::new(),
                first,
                cur,
                texts: Vec::new(),
                union: usize::MAX,
                pfcount: None,
            };
            need.chunks = tier.fields.iter().map(|f| field(f.to_string())).collect();
            if f.function == AggFunction::Distinct {
                let of = f.of.map(|i| self.event[i].0.as_str()).unwrap_or_default();
                let tag = &tier.tag;
                // Every `distinct` window has its union (see `Spec::build`).
                need.union = tier
                    .unions
                    .iter()
                    .find(|u| Some(u.of) == f.of && u.buckets == f.buckets)
                    .map_or(usize::MAX, |u| field(u.field.to_string()));
                distincts.push(DistinctRead {
                    suffixes: (first..=cur)
                        .map(|i| format!(":d:{of}:{tag}:{i}"))
                        .collect(),
                });
                need.pfcount = Some(distincts.len());
            } else if let Some(prefix) = &f.text {
                need.texts = (first..=cur)
                    .map(|i| field(ring::text_field(prefix, i as u64 % tier.slots)))
                    .collect();
            }
            needs.push(need);
        }
        // Most of the hash: one `HGETALL` (a walk of the small hash) instead of an `HMGET` that
        // looks each field up.
        let whole = fields.len() * 4 >= self.hash_fields * 3;
        ReadPlan {
            buckets,
            fields: Arc::from(fields),
            index,
            whole,
            needs,
            distincts,
        }
    }

    /// Computes the features from the replies to [`read_plan`](Self::read_plan)'s commands.
    ///
    /// A `distinct` feature is its union's count, from the union's field, when the union's window
    /// holds the same events as the reader's (see the module's semantics); when it does not (a
    /// clock in the past, events in the buckets the reader's window has left, a damaged field),
    /// a first read returns `Ok(None)`, and the caller reads the entity again in full (`full`:
    /// with the `PFCOUNT` of each window).
    pub(crate) fn compute(
        &self,
        cmds: &[Command],
        plan: &ReadPlan,
        replies: &[Reply<'_>],
        full: bool,
    ) -> Result<Option<Features>> {
        let (Some(hmget), Some(&first)) = (cmds.first(), replies.first()) else {
            return Err(Error::UnexpectedReply {
                command: "HMGET",
                key: String::new(),
                expected: "one reply per command",
                found: "none".to_owned(),
            });
        };
        let (values, fields): (Vec<Option<&[u8]>>, &Fields) = match hmget {
            Command::Hmget { fields, .. } => {
                let values = reply::hmget(hmget, fields.len(), first)?;
                ((0..values.len()).map(|i| values.get(i)).collect(), fields)
            }
            Command::Hgetall { fields, .. } => {
                // Field, value, …: each wanted field's value at its place in the plan.
                let pairs = reply::hgetall(hmget, first)?;
                let mut values = vec![None; fields.len()];
                for k in (0..pairs.len()).step_by(2) {
                    let name = pairs.get(k).and_then(|n| std::str::from_utf8(n).ok());
                    if let Some(&at) = name.and_then(|n| plan.index.get(n)) {
                        values[at] = pairs.get(k + 1);
                    }
                }
                (values, fields)
            }
            _ => {
                return Err(Error::UnexpectedReply {
                    command: "HMGET",
                    key: hmget.key().to_owned(),
                    expected: "a read plan that starts with its HMGET or HGETALL",
                    found: hmget.name().to_owned(),
                })
            }
        };
        let value = |at: usize| values.get(at).copied().flatten();
        let key = hmget.key();
        let bad =
            |field: usize, expected: &'static str, reason: String, found: String| Error::Decode {
                key: key.to_owned(),
                field: fields.iter().nth(field).unwrap_or_default().to_owned(),
                expected,
                reason,
                found,
            };
        // Each resolution's ring, decoded once into one buffer (the slots of an absent field,
        // written by no event, empty).
        let mut rings: Vec<Option<Vec<f64>>> = vec![None; self.tiers.len()];
        let mut out = Vec::with_capacity(self.features.len());
        for (f, need) in self.features.iter().zip(&plan.needs) {
            let tier = &self.tiers[f.tier];
            if rings[f.tier].is_none() {
                let mut cells = ring::empty_cells(tier.slots, tier.width);
                for (k, &at) in need.chunks.iter().enumerate() {
                    let Some(bytes) = value(at) else {
                        continue;
                    };
                    let first = k * tier.chunk as usize * tier.width;
                    let slots = tier.chunk.min(tier.slots - k as u64 * tier.chunk);
                    let end = first + slots as usize * tier.width;
                    ring::decode_into(bytes, slots, tier.width, &mut cells[first..end]).map_err(
                        |reason| {
                            bad(
                                at,
                                "a ring of f64 cells",
                                reason,
                                crate::error::excerpt(bytes),
                            )
                        },
                    )?;
                }
                rings[f.tier] = Some(cells);
            }
            let cells = rings[f.tier].as_deref().unwrap_or_default();
            if let Some(at) = need.pfcount {
                let count = if full {
                    let (Some(cmd), Some(&r)) = (cmds.get(at), replies.get(at)) else {
                        return Err(Error::UnexpectedReply {
                            command: "PFCOUNT",
                            key: key.to_owned(),
                            expected: "one reply per command",
                            found: format!("{} replies", replies.len()),
                        });
                    };
                    reply::count(cmd, r)?
                } else {
                    // Whether bucket `b`'s slot holds it: the bucket had events.
                    let holds = |b: i64| {
                        let slot = b.rem_euclid(tier.slots as i64) as usize;
                        b >= 0 && cells.get(slot * tier.width) == Some(&(b as f64))
                    };
                    // The union's bucket and count, written by the script with the union.
                    let union = value(need.union).and_then(ring::parse_union);
                    let (first, cur) = (need.first, need.cur);
                    let window = f.buckets as i64;
                    match union {
                        // The union ends in the window, at its newest bucket, and the buckets
                        // of its window before this one's had no events: the same events.
                        Some((end, n))
                            if (first..=cur).contains(&end)
                                && holds(end)
                                && (end - window + 1..first).all(|b| !holds(b)) =>
                        {
                            n
                        }
                        // No event in the window (none recorded, or all before it).
                        _ if union.is_none_or(|(end, _)| end < first)
                            && (first..=cur).all(|b| !holds(b)) =>
                        {
                            0
                        }
                        _ => return Ok(None),
                    }
                };
                out.push((f.name.clone(), Value::Int(count)));
                continue;
            }
            let ty = f.of.map(|i| self.event[i].1);
            // The window's slots: each bucket of the window whose slot still holds it, with
            // its index in the window and its chunk's field.
            let slots: Vec<(usize, usize, &[f64])> = (need.first..=need.cur)
                .enumerate()
                .filter_map(|(k, b)| {
                    let slot = b as u64 % tier.slots;
                    let at = *need.chunks.get((slot / tier.chunk) as usize)?;
                    let s = slot as usize * tier.width;
                    let cells = cells.get(s..s + tier.width)?;
                    (cells[0] == b as f64).then_some((k, at, cells))
                })
                .collect();
            let int = |&(_, at, slot): &(usize, usize, &[f64]),
                       cell: usize,
                       what: &'static str|
             -> Result<i64> {
                ring::join(slot[cell], slot[cell + 1]).ok_or_else(|| {
                    bad(
                        at,
                        what,
                        "not the two parts of a 64-bit integer".to_owned(),
                        format!("{} {}", slot[cell], slot[cell + 1]),
                    )
                })
            };
            let count = |&(_, at, slot): &(usize, usize, &[f64]), cell: usize| -> Result<i64> {
                let n = slot[cell];
                if n.fract() != 0.0 || !(0.0..9.0e15).contains(&n) {
                    return Err(bad(
                        at,
                        "i64 (count)",
                        "not a count".to_owned(),
                        n.to_string(),
                    ));
                }
                Ok(n as i64)
            };
            let [a, b] = f.cells;
            let float = ty == Some(FeatureType::Float);
            let value = match f.function {
                AggFunction::Count => {
                    let mut n: i64 = 0;
                    for slot in &slots {
                        n = n.saturating_add(count(slot, a)?);
                    }
                    Value::Int(n)
                }
                AggFunction::Sum | AggFunction::Avg => {
                    let (mut si, mut sf, mut n) = (0i64, 0f64, 0i64);
                    for slot in &slots {
                        if float {
                            sf += slot.2[a];
                        } else {
                            let v = int(slot, a, "i64 (int)")?;
                            si = si.checked_add(v).ok_or_else(|| {
                                bad(
                                    slot.1,
                                    "i64 (int)",
                                    "the window's sum overflows i64".to_owned(),
                                    v.to_string(),
                                )
                            })?;
                        }
                        if f.function == AggFunction::Avg {
                            n = n.saturating_add(count(slot, b)?);
                        }
                    }
                    match (f.function, float) {
                        (AggFunction::Sum, true) => Value::Float(sf),
                        (AggFunction::Sum, false) => Value::Int(si),
                        _ if n == 0 => Value::Null,
                        (_, true) => Value::Float(sf / n as f64),
                        (_, false) => Value::Float(si as f64 / n as f64),
                    }
                }
                AggFunction::Min | AggFunction::Max => {
                    let min = f.function == AggFunction::Min;
                    let mut best: Option<Value> = None;
                    for slot in &slots {
                        let v = if float {
                            Value::Float(slot.2[a])
                        } else {
                            Value::Int(int(slot, a, "i64 (int)")?)
                        };
                        let better = match (&best, &v) {
                            (None, _) => true,
                            (Some(Value::Int(b)), Value::Int(x)) => (x < b) == min && x != b,
                            (Some(Value::Float(b)), Value::Float(x)) => (x < b) == min && x != b,
                            _ => false,
                        };
                        if better {
                            best = Some(v);
                        }
                    }
                    best.unwrap_or(Value::Null)
                }
                AggFunction::Last => {
                    let latest = slots.iter().max_by(|x, y| x.2[b].total_cmp(&y.2[b]));
                    match (latest, ty) {
                        (None, _) => Value::Null,
                        (Some(slot), Some(FeatureType::Int)) => {
                            Value::Int(int(slot, a, "i64 (int)")?)
                        }
                        (Some(slot), Some(FeatureType::Float)) => Value::Float(slot.2[a]),
                        (Some(slot), Some(FeatureType::Bool)) => Value::Bool(slot.2[a] != 0.0),
                        (Some(&(k, _, _)), _) => {
                            let at = need.texts.get(k).copied().unwrap_or(usize::MAX);
                            let bytes = value(at).ok_or_else(|| {
                                bad(
                                    at,
                                    "String (string)",
                                    "the slot's last value is missing".to_owned(),
                                    "nil".to_owned(),
                                )
                            })?;
                            Value::String(String::decode(bytes).map_err(|reason| {
                                bad(at, "String (string)", reason, crate::error::excerpt(bytes))
                            })?)
                        }
                    }
                }
                _ => Value::Null,
            };
            out.push((f.name.clone(), value));
        }
        Ok(Some(out.into_iter().collect()))
    }
}

/// The read of an aggregation at one time, for any entity: the `HMGET` fields (shared by every
/// entity of a batch), how each feature is computed, and the key suffixes of each `distinct`
/// feature's window.
#[derive(Debug)]
pub(crate) struct ReadPlan {
    /// The clock's bucket per resolution the plan was made for.
    buckets: Vec<u64>,
    fields: Arc<[String]>,
    /// Each field's place in `fields`.
    index: HashMap<String, usize>,
    /// Read the whole hash (`HGETALL`): the plan wants at least three quarters of the fields
    /// it can hold.
    whole: bool,
    needs: Vec<Needs>,
    distincts: Vec<DistinctRead>,
}

/// A `distinct` feature's window at the plan's clock, for any entity.
#[derive(Debug)]
struct DistinctRead {
    /// The keys of the window's HyperLogLogs after the hash's key, oldest first.
    suffixes: Vec<String>,
}

impl ReadPlan {
    /// The commands of entity `key`'s read: the `HMGET` (a `distinct` feature is read from its
    /// union's field there); a *full* read (for an entity whose unions do not fit the clock:
    /// see [`Spec::compute`]) adds one `PFCOUNT` of each `distinct` window's
    /// HyperLogLogs.
    pub(crate) fn push_commands(&self, key: String, full: bool, cmds: &mut Vec<Command>) {
        let at = cmds.len();
        cmds.push(if self.whole {
            Command::Hgetall {
                key,
                fields: Fields::Shared(Arc::clone(&self.fields)),
            }
        } else {
            Command::hmget_shared(key, Arc::clone(&self.fields))
        });
        if !full {
            return;
        }
        let key = cmds[at].key();
        let pfcounts: Vec<Command> = self
            .distincts
            .iter()
            .map(|d| {
                let keys = d
                    .suffixes
                    .iter()
                    .map(|s| {
                        let mut k = String::with_capacity(key.len() + s.len());
                        k.push_str(key);
                        k.push_str(s);
                        k
                    })
                    .collect();
                Command::Pfcount { keys }
            })
            .collect();
        cmds.extend(pfcounts);
    }

    /// The number of commands per entity, in a full read or not.
    pub(crate) fn group(&self, full: bool) -> usize {
        1 + if full { self.distincts.len() } else { 0 }
    }
}

/// Which replies a feature is computed from: the `HMGET` fields of its ring's chunks and its window's
/// buckets (with, for a string's last value, the field of each bucket's slot), or the index of
/// its `PFCOUNT` command.
#[derive(Debug)]
struct Needs {
    chunks: Vec<usize>,
    first: i64,
    cur: i64,
    texts: Vec<usize>,
    /// A `distinct` feature's union field in the `HMGET`.
    union: usize,
    /// A `distinct` feature's `PFCOUNT` in a full read (see [`ReadPlan::push_commands`]).
    pfcount: Option<usize>,
}

/// Writes `v`'s stored text into `out` when `as_text` (a HyperLogLog member or a string's last
/// value); whether it is valid (always, for a value of its field's type).
fn text_of<T: FeatureValue>(v: &T, as_text: bool, out: &mut Vec<u8>) -> bool {
    !as_text || v.encode(out)
}

/// The current time in epoch milliseconds, the default clock.
fn now_ms() -> u64 {
    crate::typed::now_ms()
}

/// The registry's aggregations, resolved (or why one cannot be), in declaration order.
type Resolved = Vec<std::result::Result<Arc<Spec>, String>>;

/// Aggregation `name` of the store's registry, resolved once per registry.
fn spec_of(store: &Store, name: &str) -> Result<Arc<Spec>> {
    let attached = store.attached().ok_or_else(|| {
        Error::Config(
            "aggregations by name need a registry: attach one with `Store::with_registry`"
                .to_owned(),
        )
    })?;
    let resolved: &Resolved = attached
        .aggregations(|registry: &Registry| -> Resolved {
            registry
                .aggregations
                .iter()
                .map(|a| {
                    Spec::new(registry, a)
                        .map(Arc::new)
                        .map_err(|e| e.to_string())
                })
                .collect()
        })
        .ok_or_else(|| Error::Config("the registry's aggregations could not be resolved".into()))?;
    let names = attached
        .registry
        .aggregations
        .iter()
        .map(|a| a.name.as_str());
    let Some(i) = names.clone().position(|n| n == name) else {
        return Err(Error::UnknownName {
            what: "aggregation",
            name: name.to_owned(),
            help: crate::registry::suggestion(name, names),
        });
    };
    match resolved.get(i) {
        Some(Ok(spec)) => Ok(Arc::clone(spec)),
        Some(Err(e)) => Err(Error::Config(e.clone())),
        None => Err(Error::Config(format!(
            "aggregation `{name}` was not resolved"
        ))),
    }
}

impl Store {
    /// Records one event of aggregation `aggregation` for entity `id`, at event time `ts_ms`
    /// (epoch milliseconds), with the clock at now. `fields` are the event's fields by name;
    /// every declared field is required.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> fstore_runtime::Result<()> {
    /// use fstore_runtime::{registry::Registry, Store, Value};
    ///
    /// let registry = Registry::parse(r#"
    ///     [entities.user]
    ///     [aggregations.user_txn]
    ///     entity = "user"
    ///     granularity = "1m"
    ///     [aggregations.user_txn.event]
    ///     amount = "float"
    ///     [aggregations.user_txn.features]
    ///     txn_count_10m = { fn = "count", window = "10m" }
    ///     amount_sum_10m = { fn = "sum", of = "amount", window = "10m" }
    /// "#, "features.toml").unwrap();
    /// let store = Store::embedded().with_registry(registry);
    /// let now = 1_796_101_050_000;
    /// store.record_at("user_txn", "u1", now - 60_000, &[("amount", Value::Float(12.5))], now).await?;
    /// store.record_at("user_txn", "u1", now, &[("amount", Value::Float(7.5))], now).await?;
    /// let f = store.read_aggregation_at("user_txn", "u1", now).await?;
    /// assert_eq!(f.get("txn_count_10m"), Some(&Value::Int(2)));
    /// assert_eq!(f.get("amount_sum_10m"), Some(&Value::Float(20.0)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownName`] for an unknown aggregation or event field;
    /// [`Error::InvalidValue`] for a missing field or a value of the wrong type;
    /// [`Error::InvalidEntityId`]; the server's refusal; transport errors.
    pub async fn record(
        &self,
        aggregation: &str,
        id: impl EntityId,
        ts_ms: u64,
        fields: &[(&str, Value)],
    ) -> Result<Recorded> {
        self.record_at(aggregation, id, ts_ms, fields, now_ms())
            .await
    }

    /// [`record`](Store::record) with the clock at `now_ms` (replays, tests).
    ///
    /// # Errors
    /// As [`record`](Store::record).
    pub async fn record_at(
        &self,
        aggregation: &str,
        id: impl EntityId,
        ts_ms: u64,
        fields: &[(&str, Value)],
        now_ms: u64,
    ) -> Result<Recorded> {
        crate::trace::call("record", aggregation, async move {
            let spec = spec_of(self, aggregation)?;
            let values = event_values(&spec, fields)?;
            self.record_values(&spec, id, ts_ms, values, now_ms).await
        })
        .await
    }

    /// Records one event given as its field values in declaration order (what generated event
    /// structs call).
    ///
    /// # Errors
    /// As [`record`](Store::record).
    pub async fn record_values(
        &self,
        spec: &Spec,
        id: impl EntityId,
        ts_ms: u64,
        values: Vec<Value>,
        now_ms: u64,
    ) -> Result<Recorded> {
        let key = spec.key(id)?;
        match spec.record_command(key, now_ms, ts_ms, &values)? {
            Err(refused) => {
                let reason = if refused == Recorded::Late {
                    "late"
                } else {
                    "future"
                };
                crate::trace::refused(&spec.name, reason, 1);
                Ok(refused)
            }
            Ok(cmd) => {
                let mut outcomes = self.run_writes(std::slice::from_ref(&cmd)).await?;
                outcomes.pop().unwrap_or(Ok(())).map(|()| Recorded::Applied)
            }
        }
    }

    /// Records many events `(id, ts_ms, fields)`, in pipelines of
    /// [`pipeline_chunk_size`](Store::pipeline_chunk_size) script calls, each event its own
    /// atomic unit, with the clock at `now_ms`.
    ///
    /// # Errors
    /// The first invalid event (nothing is sent then); [`Error::Batch`] when the server did
    /// not apply every event it was sent, with one outcome per input event (events refused for
    /// their time are `Applied` there: see the report of a successful call).
    pub async fn record_batch_at<I, E>(
        &self,
        aggregation: &str,
        events: &[(I, u64, E)],
        now_ms: u64,
    ) -> Result<RecordReport>
    where
        I: EntityId,
        E: AsRef<[(&'static str, Value)]>,
    {
        crate::trace::call("record_batch", aggregation, async move {
            let spec = spec_of(self, aggregation)?;
            let batch = events
                .iter()
                .map(|(id, ts, fields)| Ok((id, *ts, event_values(&spec, fields.as_ref())?)))
                .collect::<Result<Vec<_>>>()?;
            self.record_values_batch(&spec, batch, now_ms).await
        })
        .await
    }

    /// Records many events given as field values in declaration order (what generated event
    /// structs call); see [`record_batch_at`](Store::record_batch_at).
    ///
    /// # Errors
    /// As [`record_batch_at`](Store::record_batch_at).
    pub async fn record_values_batch<I: EntityId>(
        &self,
        spec: &Spec,
        events: impl IntoIterator<Item = (I, u64, Vec<Value>)>,
        now_ms: u64,
    ) -> Result<RecordReport> {
        let mut report = RecordReport::default();
        let mut cmds = Vec::new();
        // The input index of each command sent.
        let mut sent = Vec::new();
        for (n, (id, ts, values)) in events.into_iter().enumerate() {
            let key = spec.key(id)?;
            match spec.record_command(key, now_ms, ts, &values)? {
                Ok(cmd) => {
                    cmds.push(cmd);
                    sent.push(n);
                }
                Err(Recorded::Late) => report.late.push(n),
                Err(_) => report.future.push(n),
            }
        }
        crate::trace::refused(&spec.name, "late", report.late.len());
        crate::trace::refused(&spec.name, "future", report.future.len());
        match self.run_write_batch(&cmds).await {
            Ok(()) => {
                report.applied = cmds.len();
                Ok(report)
            }
            // Outcomes in input order: the events refused for their time are `Refused` too.
            Err(Error::Batch(batch)) => {
                let total = sent.len() + report.late.len() + report.future.len();
                let mut outcomes: Vec<Option<crate::WriteOutcome>> =
                    (0..total).map(|_| None).collect();
                let (sent_outcomes, cause) = batch.into_parts();
                for (n, outcome) in sent.iter().zip(sent_outcomes) {
                    outcomes[*n] = Some(outcome);
                }
                let refused = |n: usize, what: &str| {
                    crate::WriteOutcome::Refused(Error::InvalidValue {
                        view: spec.name.clone(),
                        feature: "(event time)".to_owned(),
                        expected: "a time some window covers at the clock".to_owned(),
                        found: format!("event {n}: {what}"),
                    })
                };
                for &n in &report.late {
                    outcomes[n] = Some(refused(n, "late"));
                }
                for &n in &report.future {
                    outcomes[n] = Some(refused(n, "ahead of the clock"));
                }
                let outcomes = outcomes
                    .into_iter()
                    .map(|o| o.unwrap_or(crate::WriteOutcome::NotSent))
                    .collect();
                Err(Error::Batch(Box::new(crate::BatchWriteError::new(
                    outcomes, cause,
                ))))
            }
            Err(e) => Err(e),
        }
    }

    /// Reads every feature of aggregation `aggregation` for entity `id`, with the clock at
    /// now: one round trip (two when a `distinct` union does not fit the clock: see the
    /// [module](crate::aggregate)'s semantics). An entity without events reads as counts of 0 and absent
    /// ([`Value::Null`]) averages, minimums, maximums and last values.
    ///
    /// # Errors
    /// [`Error::UnknownName`]; [`Error::Decode`] for a stored bucket that does not parse;
    /// [`Error::InvalidEntityId`]; transport errors.
    pub async fn read_aggregation(&self, aggregation: &str, id: impl EntityId) -> Result<Features> {
        self.read_aggregation_at(aggregation, id, now_ms()).await
    }

    /// [`read_aggregation`](Store::read_aggregation) with the clock at `now_ms`.
    ///
    /// # Errors
    /// As [`read_aggregation`](Store::read_aggregation).
    pub async fn read_aggregation_at(
        &self,
        aggregation: &str,
        id: impl EntityId,
        now_ms: u64,
    ) -> Result<Features> {
        crate::trace::call("read", aggregation, async move {
            let spec = spec_of(self, aggregation)?;
            self.read_spec(&spec, id, now_ms).await
        })
        .await
    }

    /// Reads every feature of `spec` for entity `id` at `now_ms` (what generated result
    /// structs call).
    ///
    /// # Errors
    /// As [`read_aggregation`](Store::read_aggregation).
    pub async fn read_spec(&self, spec: &Spec, id: impl EntityId, now_ms: u64) -> Result<Features> {
        let mut out = self.read_spec_batch(spec, [id], now_ms).await?;
        out.pop().ok_or_else(|| Error::UnexpectedReply {
            command: "HMGET",
            key: spec.name.clone(),
            expected: "one result per entity",
            found: "none".to_owned(),
        })
    }

    /// Reads every feature of `spec` for many entities at `now_ms`, in pipelines of
    /// [`pipeline_chunk_size`](Store::pipeline_chunk_size) entities; one result per id, in
    /// input order.
    ///
    /// # Errors
    /// As [`read_aggregation`](Store::read_aggregation), for the first entity that fails.
    pub async fn read_spec_batch<I: EntityId>(
        &self,
        spec: &Spec,
        ids: impl IntoIterator<Item = I>,
        now_ms: u64,
    ) -> Result<Vec<Features>> {
        let plan = spec.read_plan(now_ms);
        let chunk = self.pipeline_chunk_size().max(1);
        let ids = ids.into_iter();
        let mut out: Vec<Option<Features>> = Vec::with_capacity(ids.size_hint().0);
        let mut cmds = Vec::new();
        let decode =
            |cmds: &[Command], replies: &[Reply<'_>]| spec.compute(cmds, &plan, replies, false);
        // The entities whose `distinct` unions do not fit the clock (index, key).
        let mut again: Vec<(usize, String)> = Vec::new();
        let mut ids = ids.peekable();
        while ids.peek().is_some() {
            cmds.clear();
            for id in ids.by_ref().take(chunk) {
                plan.push_commands(spec.key(id)?, false, &mut cmds);
            }
            let before = out.len();
            self.run_reads(&cmds, 1, &mut out, decode).await?;
            for (j, (f, cmd)) in out[before..].iter().zip(&cmds).enumerate() {
                if f.is_none() {
                    again.push((before + j, cmd.key().to_owned()));
                }
            }
        }
        // Read those again, with the `PFCOUNT` of each window.
        if !again.is_empty() {
            let group = plan.group(true);
            let decode =
                |cmds: &[Command], replies: &[Reply<'_>]| spec.compute(cmds, &plan, replies, true);
            for part in again.chunks(chunk.div_ceil(group).max(1)) {
                cmds.clear();
                for (_, key) in part {
                    plan.push_commands(key.clone(), true, &mut cmds);
                }
                let mut full: Vec<Option<Features>> = Vec::with_capacity(part.len());
                self.run_reads(&cmds, group, &mut full, decode).await?;
                for ((i, _), features) in part.iter().zip(full) {
                    out[*i] = features;
                }
            }
        }
        out.into_iter()
            .map(|f| {
                f.ok_or_else(|| Error::UnexpectedReply {
                    command: "PFCOUNT",
                    key: spec.name.clone(),
                    expected: "the count of each `distinct` window",
                    found: "none".to_owned(),
                })
            })
            .collect()
    }

    /// [`read_aggregation`](Store::read_aggregation) of many entities, at `now_ms`.
    ///
    /// # Errors
    /// As [`read_aggregation`](Store::read_aggregation), for the first entity that fails.
    pub async fn read_aggregation_batch_at<I: EntityId>(
        &self,
        aggregation: &str,
        ids: impl IntoIterator<Item = I>,
        now_ms: u64,
    ) -> Result<Vec<Features>> {
        crate::trace::call("read_batch", aggregation, async move {
            let spec = spec_of(self, aggregation)?;
            self.read_spec_batch(&spec, ids, now_ms).await
        })
        .await
    }
}

/// The values of `fields` in `spec`'s event order.
fn event_values(spec: &Spec, fields: &[(&str, Value)]) -> Result<Vec<Value>> {
    let mut values = vec![Value::Null; spec.event.len()];
    let mut given = vec![false; spec.event.len()];
    for (name, value) in fields {
        let Some(i) = spec.event.iter().position(|(n, _)| n == name) else {
            return Err(Error::UnknownName {
                what: "event field",
                name: (*name).to_owned(),
                help: crate::registry::suggestion(name, spec.event.iter().map(|(n, _)| n.as_str())),
            });
        };
        if given[i] {
            return Err(Error::InvalidValue {
                view: spec.name.clone(),
                feature: (*name).to_owned(),
                expected: "each event field once".to_owned(),
                found: "it twice".to_owned(),
            });
        }
        given[i] = true;
        values[i] = value.clone();
    }
    if let Some(i) = given.iter().position(|g| !g) {
        return Err(Error::InvalidValue {
            view: spec.name.clone(),
            feature: spec.event[i].0.clone(),
            expected: format!(
                "a `{}` value: every event field is required",
                spec.event[i].1.name()
            ),
            found: "none".to_owned(),
        });
    }
    Ok(values)
}

/// The event of an aggregation, as a struct: what `registry!` generates for each
/// `[aggregations.NAME.event]` (`UserTxnEvent`), with `record` and `record_batch` methods that
/// call [`record`] and [`record_batch`].
pub trait AggregationEvent: Sized {
    /// The aggregation, resolved once.
    fn spec() -> &'static Spec;
    /// The event's field values, in declaration order.
    fn into_values(self) -> Vec<Value>;
}

/// The features of an aggregation, as a struct: what `registry!` generates for each
/// `[aggregations.NAME.features]` (`UserTxn`), with `read` and `read_batch` methods that call
/// [`read`] and [`read_batch`].
pub trait AggregationFeatures: Sized {
    /// The aggregation, resolved once.
    fn spec() -> &'static Spec;
    /// The struct from the computed features, in declaration order (see [`take`]).
    ///
    /// # Errors
    /// [`Error::Decode`] when a value is not of the field's type.
    fn from_features(features: Features) -> Result<Self>;
}

/// A feature value's Rust type, fixed by its function: `count` [`i64`], `distinct` [`u64`],
/// `sum` [`i64`] or [`f64`], `avg` `Option<f64>`, `min`/`max`/`last` an `Option` of the event
/// field's type.
pub trait AggValue: Sized {
    /// The type's name, for errors.
    const TYPE: &'static str;
    /// The value as this type, `None` when it is another.
    fn from_value(value: Value) -> Option<Self>;
}

macro_rules! agg_value {
    ($t:ty, $name:literal, $v:ident => $some:expr) => {
        impl AggValue for $t {
            const TYPE: &'static str = $name;
            fn from_value(value: Value) -> Option<Self> {
                match value {
                    $v => $some,
                }
            }
        }
    };
}

agg_value!(i64, "i64", v => v.as_i64());
agg_value!(u64, "u64", v => v.as_i64().and_then(|n| u64::try_from(n).ok()));
agg_value!(f64, "f64", v => match v { Value::Float(f) => Some(f), _ => None });
agg_value!(Option<i64>, "Option<i64>", v => match v { Value::Null => Some(None), Value::Int(i) => Some(Some(i)), _ => None });
agg_value!(Option<f64>, "Option<f64>", v => match v { Value::Null => Some(None), Value::Float(f) => Some(Some(f)), _ => None });
agg_value!(Option<String>, "Option<String>", v => match v { Value::Null => Some(None), Value::String(s) => Some(Some(s)), _ => None });
agg_value!(Option<bool>, "Option<bool>", v => match v { Value::Null => Some(None), Value::Bool(b) => Some(Some(b)), _ => None });

/// Feature `index` (named `name`) of `features` as `T`: what generated
/// [`AggregationFeatures::from_features`] calls per field.
///
/// # Errors
/// [`Error::Decode`] when the value is not a `T` (a struct generated from another declaration
/// than the one the store computed).
pub fn take<T: AggValue>(features: &mut Features, index: usize, name: &str) -> Result<T> {
    let value = features.take_value(index);
    let found = value.describe();
    T::from_value(value).ok_or_else(|| Error::Decode {
        key: String::new(),
        field: name.to_owned(),
        expected: T::TYPE,
        reason: "the aggregation computed another type: regenerate the struct from the registry"
            .to_owned(),
        found,
    })
}

/// Records `event` for entity `id` at event time `ts_ms`, with the clock at now.
///
/// # Errors
/// As [`Store::record`].
pub async fn record<E: AggregationEvent>(
    store: &Store,
    id: impl EntityId,
    ts_ms: u64,
    event: E,
) -> Result<Recorded> {
    record_at(store, id, ts_ms, event, now_ms()).await
}

/// [`record`] with the clock at `now_ms`.
///
/// # Errors
/// As [`Store::record`].
pub async fn record_at<E: AggregationEvent>(
    store: &Store,
    id: impl EntityId,
    ts_ms: u64,
    event: E,
    now_ms: u64,
) -> Result<Recorded> {
    let spec = E::spec();
    crate::trace::call("record", &spec.name, async move {
        store
            .record_values(spec, id, ts_ms, event.into_values(), now_ms)
            .await
    })
    .await
}

/// Records many `(id, ts_ms, event)`s, with the clock at now; see
/// [`Store::record_batch_at`].
///
/// # Errors
/// As [`Store::record_batch_at`].
pub async fn record_batch<E, I>(
    store: &Store,
    events: impl IntoIterator<Item = (I, u64, E)>,
) -> Result<RecordReport>
where
    E: AggregationEvent,
    I: EntityId,
{
    record_batch_at(store, events, now_ms()).await
}

/// [`record_batch`] with the clock at `now_ms` (replays, tests).
///
/// # Errors
/// As [`Store::record_batch_at`].
pub async fn record_batch_at<E, I>(
    store: &Store,
    events: impl IntoIterator<Item = (I, u64, E)>,
    now_ms: u64,
) -> Result<RecordReport>
where
    E: AggregationEvent,
    I: EntityId,
{
    let spec = E::spec();
    crate::trace::call("record_batch", &spec.name, async move {
        let events = events
            .into_iter()
            .map(|(id, ts, e)| (id, ts, e.into_values()));
        store.record_values_batch(spec, events, now_ms).await
    })
    .await
}

/// [`read_batch`] with the clock at `now_ms`.
///
/// # Errors
/// As [`Store::read_aggregation`], for the first entity that fails.
pub async fn read_batch_at<R, I>(
    store: &Store,
    ids: impl IntoIterator<Item = I>,
    now_ms: u64,
) -> Result<Vec<R>>
where
    R: AggregationFeatures,
    I: EntityId,
{
    let spec = R::spec();
    crate::trace::call("read_batch", &spec.name, async move {
        store
            .read_spec_batch(spec, ids, now_ms)
            .await?
            .into_iter()
            .map(R::from_features)
            .collect()
    })
    .await
}

/// Reads the features of entity `id` with the clock at now.
///
/// # Errors
/// As [`Store::read_aggregation`].
pub async fn read<R: AggregationFeatures>(store: &Store, id: impl EntityId) -> Result<R> {
    read_at(store, id, now_ms()).await
}

/// [`read`] with the clock at `now_ms`.
///
/// # Errors
/// As [`Store::read_aggregation`].
pub async fn read_at<R: AggregationFeatures>(
    store: &Store,
    id: impl EntityId,
    now_ms: u64,
) -> Result<R> {
    let spec = R::spec();
    crate::trace::call("read", &spec.name, async move {
        R::from_features(store.read_spec(spec, id, now_ms).await?)
    })
    .await
}

/// Reads the features of many entities with the clock at now; one result per id, in order.
///
/// # Errors
/// As [`Store::read_aggregation`], for the first entity that fails.
pub async fn read_batch<R, I>(store: &Store, ids: impl IntoIterator<Item = I>) -> Result<Vec<R>>
where
    R: AggregationFeatures,
    I: EntityId,
{
    read_batch_at(store, ids, now_ms()).await
}
