//! Multi-view feature vectors: what `#[derive(FeatureVector)]` implements, and its model input.
//!
//! A feature vector gathers features of one entity from several views, one `HMGET` per view,
//! all in one pipeline, and turns them into a fixed-width `f32` row for a model.

use std::fmt;

use crate::aggregate::{AggValue, ReadPlan, Spec};
pub use crate::codec::VocabValue;
use crate::codec::{ListField, ListSpec};
use crate::command::Command;
use crate::dynamic::Features;
use crate::reply::{self, OwnedValues, Reply};
use crate::trace::RowStatus;
use crate::typed::now_ms;
use crate::view::{empty_id, FieldNames, Row};
use crate::{EntityId, Error, FeatureValue, KeyLayout, Result, Store};

/// One view a vector reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorView {
    /// The view's name.
    pub name: &'static str,
    /// `{namespace}:v{version}:{view}:`.
    pub key_prefix: &'static str,
    /// The features read from it, then `_updated_at`.
    pub read_fields: &'static [&'static str],
    /// Rows whose `_updated_at` is older than this many milliseconds count as missing.
    pub max_age_ms: Option<u64>,
    /// Which id of the vector's key keys this view: the index of its entity in
    /// [`FeatureVector::KEYS`] (0 when one id keys every view).
    pub key: usize,
}

/// One real-time aggregation a vector reads from.
#[derive(Debug, Clone, Copy)]
pub struct VectorAggregation {
    /// The aggregation's name.
    pub name: &'static str,
    /// Its resolved spec (a generated event or features struct's
    /// [`spec`](crate::aggregate::AggregationFeatures::spec)).
    pub spec: fn() -> &'static Spec,
}

/// A struct whose fields are features of one entity from several views: implemented by
/// `#[derive(FeatureVector)]`, which also adds `vector`, `vector_batch`, `vector_with_report`,
/// `WIDTH`, `COLUMNS`, `to_array`, `write_f32` and `to_matrix`.
pub trait FeatureVector: Sized {
    /// The views read, each once, in order of first use.
    const VIEWS: &'static [VectorView];
    /// The number of `f32` columns of the model input.
    const WIDTH: usize;
    /// A multi-entity vector's entities, in key order (`key(user, item)`): each view is keyed
    /// by the id of its entity ([`VectorView::key`]). Empty when one id keys every view.
    const KEYS: &'static [&'static str] = &[];
    /// The real-time aggregations read, each once, after the views and in the same round trip
    /// (only in vectors keyed by one id; an entity whose `distinct` union does not fit the
    /// clock is read again with the windows' `PFCOUNT`s, see [`crate::aggregate`]).
    const AGGREGATIONS: &'static [VectorAggregation] = &[];

    /// Builds the vector from one row per view of [`VIEWS`](Self::VIEWS).
    ///
    /// # Errors
    /// [`Error::MissingFeature`], [`Error::Decode`].
    fn decode(rows: &mut VectorRows<'_>) -> Result<Self>;

    /// Writes the model input into `out[..WIDTH]`.
    ///
    /// # Panics
    /// When `out` is shorter than [`WIDTH`](Self::WIDTH).
    fn write_f32(&self, out: &mut [f32]);
}

/// How one field of a vector got its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Read from the store.
    Stored,
    /// Absent from the store (or its row was stale): the default was used.
    Defaulted,
    /// Absent from the store (or its row was stale), no default: `None`.
    Null,
}

/// The provenance of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldReport {
    /// The view the field reads from (for a field read from a real-time aggregation, the
    /// aggregation).
    pub view: &'static str,
    /// The stored feature name.
    pub feature: &'static str,
    /// Where the value came from.
    pub source: Source,
    /// The view's row was older than its `max_age` (so the stored value was not used).
    pub stale: bool,
    /// A string feature with a `vocab` held a value outside it: its model input is all zeros
    /// (one-hot) or `-1` (index), which a model may read as a real category.
    pub out_of_vocab: bool,
}

/// Which fields of a vector were stored, defaulted or stale: what serving code logs to catch
/// training/serving skew.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    fields: Vec<FieldReport>,
}

impl Report {
    /// Every field, in field order.
    pub fn fields(&self) -> &[FieldReport] {
        &self.fields
    }

    /// The fields that did not come from the store (defaulted or `None`).
    pub fn not_stored(&self) -> impl Iterator<Item = &FieldReport> {
        self.fields.iter().filter(|f| f.source != Source::Stored)
    }

    /// The fields whose row was stale.
    pub fn stale(&self) -> impl Iterator<Item = &FieldReport> {
        self.fields.iter().filter(|f| f.stale)
    }

    /// The fields whose stored string is outside the feature's `vocab`.
    pub fn out_of_vocab(&self) -> impl Iterator<Item = &FieldReport> {
        self.fields.iter().filter(|f| f.out_of_vocab)
    }

