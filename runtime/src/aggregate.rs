//! Real-time aggregations, computed inside the store: sliding-window counts, sums, averages,
//! minimums, maximums, last values and approximate distinct counts over a stream of events.
//!
//! # Layout
//!
//! One hash per (aggregation, entity), `{namespace}:v{version}:{aggregation}:{{{id}}}` (the id in
//! braces: a hash tag, so that every key of one entity is in one cluster slot; `%` and `}` in the
//! id are written `%25` and `%7D`, so that the tag is the whole id), holds one field
//! per *bucket* and column: a bucket is a time slot of one of the aggregation's granularities
//! (its *resolutions*), numbered `floor(event_ms / resolution_ms)`. Columns, at resolution `T`
//! seconds and bucket `i`: `n:T:i` (events), `s:F:T:i` (sum of field `F`), `lo:F:T:i` and
//! `hi:F:T:i` (minimum, maximum), `t:T:i` (the time of the bucket's latest event) with `l:F:T:i`
//! (its value of `F`); `_lo:T` and `_hi:T` bound the live buckets. A `distinct` feature keeps
//! one HyperLogLog per bucket, at `{hash key}:d:F:T:i`.
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
//!   refused too ([`Recorded::Future`]).
//! - **At-least-once ingest double counts**: an event recorded twice counts twice (`distinct`
//!   excepted). There is no event id.
//! - **Atomic per event.** One event is one call of [`AGG_SCRIPT`]: every feature of the
//!   aggregation is updated, or none (an integer sum that would leave ±9.2·10¹⁸, or a float sum
//!   that would overflow, is refused before anything is written).
//! - **Bounded memory.** Each write removes the buckets that left every window at its
//!   resolution; the hash expires after the longest window (plus one coarsest bucket) without
//!   events, each HyperLogLog when its bucket leaves the windows.
//! - **Approximate `distinct`.** Valkey's HyperLogLog (`PFCOUNT` over the window's buckets, a
//!   union) has a standard error of 0.81%; it is exact for small sets in practice. The embedded
//!   backend counts exactly.
//! - **Sums** of `float` fields are added by `HINCRBYFLOAT` (long double, 17 significant digits
//!   kept), so they can differ from a sum in `f64` in the last digits; `avg` is the window's sum
//!   divided by its count.
//!
//! # Cost
//!
//! A read is one round trip: one `HMGET` of exactly the buckets its windows need, computed from
//! the clock (at most 64 fields per window and column), plus one `PFCOUNT` per `distinct`
//! feature. A record is one `EVALSHA` per event (pipelined for batches).

use std::collections::HashMap;
use std::sync::Arc;

use crate::codec::FeatureValue;
pub use crate::command::{agg_script_sha, RecordCommand, AGG_SCRIPT};
use crate::command::{Block, Command, Hll, Op};
use crate::dynamic::{Features, Value};
use crate::registry::{AggFunction, Aggregation, FeatureType, Registry};
use crate::reply::{self, Reply};
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

/// One resolution of an aggregation, with the columns every event updates at it.
#[derive(Debug, Clone)]
struct Tier {
    ms: u64,
    /// Buckets kept: the longest window read at this resolution, in buckets.
    keep: u64,
    /// The resolution in seconds, as in field names.
    tag: Arc<str>,
    /// Every event's updates at this resolution, in the script's order (`t` before the `l`s):
    /// the operation, the event field giving the value (`None`: the count's `1`, or the event's
    /// time), and the column's field prefix (`s:amount:60:`), made once.
    columns: Vec<(Op, Option<usize>, Arc<str>)>,
    /// Event field indices with a HyperLogLog per bucket.
    distinct: Vec<usize>,
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
    /// The columns of [`Tier::columns`] at resolution `tag`, over `event`'s fields.
    fn columns(
        &self,
        tag: &str,
        event: &[(String, FeatureType)],
    ) -> Vec<(Op, Option<usize>, Arc<str>)> {
        let float = |i: usize| event[i].1 == FeatureType::Float;
        let col = |kind: &str, i: usize| Arc::from(format!("{kind}:{}:{tag}:", event[i].0));
        let mut out = Vec::new();
        if self.count {
            out.push((Op::Count, None, Arc::from(format!("n:{tag}:"))));
        }
        for &i in &self.sums {
            let op = if float(i) { Op::SumFloat } else { Op::SumInt };
            out.push((op, Some(i), col("s", i)));
        }
        for &i in &self.mins {
            let op = if float(i) { Op::MinFloat } else { Op::MinInt };
            out.push((op, Some(i), col("lo", i)));
        }
        for &i in &self.maxs {
            let op = if float(i) { Op::MaxFloat } else { Op::MaxInt };
            out.push((op, Some(i), col("hi", i)));
        }
        if !self.lasts.is_empty() {
            out.push((Op::LastTime, None, Arc::from(format!("t:{tag}:"))));
            for &i in &self.lasts {
                out.push((Op::Last, Some(i), col("l", i)));
            }
        }
        out
    }
}

