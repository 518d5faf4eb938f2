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
//! writers store them (see [`codec`]); every write also sets `_updated_at` (epoch milliseconds)
//! and the key's expiry in one atomic script. Fields starting with `_` are metadata, never
//! features, and fields a struct does not name are ignored, so data written by other tools reads
//! back typed.
//!
//! # Crates
//!
//! `fstore` re-exports `fstore-runtime` (the [`Store`], backends, codec, errors) and
//! `fstore-derive` (the derive macro).
#![warn(missing_docs)]

pub use fstore_runtime::*;

/// Derives [`FeatureView`](trait@FeatureView) for a struct with named fields, plus the typed
/// async methods `read`, `read_batch`, `write`, `write_batch` and `ttl`.
///
/// # Struct attribute: `#[feature_view(...)]`
///
/// | key | value | default |
/// |---|---|---|
/// | `name` | the view's name, part of every key: ASCII letters, digits, `_`, `-`, `.` | the struct's name in snake_case |
/// | `ttl` | the expiry every write sets: `"30s"`, `"15m"`, `"1h"`, `"7d"`, or an integer number of seconds | required |
/// | `version` | the layout version in the key (`v1`), at least 1 | `1` |
/// | `namespace` | the key namespace | `"fs"` |
/// | `registry` | a `features.toml` path, relative to the crate's `Cargo.toml`: check the struct against it (see below) | none |
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
/// | `default` | a literal of the field's type (for floats also `f64::NAN`, `f64::INFINITY`, `f64::NEG_INFINITY`) | the value read when the field is absent; not on `Option` or `Vec<f32>` fields |
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
/// (default: the struct's name in snake_case) at compile time: every field must be a feature of
/// the view (`no feature `agee` in view `user_profile`; did you mean `age`?`), of a matching type
/// (`int` → `i64`, `i32`, `u32`, `u64`; `float` → `f64`, `f32`; `string` → `String`; `bool`;
/// `float_list` → `Vec<f32>`; each also inside an `Option`). TTL, version and namespace come from
/// the registry, so giving them again is an error; the registry's defaults apply to fields
/// without one of their own. Editing the registry rebuilds the crate.
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
/// | `T::write_batch(&store, rows) -> Result<()>` | one pipeline of script calls per chunk |
/// | `T::ttl(&store, id) -> Result<Option<Duration>>` | one `PTTL` |
///
/// Entity ids are anything that implements [`EntityId`]: `&str`, `String`, the integer types.
pub use fstore_derive::FeatureView;

/// Expands to one `#[derive(FeatureView)]` struct per view of a `features.toml` registry: the
/// same code `fstore codegen features.toml` prints. The path is relative to the crate's
/// `Cargo.toml`; editing the file rebuilds the crate, and an invalid file is a compile error that
/// lists every problem with its file:line:column.
///
/// A view `user_profile` becomes `pub struct UserProfile`, with one public field per feature in
/// file order: `int` → `i64`, `float` → `f64`, `string` → `String`, `bool`, `float_list` →
/// `Vec<f32>`; `optional = true` makes it an `Option`, and a registry `default` applies when the
/// feature is absent. Descriptions become doc comments. A feature named like a Rust keyword
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
pub use fstore_derive::registry;

#[doc(hidden)]
pub mod __private {
    pub use fstore_runtime::{Row, RowWriter};
}
