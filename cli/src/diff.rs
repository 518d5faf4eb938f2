//! `fstore diff`: every change between two registries, each `safe` or `breaking` for the readers
//! and writers of the data already stored under the old one.
//!
//! Data lives at `{namespace}:v{version}:{view}:{entity_id}`, one hash per entity, one field per
//! feature. A change is breaking when a reader or writer built from one registry would misread,
//! fail on, or silently change the meaning of data written under the other; it is safe when both
//! keep working. A higher `[store] version` moves every key to a fresh key space, so under a
//! version bump every otherwise-breaking change is safe (and the bump itself says the new key
//! space starts empty).

use std::fmt;

use fstore_registry::{
    duration_text, AggFeature, Aggregation, DefaultValue, Encode, Feature, ListEncoding, Location,
    Registry, View,
};

use Effect::{Breaking, Safe};

/// Whether a [`Change`] breaks the readers and writers of data stored under the old registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Readers and writers of either registry keep working on the stored data.
    Safe,
    /// A reader or writer would fail on, misread, or see other values in the stored data.
    Breaking,
}

impl ChangeKind {
    /// `"safe"` or `"breaking"`, as printed.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Safe => "safe",
            ChangeKind::Breaking => "breaking",
        }
    }
}

/// One change between two registries, found by [`diff`].
///
/// Its `Display` is the line `fstore diff` prints: `file:line:column: breaking: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// Safe or breaking.
    pub kind: ChangeKind,
    /// The file the change is located in: the new registry's, or the old one's for something
    /// removed.
    pub file: String,
    /// Where: the feature's key for a feature, the view's name in `[views.NAME]` for a view
    /// (also for its `entity`, `ttl` and `max_age`), and 1:1 for `[store]` settings, which the
    /// registry does not locate.
    pub location: Location,
    /// The view the change is in; `None` for `[store]` settings.
    pub view: Option<String>,
    /// The feature the change is in; `None` for a change to a view or to `[store]`.
    pub feature: Option<String>,
    /// What changed, why it matters and what to do, lowercase, names in backticks.
    pub message: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file,
            self.location.line,
            self.location.column,
            self.kind.name(),
            self.message
        )
    }
}