/// One feature, resolved against the event fields.
#[derive(Debug, Clone)]
struct Feature {
    name: String,
    function: AggFunction,
    of: Option<usize>,
    resolution_ms: u64,
    tier: usize,
    buckets: u64,
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
                        columns: Vec::new(),
                        distinct: Vec::new(),
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
                    push(&mut tier.distinct, i)
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
            });
        }
        tiers.sort_by_key(|(t, _)| t.ms);
        let tiers: Vec<Tier> = tiers
            .into_iter()
            .map(|(mut tier, kinds)| {
                tier.columns = kinds.columns(&tier.tag, &event);
                tier
            })
            .collect();
        for f in &mut features {
            f.tier = tiers
                .iter()
                .position(|t| t.ms == f.resolution_ms)
                .unwrap_or_default();
        }
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
        let mut text: Vec<Vec<u8>> = Vec::with_capacity(values.len());
        for ((name, ty), value) in self.event.iter().zip(values) {
            let mut out = Vec::new();
            let ok = match (ty, value) {
                (FeatureType::Int, Value::Int(v)) => v.encode(&mut out),
                (FeatureType::Float, Value::Float(v)) if v.is_finite() => v.encode(&mut out),
                (FeatureType::String, Value::String(v)) => v.encode(&mut out),
                (FeatureType::Bool, Value::Bool(v)) => v.encode(&mut out),
                _ => false,
            };
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
        for tier in &self.tiers {
            let idx = (ts_ms / tier.ms) as i64;
            let oldest = (now_ms / tier.ms) as i64 - tier.keep as i64 + 1;
            if idx < oldest {
                continue;
            }
            let ops = tier
                .columns
                .iter()
                .map(|(op, field, col)| {
                    let value = match field {
                        Some(i) => text[*i].clone(),
                        None if *op == Op::Count => b"1".to_vec(),
                        None => ts_ms.to_string().into_bytes(),
                    };
                    (*op, Arc::clone(col), value)
                })
                .collect();
            for &i in &tier.distinct {
                // When the bucket leaves the last window, plus one bucket (saturating: a clock
                // near the end of u64 must not overflow).
                let until =
                    (idx.saturating_add(tier.keep as i64 + 1) as u64).saturating_mul(tier.ms);
                hlls.push(Hll {
                    key: format!("{key}:d:{}:{}:{idx}", self.event[i].0, tier.tag),
                    value: text[i].clone(),
                    ttl_ms: until.saturating_sub(now_ms).max(1),
                });
            }
            blocks.push(Block {
                tag: Arc::clone(&tier.tag),
                idx,
                oldest,
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
        }))))
    }

    /// The read of entity `key` at time `now_ms`: one `HMGET` of the buckets the windows need,
    /// then one `PFCOUNT` per `distinct` feature; and how to compute each feature from them.
    pub(crate) fn read_plan(&self, now_ms: u64) -> ReadPlan {
        let mut fields: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut field = |name: String| -> usize {
            *index.entry(name).or_insert_with_key(|name| {
                fields.push(name.clone());
                fields.len() - 1
            })
        };
        let mut pfcounts = Vec::new();
        let mut needs = Vec::with_capacity(self.features.len());
        for f in &self.features {
            let tier = &self.tiers[f.tier];
            let cur = (now_ms / tier.ms) as i64;
            let range = (cur - f.buckets as i64 + 1).max(0)..=cur;
            let of = f.of.map(|i| self.event[i].0.as_str()).unwrap_or_default();
            let mut cols = |prefix: &str| -> Vec<usize> {
                range
                    .clone()
                    .map(|i| field(format!("{prefix}{i}")))
                    .collect()
            };
            let tag = &tier.tag;
            let need = match f.function {
                AggFunction::Count => Needs::cols(cols(&format!("n:{tag}:")), Vec::new()),
                AggFunction::Sum => Needs::cols(cols(&format!("s:{of}:{tag}:")), Vec::new()),
                AggFunction::Avg => {
                    Needs::cols(cols(&format!("s:{of}:{tag}:")), cols(&format!("n:{tag}:")))
                }
                AggFunction::Min => Needs::cols(cols(&format!("lo:{of}:{tag}:")), Vec::new()),
                AggFunction::Max => Needs::cols(cols(&format!("hi:{of}:{tag}:")), Vec::new()),
                AggFunction::Last => {
                    Needs::cols(cols(&format!("l:{of}:{tag}:")), cols(&format!("t:{tag}:")))
                }
                _ => {
                    pfcounts.push(
                        range
                            .clone()
                            .map(|i| format!(":d:{of}:{tag}:{i}"))
                            .collect::<Vec<_>>(),
                    );
                    Needs {
                        a: Vec::new(),
                        b: Vec::new(),
                        pfcount: Some(pfcounts.len()),
                    }
                }
            };
            needs.push(need);
        }
        ReadPlan {
            fields: Arc::from(fields),
            needs,
            pfcounts,
        }
    }

    /// Computes the features from the replies to [`read_plan`](Self::read_plan)'s commands.
    pub(crate) fn compute(
        &self,
        cmds: &[Command],
        plan: &ReadPlan,
        replies: &[Reply<'_>],
    ) -> Result<Features> {
        let needs = &plan.needs;
        let (Some(hmget), Some(&first)) = (cmds.first(), replies.first()) else {
            return Err(Error::UnexpectedReply {
                command: "HMGET",
                key: String::new(),
                expected: "one reply per command",
                found: "none".to_owned(),
            });
        };
        let Command::Hmget { fields, .. } = hmget else {
            return Err(Error::UnexpectedReply {
                command: "HMGET",
                key: hmget.key().to_owned(),
                expected: "a read plan that starts with its HMGET",
                found: hmget.name().to_owned(),
            });
        };
        let names: Vec<&str> = fields.iter().collect();
        let values = reply::hmget(hmget, names.len(), first)?;
        let key = hmget.key();
        let raw = |i: usize| values.get(i);
        let decode = |i: usize,
                      expected: &'static str,
                      parse: &dyn Fn(&[u8]) -> std::result::Result<Value, String>|
         -> Result<Option<Value>> {
            match raw(i) {
                None => Ok(None),
                Some(bytes) => parse(bytes).map(Some).map_err(|reason| Error::Decode {
                    key: key.to_owned(),
                    field: names[i].to_owned(),
                    expected,
                    reason,
                    found: crate::error::excerpt(bytes),
                }),
            }
        };
        let int = |b: &[u8]| i64::decode(b).map(Value::Int);
        let float = |b: &[u8]| f64::decode(b).map(Value::Float);
        let mut out = Vec::with_capacity(self.features.len());
        for (f, need) in self.features.iter().zip(needs) {
            let ty = f.of.map(|i| self.event[i].1);
            let typed = |b: &[u8]| -> std::result::Result<Value, String> {
                match ty {
                    Some(FeatureType::Int) => i64::decode(b).map(Value::Int),
                    Some(FeatureType::Float) => f64::decode(b).map(Value::Float),
                    Some(FeatureType::Bool) => bool::decode(b).map(Value::Bool),
                    _ => String::decode(b).map(Value::String),
                }
            };
            let expected = match ty {
                Some(FeatureType::Int) => "i64 (int)",
                Some(FeatureType::Float) => "f64 (float)",
                Some(FeatureType::Bool) => "bool (bool)",
                _ => "String (string)",
            };
            let value = match f.function {
                AggFunction::Count => {
                    let mut n: i64 = 0;
                    for &i in &need.a {
                        if let Some(Value::Int(c)) = decode(i, "i64 (count)", &int)? {
                            n = n.saturating_add(c);
                        }
                    }
                    Value::Int(n)
                }
                AggFunction::Sum | AggFunction::Avg => {
                    let float_sum = ty == Some(FeatureType::Float);
                    let (mut si, mut sf) = (0i64, 0f64);
                    for &i in &need.a {
                        match decode(i, expected, if float_sum { &float } else { &int })? {
                            Some(Value::Int(v)) => {
                                si = si.checked_add(v).ok_or_else(|| Error::Decode {
                                    key: key.to_owned(),
                                    field: names[i].to_owned(),
                                    expected,
                                    reason: "the window's sum overflows i64".to_owned(),
                                    found: v.to_string(),
                                })?
                            }
                            Some(Value::Float(v)) => sf += v,
                            _ => {}
                        }
                    }
                    if f.function == AggFunction::Sum {
                        if float_sum {
                            Value::Float(sf)
                        } else {
                            Value::Int(si)
                        }
                    } else {
                        let mut n: i64 = 0;
                        for &i in &need.b {
                            if let Some(Value::Int(c)) = decode(i, "i64 (count)", &int)? {
                                n = n.saturating_add(c);
                            }
                        }
                        if n == 0 {
                            Value::Null
                        } else if float_sum {
                            Value::Float(sf / n as f64)
                        } else {
                            Value::Float(si as f64 / n as f64)
                        }
                    }
                }
                AggFunction::Min | AggFunction::Max => {
                    let mut best: Option<Value> = None;
                    for &i in &need.a {
                        if let Some(v) = decode(i, expected, &typed)? {
                            let better = match (&best, &v) {
                                (None, _) => true,
                                (Some(Value::Int(b)), Value::Int(x)) => {
                                    if f.function == AggFunction::Min {
                                        x < b
                                    } else {
                                        x > b
                                    }
                                }
                                (Some(Value::Float(b)), Value::Float(x)) => {
                                    if f.function == AggFunction::Min {
                                        x < b
                                    } else {
                                        x > b
                                    }
                                }
                                _ => false,
                            };
                            if better {
                                best = Some(v);
                            }
                        }
                    }
                    best.unwrap_or(Value::Null)
                }
                AggFunction::Last => {
                    let mut best: Option<(i64, usize)> = None;
                    for (&vi, &ti) in need.a.iter().zip(&need.b) {
                        if let Some(Value::Int(t)) = decode(ti, "i64 (epoch milliseconds)", &int)? {
                            if best.is_none_or(|(b, _)| t > b) {
                                best = Some((t, vi));
                            }
                        }
                    }
                    match best {
                        Some((_, vi)) => decode(vi, expected, &typed)?.unwrap_or(Value::Null),
                        None => Value::Null,
                    }
                }
                _ => {
                    let at = need.pfcount.unwrap_or(0);
                    let (Some(cmd), Some(&r)) = (cmds.get(at), replies.get(at)) else {
                        return Err(Error::UnexpectedReply {
                            command: "PFCOUNT",
                            key: key.to_owned(),
                            expected: "one reply per command",
                            found: format!("{} replies", replies.len()),
                        });
                    };
                    Value::Int(reply::count(cmd, r)?)
                }
            };
            out.push((f.name.clone(), value));
        }
        Ok(out.into_iter().collect())
    }
}

