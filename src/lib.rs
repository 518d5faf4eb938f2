//! Typed online feature serving on Valkey and Redis.
//!
//! A struct with `#[derive(FeatureView)]` is one feature view: its fields are the features, its
//! attributes fix the key layout and the expiry. The derive gives it typed `read`, `read_batch`,
//! `write`, `write_batch` and `ttl` methods that send exactly the right `HMGET`s and pipelines and
//! decode the replies straight into the struct. A misspelled attribute or an unsupported type is a
//! compile error; a malformed stored value is an [`Error`] that names key, field, expected type
//! and what was found.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> fstore::Result<()> {
//! use fstore::{FeatureView, Store};
//!
//! #[derive(FeatureView, Debug, Clone, PartialEq)]
//! #[feature_view(name = "user_profile", ttl = "1h")]
//! struct UserProfile {
//!     age: i64,
//!     lifetime_value: f64,
//!     segment: String,
//!     #[fstore(default = false)]
//!     is_premium: bool,
//!     country: Option<String>,
//! }
//!
//! // `Store::connect("redis://127.0.0.1:6379").await?` for a server; embedded runs in-process.
//! let store = Store::embedded();
//! let alice = UserProfile {
//!     age: 28,
//!     lifetime_value: 1250.5,
//!     segment: "premium".into(),
//!     is_premium: true,
//!     country: None,
//! };
//! alice.write(&store, "user_123").await?; // HSET + _updated_at + PEXPIRE 1h, atomically
//!
//! let read = UserProfile::read(&store, "user_123").await?; // HMGET of exactly these fields
//! assert_eq!(read, Some(alice));
//! assert_eq!(UserProfile::read(&store, "nobody").await?, None);
//!
//! let batch = UserProfile::read_batch(&store, ["user_123", "nobody", "user_123"]).await?;
//! assert_eq!(batch.iter().filter(|r| r.is_some()).count(), 2);
//! # Ok(()) }
//! ```
//!
//! # Storage layout
//!
//! One hash per (view, entity) at `{namespace}:v{version}:{view}:{entity_id}`
//! (`fs:v1:user_profile:user_123`); field = feature name; values as UTF-8 text the way Python
//! writers store them (see [`FeatureValue`]; embeddings as JSON text, or as `f32` bytes where a
//! feature declares `encoding = "f32le"`); every write also sets `_updated_at` (epoch seconds with
//! a millisecond fraction, which Python's `float()` reads; integer milliseconds are read too) and
//! the key's expiry atomically (one call of the write script per entity; a batch is a pipeline of
//! them). Fields starting with `_` are metadata, never
//! features, and fields a struct does not name are ignored, so data written by other tools reads
//! back typed.
//!
//! # Crates
//!
//! `fstore` re-exports, by name, what users of `fstore-runtime` (the [`Store`], backends,
//! errors, the dynamic API) and `fstore-derive` (the derives and `registry!`) need. What
//! generated code calls lives in a hidden `__private` module and is not part of the API.
#![warn(missing_docs)]

pub use fstore_runtime::aggregate::{
    self, AggregationEvent, AggregationFeatures, RecordReport, Recorded,
};
/// A synchronous `Store` for code that is not async (the `blocking` cargo feature).
#[cfg(feature = "blocking")]
pub use fstore_runtime::blocking;
pub use fstore_runtime::dynamic::{self, Features, Status, Value};
pub use fstore_runtime::registry;
pub use fstore_runtime::registry::Registry;
pub use fstore_runtime::typed::BatchRow;
pub use fstore_runtime::vector::{
    to_matrix, BatchReport, FeatureVector, FieldCounts, FieldReport, Report, Source,
    VectorAggregation, VectorView,
};
pub use fstore_runtime::{
    BatchWriteError, Command, Embedded, EntityId, Error, FeatureValue, FeatureView, Fields,
    FieldsIter, KeyLayout, Result, Store, StoreBuilder, WriteCommand, WriteOutcome,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_PIPELINE_CHUNK, DEFAULT_POOL_SIZE, DEFAULT_RESPONSE_TIMEOUT,
    MAX_TTL_MS, METRICS, UPDATED_AT, WRITE_SCRIPT,
};