    /// `true` when every field came from a fresh stored value, inside its `vocab` if it has one.
    pub fn is_clean(&self) -> bool {
        self.fields.iter().all(FieldReport::is_clean)
    }
}

impl FieldReport {
    /// Stored, fresh, and inside its `vocab`.
    fn is_clean(&self) -> bool {
        self.source == Source::Stored && !self.stale && !self.out_of_vocab
    }
}

/// Per-feature counts over the entities of a [`vector_batch_with_report`]: how many values were
/// stored, defaulted, null, stale or outside the feature's `vocab`. What a ranking service logs
/// per request to catch training/serving skew.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    entities: usize,
    fields: Vec<FieldCounts>,
}

/// The counts of one field over a batch (see [`BatchReport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldCounts {
    /// The view the field reads from (or the real-time aggregation).
    pub view: &'static str,
    /// The stored feature name.
    pub feature: &'static str,
    /// Entities whose value was read from the store.
    pub stored: usize,
    /// Entities whose value was the default.
    pub defaulted: usize,
    /// Entities whose value was `None`.
    pub null: usize,
    /// Entities whose row of the field's view was older than its `max_age`.
    pub stale: usize,
    /// Entities whose stored string was outside the feature's `vocab`.
    pub out_of_vocab: usize,
}

impl BatchReport {
    /// The number of entities counted.
    pub fn entities(&self) -> usize {
        self.entities
    }

    /// The counts of every field, in field order.
    pub fn fields(&self) -> &[FieldCounts] {
        &self.fields
    }

    /// The counts of `feature` of `view`, if the vector has that field.
    pub fn field(&self, view: &str, feature: &str) -> Option<&FieldCounts> {
        self.fields
            .iter()
            .find(|f| f.view == view && f.feature == feature)
    }

    /// `true` when every value of every entity came fresh from the store, inside its `vocab`.
    pub fn is_clean(&self) -> bool {
        self.fields.iter().all(|f| f.stored == self.entities)
            && self
                .fields
                .iter()
                .all(|f| f.stale == 0 && f.out_of_vocab == 0)
    }

    /// Adds one entity's report.
    fn add(&mut self, report: &Report) {
        self.entities += 1;
        for (i, field) in report.fields.iter().enumerate() {
            if self.fields.len() <= i {
                self.fields.push(FieldCounts {
                    view: field.view,
                    feature: field.feature,
                    stored: 0,
                    defaulted: 0,
                    null: 0,
                    stale: 0,
                    out_of_vocab: 0,
                });
            }
            let counts = &mut self.fields[i];
            match field.source {
                Source::Stored => counts.stored += 1,
                Source::Defaulted => counts.defaulted += 1,
                Source::Null => counts.null += 1,
            }
            counts.stale += usize::from(field.stale);
            counts.out_of_vocab += usize::from(field.out_of_vocab);
        }
    }
}

impl fmt::Display for BatchReport {
    /// `100 entities, all stored`, or the counts of the fields that were not:
    /// `100 entities: user_profile.segment 3 out of vocabulary, user_risk_profile.fraud_score 2
    /// null (2 stale)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return write!(f, "{} entities, all stored", self.entities);
        }
        write!(f, "{} entities:", self.entities)?;
        let mut first = true;
        for c in &self.fields {
            let parts = [
                (c.defaulted, "defaulted"),
                (c.null, "null"),
                (c.stale, "stale"),
                (c.out_of_vocab, "out of vocabulary"),
            ];
            if parts.iter().all(|(n, _)| *n == 0) {
                continue;
            }
            f.write_str(if first { " " } else { ", " })?;
            first = false;
            write!(f, "{}.{}", c.view, c.feature)?;
            let mut sep = " ";
            for (n, what) in parts.into_iter().filter(|(n, _)| *n > 0) {
                write!(f, "{sep}{n} {what}")?;
                sep = ", ";
            }
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    /// `all 5 stored`, or the fields that were not: `user_risk_profile.txn_count_24h defaulted (stale)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return write!(f, "all {} stored", self.fields.len());
        }
        let mut first = true;
        for field in self.fields.iter().filter(|x| !x.is_clean()) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            let what = match field.source {
                Source::Stored => "stored",
                Source::Defaulted => "defaulted",
                Source::Null => "null",
            };
            write!(f, "{}.{} {what}", field.view, field.feature)?;
            if field.stale {
                f.write_str(" (stale)")?;
            }
            if field.out_of_vocab {
                f.write_str(" (out of vocabulary)")?;
            }
        }
        Ok(())
    }
}