/// Every change from `old` to `new`: `[store]` first, then removed views, then each view of `new`
/// in file order (its own settings, removed features, then each feature in file order).
///
/// Descriptions, comments, formatting and the order of views and features are not changes.
///
/// ```
/// use fstore_registry::Registry;
///
/// let old = Registry::parse(
///     "[entities.user]\n[views.clicks]\nentity = \"user\"\nttl = \"15m\"\n\
///      [views.clicks.features]\nn = \"int\"\n",
///     "old.toml",
/// )
/// .unwrap();
/// let new = Registry::parse(
///     "[entities.user]\n[views.clicks]\nentity = \"user\"\nttl = \"15m\"\n\
///      [views.clicks.features]\nn = \"string\"\n",
///     "new.toml",
/// )
/// .unwrap();
/// let changes = fstore_cli::diff(&old, &new);
/// assert_eq!(changes.len(), 1);
/// assert_eq!(changes[0].kind, fstore_cli::ChangeKind::Breaking);
/// assert!(changes[0]
///     .to_string()
///     .starts_with("new.toml:6:1: breaking: feature `n` of view `clicks` changed type int -> string"));
/// ```
pub fn diff(old: &Registry, new: &Registry) -> Vec<Change> {
    let mut d = Diff {
        old,
        new,
        drafts: Vec::new(),
    };
    d.store();
    for view in &old.views {
        if new.view(&view.name).is_none() {
            d.push(
                At::item(&old.file, view, None),
                format!("view `{}` was removed", view.name),
                Breaking(format!(
                    "readers built from the old registry still read it and find no fresh data; \
                     stop every reader of `{}` before removing it, or bump `version` in [store]",
                    view.name
                )),
            );
        }
    }
    for view in &new.views {
        match old.view(&view.name) {
            None => d.push(
                At::item(&new.file, view, None),
                format!("view `{}` was added", view.name),
                Safe("nothing stored under the old registry uses its keys".into()),
            ),
            Some(before) => d.view(before, view),
        }
    }
    for agg in &old.aggregations {
        if new.aggregation(&agg.name).is_none() {
            d.push(
                At::aggregation(&old.file, agg, None),
                format!("aggregation `{}` was removed", agg.name),
                Breaking(format!(
                    "readers and writers built from the old registry still use it; stop every \
                     reader and writer of `{}` before removing it, or bump `version` in [store]",
                    agg.name
                )),
            );
        }
    }
    for agg in &new.aggregations {
        match old.aggregation(&agg.name) {
            None => d.push(
                At::aggregation(&new.file, agg, None),
                format!("aggregation `{}` was added", agg.name),
                Safe(format!(
                    "nothing stored under the old registry uses its keys; its windows fill from \
                     its first event (the longest after {})",
                    duration_text(agg.longest_window_ms() / 1000)
                )),
            ),
            Some(before) => d.aggregation(before, agg),
        }
    }
    let bump = (new.version > old.version).then_some((old.version, new.version));
    d.drafts
        .into_iter()
        .map(|draft| {
            let (kind, message) = match (draft.effect, bump) {
                (Safe(why), _) => (ChangeKind::Safe, format!("{}: {why}", draft.what)),
                (Breaking(_), Some((from, to))) => (
                    ChangeKind::Safe,
                    format!(
                        "{}; safe: `version` bumped from {from} to {to}, so new data lives under \
                         new keys",
                        draft.what
                    ),
                ),
                (Breaking(why), None) => (ChangeKind::Breaking, format!("{}: {why}", draft.what)),
            };
            Change {
                kind,
                file: draft.at.file.to_owned(),
                location: draft.at.location,
                view: draft.at.view.map(str::to_owned),
                feature: draft.at.feature.map(str::to_owned),
                message,
            }
        })
        .collect()
}

/// The line after the changes: `3 changes: 1 breaking, 2 safe`.
pub fn diff_summary(changes: &[Change]) -> String {
    let breaking = count(changes, ChangeKind::Breaking);
    let noun = if changes.len() == 1 {
        "change"
    } else {
        "changes"
    };
    format!(
        "{} {noun}: {breaking} breaking, {} safe",
        changes.len(),
        changes.len() - breaking
    )
}

/// The changes as one JSON object, for CI tools:
/// `{"changes":[{"kind":"breaking","file":…,"line":…,"column":…,"view":…,"feature":…,"message":…}],"breaking":1,"safe":0}`
/// (`view` and `feature` are `null` where [`Change`] has `None`).
pub fn diff_json(changes: &[Change]) -> String {
    let list: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| {
            serde_json::json!({
                "kind": c.kind.name(),
                "file": c.file,
                "line": c.location.line,
                "column": c.location.column,
                "view": c.view,
                "feature": c.feature,
                "message": c.message,
            })
        })
        .collect();
    serde_json::json!({
        "changes": list,
        "breaking": count(changes, ChangeKind::Breaking),
        "safe": count(changes, ChangeKind::Safe),
    })
    .to_string()
}

fn count(changes: &[Change], kind: ChangeKind) -> usize {
    changes.iter().filter(|c| c.kind == kind).count()
}

/// What a change does to stored data, with why and what to do.
enum Effect {
    Safe(String),
    Breaking(String),
}

/// Where a change is reported.
#[derive(Clone)]
struct At<'r> {
    file: &'r str,
    location: Location,
    view: Option<&'r str>,
    feature: Option<&'r str>,
}