/// The read of an aggregation at one time, for any entity: the `HMGET` fields (shared by every
/// entity of a batch), how each feature is computed, and the key suffixes of each `distinct`
/// feature's `PFCOUNT`.
#[derive(Debug)]
pub(crate) struct ReadPlan {
    fields: Arc<[String]>,
    needs: Vec<Needs>,
    pfcounts: Vec<Vec<String>>,
}

impl ReadPlan {
    /// The commands of entity `key`'s read: the `HMGET`, then one `PFCOUNT` per `distinct`
    /// feature.
    pub(crate) fn push_commands(&self, key: String, cmds: &mut Vec<Command>) {
        for suffixes in &self.pfcounts {
            let keys = suffixes.iter().map(|s| format!("{key}{s}")).collect();
            cmds.push(Command::Pfcount { keys });
        }
        let at = cmds.len() - self.pfcounts.len();
        cmds.insert(at, Command::hmget_shared(key, Arc::clone(&self.fields)));
    }

    /// The number of commands per entity.
    pub(crate) fn group(&self) -> usize {
        1 + self.pfcounts.len()
    }
}

/// Which replies a feature is computed from: field indices into the `HMGET` (`a`, and `b` for
/// `avg`'s counts or `last`'s times), or the index of its `PFCOUNT` command.
#[derive(Debug)]
struct Needs {
    a: Vec<usize>,
    b: Vec<usize>,
    pfcount: Option<usize>,
}

