//! The `features.toml` registry of [fstore](https://docs.rs/fstore): the model, its parser and
//! validator, and a stable fingerprint. Plain data: the code generator behind `fstore::registry!`
//! and `fstore codegen` is the `fstore-codegen` crate, so that the runtime, which reads registries
//! too, links no `proc-macro2` or `quote`.
//!
//! A registry is how writers (Python or Rust batch jobs) and model servers share one schema:
//!
//! ```toml
//! [store]
//! namespace = "fs"          # default "fs"
//! version = 1               # default 1 → keys fs:v1:…
//!
//! [entities.user]
//! description = "A customer account"
//!
//! [views.user_profile]
//! entity = "user"
//! ttl = "1h"
//! description = "Slow-moving profile features, refreshed daily"
//!
//! [views.user_profile.features]
//! age = "int"                                                   # short form
//! lifetime_value = { type = "float", description = "Sum of order values, EUR" }
//! is_premium = { type = "bool", default = false }
//! country = { type = "string", optional = true }
//! embedding = { type = "float_list", len = 8 }               # stored as JSON text
//! item_vector = { type = "float_list", len = 64, encoding = "f32le" }   # or as f32 bytes
//!
//! [aggregations.user_txn]                  # real-time aggregation, computed inside Valkey
//! entity = "user"
//! granularity = ["1m", "1h"]               # bucket sizes, finest first
//!
//! [aggregations.user_txn.event]            # the typed fields of each event
//! amount = "float"
//! merchant = { type = "string", description = "Merchant id" }
//!
//! [aggregations.user_txn.features]
//! txn_count_10m = { fn = "count", window = "10m" }
//! amount_sum_1h = { fn = "sum", of = "amount", window = "1h" }
//! distinct_merchants_24h = { fn = "distinct", of = "merchant", window = "24h" }
//! ```
//!
//! Feature types: `int` (`i64`), `float` (`f64`), `string` (`String`), `bool`, `float_list`
//! (`Vec<f32>`). A feature with `optional = true` is an `Option` in generated structs; one with a
//! `default` reads as the default when absent; any other feature is required.
//!
//! A `float_list` declares its `len` (checked on every read and write) and its `encoding`
//! ([`ListEncoding`]): `"json"` (the default), the text Python's `json.dumps(list)` writes
//! (`[0.5, 1.5, -2.0]`), which text-only readers such as the Python library read; or `"f32le"`,
//! little-endian `f32` bytes, 4 per element: a quarter of the size, for readers that all declare
//! it. A value stored in the other encoding, or of another length, is a read error, never numbers.
//!
//! An aggregation ([`Aggregation`]) turns a stream of typed events into windowed features
//! ([`AggFunction`]: `count`, `sum`, `avg`, `min`, `max`, `last`, approximate `distinct`), kept in
//! Valkey as buckets of its `granularity` sizes: each feature reads its `window` as at most
//! [`MAX_BUCKETS_PER_WINDOW`] buckets of the finest size that divides it. Its `[…event]` table
//! (optional: a `count` needs no fields) declares `int`, `float`, `string` and `bool` fields. An
//! aggregation's name shares the key namespace with views, so no view (and no entity) may have
//! it; its features may be named like event fields, since features are read and fields written.
//!
//! Names of entities, views, aggregations, event fields and features must be identifiers (ASCII letters, digits and `_`, not
//! starting with a digit), because they become struct and field names. A feature named like a
//! Rust keyword (`type`, `match`, …) becomes a raw identifier (`r#type`) and is stored under its
//! plain name. Names starting with `_` are reserved for metadata such as `_updated_at`.
//!
//! ```
//! let registry = fstore_registry::Registry::parse(
//!     "[entities.user]\n[views.clicks]\nentity = \"user\"\nttl = \"15m\"\n[views.clicks.features]\nn = \"int\"\n",
//!     "inline.toml",
//! ).unwrap();
//! assert_eq!(registry.view("clicks").unwrap().ttl_seconds, 900);
//!
//! let errors = fstore_registry::Registry::parse("[views.x]\nentity = 1\n", "bad.toml").unwrap_err();
//! assert!(errors.to_string().contains("bad.toml:2:10: `entity` must be a string, found integer"));
//! ```

mod diag;
mod duration;
mod names;
mod parse;

use std::fmt::Write as _;
use std::path::Path;