impl<'r> At<'r> {
    fn store(registry: &'r Registry) -> At<'r> {
        At {
            file: &registry.file,
            location: Location { line: 1, column: 1 },
            view: None,
            feature: None,
        }
    }

    /// At `feature` of aggregation `agg` in `file`, or at the aggregation itself.
    fn aggregation(file: &'r str, agg: &'r Aggregation, feature: Option<&'r AggFeature>) -> At<'r> {
        At {
            file,
            location: feature.map_or(agg.location, |f| f.location),
            view: Some(&agg.name),
            feature: feature.map(|f| f.name.as_str()),
        }
    }

    /// At `feature` of `view` in `file`, or at `view` itself.
    fn item(file: &'r str, view: &'r View, feature: Option<&'r Feature>) -> At<'r> {
        At {
            file,
            location: feature.map_or(view.location, |f| f.location),
            view: Some(&view.name),
            feature: feature.map(|f| f.name.as_str()),
        }
    }
}

struct Draft<'r> {
    at: At<'r>,
    what: String,
    effect: Effect,
}

struct Diff<'r> {
    old: &'r Registry,
    new: &'r Registry,
    drafts: Vec<Draft<'r>>,
}

impl<'r> Diff<'r> {
    fn push(&mut self, at: At<'r>, what: String, effect: Effect) {
        self.drafts.push(Draft { at, what, effect });
    }

    fn store(&mut self) {
        let (old, new) = (self.old, self.new);
        if old.namespace != new.namespace {
            self.push(
                At::store(new),
                format!(
                    "`namespace` in [store] changed from `{}` to `{}`",
                    old.namespace, new.namespace
                ),
                Breaking(format!(
                    "every key moves from `{}` to `{}`, where readers of the new registry find \
                     no data until every view is re-materialised; keep the namespace, or bump \
                     `version` and backfill",
                    key_space(&old.namespace, old.version),
                    key_space(&new.namespace, old.version),
                )),
            );
        }
        if new.version > old.version {
            self.push(
                At::store(new),
                format!(
                    "`version` in [store] bumped from {} to {}",
                    old.version, new.version
                ),
                Safe(format!(
                    "keys move to `{}`, a fresh key space that starts empty: data under `{}` is \
                     untouched for old readers; re-materialise every view (write or backfill) \
                     before readers switch to the new registry",
                    key_space(&new.namespace, new.version),
                    key_space(&old.namespace, old.version),
                )),
            );
        } else if new.version < old.version {
            self.push(
                At::store(new),
                format!(
                    "`version` in [store] lowered from {} to {}",
                    old.version, new.version
                ),
                Breaking(format!(
                    "keys move back to `{}`, which may hold data in an older layout; bump to {} \
                     instead",
                    key_space(&new.namespace, new.version),
                    old.version.saturating_add(1),
                )),
            );
        }
    }