/// Derives [`FeatureView`](trait@FeatureView) for a struct with named fields, plus the typed
/// async methods `read`, `read_batch`, `write`, `write_batch` and `ttl`.
///
/// # Struct attribute: `#[feature_view(...)]`
///
/// | key | value | default |
/// |---|---|---|
/// | `name` | the view's name, part of every key: ASCII letters, digits, `_`, `-`, `.` | required without `registry` (never guessed from the struct's name, which writers and readers choose apart); with `registry`, the struct's name in snake_case, which must be a view of the registry |
/// | `entity` | the entity the view's ids name (`"user"`), as `FeatureView::ENTITY`; not with `registry` (its view has one) | none |
/// | `ttl` | the expiry every write sets: `"30s"`, `"15m"`, `"1h"`, `"7d"`, or an integer number of seconds | required |
/// | `version` | the layout version in the key (`v1`), at least 1 | `1` |
/// | `namespace` | the key namespace | `"fs"` |
/// | `registry` | a `features.toml` path, relative to the crate's `Cargo.toml`: check the struct against it (see below) | none |
/// | `crate` | the path generated code names fstore by, for a renamed dependency (`my_fstore = { package = "fstore", … }`) or a re-export, like serde's `#[serde(crate = "…")]` | `"::fstore"` |
///
/// ```
/// #[derive(fstore::FeatureView)]
/// #[feature_view(name = "user_risk_profile", ttl = 900, version = 2, namespace = "risk")]
/// struct Risk {
///     fraud_score: f64,
/// }
/// use fstore::FeatureView as _;
/// assert_eq!(Risk::KEY_PREFIX, "risk:v2:user_risk_profile:");
/// assert_eq!(Risk::TTL, std::time::Duration::from_secs(900));
/// ```
///
/// # Field attribute: `#[fstore(...)]`
///
/// (Not `#[feature(...)]`: that is a built-in attribute of Rust, so a derive cannot use it.)
///
/// | key | value | effect |
/// |---|---|---|
/// | `rename` | a string | the stored feature (hash field) name, when it differs from the field's |
/// | `default` | a literal of the field's type (for floats also `f64::NAN`, `f64::INFINITY`, `f64::NEG_INFINITY`) | the value read when the field is absent; not on `Option` or `Vec<f32>` fields; with a registry, only the registry's own default (repeated) |
/// | `vocab` | an array of strings | `String` fields: the values the feature takes; writes note others, which `Store::refusing_out_of_vocab` refuses (with a registry: the registry's, repeated) |
/// | `len` | an integer, at least 1 | `Vec<f32>` fields: the list's length, checked on every read and write |
/// | `encoding` | `"json"` (the default) or `"f32le"` | `Vec<f32>` fields: how the list is stored (see below) |
///
/// ```
/// #[derive(fstore::FeatureView)]
/// #[feature_view(name = "user_profile", ttl = "1h")]
/// struct Tenure {
///     #[fstore(rename = "days_since_signup")]
///     tenure_days: i64,
///     #[fstore(default = 0.0)]
///     discount: f64,
/// }
/// use fstore::FeatureView as _;
/// assert_eq!(Tenure::READ_FIELDS, ["days_since_signup", "discount", "_updated_at"]);
/// ```
///
/// # Field types
///
/// `i64`, `i32`, `u32`, `u64`, `f64`, `f32`, `bool`, `String`, `Vec<f32>` (an embedding), and
/// `Option` of each. Anything else is a compile error on the type. A required (non-`Option`)
/// field without a default that is absent from a present entity reads as
/// [`Error::MissingField`]; an absent `Option` field reads as `None`, and writing `None` removes
/// the field.
///
/// # Embeddings: `len` and `encoding`
///
/// A `Vec<f32>` is stored in its `encoding`: `"json"` (the default), the text Python's
/// `json.dumps` writes (`[0.5, 1.5, -2.0]`), which the Python library and any text reader read;
/// or `"f32le"`, little-endian `f32` bytes (4 per element, a quarter of the size, exact to the
/// bit). Its `len`, when declared, is checked on every read and write. A stored list in the other
/// encoding or of another length is an [`Error::Decode`] naming key, field and what was found
/// (`64 bytes: 8 float64 values? expected 32 bytes (8 × f32, f32le)`), never numbers; a write of
/// another length is an [`Error::InvalidValue`] and writes nothing.
///
/// ```
/// # fn main() -> fstore::Result<()> {
/// use fstore::{Command, FeatureView as _};
///
/// #[derive(fstore::FeatureView)]
/// #[feature_view(name = "item_vectors", ttl = "1d")]
/// struct ItemVectors {
///     #[fstore(len = 2)]
///     text: Vec<f32>,
///     #[fstore(len = 2, encoding = "f32le")]
///     packed: Vec<f32>,
/// }
///
/// let row = ItemVectors { text: vec![0.5, -1.0], packed: vec![0.5, -1.0] };
/// let Command::Write(write) = row.write_command("item_1", 0)? else { unreachable!() };
/// let stored: Vec<(&str, &[u8])> = write.set().collect();
/// assert_eq!(stored[0], ("text", &b"[0.5, -1.0]"[..]));
/// assert_eq!(stored[1].1, [0, 0, 0, 63, 0, 0, 128, 191]);
///
/// let short = ItemVectors { text: vec![0.5], packed: vec![0.5, -1.0] };
/// assert!(matches!(short.write_command("item_1", 0), Err(fstore::Error::InvalidValue { .. })));
/// # Ok(()) }
/// ```
///
/// # Projections
///
/// A struct with a subset of a view's features (same `name`) is a projection: its `read` sends
/// `HMGET` of just those fields and its `write` sets just those fields.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> fstore::Result<()> {
/// use fstore::FeatureView as _;
///
/// #[derive(fstore::FeatureView, Debug, PartialEq)]
/// #[feature_view(name = "user_profile", ttl = "1h")]
/// struct AgeAndValue {
///     age: i64,
///     lifetime_value: f64,
/// }
///
/// let cmd = AgeAndValue::read_command("user_123")?;
/// assert_eq!(cmd.to_string(), "HMGET fs:v1:user_profile:user_123 age lifetime_value _updated_at");
/// # Ok(()) }
/// ```
///
/// # Checked against a registry
///
/// With `registry = "features.toml"`, the struct is checked against the registry's view `name`
/// (default: the struct's name in snake_case, which must be one) at compile time: every field must be a feature of
/// the view (`no feature `agee` in view `user_profile`; did you mean `age`?`), of a matching type
/// (`int` → `i64`, `i32`, `u32`, `u64`; `float` → `f64`, `f32`; `string` → `String`; `bool`;
/// `float_list` → `Vec<f32>`; `Option` only for an `optional = true` feature). TTL, version and
/// namespace come from the registry, so giving them again is an error; the registry's defaults
/// apply (and must fit the field's type: `3000000000` is no `i32` default), and so do its lists'
/// `len` and `encoding` and its strings' `vocab` (a field may repeat them but not change them).
/// Editing the registry rebuilds the crate.
///
/// Numbers a field can hold but another reader cannot are checked when they move, never
/// wrapped: a `u64` above `i64::MAX` (a registry `int` is an `i64`) is refused on write, and an
/// `f32` field reading a stored `float` that overflows or underflows an `f32` gets a decode
/// error.
///
/// ```
/// #[derive(fstore::FeatureView, Debug)]
/// #[feature_view(registry = "features.toml", name = "user_profile")]
/// struct Scoring {
///     age: i32,
///     lifetime_value: f32,
///     is_premium: bool, // the registry's `default = false` applies
/// }
/// use fstore::FeatureView as _;
/// assert_eq!(Scoring::TTL, std::time::Duration::from_secs(3600));
/// ```
///
/// # Generated methods
///
/// | method | sends |
/// |---|---|
/// | `T::read(&store, id) -> Result<Option<T>>` | one `HMGET` |
/// | `T::read_batch(&store, ids) -> Result<Vec<Option<T>>>` | one pipeline of `HMGET`s per [`Store::pipeline_chunk_size`] ids |
/// | `value.write(&store, id) -> Result<()>` | one atomic script call (fields, `_updated_at`, expiry) |
/// | `T::write_batch(&store, rows) -> Result<()>` | one pipeline per chunk of one `EVALSHA` of the write script per entity (fields, `None`s removed, stamp and expiry, atomically); per-entity outcomes on failure (`Error::Batch`) |
/// | `T::ttl(&store, id) -> Result<Option<Duration>>` | one `PTTL` |
///
/// Entity ids are anything that implements [`EntityId`]: `&str`, `String`, the integer types.
pub use fstore_derive::FeatureView;