pub use diag::{Diagnostic, Errors, Location};

/// The key prefix of a view, `{namespace}:v{version}:{view}:` (`fs:v1:user_profile:`), to which
/// an entity id is appended. The one definition of the key layout: typed views, vectors and the
/// dynamic API all build their keys from it.
pub fn key_prefix(namespace: &str, version: u32, view: &str) -> String {
    format!("{namespace}:v{version}:{view}:")
}
pub use duration::{duration_text, parse_seconds, seconds_in_range, MAX_DURATION_SECONDS};
pub use names::{did_you_mean, identifier_problem, is_keyword, pascal_case, suggestion};

/// A parsed and validated registry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Registry {
    /// The file name used in diagnostics.
    pub file: String,
    /// The key namespace (`[store] namespace`, default `fs`).
    pub namespace: String,
    /// The layout version (`[store] version`, default 1).
    pub version: u32,
    /// The entities, in file order.
    pub entities: Vec<Entity>,
    /// The views, in file order.
    pub views: Vec<View>,
    /// The real-time aggregations, in file order.
    pub aggregations: Vec<Aggregation>,
}

/// An entity: what an id identifies (a user, an item).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Entity {
    /// The entity's name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// Where it is defined.
    pub location: Location,
}

/// A feature view: one hash per entity, with a fixed set of typed features and a TTL.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct View {
    /// The view's name, part of every key.
    pub name: String,
    /// The entity it describes.
    pub entity: String,
    /// The expiry every write sets, in seconds.
    pub ttl_seconds: u64,
    /// The TTL as written (`"1h"`), for docs.
    pub ttl_text: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// `max_age`: feature vectors treat rows older than this many seconds as missing.
    pub max_age_seconds: Option<u64>,
    /// The features, in file order.
    pub features: Vec<Feature>,
    /// Where the view's table starts.
    pub location: Location,
}

/// One feature of a view.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Feature {
    /// The stored name (hash field).
    pub name: String,
    /// Its type.
    pub ty: FeatureType,
    /// Its description, if any.
    pub description: Option<String>,
    /// The value read when it is absent, if any.
    pub default: Option<DefaultValue>,
    /// `optional = true`: absent reads as `None`.
    pub optional: bool,
    /// The declared length of a `float_list`.
    pub len: Option<usize>,
    /// How a `float_list` is stored (`encoding = "..."`, default [`ListEncoding::Json`]);
    /// `None` for the other types.
    pub encoding: Option<ListEncoding>,
    /// The vocabulary of a `string` feature, for model input.
    pub vocab: Option<Vec<String>>,
    /// How a `string` feature with a `vocab` becomes model input (default one-hot).
    pub encode: Option<Encode>,
    /// Where the feature is defined (its key).
    pub location: Location,
}

/// The feature types of a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureType {
    /// `int`: `i64` (also read into `i32`, `u32`, `u64`).
    Int,
    /// `float`: `f64` (also read into `f32`).
    Float,
    /// `string`: `String`.
    String,
    /// `bool`.
    Bool,
    /// `float_list`: `Vec<f32>`, stored in its declared [`ListEncoding`] (JSON text by default).
    FloatList,
}

impl FeatureType {
    /// Every type, in the order the docs list them.
    pub const ALL: [FeatureType; 5] = [
        FeatureType::Int,
        FeatureType::Float,
        FeatureType::String,
        FeatureType::Bool,
        FeatureType::FloatList,
    ];

    /// The name used in `features.toml`.
    pub fn name(self) -> &'static str {
        match self {
            FeatureType::Int => "int",
            FeatureType::Float => "float",
            FeatureType::String => "string",
            FeatureType::Bool => "bool",
            FeatureType::FloatList => "float_list",
        }
    }

    /// The type of `name`, if it is one.
    pub fn from_name(name: &str) -> Option<FeatureType> {
        FeatureType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The Rust type generated code uses: the first of [`rust_types`](Self::rust_types).
    pub fn rust_type(self) -> &'static str {
        self.rust_types()[0]
    }

    /// The Rust types a hand-written struct may use for it (each also inside an `Option`).
    pub fn rust_types(self) -> &'static [&'static str] {
        match self {
            FeatureType::Int => &["i64", "i32", "u32", "u64"],
            FeatureType::Float => &["f64", "f32"],
            FeatureType::String => &["String"],
            FeatureType::Bool => &["bool"],
            FeatureType::FloatList => &["Vec<f32>"],
        }
    }
}