/// The rows of one entity, one per view; generated `decode` methods take their fields from it.
#[derive(Debug)]
pub struct VectorRows<'a> {
    entity: &'a str,
    views: &'static [VectorView],
    rows: Vec<Row<'a>>,
    /// Per view: present, stale.
    state: Vec<(bool, bool)>,
    report: Option<&'a mut Report>,
    /// Per aggregation of [`FeatureVector::AGGREGATIONS`]: its computed features.
    aggregations: Vec<Features>,
    /// [`FeatureVector::AGGREGATIONS`], for the report's names.
    aggregation_names: &'static [VectorAggregation],
}

impl<'a> VectorRows<'a> {
    fn new(
        entity: &'a str,
        views: &'static [VectorView],
        rows: Vec<Row<'a>>,
        now_ms: u64,
        report: Option<&'a mut Report>,
    ) -> Result<Self> {
        let state = rows
            .iter()
            .zip(views)
            .map(|(row, view)| {
                let present = !row.is_absent();
                let stale = match view.max_age_ms {
                    Some(max) if present => {
                        // A row without `_updated_at` cannot show that it is fresh.
                        row.updated_at_ms()?
                            .is_none_or(|at| now_ms.saturating_sub(at) > max)
                    }
                    _ => false,
                };
                crate::trace::row(
                    view.name,
                    match (present, stale) {
                        (false, _) => RowStatus::Missing,
                        (true, true) => RowStatus::Stale,
                        (true, false) => RowStatus::Found,
                    },
                );
                Ok((present, stale))
            })
            .collect::<Result<_>>()?;
        Ok(VectorRows {
            entity,
            views,
            rows,
            state,
            report,
            aggregations: Vec::new(),
            aggregation_names: &[],
        })
    }

    /// Feature `index` (named `name`) of aggregation `aggregation` (an index into
    /// [`FeatureVector::AGGREGATIONS`]), as `T`: its value computed at the time of the read.
    ///
    /// An aggregation always has a value (0 for counts and sums, `None` for the others), so
    /// the report has the field as [`Source::Stored`], under the aggregation's name.
    ///
    /// # Errors
    /// [`Error::Decode`] when the value is not a `T`.
    pub fn aggregate<T: AggValue>(
        &mut self,
        aggregation: usize,
        index: usize,
        name: &'static str,
    ) -> Result<T> {
        match self.aggregations.get_mut(aggregation) {
            Some(features) => {
                let value = crate::aggregate::take(features, index, name)?;
                if let Some(report) = self.report.as_deref_mut() {
                    report.fields.push(FieldReport {
                        view: self
                            .aggregation_names
                            .get(aggregation)
                            .map_or("?", |a| a.name),
                        feature: name,
                        source: Source::Stored,
                        stale: false,
                        out_of_vocab: false,
                    });
                }
                Ok(value)
            }
            None => Err(Error::MissingFeature {
                entity: self.entity.to_owned(),
                view: format!("aggregation {aggregation}"),
                feature: name.to_owned(),
                stale: false,
            }),
        }
    }

    /// Feature `index` of view `view`, decoded as `T`: the stored value when the view's row is
    /// present and fresh; else `default()`; else `None` for an `Option`; else
    /// [`Error::MissingFeature`].
    ///
    /// # Errors
    /// [`Error::MissingFeature`]; [`Error::Decode`] for a malformed stored value.
    pub fn get<T: FeatureValue>(
        &mut self,
        view: usize,
        index: usize,
        default: Option<fn() -> T>,
    ) -> Result<T> {
        self.take(view, index, default, |row, raw| row.decode::<T>(index, raw))
    }

    /// [`get`](Self::get) for a `float_list` feature declared as `spec` (its `len` and
    /// encoding).
    ///
    /// # Errors
    /// As [`get`](Self::get); [`Error::Decode`] when the stored list is in another encoding or
    /// of another length.
    pub fn get_list<T: ListField>(
        &mut self,
        view: usize,
        index: usize,
        spec: &ListSpec,
    ) -> Result<T> {
        self.take(view, index, None, |row, raw| {
            row.decode_list(index, raw, spec).map(T::from_list)
        })
    }