/// Derives [`FeatureVector`](trait@FeatureVector) for a struct whose fields are features of one
/// entity from several views, plus the typed async methods `vector`, `vector_with_report` and
/// `vector_batch`, and the model input: `WIDTH`, `COLUMNS`, `to_array`, `write_f32` and
/// `to_matrix`.
///
/// A vector sends one `HMGET` per view it reads, all in one pipeline (one round trip), and
/// decodes the replies straight into the struct. Each field names its view; the views' key
/// layout comes from the struct attribute or from a registry.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> fstore::Result<()> {
/// use fstore::{FeatureVector, FeatureView, Store};
///
/// // Two views, written by a batch job and a streaming job.
/// #[derive(FeatureView)]
/// #[feature_view(name = "user_profile", ttl = "1h")]
/// struct Profile {
///     age: i64,
///     segment: String,
/// }
///
/// #[derive(FeatureView)]
/// #[feature_view(name = "user_risk_profile", ttl = "15m")]
/// struct Risk {
///     fraud_score: f64,
/// }
///
/// // What a model reads: features of both views.
/// #[derive(FeatureVector, Debug, PartialEq)]
/// struct FraudInputs {
///     #[fstore(view = "user_profile")]
///     age: i64,
///     #[fstore(view = "user_profile", vocab = ["basic", "premium", "vip"])]
///     segment: String,
///     #[fstore(view = "user_risk_profile")]
///     fraud_score: f64,
///     #[fstore(view = "user_risk_profile", default = 0)]
///     txn_count_24h: i64,
/// }
///
/// let store = Store::embedded();
/// Profile { age: 28, segment: "vip".into() }.write(&store, "user_123").await?;
/// Risk { fraud_score: 0.25 }.write(&store, "user_123").await?;
///
/// let before = store.round_trips();
/// let inputs = FraudInputs::vector(&store, "user_123").await?;
/// assert_eq!(store.round_trips() - before, 1); // two HMGETs, one pipeline
/// assert_eq!(inputs.txn_count_24h, 0); // absent: the default
///
/// // The model input: numbers as they are, the segment one-hot.
/// assert_eq!(FraudInputs::WIDTH, 6);
/// assert_eq!(
///     FraudInputs::COLUMNS,
///     [
///         "user_profile__age",
///         "user_profile__segment=basic",
///         "user_profile__segment=premium",
///         "user_profile__segment=vip",
///         "user_risk_profile__fraud_score",
///         "user_risk_profile__txn_count_24h",
///     ]
/// );
/// assert_eq!(inputs.to_array(), [28.0, 0.0, 0.0, 1.0, 0.25, 0.0]);
///
/// // Which fields were not stored: what serving code logs to catch training/serving skew.
/// let (_, report) = FraudInputs::vector_with_report(&store, "user_123").await?;
/// assert_eq!(report.to_string(), "user_risk_profile.txn_count_24h defaulted");
///
/// // Many entities: ids × views HMGETs in one pipeline, then one row-major matrix.
/// let rows = FraudInputs::vector_batch(&store, ["user_123", "user_123"]).await?;
/// assert_eq!(FraudInputs::to_matrix(&rows).len(), 2 * FraudInputs::WIDTH);
/// # Ok(()) }
/// ```
///
/// # Struct attribute: `#[feature_vector(...)]`
///
/// Optional.
///
/// | key | value | default |
/// |---|---|---|
/// | `registry` | a `features.toml` path, relative to the crate's `Cargo.toml`: check every field against it (see below) | none: the struct is the schema |
/// | `key(entity, ...)` | with `registry`: the entities of views keyed by different entities, in key order; generates `{Struct}Key { entity: id, ... }`, which the read methods then take (a batch reads each distinct row once per pipeline) | none: one id keys every view, and views of different entities are a compile error |
/// | `max_age(view = duration, ...)` | per view read: a row whose `_updated_at` is older counts as missing (the field gets its default, or `None`, or the read fails); `"30s"`, `"15m"`, `"1h"`, `"7d"` or an integer number of seconds | the registry's `max_age`, else none |
/// | `namespace` | the key namespace of every view; not with `registry` (it comes from the registry) | `"fs"` |
/// | `version` | the layout version of every view, at least 1; not with `registry` | `1` |
/// | `crate` | the path generated code names fstore by (a renamed dependency) | `"::fstore"` |
///
/// ```
/// use fstore::FeatureVector as _;
///
/// #[derive(fstore::FeatureVector)]
/// #[feature_vector(namespace = "risk", version = 2, max_age(user_risk_profile = "10m"))]
/// struct Scores {
///     #[fstore(view = "user_risk_profile")]
///     fraud_score: Option<f64>,
/// }
///
/// let view = &Scores::VIEWS[0];
/// assert_eq!(view.key_prefix, "risk:v2:user_risk_profile:");
/// assert_eq!(view.read_fields, ["fraud_score", "_updated_at"]);
/// assert_eq!(view.max_age_ms, Some(600_000));
/// ```
///
/// # Field attribute: `#[fstore(...)]`
///
/// (Not `#[feature(...)]`: that is a built-in attribute of Rust, so a derive cannot use it.)
///
/// | key | value | effect |
/// |---|---|---|
/// | `view` | a view name | **required** (or `aggregation`): the view the feature is read from |
/// | `aggregation` | an aggregation of the registry | instead of `view`: the field is a feature of that real-time aggregation (see [Real-time aggregations](#real-time-aggregations)) |
/// | `name` (or `rename`) | a string | the stored feature name, when it differs from the field's; each feature of a view may be read once |
/// | `default` | a literal of the field's type (for floats also `f64::NAN`, `f64::INFINITY`, `f64::NEG_INFINITY`) | the value used when the feature is absent or its row is stale; not on `Option` or `Vec<f32>` fields |
/// | `skip` | none | the field is read but left out of the model input (no columns) |
/// | `vocab` | `["a", "b", ...]`, distinct strings | `String` fields: how the string becomes columns, with `encode` |
/// | `encode` | `"onehot"` or `"index"` | with a `vocab`: one column per entry, or one column with the entry's position; default `"onehot"` |
/// | `len` | an integer, at least 1 | `Vec<f32>` fields: the number of columns; a stored list of another length fails to read |
/// | `encoding` | `"json"` (the default) or `"f32le"` | `Vec<f32>` fields: how the list is stored, as for [`FeatureView`](derive@FeatureView) |
///
/// Field types are those of [`FeatureView`](derive@FeatureView): `i64`, `i32`, `u32`, `u64`,
/// `f64`, `f32`, `bool`, `String`, `Vec<f32>` and `Option` of each. A required (non-`Option`)
/// field without a default whose value is absent, or whose row is stale, fails the read with
/// [`Error::MissingFeature`]; an `Option` field reads as `None`.
///
/// # Model input
///
/// Each field that is not skipped becomes `f32` columns, in field order:
///
/// | field | columns | named | `None` |
/// |---|---|---|---|
/// | integer, float | 1: the value, cast | `view__feature` | NaN |
/// | `bool` | 1: 0 or 1 | `view__feature` | NaN |
/// | `String` with `encode = "onehot"` | one per `vocab` entry: 1 for the value's entry, else 0; an unknown value is all 0 | `view__feature=entry` | all NaN |
/// | `String` with `encode = "index"` | 1: the value's position in `vocab`; an unknown value is -1 | `view__feature` | NaN |
/// | `Vec<f32>` with `len` | `len`: the elements | `view__feature[i]` | all NaN |
///
/// Columns are named by the stored view and feature names (not the Rust field names), so they
/// match training data exported from the store; `__` separates the two because both may contain
/// `_`. A `String` field without a vocabulary and a `Vec<f32>` field without a length are compile
/// errors unless skipped: they have no fixed number of columns.
///
/// ```
/// #[derive(fstore::FeatureVector)]
/// struct Ranking {
///     #[fstore(view = "item_stats")]
///     price: f64,
///     #[fstore(view = "item_stats", vocab = ["books", "home"], encode = "index")]
///     category: Option<String>,
///     #[fstore(view = "item_stats", len = 2)]
///     embedding: Vec<f32>,
///     #[fstore(view = "item_stats", skip)]
///     title: String,
/// }
///
/// assert_eq!(
///     Ranking::COLUMNS,
///     [
///         "item_stats__price",
///         "item_stats__category",
///         "item_stats__embedding[0]",
///         "item_stats__embedding[1]",
///     ]
/// );
/// let item = Ranking {
///     price: 9.5,
///     category: Some("toys".into()),
///     embedding: vec![0.5, -0.5],
///     title: "A book".into(),
/// };
/// assert_eq!(item.to_array(), [9.5, -1.0, 0.5, -0.5]);
/// ```
///
/// # Checked against a registry
///
/// With `registry = "features.toml"`, every field is checked at compile time: its `view` must be
/// a view of the registry and its feature one of that view's features (`no feature `agee` in
/// view `user_profile`; did you mean `age`?`), of a matching type (as for
/// [`FeatureView`](derive@FeatureView)). Namespace and version come from the registry, and so do,
/// for fields without their own: `default` (not for `Option` fields), `max_age`, `vocab`,
/// `encode`, `len` and `encoding`. Editing the registry rebuilds the crate.
///
/// Where a field gives a setting the registry also has:
/// - `vocab`, `len` and `encoding` must equal the registry's (it is the schema writers and
///   trainers share; a different vocabulary, length or encoding is a compile error), so repeating
///   them is allowed but not needed;
/// - `encode`, `default` and `max_age` override the registry's: they are the model's choices.
///
/// ```
/// #[derive(fstore::FeatureVector, Debug)]
/// #[feature_vector(registry = "features.toml")]
/// struct FraudInputs {
///     #[fstore(view = "user_profile")]
///     age: i64,
///     #[fstore(view = "user_profile", name = "lifetime_value")]
///     ltv: f64,
///     #[fstore(view = "user_risk_profile")]
///     fraud_score: f64,
///     #[fstore(view = "user_risk_profile", default = 0)]
///     txn_count_24h: i64,
///     #[fstore(view = "user_activity")]
///     last_category: Option<String>, // the registry's vocab, index-encoded
/// }
///
/// use fstore::FeatureVector as _;
/// assert_eq!(FraudInputs::VIEWS[1].max_age_ms, Some(600_000)); // `max_age = "10m"`
/// assert_eq!(FraudInputs::COLUMNS[4], "user_activity__last_category");
/// ```
///
/// # Real-time aggregations
///
/// With a registry, a field `#[fstore(aggregation = "user_txn")] txn_count_1h: i64` is feature
/// `txn_count_1h` (or its `name = "..."`) of the registry's aggregation `user_txn`, computed at
/// the time of the read in the same pipeline as the views (each aggregation read once, however
/// many of its features the vector has). Checked at compile time: the aggregation and the
/// feature exist (did-you-mean), the field's type is exactly the feature's value's (`count`
/// `i64`, `distinct` `u64`, `sum` `i64` or `f64`, `avg` `Option<f64>`, `min`/`max`/`last` an
/// `Option` of the event field's type), and the aggregation's entity is the vector's. `view`,
/// `default`, `vocab`, `encode`, `len` and `encoding` do not apply; an aggregation always has a
/// value (0 counts and sums, `None` for the others without events). Not yet in a vector with
/// `key(...)`. As model input, a number or a `bool` is one column named `aggregation__feature`
/// (`None` is NaN); a `last` string has no vocabulary, so, like a view's `String` without one,
/// it is a compile error unless the field is `skip`ped. A report has the field as stored, under
/// the aggregation's name.
///
/// ```ignore
/// #[derive(fstore::FeatureVector)]
/// #[feature_vector(registry = "features.toml")]
/// struct FraudInputs {
///     #[fstore(view = "user_profile")]
///     age: i64,
///     #[fstore(aggregation = "user_txn")]
///     txn_count_1h: i64, // column `user_txn__txn_count_1h`
///     #[fstore(aggregation = "user_txn", name = "amount_avg_24h")]
///     avg_amount: Option<f64>,
/// }
/// ```
///
/// # Generated items
///
/// | item | what |
/// |---|---|
/// | `T::vector(&store, id) -> Result<T>` | one pipeline of one `HMGET` per view (and each aggregation's reads) |
/// | `T::vector_with_report(&store, id) -> Result<(T, Report)>` | the same, plus which fields were stored, defaulted, stale or outside their `vocab` ([`Report`]) |
/// | `T::vector_batch(&store, ids) -> Result<Vec<T>>` | ids × views `HMGET`s, one pipeline per [`Store::pipeline_chunk_size`] commands; results in input order |
/// | `T::vector_batch_with_report(&store, ids) -> Result<(Vec<T>, BatchReport)>` | the same, plus per-field counts of stored, defaulted, null, stale and out-of-vocabulary values ([`BatchReport`]) |
/// | `T::WIDTH: usize` | the number of columns |
/// | `T::COLUMNS: [&str; WIDTH]` | the column names |
/// | `value.to_array() -> [f32; WIDTH]` | the model input of one entity |
/// | `value.write_f32(&mut [f32])` | the same into `out[..WIDTH]`; panics when `out` is shorter |
/// | `T::to_matrix(&[T]) -> Vec<f32>` | row-major, `rows.len() × WIDTH` |
///
/// Every generated item has a doc comment, so crates that deny `missing_docs` can derive it on
/// public structs.
pub use fstore_derive::FeatureVector;