/// The most buckets one window may read: a feature's window is read at the finest granularity
/// that divides it into at most this many buckets, and a window that no granularity divides
/// into so few is an error that names the granularity to add.
pub const MAX_BUCKETS_PER_WINDOW: u32 = 64;

/// The most bucket sizes an aggregation's `granularity` may list: every event updates one bucket
/// of each size.
pub const MAX_GRANULARITIES: usize = 4;

/// A real-time aggregation: events of one entity, summed up in buckets inside Valkey and read as
/// windowed features.
///
/// ```toml
/// [aggregations.user_txn]
/// entity = "user"
/// granularity = ["1m", "1h"]       # bucket sizes, finest first; "1m" alone is one size
///
/// [aggregations.user_txn.event]
/// amount = "float"
///
/// [aggregations.user_txn.features]
/// txn_count_10m = { fn = "count", window = "10m" }          # 10 buckets of 1m
/// amount_avg_24h = { fn = "avg", of = "amount", window = "24h" }   # 24 buckets of 1h
/// ```
///
/// Each size of `granularity` is at least one second and a whole multiple of the size before
/// it; there are at most [`MAX_GRANULARITIES`]. Each feature's window is a whole number of the
/// finest size and is read at the finest size that divides it into at most
/// [`MAX_BUCKETS_PER_WINDOW`] buckets ([`AggFeature::resolution_ms`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Aggregation {
    /// The aggregation's name, part of every key (it shares the namespace of view names).
    pub name: String,
    /// The entity whose events it aggregates.
    pub entity: String,
    /// The bucket sizes in milliseconds, finest first, each a multiple of the one before.
    pub granularity_ms: Vec<u64>,
    /// Its description, if any.
    pub description: Option<String>,
    /// The fields of each event, in file order (empty when only events are counted).
    pub event: Vec<EventField>,
    /// The windowed features, in file order; never empty.
    pub features: Vec<AggFeature>,
    /// Where the aggregation's table starts.
    pub location: Location,
}

/// One typed field of an aggregation's events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventField {
    /// The field's name.
    pub name: String,
    /// Its type: `int`, `float`, `string` or `bool` (never `float_list`).
    pub ty: FeatureType,
    /// Its description, if any.
    pub description: Option<String>,
    /// Where the field is defined (its key).
    pub location: Location,
}

/// One windowed feature of an aggregation, such as `{ fn = "sum", of = "amount", window = "1h" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AggFeature {
    /// The feature's name.
    pub name: String,
    /// What it computes over the window.
    pub function: AggFunction,
    /// The event field it reads; `None` only for [`AggFunction::Count`].
    pub of: Option<String>,
    /// The window, in milliseconds: the events of the last `window_ms` count.
    pub window_ms: u64,
    /// The window as written (`"24h"`), or its seconds (`"86400s"`), for docs.
    pub window_text: String,
    /// The bucket size the window is read at: the finest granularity `g` that divides
    /// `window_ms` with `window_ms / g <= MAX_BUCKETS_PER_WINDOW`.
    pub resolution_ms: u64,
    /// How many buckets of `resolution_ms` the window spans: `window_ms / resolution_ms`.
    pub buckets: u32,
    /// Its description, if any.
    pub description: Option<String>,
    /// Where the feature is defined (its key).
    pub location: Location,
}

/// What an aggregation feature computes over the events of its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggFunction {
    /// `count`: the number of events (no `of`); 0 when there are none.
    Count,
    /// `sum`: the sum of an `int` or `float` field; 0 when there are no events.
    Sum,
    /// `avg`: the mean of an `int` or `float` field; `None` when there are no events.
    Avg,
    /// `min`: the smallest value of an `int` or `float` field; `None` when there are no events.
    Min,
    /// `max`: the largest value of an `int` or `float` field; `None` when there are no events.
    Max,
    /// `last`: the value of the latest event, of a field of any event type; `None` when there
    /// are no events.
    Last,
    /// `distinct`: the approximate number of distinct values of an `int` or `string` field.
    Distinct,
}

impl AggFunction {
    /// Every function, in the order the docs list them.
    pub const ALL: [AggFunction; 7] = [
        AggFunction::Count,
        AggFunction::Sum,
        AggFunction::Avg,
        AggFunction::Min,
        AggFunction::Max,
        AggFunction::Last,
        AggFunction::Distinct,
    ];