    /// The changes of one aggregation: its entity and event fields concern writers, its
    /// features readers, and a window read at another resolution or longer than before finds
    /// buckets that were never kept.
    fn aggregation(&mut self, old: &'r Aggregation, new: &'r Aggregation) {
        let name = &new.name;
        let file = &self.new.file;
        if old.entity != new.entity {
            self.push(
                At::aggregation(file, new, None),
                format!(
                    "aggregation `{name}` changed entity `{}` -> `{}`",
                    old.entity, new.entity
                ),
                Breaking(format!(
                    "its buckets are keyed by `{}` ids, which readers would now take for `{}` \
                     ids; add a new aggregation instead, or bump `version` in [store]",
                    old.entity, new.entity
                )),
            );
        }
        for field in &old.event {
            match new.event_field(&field.name) {
                None => self.push(
                    At::aggregation(file, new, None),
                    format!(
                        "event field `{}` of aggregation `{name}` was removed",
                        field.name
                    ),
                    Breaking(
                        "writers built from the old registry still send it, and their events \
                         are refused; stop them first"
                            .into(),
                    ),
                ),
                Some(now) if now.ty != field.ty => self.push(
                    At::aggregation(file, new, None),
                    format!(
                        "event field `{}` of aggregation `{name}` changed type {} -> {}",
                        field.name,
                        field.ty.name(),
                        now.ty.name()
                    ),
                    Breaking(
                        "writers built from the old registry send the old type, and the buckets \
                         already kept hold it; add a new field instead"
                            .into(),
                    ),
                ),
                Some(_) => {}
            }
        }
        for field in &new.event {
            if old.event_field(&field.name).is_none() {
                self.push(
                    At::aggregation(file, new, None),
                    format!(
                        "event field `{}` of aggregation `{name}` was added",
                        field.name
                    ),
                    Breaking(
                        "every event field is required: writers built from the old registry do \
                         not send it, and their events are refused; update every writer first"
                            .into(),
                    ),
                );
            }
        }
        for f in &old.features {
            if new.feature(&f.name).is_none() {
                self.push(
                    At::aggregation(&self.old.file, old, Some(f)),
                    format!("feature `{}` of aggregation `{name}` was removed", f.name),
                    Breaking(
                        "readers built from the old registry still read it; stop them first".into(),
                    ),
                );
            }
        }
        for f in &new.features {
            let at = At::aggregation(file, new, Some(f));
            let Some(before) = old.feature(&f.name) else {
                self.push(
                    at,
                    format!("feature `{}` of aggregation `{name}` was added", f.name),
                    Safe(format!(
                        "it is computed from the buckets kept for it, complete once {} of events \
                         were recorded with the new registry",
                        f.window_text
                    )),
                );
                continue;
            };
            if before.function != f.function || before.of != f.of {
                self.push(
                    at,
                    format!(
                        "feature `{}` of aggregation `{name}` changed from `{}` to `{}`",
                        f.name,
                        describe(before),
                        describe(f)
                    ),
                    Breaking(
                        "readers built from the old registry expect the old value and type; add \
                         a new feature instead"
                            .into(),
                    ),
                );
            } else if before.resolution_ms != f.resolution_ms || f.window_ms > before.window_ms {
                self.push(
                    at,
                    format!(
                        "feature `{}` of aggregation `{name}` window changed from {} to {}",
                        f.name, before.window_text, f.window_text
                    ),
                    Breaking(format!(
                        "the buckets it now reads were not all kept: it undercounts until {} of \
                         events were recorded with the new registry; add a new feature instead",
                        f.window_text
                    )),
                );
            } else if f.window_ms < before.window_ms {
                self.push(
                    at,
                    format!(
                        "feature `{}` of aggregation `{name}` window shortened from {} to {}",
                        f.name, before.window_text, f.window_text
                    ),
                    Safe(
                        "the buckets it reads are kept; its values change meaning for readers"
                            .into(),
                    ),
                );
            }
        }
    }

    fn view(&mut self, old: &'r View, new: &'r View) {
        let name = &new.name;
        let at = At::item(&self.new.file, new, None);
        if old.entity != new.entity {
            self.push(
                at.clone(),
                format!(
                    "view `{name}` changed entity `{}` -> `{}`",
                    old.entity, new.entity
                ),
                Breaking(format!(
                    "its rows are keyed by `{}` ids, which readers would now take for `{}` ids; \
                     add a new view instead, or bump `version` in [store]",
                    old.entity, new.entity
                )),
            );
        }
        if new.ttl_seconds < old.ttl_seconds {
            self.push(
                at.clone(),
                format!(
                    "view `{name}` `ttl` shortened from {} to {}",
                    old.ttl_text, new.ttl_text
                ),
                Breaking(format!(
                    "rows written from now on expire earlier than readers expect; check that \
                     every writer refreshes them within {}, or bump `version` in [store]",
                    new.ttl_text
                )),
            );
        } else if new.ttl_seconds > old.ttl_seconds {
            self.push(
                at.clone(),
                format!(
                    "view `{name}` `ttl` lengthened from {} to {}",
                    old.ttl_text, new.ttl_text
                ),
                Safe(
                    "rows live longer; rows already stored keep their expiry until rewritten"
                        .into(),
                ),
            );
        }
        let max_age = match (old.max_age_seconds, new.max_age_seconds) {
            (Some(from), Some(to)) if from != to => Some(format!(
                "view `{name}` `max_age` changed from {} to {}",
                duration_text(from),
                duration_text(to)
            )),
            (None, Some(to)) => Some(format!(
                "view `{name}` `max_age` {} added",
                duration_text(to)
            )),
            (Some(from), None) => Some(format!(
                "view `{name}` `max_age` {} removed",
                duration_text(from)
            )),
            _ => None,
        };
        if let Some(what) = max_age {
            self.push(
                at,
                what,
                Safe(
                    "nothing stored changes, only which rows feature vectors treat as too old"
                        .into(),
                ),
            );
        }
        for feature in &old.features {
            if new.feature(&feature.name).is_none() {
                self.push(
                    At::item(&self.old.file, old, Some(feature)),
                    format!("feature `{}` of view `{name}` was removed", feature.name),
                    Breaking(format!(
                        "readers built from the old registry still read it, and rows written \
                         without it lack it; stop every reader of `{}` first, or bump `version` \
                         in [store]",
                        feature.name
                    )),
                );
            }
        }
        for feature in &new.features {
            match old.feature(&feature.name) {
                None => self.added(new, feature),
                Some(before) => self.feature(new, before, feature),
            }
        }
    }