    /// [`get`](Self::get) for a string feature with a `vocab`: a stored value outside it is
    /// returned as it is and reported ([`FieldReport::out_of_vocab`]).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_vocab<T: FeatureValue + VocabValue>(
        &mut self,
        view: usize,
        index: usize,
        default: Option<fn() -> T>,
        vocab: &[&str],
    ) -> Result<T> {
        let value = self.get(view, index, default)?;
        if let (Some(s), Some(report)) = (value.vocab_str(), self.report.as_deref_mut()) {
            if !vocab.contains(&s) {
                if let Some(last) = report.fields.last_mut() {
                    last.out_of_vocab = true;
                }
            }
        }
        Ok(value)
    }

    /// Feature `index` of view `view`, by the rules of [`get`](Self::get), a stored value
    /// decoded by `decode`.
    fn take<T: FeatureValue>(
        &mut self,
        view: usize,
        index: usize,
        default: Option<fn() -> T>,
        decode: impl FnOnce(&Row<'a>, &[u8]) -> Result<T>,
    ) -> Result<T> {
        let (present, stale) = self.state.get(view).copied().unwrap_or((false, false));
        let row = self.rows.get(view);
        if let (true, false, Some(row)) = (present, stale, row) {
            if let Some(raw) = row.raw(index)? {
                let value = decode(row, raw)?;
                self.record(view, index, Source::Stored, false);
                return Ok(value);
            }
        }
        if let Some(default) = default {
            if let Some(v) = self.views.get(view) {
                crate::trace::defaulted(v.name, v.read_fields.get(index).copied().unwrap_or("?"));
            }
            self.record(view, index, Source::Defaulted, stale);
            return Ok(default());
        }
        if let Some(none) = T::absent() {
            self.record(view, index, Source::Null, stale);
            return Ok(none);
        }
        let v = self.views.get(view);
        Err(Error::MissingFeature {
            entity: self.entity.to_owned(),
            view: v.map_or("?", |v| v.name).to_owned(),
            feature: v
                .and_then(|v| v.read_fields.get(index))
                .map_or("?", |f| f)
                .to_owned(),
            stale,
        })
    }

    fn record(&mut self, view: usize, index: usize, source: Source, stale: bool) {
        if let (Some(report), Some(v)) = (self.report.as_deref_mut(), self.views.get(view)) {
            report.fields.push(FieldReport {
                view: v.name,
                feature: v.read_fields.get(index).copied().unwrap_or("?"),
                source,
                stale,
                out_of_vocab: false,
            });
        }
    }
}

// ---- multi-entity vectors ---------------------------------------------------------------------

/// The key of a multi-entity vector (its generated `…Key` struct): one id per entity of
/// [`FeatureVector::KEYS`], in that order.
#[doc(hidden)]
pub trait VectorKey {
    /// Appends the text of each id, in key order, to `out`.
    fn push_ids(&self, out: &mut Vec<String>);
}

/// Reads the vector of one multi-entity key: one `HMGET` per view, each keyed by its entity's
/// id, in one pipeline.
///
/// # Errors
/// As [`vector`].
pub async fn vector_keyed<T, K>(store: &Store, key: K, with_report: bool) -> Result<(T, Report)>
where
    T: FeatureVector + Send,
    K: VectorKey,
{
    crate::trace::call(
        "vector",
        T::VIEWS.first().map_or("", |v| v.name),
        async move {
            let mut ids = Vec::with_capacity(T::KEYS.len());
            key.push_ids(&mut ids);
            let mut out = Vec::with_capacity(1);
            let mut reports = Vec::new();
            keyed_chunk::<T>(store, &ids, &mut out, with_report.then_some(&mut reports)).await?;
            let value = out.pop().ok_or_else(|| Error::UnexpectedReply {
                command: "HMGET",
                key: String::new(),
                expected: "one reply per view",
                found: "none".to_owned(),
            })?;
            Ok((value, reports.pop().unwrap_or_default()))
        },
    )
    .await
}

/// Reads the vectors of many multi-entity keys, results in input order. Within each pipeline
/// (about [`Store::pipeline_chunk_size`] commands) a row that several keys share is read once:
/// one user and 100 candidate items is one `HMGET` per user view and 100 per item view, in one
/// round trip.
///
/// # Errors
/// As [`vector`], for the first key that fails.
pub async fn vector_batch_keyed<T, I>(
    store: &Store,
    keys: I,
    report: Option<&mut BatchReport>,
) -> Result<Vec<T>>
where
    T: FeatureVector + Send,
    I: IntoIterator,
    I::Item: VectorKey,
{
    crate::trace::call(
        "vector_batch",
        T::VIEWS.first().map_or("", |v| v.name),
        async move {
            let per_chunk = (store.pipeline_chunk_size() / T::VIEWS.len().max(1)).max(1);
            let keys = keys.into_iter();
            let mut out = Vec::with_capacity(keys.size_hint().0);
            let mut reports = report.as_ref().map(|_| Vec::new());
            let mut ids = Vec::with_capacity(per_chunk.min(keys.size_hint().0) * T::KEYS.len());
            let mut pending = 0;
            for key in keys {
                key.push_ids(&mut ids);
                pending += 1;
                if pending == per_chunk {
                    keyed_chunk::<T>(store, &ids, &mut out, reports.as_mut()).await?;
                    ids.clear();
                    pending = 0;
                }
            }
            if pending > 0 {
                keyed_chunk::<T>(store, &ids, &mut out, reports.as_mut()).await?;
            }
            if let (Some(batch), Some(reports)) = (report, reports) {
                for r in &reports {
                    batch.add(r);
                }
            }
            Ok(out)
        },
    )
    .await
}