    /// The name used in `features.toml` (`fn = "sum"`).
    pub fn name(self) -> &'static str {
        match self {
            AggFunction::Count => "count",
            AggFunction::Sum => "sum",
            AggFunction::Avg => "avg",
            AggFunction::Min => "min",
            AggFunction::Max => "max",
            AggFunction::Last => "last",
            AggFunction::Distinct => "distinct",
        }
    }

    /// The function called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<AggFunction> {
        AggFunction::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Every function's name, for messages.
    pub fn names() -> [&'static str; 7] {
        AggFunction::ALL.map(AggFunction::name)
    }

    /// `true` when it reads an event field (`of`): every function but `count`.
    pub fn takes_of(self) -> bool {
        self != AggFunction::Count
    }

    /// `true` when it may read an event field of type `ty`: `sum`, `avg`, `min` and `max` read
    /// `int` and `float`; `last` reads any event type; `distinct` reads `int` and `string`;
    /// `count` reads no field.
    pub fn accepts(self, ty: FeatureType) -> bool {
        use FeatureType as T;
        match self {
            AggFunction::Count => false,
            AggFunction::Sum | AggFunction::Avg | AggFunction::Min | AggFunction::Max => {
                matches!(ty, T::Int | T::Float)
            }
            AggFunction::Last => ty != T::FloatList,
            AggFunction::Distinct => matches!(ty, T::Int | T::String),
        }
    }

    /// The Rust type of its result over a field of type `of` (`None` for `count`): `count`
    /// `i64`; `sum` `i64` over an int, `f64` over a float; `avg` `Option<f64>`; `min` and `max`
    /// `Option<i64>` or `Option<f64>`; `last` `Option<T>` of the field's Rust type (`i64`, `f64`,
    /// `String`, `bool`); `distinct` `u64`. A pairing the registry rejects (see
    /// [`accepts`](Self::accepts)) gets the type the function has over a float.
    pub fn result_rust_type(self, of: Option<FeatureType>) -> &'static str {
        use FeatureType as T;
        match (self, of) {
            (AggFunction::Count, _) => "i64",
            (AggFunction::Distinct, _) => "u64",
            (AggFunction::Avg, _) => "Option<f64>",
            (AggFunction::Sum, Some(T::Int)) => "i64",
            (AggFunction::Sum, _) => "f64",
            (AggFunction::Min | AggFunction::Max, Some(T::Int)) => "Option<i64>",
            (AggFunction::Min | AggFunction::Max, _) => "Option<f64>",
            (AggFunction::Last, Some(T::Int)) => "Option<i64>",
            (AggFunction::Last, Some(T::String)) => "Option<String>",
            (AggFunction::Last, Some(T::Bool)) => "Option<bool>",
            (AggFunction::Last, Some(T::FloatList)) => "Option<Vec<f32>>",
            (AggFunction::Last, Some(T::Float) | None) => "Option<f64>",
        }
    }
}

/// How a string feature with a vocabulary becomes model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encode {
    /// `encode = "onehot"`: one column per vocabulary entry; unknown → all zero.
    OneHot,
    /// `encode = "index"`: one column, the entry's position; unknown → -1.
    Index,
}

/// How a `float_list` feature is stored: `encoding = "json"` (the default) or `"f32le"`.
///
/// Every reader and writer of a feature must use its encoding: a value in the other one is a
/// read error naming the key and the feature, never numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ListEncoding {
    /// `"json"`: the text Python's `json.dumps(list_of_floats)` writes, `[0.5, 1.5, -2.0]`
    /// (`[]` when empty; `NaN`, `Infinity`, `-Infinity` for the non-finite values), each element
    /// the shortest text that reads back as the same `f32`. Any JSON array of numbers is read.
    /// Readable by text-only readers, such as the Python library's whole-entity read.
    #[default]
    Json,
    /// `"f32le"`: little-endian IEEE 754 `f32` bytes, 4 per element, exactly as stored in memory
    /// (`numpy.asarray(v, dtype="<f4").tobytes()`): compact and exact to the bit, but binary.
    F32Le,
}

impl ListEncoding {
    /// Every encoding, the default first.
    pub const ALL: [ListEncoding; 2] = [ListEncoding::Json, ListEncoding::F32Le];