    fn added(&mut self, view: &'r View, feature: &'r Feature) {
        let what = format!(
            "feature `{}` of view `{}` was added",
            feature.name, view.name
        );
        let effect = match (&feature.default, feature.optional) {
            (Some(default), _) => Safe(format!(
                "rows already stored lack it and read as its default {}",
                default_text(default)
            )),
            (None, true) => Safe("rows already stored lack it and read as absent (`None`)".into()),
            (None, false) => Breaking(
                "rows already stored lack it, so typed readers fail on them; give it a \
                 `default` or `optional = true`, or bump `version` in [store]"
                    .into(),
            ),
        };
        self.push(At::item(&self.new.file, view, Some(feature)), what, effect);
    }

    fn feature(&mut self, view: &'r View, old: &'r Feature, new: &'r Feature) {
        let file: &'r str = &self.new.file;
        let at = || At::item(file, view, Some(new));
        let of = format!("feature `{}` of view `{}`", new.name, view.name);
        if old.ty != new.ty {
            // Every other setting belongs to the type; the type change says it all.
            self.push(
                at(),
                format!("{of} changed type {} -> {}", old.ty.name(), new.ty.name()),
                Breaking(
                    "existing values no longer decode; bump `version` in [store] or add a new \
                     feature instead"
                        .into(),
                ),
            );
            return;
        }
        if let Some((what, effect)) = absence(&of, old, new) {
            self.push(at(), what, effect);
        }
        if old.len != new.len {
            self.push(
                at(),
                format!(
                    "{of} changed `len` {} -> {}",
                    len_text(old.len),
                    len_text(new.len)
                ),
                Breaking(format!(
                    "stored lists of {} elements fail the length check on every read; bump \
                     `version` in [store] or add a new feature instead",
                    len_text(old.len)
                )),
            );
        }
        if old.encoding != new.encoding {
            let name = |e: Option<ListEncoding>| e.map_or("none", |e| e.name());
            self.push(
                at(),
                format!(
                    "{of} changed `encoding` {} -> {}",
                    name(old.encoding),
                    name(new.encoding)
                ),
                Breaking(
                    "stored bytes no longer decode; bump `version` in [store] or add a new \
                     feature instead"
                        .into(),
                ),
            );
        }
        self.vocab(&of, view, old, new);
    }