/// Reads and decodes the vectors of the keys in `ids` (`T::KEYS.len()` ids per key): the
/// distinct rows once each, in one pipeline, then each key's vector from its views' rows.
async fn keyed_chunk<T: FeatureVector + Send>(
    store: &Store,
    ids: &[String],
    out: &mut Vec<T>,
    reports: Option<&mut Vec<Report>>,
) -> Result<()> {
    let per_key = T::KEYS.len().max(1);
    let layout = store.key_layout();
    let mut slots: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut cmds: Vec<Command> = Vec::new();
    // Per key, per view: the command whose reply is that view's row.
    let mut refs: Vec<usize> = Vec::with_capacity(ids.len() / per_key * T::VIEWS.len());
    for key_ids in ids.chunks(per_key) {
        for view in T::VIEWS {
            let id = key_ids.get(view.key).map_or("", String::as_str);
            if id.is_empty() {
                return Err(empty_id(view.name));
            }
            let mut key = String::with_capacity(view.key_prefix.len() + id.len() + 2);
            key.push_str(view.key_prefix);
            layout.push_id(&mut key, view.name, id)?;
            let next = cmds.len();
            let slot = *slots.entry(key).or_insert_with_key(|key| {
                cmds.push(Command::hmget(key.clone(), view.read_fields));
                next
            });
            refs.push(slot);
        }
    }
    let mut rows = Vec::with_capacity(cmds.len());
    store
        .run_reads(&cmds, 1, &mut rows, |cmds, replies| {
            match (cmds.first(), replies.first()) {
                (Some(cmd @ Command::Hmget { fields, .. }), Some(&r)) => {
                    Ok(reply::hmget(cmd, fields.len(), r)?.to_owned_values())
                }
                _ => Ok(OwnedValues::default()),
            }
        })
        .await?;
    let now = now_ms();
    let mut reports = reports;
    for (key_ids, views) in ids.chunks(per_key).zip(refs.chunks(T::VIEWS.len().max(1))) {
        let entity = key_ids.join(", ");
        let mut view_rows = Vec::with_capacity(T::VIEWS.len());
        for (&slot, view) in views.iter().zip(T::VIEWS) {
            let (Some(cmd), Some(values)) = (cmds.get(slot), rows.get(slot)) else {
                continue;
            };
            view_rows.push(Row::new(
                cmd.key(),
                FieldNames::Static(view.read_fields),
                values.as_values(),
            ));
        }
        let mut report = Report::default();
        let with_report = reports.is_some();
        let value = T::decode(&mut VectorRows::new(
            &entity,
            T::VIEWS,
            view_rows,
            now,
            with_report.then_some(&mut report),
        )?)?;
        out.push(value);
        if let Some(reports) = reports.as_deref_mut() {
            reports.push(report);
        }
    }
    Ok(())
}

// ---- model input -----------------------------------------------------------------------------

/// A field value as one `f32` column: numbers cast, `bool` → 0/1, `None` → NaN.
#[doc(hidden)]
pub trait Column {
    fn column(&self) -> f32;
}

macro_rules! column_as {
    ($($t:ty),*) => {$(
        impl Column for $t {
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            fn column(&self) -> f32 {
                *self as f32
            }
        }
    )*};
}
column_as!(i64, i32, u32, u64, f64, f32);