    /// The name used in `features.toml` and in `#[fstore(encoding = "...")]`.
    pub fn name(self) -> &'static str {
        match self {
            ListEncoding::Json => "json",
            ListEncoding::F32Le => "f32le",
        }
    }

    /// The encoding called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<ListEncoding> {
        ListEncoding::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Every encoding's name, for messages.
    pub fn names() -> [&'static str; 2] {
        ListEncoding::ALL.map(ListEncoding::name)
    }
}

/// A feature's default value.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// For an `int` feature.
    Int(i64),
    /// For a `float` feature.
    Float(f64),
    /// For a `string` feature.
    String(String),
    /// For a `bool` feature.
    Bool(bool),
}

impl Registry {
    /// Reads and validates the registry at `path`; diagnostics name the file as given.
    ///
    /// # Where the path resolves
    /// A relative `path` is relative to the process's **working directory**, as for every
    /// run-time file API (`std::fs::read`): a model server finds `features.toml` where it is
    /// deployed, not where it was built. The compile-time front doors (`fstore::registry!` and
    /// `#[feature_view(registry = ...)]` / `#[feature_vector(registry = ...)]`) instead resolve
    /// a relative path from the directory of the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`),
    /// as `include_str!`-style macros do, because the compiler's working directory is not the
    /// crate's. To read at run time the same file the macros read, name it from the manifest
    /// directory: `Registry::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/features.toml"))`.
    ///
    /// # Errors
    /// Every problem found, each at its file:line:column; an unreadable file is one diagnostic
    /// at 1:1, which names the working directory when the path is relative. `Display` and
    /// `Debug` both print them as lines:
    ///
    /// ```
    /// let errors = fstore_registry::Registry::from_path("missing.toml").unwrap_err();
    /// assert!(format!("{errors:?}").starts_with("missing.toml:1:1: cannot read the registry: "));
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Registry, Errors> {
        let path = path.as_ref();
        let file = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(source) => Registry::parse(&source, &file),
            Err(e) => {
                let mut message = format!("cannot read the registry: {e}");
                if path.is_relative() {
                    if let Ok(dir) = std::env::current_dir() {
                        let _ = write!(
                            message,
                            "; the path is relative to the working directory {}",
                            dir.display()
                        );
                    }
                }
                Err(Errors::new(vec![Diagnostic {
                    file,
                    location: Location { line: 1, column: 1 },
                    message,
                }]))
            }
        }
    }

    /// Parses and validates registry text; `file` names it in diagnostics.
    ///
    /// # Errors
    /// Every problem found, each at its file:line:column.
    pub fn parse(source: &str, file: &str) -> Result<Registry, Errors> {
        parse::parse(source, file)
    }

    /// The view called `name`.
    pub fn view(&self, name: &str) -> Option<&View> {
        self.views.iter().find(|v| v.name == name)
    }

    /// The aggregation called `name`.
    pub fn aggregation(&self, name: &str) -> Option<&Aggregation> {
        self.aggregations.iter().find(|a| a.name == name)
    }

    /// The entity called `name`.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// `fs:v1:` for the default store.
    pub fn key_namespace(&self) -> String {
        format!("{}:v{}:", self.namespace, self.version)
    }

    /// The key prefix of `view`: `fs:v1:user_profile:`, as [`key_prefix`] makes it. Views and
    /// aggregations share these names, so it is also the prefix of an aggregation's keys.
    pub fn key_prefix(&self, view: &str) -> String {
        key_prefix(&self.namespace, self.version, view)
    }

    /// The canonical text of the schema: everything that changes what is stored or read (names,
    /// types, defaults, lengths, list encodings, TTLs, entity links, namespace, version; an
    /// aggregation's granularity, event fields, functions, fields read and windows), and nothing
    /// else (descriptions, comments, formatting, the order of views and of aggregations). A
    /// registry without aggregations has the text it had before aggregations existed.
    pub fn canonical(&self) -> String {
        let mut out = format!("namespace={:?}\nversion={}\n", self.namespace, self.version);
        let mut views: Vec<&View> = self.views.iter().collect();
        views.sort_by(|a, b| a.name.cmp(&b.name));
        for v in views {
            let _ = write!(
                out,
                "view {:?} entity={:?} ttl={}",
                v.name, v.entity, v.ttl_seconds
            );
            if let Some(max_age) = v.max_age_seconds {
                let _ = write!(out, " max_age={max_age}");
            }
            out.push('\n');
            for f in &v.features {
                let _ = write!(out, "  feature {:?} type={}", f.name, f.ty.name());
                if f.optional {
                    out.push_str(" optional");
                }
                if let Some(len) = f.len {
                    let _ = write!(out, " len={len}");
                }
                if let Some(encoding) = f.encoding {
                    let _ = write!(out, " encoding={}", encoding.name());
                }
                if let Some(vocab) = &f.vocab {
                    let _ = write!(out, " vocab={vocab:?} encode={:?}", f.encode);
                }
                match &f.default {
                    None => {}
                    Some(DefaultValue::Int(i)) => {
                        let _ = write!(out, " default={i}");
                    }
                    Some(DefaultValue::Float(x)) => {
                        let _ = write!(out, " default={x:?}");
                    }
                    Some(DefaultValue::String(s)) => {
                        let _ = write!(out, " default={s:?}");
                    }
                    Some(DefaultValue::Bool(b)) => {
                        let _ = write!(out, " default={b}");
                    }
                }
                out.push('\n');
            }
        }
        let mut aggregations: Vec<&Aggregation> = self.aggregations.iter().collect();
        aggregations.sort_by(|a, b| a.name.cmp(&b.name));
        for a in aggregations {
            let granularity: Vec<String> = a.granularity_ms.iter().map(u64::to_string).collect();
            let _ = writeln!(
                out,
                "aggregation {:?} entity={:?} granularity_ms={}",
                a.name,
                a.entity,
                granularity.join(",")
            );
            for e in &a.event {
                let _ = writeln!(out, "  event {:?} type={}", e.name, e.ty.name());
            }
            for f in &a.features {
                let _ = write!(out, "  feature {:?} fn={}", f.name, f.function.name());
                if let Some(of) = &f.of {
                    let _ = write!(out, " of={of:?}");
                }
                let _ = writeln!(out, " window_ms={}", f.window_ms);
            }
        }
        out
    }

    /// A stable fingerprint of [`canonical`](Self::canonical): 16 hex digits (64-bit FNV-1a).
    /// Writers and servers built from the same schema agree on it; compare them to detect drift.
    pub fn fingerprint(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.canonical().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

impl View {
    /// The feature called `name`.
    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// The feature names, in order.
    pub fn feature_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.features.iter().map(|f| f.name.as_str())
    }
}