/// Expands to one `#[derive(FeatureView)]` struct per view of a `features.toml` registry, and two
/// structs per aggregation (see [Aggregations](#aggregations)): the same code `fstore codegen
/// features.toml` prints. The path is relative to the crate's
/// `Cargo.toml`; editing the file rebuilds the crate, and an invalid file is a compile error that
/// lists every problem with its file:line:column.
///
/// A view `user_profile` becomes `pub struct UserProfile`, with one public field per feature in
/// file order: `int` → `i64`, `float` → `f64`, `string` → `String`, `bool`, `float_list` →
/// `Vec<f32>` (with `#[fstore(len = .., encoding = "..")]` as the registry declares them);
/// `optional = true` makes it an `Option`, and a registry `default` applies when the feature is
/// absent. Descriptions become doc comments. A feature named like a Rust keyword
/// becomes a raw identifier (`r#type`). `REGISTRY_FINGERPRINT` is the schema's fingerprint.
///
/// ```
/// mod features {
///     fstore::registry!("features.toml");
/// }
/// use fstore::FeatureView as _;
/// assert_eq!(features::UserProfile::KEY_PREFIX, "fs:v1:user_profile:");
/// assert_eq!(features::ItemStats::VIEW, "item_stats");
/// ```
///
/// # Options
///
/// `fstore::registry!("features.toml", derive(serde::Serialize, serde::Deserialize), crate =
/// my_fstore)`, both optional. `derive(...)` adds derives to every struct after `FeatureView,
/// Debug, Clone, PartialEq` (given again, those are left out; `Default` is refused, as fstore
/// implements it itself). `crate = path` names fstore by `path` (a renamed dependency).
///
/// # Building rows that survive a schema change
///
/// Each struct `UserProfile` has `UserProfile::builder()`: one setter per feature, and `build()`
/// compiles only once every required feature (no default, not optional) is set; the others start
/// at the registry default or `None`. A view whose features all have a default or are optional
/// also implements `Default` with the registry's defaults. Rows built this way (rather than with
/// struct literals) keep compiling when a feature with a default, or an optional one, is added to
/// `features.toml`.
///
/// # Aggregations
///
/// An aggregation `user_txn` becomes two structs, each deriving `Debug`, `Clone`, `PartialEq`
/// and the `derive(...)` option's derives, with the registry's descriptions as docs:
///
/// - `UserTxnEvent`, its event: one public field per event field in file order (`int` → `i64`,
///   `float` → `f64`, `string` → `String`, `bool`), every one required. It implements
///   [`AggregationEvent`] and records itself: `event.record(&store, id, ts_ms)` (the clock at
///   now), `event.record_at(&store, id, ts_ms, now_ms)`, and
///   `UserTxnEvent::record_batch(&store, [(id, ts_ms, event), …])` returning a
///   [`RecordReport`].
/// - `UserTxn`, its windowed features: one public field per feature in file order, typed by its
///   function: `count` `i64`; `sum` `i64` or `f64` (as the field it sums); `avg` `Option<f64>`;
///   `min`, `max` and `last` an `Option` of the field's type; `distinct` `u64`. `None` is a
///   window without events. It implements [`AggregationFeatures`] and reads with
///   `UserTxn::read(&store, id)` (one round trip; two for a `distinct` whose union does not fit
///   the clock), `UserTxn::read_at(&store, id, now_ms)` and
///   `UserTxn::read_batch(&store, ids)`.
///
/// The structs carry the aggregation's declaration (key prefix, buckets, windows), so the store
/// needs no registry attached. With `tests/fixtures/aggregations.toml` of fstore's repository:
///
/// ```toml
/// [aggregations.user_txn]
/// entity = "user"
/// granularity = ["1m", "1h"]
///
/// [aggregations.user_txn.event]
/// amount = { type = "float", description = "The amount, in EUR." }
/// qty = "int"
/// merchant = "string"
/// online = "bool"
/// type = "string"
///
/// [aggregations.user_txn.features]
/// txn_count_1h = { fn = "count", window = "1h", description = "Transactions in the last hour." }
/// amount_avg_24h = { fn = "avg", of = "amount", window = "24h" }
/// distinct_merchants_24h = { fn = "distinct", of = "merchant", window = "24h" }
/// # …
/// ```
///
/// ```
/// # mod features {
/// #     fstore::registry!("tests/fixtures/aggregations.toml");
/// # }
/// use features::{UserTxn, UserTxnEvent};
/// use fstore::{Recorded, Store};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> fstore::Result<()> {
/// let store = Store::embedded();
/// let now = 1_796_083_200_000; // epoch milliseconds
/// let event = UserTxnEvent {
///     amount: 12.5,
///     qty: 1,
///     merchant: "m1".into(),
///     online: true,
///     r#type: "card".into(),
/// };
/// assert_eq!(event.record_at(&store, "user_1", now, now).await?, Recorded::Applied);
///
/// let txn = UserTxn::read_at(&store, "user_1", now).await?;
/// assert_eq!(txn.txn_count_1h, 1);
/// assert_eq!(txn.amount_avg_24h, Some(12.5));
/// assert_eq!(txn.distinct_merchants_24h, 1);
/// // No events: zero counts, and `None` where a window without events has no value.
/// let nobody = UserTxn::read_at(&store, "nobody", now).await?;
/// assert_eq!((nobody.txn_count_1h, nobody.amount_avg_24h), (0, None));
/// # Ok(()) }
/// ```
///
/// # Paths
///
/// `registry!` and `registry = "..."` resolve a relative path from the crate's `Cargo.toml`
/// directory (`CARGO_MANIFEST_DIR`): that is where a build runs from. `Registry::from_path`
/// resolves it from the working directory, like every run-time file API;
/// `Registry::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/features.toml"))` reads at run time
/// the file the macros read. Load errors print as `file:line:col: message` lines, also when
/// returned from `main`.
pub use fstore_derive::registry;

#[doc(hidden)]
pub mod __private {
    pub use fstore_runtime::codec::{ListEncoding, ListField, ListSpec, ListValue};
    pub use fstore_runtime::typed::{read, read_batch, ttl, write, write_batch};
    pub use fstore_runtime::vector::{
        list_columns, to_matrix, vector, vector_batch, vector_batch_keyed,
        vector_batch_with_report, vector_keyed, vector_with_report, vocab_index, vocab_onehot,
        Column, VectorKey, VocabValue,
    };
    pub use fstore_runtime::{Row, RowWriter, VectorAggregation, VectorRows, VectorView};

    /// What the aggregation structs `registry!` generates call.
    pub mod agg {
        pub use fstore_runtime::aggregate::{
            read, read_at, read_batch, record, record_at, record_batch, take, FeatureDecl, Spec,
        };
        pub use fstore_runtime::dynamic::{Features, Value};
        pub use fstore_runtime::registry::{AggFunction, FeatureType};
    }
}