impl Needs {
    fn cols(a: Vec<usize>, b: Vec<usize>) -> Needs {
        Needs {
            a,
            b,
            pfcount: None,
        }
    }
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
        for (n, (id, ts, values)) in events.into_iter().enumerate() {
            let key = spec.key(id)?;
            match spec.record_command(key, now_ms, ts, &values)? {
                Ok(cmd) => cmds.push(cmd),
                Err(Recorded::Late) => report.late.push(n),
                Err(_) => report.future.push(n),
            }
        }
        crate::trace::refused(&spec.name, "late", report.late.len());
        crate::trace::refused(&spec.name, "future", report.future.len());
        self.run_write_batch(&cmds).await?;
        report.applied = cmds.len();
        Ok(report)
    }

    /// Reads every feature of aggregation `aggregation` for entity `id`, with the clock at
    /// now: one round trip. An entity without events reads as counts of 0 and absent
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
        let group = plan.group();
        let chunk = self.pipeline_chunk_size().max(1);
        let ids = ids.into_iter();
        let mut out = Vec::with_capacity(ids.size_hint().0);
        let mut cmds = Vec::new();
        let decode = |cmds: &[Command], replies: &[Reply<'_>]| spec.compute(cmds, &plan, replies);
        for id in ids {
            plan.push_commands(spec.key(id)?, &mut cmds);
            if cmds.len() >= chunk * group {
                self.run_reads(&cmds, group, &mut out, decode).await?;
                cmds.clear();
            }
        }
        self.run_reads(&cmds, group, &mut out, decode).await?;
        Ok(out)
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