impl Aggregation {
    /// The event field called `name`.
    pub fn event_field(&self, name: &str) -> Option<&EventField> {
        self.event.iter().find(|e| e.name == name)
    }

    /// The feature called `name`.
    pub fn feature(&self, name: &str) -> Option<&AggFeature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// The feature names, in order.
    pub fn feature_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.features.iter().map(|f| f.name.as_str())
    }

    /// The type of the event field `feature` reads (`None` for a `count`).
    pub fn of_type(&self, feature: &AggFeature) -> Option<FeatureType> {
        let of = feature.of.as_deref()?;
        self.event_field(of).map(|e| e.ty)
    }

    /// The Rust type of `feature`'s value: [`AggFunction::result_rust_type`] over the type of
    /// the field it reads.
    pub fn result_rust_type(&self, feature: &AggFeature) -> &'static str {
        feature.function.result_rust_type(self.of_type(feature))
    }

    /// The longest window of its features, in milliseconds: how far back events matter.
    pub fn longest_window_ms(&self) -> u64 {
        self.features.iter().map(|f| f.window_ms).max().unwrap_or(0)
    }

    /// The bucket sizes (milliseconds) some feature is read at, finest first: the sizes whose
    /// buckets must be kept. A size of `granularity` that no window is read at is not listed.
    pub fn resolutions_used(&self) -> Vec<u64> {
        let mut used: Vec<u64> = self.features.iter().map(|f| f.resolution_ms).collect();
        used.sort_unstable();
        used.dedup();
        used
    }

    /// How many buckets of `resolution_ms` the longest window read at that size spans: how many
    /// of them a reader needs kept. 0 when no feature is read at that size.
    pub fn retention_buckets(&self, resolution_ms: u64) -> u32 {
        self.features
            .iter()
            .filter(|f| f.resolution_ms == resolution_ms)
            .map(|f| f.buckets)
            .max()
            .unwrap_or(0)
    }
}