    fn vocab(&mut self, of: &str, view: &'r View, old: &'r Feature, new: &'r Feature) {
        let file: &'r str = &self.new.file;
        let at = || At::item(file, view, Some(new));
        let (before, after) = match (&old.vocab, &new.vocab) {
            (None, None) => return,
            (None, Some(_)) => {
                self.push(
                    at(),
                    format!("{of} gained a `vocab`"),
                    Safe("stored strings are unchanged; it can now be model input".into()),
                );
                return;
            }
            (Some(_), None) => {
                self.push(
                    at(),
                    format!("{of} lost its `vocab`"),
                    Breaking(
                        "it is no longer model input, so models reading its columns change; \
                         keep the `vocab`, or bump `version` in [store]"
                            .into(),
                    ),
                );
                return;
            }
            (Some(before), Some(after)) => (before, after),
        };
        let removed: Vec<&String> = before.iter().filter(|v| !after.contains(v)).collect();
        if !removed.is_empty() {
            self.push(
                at(),
                format!("{of} removed `vocab` {}", quoted_list(&removed)),
                Breaking(
                    "model inputs change: those values now encode as unknown and the columns \
                     after them move; retrain the models that read it, or bump `version` in \
                     [store]"
                        .into(),
                ),
            );
        }
        let kept: Vec<&String> = before.iter().filter(|v| after.contains(v)).collect();
        let in_order = after.len() >= kept.len() && after.iter().zip(&kept).all(|(a, k)| a == *k);
        if !in_order {
            self.push(
                at(),
                format!("{of} reordered its `vocab` or inserted entries before the end"),
                Breaking(
                    "values move to other index and one-hot columns, so models read other \
                     inputs; add new entries at the end only"
                        .into(),
                ),
            );
        } else if after.len() > kept.len() {
            let appended: Vec<&String> = after[kept.len()..].iter().collect();
            self.push(
                at(),
                format!("{of} appended {} to its `vocab`", quoted_list(&appended)),
                Safe("existing entries keep their columns".into()),
            );
        }
        let encode = |f: &Feature| f.encode.unwrap_or(Encode::OneHot);
        if encode(old) != encode(new) {
            self.push(
                at(),
                format!(
                    "{of} changed `encode` {} -> {}",
                    encode_name(encode(old)),
                    encode_name(encode(new))
                ),
                Breaking(
                    "its model input columns change; retrain the models that read it, or add a \
                     new feature instead"
                        .into(),
                ),
            );
        }
    }
}

/// What an absent value reads as.
enum Absent {
    /// A required feature: typed readers fail.
    Error,
    /// `optional = true`.
    None,
    /// The default, as text.
    Default(String),
}

fn absent(feature: &Feature) -> Absent {
    match (&feature.default, feature.optional) {
        (Some(d), _) => Absent::Default(default_text(d)),
        (None, true) => Absent::None,
        (None, false) => Absent::Error,
    }
}

/// The change to what an absent value reads as (`optional`, `default`), if any.
fn absence(of: &str, old: &Feature, new: &Feature) -> Option<(String, Effect)> {
    let change = match (absent(old), absent(new)) {
        (Absent::Error, Absent::Error) | (Absent::None, Absent::None) => return None,
        (Absent::Default(a), Absent::Default(b)) if a == b => return None,
        (Absent::Error, Absent::None) => (
            format!("{of} became optional (`optional` false -> true)"),
            Safe("absent values read as `None` instead of failing".into()),
        ),
        (Absent::Error, Absent::Default(d)) => (
            format!("{of} gained the default {d}"),
            Safe("absent values read as the default instead of failing".into()),
        ),
        (Absent::None, Absent::Error) => (
            format!("{of} is no longer optional (`optional` true -> false) and has no default"),
            Breaking(
                "rows that lack it, which were valid, now fail typed readers; give it a \
                 `default`, keep it optional, or bump `version` in [store]"
                    .into(),
            ),
        ),
        (Absent::None, Absent::Default(d)) => (
            format!(
                "{of} is no longer optional (`optional` true -> false) but gained the default {d}"
            ),
            Safe("absent values read as the default instead of `None`".into()),
        ),
        (Absent::Default(d), Absent::Error) => (
            format!("{of} lost its default {d}"),
            Breaking(
                "rows that lack it now fail typed readers; keep the default, make it \
                 `optional = true`, or bump `version` in [store]"
                    .into(),
            ),
        ),
        (Absent::Default(d), Absent::None) => (
            format!("{of} lost its default {d} and became optional"),
            Safe("absent values read as `None` instead of the default".into()),
        ),
        (Absent::Default(a), Absent::Default(b)) => (
            format!("{of} changed its default {a} -> {b}"),
            Breaking(
                "readers of absent values now see another value than the writers meant; keep \
                 the default, or bump `version` in [store]"
                    .into(),
            ),
        ),
    };
    Some(change)
}

/// A default as `features.toml` writes it: `0`, `0.5`, `"basic"`, `false`.
fn default_text(default: &DefaultValue) -> String {
    match default {
        DefaultValue::Int(i) => i.to_string(),
        DefaultValue::Float(x) => format!("{x:?}"),
        DefaultValue::String(s) => format!("{s:?}"),
        DefaultValue::Bool(b) => b.to_string(),
    }
}

fn len_text(len: Option<usize>) -> String {
    len.map_or_else(|| "none".into(), |n| n.to_string())
}

fn encode_name(encode: Encode) -> &'static str {
    match encode {
        Encode::OneHot => "onehot",
        Encode::Index => "index",
    }
}