impl Column for bool {
    fn column(&self) -> f32 {
        if *self {
            1.0
        } else {
            0.0
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn column(&self) -> f32 {
        self.as_ref().map_or(f32::NAN, Column::column)
    }
}

/// `vocab` position of `value` as `f32`: -1 when unknown, NaN when `None`.
#[doc(hidden)]
pub fn vocab_index<T: VocabValue>(value: &T, vocab: &[&str]) -> f32 {
    match value.vocab_str() {
        None => f32::NAN,
        Some(s) => vocab
            .iter()
            .position(|v| *v == s)
            .map_or(-1.0, |i| i as f32),
    }
}

/// One-hot columns of `value` over `vocab` into `out` (`out.len() == vocab.len()`): all zero when
/// unknown, all NaN when `None`.
#[doc(hidden)]
pub fn vocab_onehot<T: VocabValue>(value: &T, vocab: &[&str], out: &mut [f32]) {
    match value.vocab_str() {
        None => out.fill(f32::NAN),
        Some(s) => {
            for (slot, v) in out.iter_mut().zip(vocab) {
                *slot = if *v == s { 1.0 } else { 0.0 };
            }
        }
    }
}

/// A list as its columns (`out.len()` of them): `None` → NaN.
#[doc(hidden)]
pub fn list_columns<T: ListField>(value: &T, out: &mut [f32]) {
    match value.list() {
        None => out.fill(f32::NAN),
        Some(values) => {
            for (slot, v) in out
                .iter_mut()
                .zip(values.iter().chain(std::iter::repeat(&f32::NAN)))
            {
                *slot = *v;
            }
        }
    }
}

/// Row-major model input of `rows`: `rows.len() × T::WIDTH` values.
pub fn to_matrix<T: FeatureVector>(rows: &[T]) -> Vec<f32> {
    let mut out = vec![0.0; rows.len() * T::WIDTH];
    if T::WIDTH > 0 {
        for (row, chunk) in rows.iter().zip(out.chunks_exact_mut(T::WIDTH)) {
            row.write_f32(chunk);
        }
    }
    out
}

// ---- operations ------------------------------------------------------------------------------

/// The text form of `id`, checked.
fn entity_text<T: FeatureVector>(id: &impl EntityId) -> Result<String> {
    let mut text = String::new();
    id.write_id(&mut text);
    if text.is_empty() {
        return Err(empty_id(T::VIEWS.first().map_or("?", |v| v.name)));
    }
    Ok(text)
}

/// Appends one `HMGET` per view of `T` for `entity` (checked non-empty), keys in `layout`, then
/// each aggregation's read (`full`: with the `PFCOUNT` of each `distinct` window, see
/// [`ReadPlan::push_commands`]).
fn push_commands<T: FeatureVector>(
    entity: &str,
    layout: KeyLayout,
    plans: &[std::sync::Arc<ReadPlan>],
    full: bool,
    cmds: &mut Vec<Command>,
) -> Result<()> {
    for view in T::VIEWS {
        let mut key = String::with_capacity(view.key_prefix.len() + entity.len() + 2);
        key.push_str(view.key_prefix);
        layout.push_id(&mut key, view.name, entity)?;
        cmds.push(Command::hmget(key, view.read_fields));
    }
    for (agg, plan) in T::AGGREGATIONS.iter().zip(plans) {
        plan.push_commands((agg.spec)().key(entity)?, full, cmds);
    }
    Ok(())
}

/// The read plans of `T`'s aggregations at `now`, in order.
fn aggregation_plans<T: FeatureVector>(now: u64) -> Vec<std::sync::Arc<ReadPlan>> {
    T::AGGREGATIONS
        .iter()
        .map(|a| (a.spec)().read_plan(now))
        .collect()
}

/// The commands of one entity of `T`: one per view, then each aggregation's (`full`: see
/// [`push_commands`]).
fn group_of<T: FeatureVector>(plans: &[std::sync::Arc<ReadPlan>], full: bool) -> usize {
    T::VIEWS.len() + plans.iter().map(|p| p.group(full)).sum::<usize>()
}

/// Decodes the replies of one entity's commands (one per view, then the aggregations'):
/// `Ok(None)` when an aggregation's `distinct` count needs the full read (see
/// [`Spec::compute`](crate::aggregate::Spec)).
fn decode_entity<T: FeatureVector>(
    entity: &str,
    cmds: &[Command],
    replies: &[Reply<'_>],
    now: u64,
    (plans, full): (&[std::sync::Arc<ReadPlan>], bool),
    report: Option<&mut Report>,
) -> Result<Option<T>> {
    let mut aggregations = Vec::with_capacity(plans.len());
    let mut at = T::VIEWS.len();
    for (agg, plan) in T::AGGREGATIONS.iter().zip(plans) {
        let end = at + plan.group(full);
        let (Some(cmds), Some(replies)) = (cmds.get(at..end), replies.get(at..end)) else {
            return Err(Error::UnexpectedReply {
                command: "HMGET",
                key: entity.to_owned(),
                expected: "one reply per command",
                found: format!("{} replies", replies.len()),
            });
        };
        match (agg.spec)().compute(cmds, plan, replies, full)? {
            Some(features) => aggregations.push(features),
            None => return Ok(None),
        }
        at = end;
    }
    let mut rows = Vec::with_capacity(T::VIEWS.len());
    for ((cmd, &r), view) in cmds.iter().zip(replies).zip(T::VIEWS) {
        let values = reply::hmget(cmd, view.read_fields.len(), r)?;
        rows.push(Row::new(
            cmd.key(),
            FieldNames::Static(view.read_fields),
            values,
        ));
    }
    let mut rows = VectorRows::new(entity, T::VIEWS, rows, now, report)?;
    rows.aggregations = aggregations;
    rows.aggregation_names = T::AGGREGATIONS;
    T::decode(&mut rows).map(Some)
}

/// Reads the vector of entity `id`: one `HMGET` per view, all in one pipeline.
///
/// # Errors
/// [`Error::MissingFeature`] for a required feature with no value and no default;
/// [`Error::Decode`]; [`Error::InvalidEntityId`]; transport errors.
pub async fn vector<T: FeatureVector + Send>(store: &Store, id: impl EntityId) -> Result<T> {
    let (value, _) = read_one::<T>(store, id, false).await?;
    Ok(value)
}

/// [`vector`], plus which fields were stored, defaulted or stale.
///
/// # Errors
/// As [`vector`].
pub async fn vector_with_report<T: FeatureVector + Send>(
    store: &Store,
    id: impl EntityId,
) -> Result<(T, Report)> {
    read_one::<T>(store, id, true).await
}

async fn read_one<T: FeatureVector + Send>(
    store: &Store,
    id: impl EntityId,
    with_report: bool,
) -> Result<(T, Report)> {
    crate::trace::call(
        "vector",
        T::VIEWS.first().map_or("", |v| v.name),
        async move {
            let entity = entity_text::<T>(&id)?;
            let now = now_ms();
            let plans = aggregation_plans::<T>(now);
            let mut out = Vec::with_capacity(1);
            let mut cmds = Vec::new();
            // A first read, then (when a `distinct` union does not fit the clock) a full one.
            for full in [false, true] {
                let group = group_of::<T>(&plans, full);
                cmds.clear();
                push_commands::<T>(&entity, store.key_layout(), &plans, full, &mut cmds)?;
                let decode = |cmds: &[Command], replies: &[Reply<'_>]| {
                    let mut report = Report::default();
                    let value = decode_entity(
                        &entity,
                        cmds,
                        replies,
                        now,
                        (&plans, full),
                        with_report.then_some(&mut report),
                    )?;
                    Ok(value.map(|v| (v, report)))
                };
                out.clear();
                store.run_reads(&cmds, group, &mut out, decode).await?;
                if !matches!(out.first(), Some(None)) {
                    break;
                }
            }
            out.pop().flatten().ok_or_else(|| Error::UnexpectedReply {
                command: "HMGET",
                key: cmds
                    .first()
                    .map(Command::key)
                    .unwrap_or_default()
                    .to_owned(),
                expected: "one reply per view",
                found: "none".to_owned(),
            })
        },
    )
    .await
}

/// Reads the vectors of many entities: ids × views `HMGET`s in one pipeline (split into
/// pipelines of about [`Store::pipeline_chunk_size`] commands when huge), results in input order.
/// An empty input sends nothing.
///
/// # Errors
/// As [`vector`], for the first entity that fails.
pub async fn vector_batch<T, I>(store: &Store, ids: I) -> Result<Vec<T>>
where
    T: FeatureVector + Send,
    I: IntoIterator,
    I::Item: EntityId,
{
    batch::<T, I>(store, ids, None).await
}

async fn batch<T, I>(store: &Store, ids: I, mut report: Option<&mut BatchReport>) -> Result<Vec<T>>
where
    T: FeatureVector + Send,
    I: IntoIterator,
    I::Item: EntityId,
{
    crate::trace::call(
        "vector_batch",
        T::VIEWS.first().map_or("", |v| v.name),
        async move {
            let now = now_ms();
            let plans = aggregation_plans::<T>(now);
            let views = group_of::<T>(&plans, false).max(1);
            let per_chunk = (store.pipeline_chunk_size() / views).max(1);
            let ids = ids.into_iter();
            let mut out = Vec::with_capacity(ids.size_hint().0);
            let mut entities: Vec<String> = Vec::with_capacity(per_chunk.min(ids.size_hint().0));
            let mut cmds = Vec::with_capacity(entities.capacity() * views);
            for id in ids {
                let entity = entity_text::<T>(&id)?;
                push_commands::<T>(&entity, store.key_layout(), &plans, false, &mut cmds)?;
                entities.push(entity);
                if entities.len() == per_chunk {
                    let chunk = Chunk { now, plans: &plans };
                    vector_chunk(
                        store,
                        chunk,
                        &entities,
                        &cmds,
                        &mut out,
                        report.as_deref_mut(),
                    )
                    .await?;
                    entities.clear();
                    cmds.clear();
                }
            }
            if !entities.is_empty() {
                let chunk = Chunk { now, plans: &plans };
                vector_chunk(store, chunk, &entities, &cmds, &mut out, report).await?;
            }
            Ok(out)
        },
    )
    .await
}

/// [`vector_batch`], plus per-field counts of the values that were stored, defaulted, null,
/// stale or outside their `vocab`.
///
/// # Errors
/// As [`vector_batch`].
pub async fn vector_batch_with_report<T, I>(store: &Store, ids: I) -> Result<(Vec<T>, BatchReport)>
where
    T: FeatureVector + Send,
    I: IntoIterator,
    I::Item: EntityId,
{
    let mut report = BatchReport::default();
    let out = batch::<T, I>(store, ids, Some(&mut report)).await?;
    Ok((out, report))
}

/// The clock and aggregation plans of one batch.
#[derive(Clone, Copy)]
struct Chunk<'p> {
    now: u64,
    plans: &'p [std::sync::Arc<ReadPlan>],
}

async fn vector_chunk<T: FeatureVector + Send>(
    store: &Store,
    Chunk { now, plans }: Chunk<'_>,
    entities: &[String],
    cmds: &[Command],
    out: &mut Vec<T>,
    report: Option<&mut BatchReport>,
) -> Result<()> {
    let layout = store.key_layout();
    let group = group_of::<T>(plans, false);
    debug_assert_eq!(cmds.len(), entities.len() * group);
    let with_report = report.is_some();
    // Each entity's report is counted once the chunk has been read (a retried read decodes
    // again).
    let decoder = |full: bool| {
        move |cmds: &[Command], replies: &[Reply<'_>]| {
            let entity = entity_of::<T>(cmds, layout);
            let mut report = Report::default();
            let value = decode_entity(
                entity,
                cmds,
                replies,
                now,
                (plans, full),
                with_report.then_some(&mut report),
            )?;
            Ok(value.map(|v| (v, report)))
        }
    };
    let mut read: Vec<Option<(T, Report)>> = Vec::with_capacity(entities.len());
    store
        .run_reads(cmds, group, &mut read, decoder(false))
        .await?;
    // The entities whose `distinct` unions do not fit the clock: read in full.
    let again: Vec<usize> = (0..read.len()).filter(|&i| read[i].is_none()).collect();
    if !again.is_empty() {
        let mut full_cmds = Vec::new();
        for &i in &again {
            push_commands::<T>(&entities[i], layout, plans, true, &mut full_cmds)?;
        }
        let mut full = Vec::with_capacity(again.len());
        let group = group_of::<T>(plans, true);
        store
            .run_reads(&full_cmds, group, &mut full, decoder(true))
            .await?;
        for (i, value) in again.into_iter().zip(full) {
            read[i] = value;
        }
    }
    out.reserve(read.len());
    let mut batch = report;
    for value in read {
        let (value, report) = value.ok_or_else(|| Error::UnexpectedReply {
            command: "PFCOUNT",
            key: String::new(),
            expected: "the count of each `distinct` window",
            found: "none".to_owned(),
        })?;
        if let Some(batch) = batch.as_deref_mut() {
            batch.add(&report);
        }
        out.push(value);
    }
    Ok(())
}

/// The entity id of one entity's commands, from its first key (the call's own id text: the
/// key is the first view's prefix, then the id, in a hash tag with [`KeyLayout::HashTag`]).
fn entity_of<T: FeatureVector>(cmds: &[Command], layout: KeyLayout) -> &str {
    let Some(cmd) = cmds.first() else {
        return "?";
    };
    let Some(view) = T::VIEWS.first() else {
        // Only aggregations: `{prefix}{id}`.
        let key = cmd.key();
        return key
            .find('{')
            .and_then(|i| key[i + 1..].strip_suffix('}'))
            .unwrap_or(key);
    };
    let id = cmd.key().strip_prefix(view.key_prefix).unwrap_or(cmd.key());
    match layout {
        KeyLayout::HashTag => id
            .strip_prefix('{')
            .and_then(|i| i.strip_suffix('}'))
            .unwrap_or(id),
        _ => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns() {
        assert_eq!(3i64.column(), 3.0);
        assert_eq!(true.column(), 1.0);
        assert!(None::<f64>.column().is_nan());
        assert_eq!(Some(2.5f64).column(), 2.5);
    }

    #[test]
    fn vocab_encodings() {
        let vocab = ["basic", "premium", "vip"];
        assert_eq!(vocab_index(&"vip".to_owned(), &vocab), 2.0);
        assert_eq!(vocab_index(&"gold".to_owned(), &vocab), -1.0);
        assert!(vocab_index(&None::<String>, &vocab).is_nan());
        let mut out = [9.0; 3];
        vocab_onehot(&"premium".to_owned(), &vocab, &mut out);
        assert_eq!(out, [0.0, 1.0, 0.0]);
        vocab_onehot(&"gold".to_owned(), &vocab, &mut out);
        assert_eq!(out, [0.0, 0.0, 0.0]);
        vocab_onehot(&None::<String>, &vocab, &mut out);
        assert!(out.iter().all(|x| x.is_nan()));
    }

    #[test]
    fn lists() {
        let mut out = [0.0; 3];
        list_columns(&vec![1.0f32, 2.0, 3.0], &mut out);
        assert_eq!(out, [1.0, 2.0, 3.0]);
        list_columns(&None::<Vec<f32>>, &mut out);
        assert!(out.iter().all(|x| x.is_nan()));
    }
}