fn quoted_list(values: &[&String]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `fs:v1:`
fn key_space(namespace: &str, version: u32) -> String {
    format!("{namespace}:v{version}:")
}

/// `avg(amount) over 24h`.
fn describe(f: &AggFeature) -> String {
    match &f.of {
        Some(of) => format!("{}({of}) over {}", f.function.name(), f.window_text),
        None => format!("{} over {}", f.function.name(), f.window_text),
    }
}

#[cfg(test)]
mod tests {
    use fstore_registry::Registry;

    use super::{diff, ChangeKind};

    fn registry(features: &str) -> Registry {
        let source = format!(
            "[entities.user]\n[views.v]\nentity = \"user\"\nttl = \"1h\"\n[views.v.features]\n{features}"
        );
        Registry::parse(&source, "features.toml").unwrap()
    }

    /// The kind and message of every change between two feature tables.
    fn changes(old: &str, new: &str) -> Vec<(ChangeKind, String)> {
        diff(&registry(old), &registry(new))
            .into_iter()
            .map(|c| (c.kind, c.message))
            .collect()
    }

    #[test]
    fn a_type_change_is_one_change_whatever_else_changed() {
        let found = changes(
            "s = { type = \"string\", vocab = [\"a\"], default = \"a\" }\n",
            "s = { type = \"float_list\", len = 2 }\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, ChangeKind::Breaking);
        assert!(found[0].1.contains("changed type string -> float_list"));
    }

    #[test]
    fn an_optional_feature_that_gains_a_default_is_safe() {
        let found = changes(
            "n = { type = \"int\", optional = true }\n",
            "n = { type = \"int\", default = 0 }\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, ChangeKind::Safe);
        assert!(found[0].1.contains("gained the default 0"), "{found:?}");
    }

    #[test]
    fn vocab_removals_and_appends_are_reported_apart() {
        let found = changes(
            "s = { type = \"string\", vocab = [\"a\", \"b\", \"c\"] }\n",
            "s = { type = \"string\", vocab = [\"a\", \"c\", \"d\"] }\n",
        );
        let kinds: Vec<ChangeKind> = found.iter().map(|c| c.0).collect();
        assert_eq!(kinds, [ChangeKind::Breaking, ChangeKind::Safe], "{found:?}");
        assert!(found[0].1.contains("removed `vocab` \"b\""), "{found:?}");
        assert!(found[1].1.contains("appended \"d\""), "{found:?}");
    }

    #[test]
    fn losing_or_gaining_a_vocab() {
        let lost = changes(
            "s = { type = \"string\", vocab = [\"a\"] }\n",
            "s = \"string\"\n",
        );
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].0, ChangeKind::Breaking);
        let gained = changes(
            "s = \"string\"\n",
            "s = { type = \"string\", vocab = [\"a\"] }\n",
        );
        assert_eq!(gained.len(), 1);
        assert_eq!(gained[0].0, ChangeKind::Safe);
    }

    #[test]
    fn float_defaults_compare_as_written() {
        assert!(changes(
            "x = { type = \"float\", default = nan }\n",
            "x = { type = \"float\", default = nan }\n",
        )
        .is_empty());
    }
}
