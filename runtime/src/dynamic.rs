//! The dynamic, registry-driven API: features by name, for tools and code without compiled
//! schemas (the counterpart of the Python `ValkeyFeatureStore`).
//!
//! Attach a [`Registry`] with [`Store::with_registry`], then [`Store::read`],
//! [`Store::read_batch`], [`Store::get_feature_vector`] and [`Store::write`] take view and feature
//! names as strings and return [`Features`]: `(name, Value)` pairs in registry order (or in the
//! order asked for). They send the same commands as typed views (one `HMGET` per view and entity,
//! one atomic script call per write), store the same bytes and decode them with the same
//! [codec](crate::codec), so data written one way reads back the other way.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use fstore_runtime::registry::Registry;
//! use fstore_runtime::{Store, Value};
//!
//! let registry = Registry::parse(r#"
//!     [entities.user]
//!     [views.user_profile]
//!     entity = "user"
//!     ttl = "1h"
//!     [views.user_profile.features]
//!     age = "int"
//!     lifetime_value = "float"
//!     is_premium = { type = "bool", default = false }
//!     country = { type = "string", optional = true }
//! "#, "features.toml")?;
//! let store = Store::embedded().with_registry(registry);
//!
//! let features = [("age", Value::Int(28)), ("lifetime_value", Value::from(1250.5))];
//! store.write("user_profile", "user_123", &features).await?;
//!
//! // All features, in registry order: absent ones read as their default, or `Null`.
//! let all = store.read("user_profile", "user_123", None).await?.unwrap();
//! assert_eq!(all.names().collect::<Vec<_>>(), ["age", "lifetime_value", "is_premium", "country"]);
//! assert_eq!(all["age"], Value::Int(28));
//! assert_eq!(all["is_premium"], Value::Bool(false));
//! assert!(all["country"].is_null());
//!
//! // Some features, in the order asked for (one HMGET of just these fields).
//! let some = store.read("user_profile", "user_123", Some(&["lifetime_value", "age"])).await?;
//! assert_eq!(some.unwrap().get("lifetime_value").and_then(Value::as_f64), Some(1250.5));
//!
//! // A missing entity is `None`; an unknown name is an error with a did-you-mean.
//! assert_eq!(store.read("user_profile", "nobody", None).await?, None);
//! let err = store.read("user_profile", "user_123", Some(&["agee"])).await.unwrap_err();
//! assert_eq!(err.to_string(), "unknown feature `agee`; did you mean `age`?");
//! # Ok(()) }
//! ```
//!
//! # Semantics
//!
//! - A missing entity reads as `None` ([`Store::read`], [`Store::read_batch`]); in a feature
//!   vector its features read as absent.
//! - Every value has a [`Status`] ([`Features::status`]), Feast's per-value statuses with the
//!   registry's rules applied as typed views apply them: `Present`; `Defaulted` (absent, the
//!   registry `default`); `Null` (absent and `optional`); `NotFound` (the entity has no row in
//!   that view, or a required feature is absent: where a typed view returns an error, the dynamic
//!   API returns [`Value::Null`] with this status, so that a tool still sees the rest);
//!   `OutsideMaxAge` ([`Store::get_feature_vector`] of a view with `max_age` whose row is older,
//!   or has no readable `_updated_at`: the stored value is not used, as in a typed
//!   `FeatureVector`).
//! - A stored value that does not parse as its registry type is the same [`Error::Decode`] (key,
//!   field, expected type, escaped excerpt) that a typed view gives.
//! - Unknown view or feature names, and malformed `view:feature` references, are
//!   [`Error::UnknownName`] with a did-you-mean or the list of valid names; a store without a
//!   registry gives [`Error::Config`].

use std::borrow::Cow;
use std::fmt;
use std::iter::FusedIterator;
use std::ops::Index;
use std::sync::Arc;

use crate::attached::{Attached, GroupPlan, VectorPlan};
use crate::command::{Command, RowWriter, UPDATED_AT};
use crate::reply::{self, Reply};
use crate::trace::RowStatus;
use crate::typed::now_ms;
use crate::view::FieldNames;
use crate::{EntityId, Error, KeyLayout, Result, Row, Store};
use fstore_registry::{
    did_you_mean, suggestion, DefaultValue, Feature, FeatureType, Registry, View,
};

/// One feature value of the dynamic API, typed by the registry.
///
/// `int` features read as [`Int`](Value::Int), `float` as [`Float`](Value::Float), `string` as
/// [`String`](Value::String), `bool` as [`Bool`](Value::Bool), `float_list` as
/// [`FloatList`](Value::FloatList); an absent feature without a default reads as
/// [`Null`](Value::Null).
///
/// ```
/// use fstore_runtime::Value;
///
/// let age = Value::from(28);
/// assert_eq!(age, Value::Int(28));
/// assert_eq!(age.as_i64(), Some(28));
/// assert_eq!(age.as_f64(), Some(28.0)); // ints widen to f64, as in serde_json
/// assert_eq!(age.as_str(), None);
/// assert_eq!(age.to_string(), "28");
///
/// assert_eq!(Value::from(1250.5).to_string(), "1250.5");
/// assert_eq!(Value::from("premium").as_str(), Some("premium"));
/// assert_eq!(Value::from(vec![0.5f32, 1.0]).as_f32_slice(), Some(&[0.5f32, 1.0][..]));
/// assert!(Value::from(None::<String>).is_null());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Value {
    /// An `int` feature.
    Int(i64),
    /// A `float` feature.
    Float(f64),
    /// A `string` feature.
    String(String),
    /// A `bool` feature.
    Bool(bool),
    /// A `float_list` feature (an embedding).
    FloatList(Vec<f32>),
    /// An absent feature without a default; on write, removes the feature.
    #[default]
    Null,
}

impl Value {
    /// The integer of an [`Int`](Value::Int).
    ///
    /// ```
    /// # use fstore_runtime::Value;
    /// assert_eq!(Value::Int(7).as_i64(), Some(7));
    /// assert_eq!(Value::Float(7.0).as_i64(), None);
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number of a [`Float`](Value::Float), or of an [`Int`](Value::Int) converted to `f64`
    /// (exact up to 2^53).
    ///
    /// ```
    /// # use fstore_runtime::Value;
    /// assert_eq!(Value::Float(0.5).as_f64(), Some(0.5));
    /// assert_eq!(Value::Int(2).as_f64(), Some(2.0));
    /// assert_eq!(Value::Null.as_f64(), None);
    /// ```
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The text of a [`String`](Value::String).
    ///
    /// ```
    /// # use fstore_runtime::Value;
    /// assert_eq!(Value::from("DE").as_str(), Some("DE"));
    /// assert_eq!(Value::Null.as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The flag of a [`Bool`](Value::Bool).
    ///
    /// ```
    /// # use fstore_runtime::Value;
    /// assert_eq!(Value::Bool(true).as_bool(), Some(true));
    /// assert_eq!(Value::Int(1).as_bool(), None);
    /// ```
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements of a [`FloatList`](Value::FloatList).
    ///
    /// ```
    /// # use fstore_runtime::Value;
    /// let embedding = Value::FloatList(vec![0.25, -1.0]);
    /// assert_eq!(embedding.as_f32_slice(), Some(&[0.25f32, -1.0][..]));
    /// ```
    pub fn as_f32_slice(&self) -> Option<&[f32]> {
        match self {
            Value::FloatList(v) => Some(v),
            _ => None,
        }
    }

    /// `true` for [`Null`](Value::Null).
    ///
    /// ```
    /// # use fstore_runtime::Value;
    /// assert!(Value::Null.is_null());
    /// assert!(!Value::Int(0).is_null());
    /// ```
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The registry name of the value's type (`int`, `float`, `string`, `bool`, `float_list`),
    /// or `null`.
    ///
    /// ```
    /// # use fstore_runtime::Value;
    /// assert_eq!(Value::from(vec![1.0f32]).type_name(), "float_list");
    /// assert_eq!(Value::Null.type_name(), "null");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => FeatureType::Int.name(),
            Value::Float(_) => FeatureType::Float.name(),
            Value::String(_) => FeatureType::String.name(),
            Value::Bool(_) => FeatureType::Bool.name(),
            Value::FloatList(_) => FeatureType::FloatList.name(),
            Value::Null => "null",
        }
    }

    /// The value a feature reads as when it is absent: its default, else `Null`.
    fn absent(feature: &Feature) -> Value {
        match &feature.default {
            None => Value::Null,
            Some(DefaultValue::Int(i)) => Value::Int(*i),
            Some(DefaultValue::Float(x)) => Value::Float(*x),
            Some(DefaultValue::String(s)) => Value::String(s.clone()),
            Some(DefaultValue::Bool(b)) => Value::Bool(*b),
        }
    }

    /// A short description for errors: `a string "28"`, `a float_list of 3 elements`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Value::Int(i) => format!("an int {i}"),
            Value::Float(x) => format!("a float {x:?}"),
            Value::String(s) => format!("a string {}", crate::error::excerpt(s.as_bytes())),
            Value::Bool(b) => format!("a bool {b}"),
            Value::FloatList(v) => format!("a float_list of {} elements", v.len()),
            Value::Null => "null".to_owned(),
        }
    }
}

impl fmt::Display for Value {
    /// Ints in decimal, floats in their shortest round-trip form (`1250.5`, `1.0`), strings as
    /// they are, bools as `true`/`false`, float lists as `[0.5, 1.0]`, `Null` as `null`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::String(s) => f.write_str(s),
            Value::Bool(b) => write!(f, "{b}"),
            Value::FloatList(v) => write!(f, "{v:?}"),
            Value::Null => f.write_str("null"),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from($v: $t) -> Value {
                $e
            }
        }
    )*};
}

value_from!(
    i64 => |v| Value::Int(v),
    i32 => |v| Value::Int(v.into()),
    u32 => |v| Value::Int(v.into()),
    f64 => |v| Value::Float(v),
    f32 => |v| Value::Float(v.into()),
    bool => |v| Value::Bool(v),
    String => |v| Value::String(v),
    &str => |v| Value::String(v.to_owned()),
    Vec<f32> => |v| Value::FloatList(v),
    &[f32] => |v| Value::FloatList(v.to_vec()),
);

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is [`Value::Null`].
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// Named feature values, in registry order (or in the order asked for): what the dynamic reads
/// return.
///
/// Look values up by name with [`get`](Features::get) or indexing, or walk them in order with
/// [`iter`](Features::iter). The names are shared by every row of a batch, so a batch allocates
/// them once. Collect into a map when order does not matter:
///
/// ```
/// use std::collections::HashMap;
/// use fstore_runtime::{Features, Value};
///
/// let features: Features = [("age", Value::Int(28)), ("segment", Value::from("premium"))]
///     .into_iter()
///     .collect();
/// assert_eq!(features.len(), 2);
/// assert_eq!(features["age"], Value::Int(28));
/// assert_eq!(features.get("country"), None);
/// assert_eq!(features.names().collect::<Vec<_>>(), ["age", "segment"]);
/// for (name, value) in &features {
///     println!("{name} = {value}");
/// }
/// let map: HashMap<String, Value> = features.into_iter().collect();
/// assert_eq!(map["segment"], Value::from("premium"));
/// ```
#[derive(Clone, Default)]
pub struct Features {
    names: Arc<[String]>,
    values: Vec<Value>,
    /// One per value; empty means every value is [`Status::Present`] (built from pairs).
    statuses: Vec<Status>,
    /// One per value: the `_updated_at` (epoch milliseconds) of the row it was read from; empty
    /// means none is known (built from pairs).
    updated_at: Vec<Option<u64>>,
}

/// How a value of [`Features`] came about: Feast's per-value statuses, applying the registry's
/// rules as typed views do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Stored, and fresh (Feast's `PRESENT`).
    Present,
    /// Absent from a row that exists; the value is the registry's `default`.
    Defaulted,
    /// Absent from a row that exists, and `optional`: the value is [`Value::Null`] (Feast's
    /// `NULL_VALUE`).
    Null,
    /// Absent, and nothing says what it should be: the entity has no row in this view, or the
    /// feature is required (no `default`, not `optional`), where a typed view returns an error.
    /// The value is the default if there is one, else [`Value::Null`] (Feast's `NOT_FOUND`).
    NotFound,
    /// The view's row is older than its `max_age` (feature vectors only, as typed
    /// `FeatureVector`s): the stored value is not used; the value is the default if there is
    /// one, else [`Value::Null`] (Feast's `OUTSIDE_MAX_AGE`).
    OutsideMaxAge,
}

impl Status {
    /// Feast's name of the status: `PRESENT`, `NULL_VALUE`, `NOT_FOUND`, `OUTSIDE_MAX_AGE`
    /// (`Defaulted` is `PRESENT`: the registry says what the value is).
    pub fn feast_name(self) -> &'static str {
        match self {
            Status::Present | Status::Defaulted => "PRESENT",
            Status::Null => "NULL_VALUE",
            Status::NotFound => "NOT_FOUND",
            Status::OutsideMaxAge => "OUTSIDE_MAX_AGE",
        }
    }
}

/// Names and values; the statuses and stamps say how the values came about and are not
/// compared.
impl PartialEq for Features {
    fn eq(&self, other: &Features) -> bool {
        self.names == other.names && self.values == other.values
    }
}

impl Features {
    /// The status of feature `name`: whether its value was stored, defaulted, null, not found
    /// or too old. `None` when there is no such feature here.
    ///
    /// ```
    /// # use fstore_runtime::{Features, Status, Value};
    /// let f: Features = [("age", Value::Int(28))].into_iter().collect();
    /// assert_eq!(f.status("age"), Some(Status::Present));
    /// ```
    pub fn status(&self, name: &str) -> Option<Status> {
        let index = self.names.iter().position(|n| n == name)?;
        Some(self.statuses.get(index).copied().unwrap_or(Status::Present))
    }

    /// The statuses, in order (one per value).
    pub fn statuses(&self) -> impl ExactSizeIterator<Item = Status> + '_ {
        (0..self.values.len()).map(|i| self.statuses.get(i).copied().unwrap_or(Status::Present))
    }

    /// When each value's row was last written, in order (one per value): the row's
    /// `_updated_at` in epoch milliseconds, as the reads fetch it with the features. `None` for
    /// a value of an entity without a row in its view, of a row without a readable
    /// `_updated_at`, or of features not read from a store (collected from pairs). A feature
    /// vector's values come from one row per view, so their stamps may differ.
    ///
    /// ```
    /// # use fstore_runtime::{Features, Value};
    /// let f: Features = [("age", Value::Int(28))].into_iter().collect();
    /// assert_eq!(f.updated_at().collect::<Vec<_>>(), [None]);
    /// ```
    pub fn updated_at(&self) -> impl ExactSizeIterator<Item = Option<u64>> + '_ {
        (0..self.values.len()).map(|i| self.updated_at.get(i).copied().flatten())
    }

    /// The value of feature `name`, `None` when there is no such feature here. (An absent
    /// feature that was read is present here, as its default or [`Value::Null`].)
    ///
    /// ```
    /// # use fstore_runtime::{Features, Value};
    /// let f: Features = [("age", Value::Int(28))].into_iter().collect();
    /// assert_eq!(f.get("age"), Some(&Value::Int(28)));
    /// assert_eq!(f.get("agee"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&Value> {
        let index = self.names.iter().position(|n| n == name)?;
        self.values.get(index)
    }

    /// How many features.
    ///
    /// ```
    /// # use fstore_runtime::{Features, Value};
    /// let f: Features = [("a", Value::Null), ("b", Value::Int(1))].into_iter().collect();
    /// assert_eq!(f.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// `true` when there are none.
    ///
    /// ```
    /// assert!(fstore_runtime::Features::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The `(name, value)` pairs, in order.
    ///
    /// ```
    /// # use fstore_runtime::{Features, Value};
    /// let f: Features = [("age", Value::Int(28)), ("vip", true.into())].into_iter().collect();
    /// let pairs: Vec<(&str, &Value)> = f.iter().collect();
    /// assert_eq!(pairs, [("age", &Value::Int(28)), ("vip", &Value::Bool(true))]);
    /// ```
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            names: self.names.iter(),
            values: self.values.iter(),
        }
    }

    /// The names, in order.
    ///
    /// ```
    /// # use fstore_runtime::{Features, Value};
    /// let f: Features = [("age", Value::Int(28)), ("vip", Value::Null)].into_iter().collect();
    /// assert_eq!(f.names().collect::<Vec<_>>(), ["age", "vip"]);
    /// ```
    pub fn names(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + '_ {
        self.names.iter().map(String::as_str)
    }

    /// The values, in order.
    ///
    /// ```
    /// # use fstore_runtime::{Features, Value};
    /// let f: Features = [("age", Value::Int(28)), ("vip", Value::Null)].into_iter().collect();
    /// assert_eq!(f.values(), [Value::Int(28), Value::Null]);
    /// ```
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Moves value `index` out, leaving [`Value::Null`] (out of range: `Null`).
    pub(crate) fn take_value(&mut self, index: usize) -> Value {
        self.values
            .get_mut(index)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The `(name, value)` pairs, in order.
    ///
    /// ```
    /// # use fstore_runtime::{Features, Value};
    /// let f: Features = [("age", Value::Int(28))].into_iter().collect();
    /// assert_eq!(f.into_vec(), vec![("age".to_owned(), Value::Int(28))]);
    /// ```
    pub fn into_vec(self) -> Vec<(String, Value)> {
        self.into_iter().collect()
    }
}

impl fmt::Debug for Features {
    /// As a map: `{"age": Int(28), "segment": String("premium")}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Index<&str> for Features {
    type Output = Value;

    /// The value of feature `name`.
    ///
    /// # Panics
    /// When there is no such feature here; use [`Features::get`] to handle that case.
    fn index(&self, name: &str) -> &Value {
        match self.get(name) {
            Some(value) => value,
            None => panic!(
                "no feature `{name}` in these features (they are: {})",
                self.names().collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

impl<N: Into<String>> FromIterator<(N, Value)> for Features {
    fn from_iter<I: IntoIterator<Item = (N, Value)>>(iter: I) -> Features {
        let (names, values): (Vec<String>, Vec<Value>) =
            iter.into_iter().map(|(n, v)| (n.into(), v)).unzip();
        Features {
            names: names.into(),
            values,
            statuses: Vec::new(),
            updated_at: Vec::new(),
        }
    }
}

impl<'a> IntoIterator for &'a Features {
    type Item = (&'a str, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for Features {
    type Item = (String, Value);
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        IntoIter {
            names: self.names,
            front: 0,
            values: self.values.into_iter(),
        }
    }
}

/// The iterator of [`Features::iter`]: `(name, value)` pairs, in order.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    names: std::slice::Iter<'a, String>,
    values: std::slice::Iter<'a, Value>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        Some((self.names.next()?, self.values.next()?))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.values.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        Some((self.names.next_back()?, self.values.next_back()?))
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl FusedIterator for Iter<'_> {}

/// The owning iterator of [`Features`]: `(name, value)` pairs, in order.
#[derive(Debug, Clone)]
pub struct IntoIter {
    names: Arc<[String]>,
    /// The index in `names` of the next value from the front.
    front: usize,
    values: std::vec::IntoIter<Value>,
}

impl Iterator for IntoIter {
    type Item = (String, Value);

    fn next(&mut self) -> Option<(String, Value)> {
        let value = self.values.next()?;
        let name = self.names.get(self.front).cloned().unwrap_or_default();
        self.front += 1;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.values.size_hint()
    }
}

impl DoubleEndedIterator for IntoIter {
    fn next_back(&mut self) -> Option<(String, Value)> {
        let value = self.values.next_back()?;
        let index = self.front + self.values.len();
        Some((self.names.get(index).cloned().unwrap_or_default(), value))
    }
}

impl ExactSizeIterator for IntoIter {}
impl FusedIterator for IntoIter {}

impl Store {
    /// Reads features of entity `id` in `view`, by name: one `HMGET` of those features and
    /// `_updated_at`.
    ///
    /// `fields: None` reads every feature of the view, in registry order; `Some(names)` reads
    /// exactly those, in the order given. An absent feature reads as its registry default, else
    /// [`Value::Null`] (required features are not enforced here, unlike typed views).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use fstore_runtime::registry::Registry;
    /// use fstore_runtime::{Store, Value};
    ///
    /// let registry = Registry::parse(r#"
    ///     [entities.user]
    ///     [views.user_profile]
    ///     entity = "user"
    ///     ttl = "1h"
    ///     [views.user_profile.features]
    ///     age = "int"
    ///     lifetime_value = "float"
    ///     is_premium = { type = "bool", default = false }
    /// "#, "features.toml")?;
    /// let store = Store::embedded().with_registry(registry);
    /// let features = [("age", Value::Int(28)), ("lifetime_value", Value::Float(1250.5))];
    /// store.write("user_profile", "user_123", &features).await?;
    ///
    /// let all = store.read("user_profile", "user_123", None).await?.unwrap();
    /// assert_eq!(
    ///     format!("{all:?}"),
    ///     r#"{"age": Int(28), "lifetime_value": Float(1250.5), "is_premium": Bool(false)}"#
    /// );
    ///
    /// let two = store.read("user_profile", "user_123", Some(&["lifetime_value", "age"])).await?;
    /// assert_eq!(
    ///     two.unwrap().into_vec(),
    ///     [("lifetime_value".into(), Value::Float(1250.5)), ("age".into(), Value::Int(28))]
    /// );
    ///
    /// assert_eq!(store.read("user_profile", "user_999", None).await?, None);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `Ok(None)` when the entity does not exist. [`Error::Config`] without a registry;
    /// [`Error::UnknownName`] for an unknown view or feature; [`Error::InvalidEntityId`] for the
    /// empty id; [`Error::Decode`] for a stored value that does not parse as its registry type;
    /// transport errors.
    pub async fn read(
        &self,
        view: &str,
        id: impl EntityId,
        fields: Option<&[&str]>,
    ) -> Result<Option<Features>> {
        crate::trace::call("read", view, async move {
            let registry = require_registry(self)?;
            let plan = ViewRead::resolve(registry, view, fields)?;
            let cmd = plan.command(plan.key(id, self.key_layout())?);
            let mut out = Vec::with_capacity(1);
            let decode =
                |cmds: &[Command], replies: &[Reply<'_>]| plan.decode_entity(cmds, replies);
            self.run_reads(std::slice::from_ref(&cmd), 1, &mut out, decode)
                .await?;
            Ok(out.pop().flatten())
        })
        .await
    }

    /// Reads every feature of `view` for many entities, in pipelines of
    /// [`Store::pipeline_chunk_size`] `HMGET`s: one result per id, in input order (duplicates
    /// allowed), `None` for a missing entity. An empty input sends nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use fstore_runtime::registry::Registry;
    /// use fstore_runtime::{Store, Value};
    ///
    /// let registry = Registry::parse(r#"
    ///     [entities.item]
    ///     [views.item_stats]
    ///     entity = "item"
    ///     ttl = "1d"
    ///     [views.item_stats.features]
    ///     price = "float"
    /// "#, "features.toml")?;
    /// let store = Store::embedded().with_registry(registry);
    /// store.write("item_stats", 1, &[("price", Value::Float(9.5))]).await?;
    /// store.write("item_stats", 2, &[("price", Value::Float(20.0))]).await?;
    ///
    /// let rows = store.read_batch("item_stats", [2, 3, 1]).await?;
    /// let prices: Vec<Option<f64>> =
    ///     rows.iter().map(|r| r.as_ref().and_then(|f| f["price"].as_f64())).collect();
    /// assert_eq!(prices, [Some(20.0), None, Some(9.5)]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Store::read`], for the first entity that fails.
    pub async fn read_batch<I>(&self, view: &str, ids: I) -> Result<Vec<Option<Features>>>
    where
        I: IntoIterator,
        I::Item: EntityId,
    {
        crate::trace::call("read_batch", view, async move {
            let registry = require_registry(self)?;
            let plan = ViewRead::resolve(registry, view, None)?;
            let ids = ids.into_iter();
            let chunk = self.pipeline_chunk_size();
            let mut out = Vec::with_capacity(ids.size_hint().0);
            let mut cmds = Vec::with_capacity(chunk.min(ids.size_hint().0.max(1)));
            let decode =
                |cmds: &[Command], replies: &[Reply<'_>]| plan.decode_entity(cmds, replies);
            for id in ids {
                cmds.push(plan.command(plan.key(id, self.key_layout())?));
                if cmds.len() == chunk {
                    self.run_reads(&cmds, 1, &mut out, decode).await?;
                    cmds.clear();
                }
            }
            self.run_reads(&cmds, 1, &mut out, decode).await?;
            Ok(out)
        })
        .await
    }

    /// Reads features of one entity across views, by `view:feature` reference: one `HMGET` per
    /// view, all in one pipeline (one round trip).
    ///
    /// The result is named `view__feature`, in the order of `references`. Values read as in
    /// [`Store::read`]; an entity missing from a view reads as absent there (defaults or
    /// [`Value::Null`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use fstore_runtime::registry::Registry;
    /// use fstore_runtime::{Store, Value};
    ///
    /// let registry = Registry::parse(r#"
    ///     [entities.user]
    ///     [views.user_profile]
    ///     entity = "user"
    ///     ttl = "1h"
    ///     [views.user_profile.features]
    ///     age = "int"
    ///     [views.user_risk_profile]
    ///     entity = "user"
    ///     ttl = "15m"
    ///     [views.user_risk_profile.features]
    ///     fraud_score = "float"
    ///     txn_count_24h = { type = "int", default = 0 }
    /// "#, "features.toml")?;
    /// let store = Store::embedded().with_registry(registry);
    /// store.write("user_profile", "user_123", &[("age", Value::Int(28))]).await?;
    /// store.write("user_risk_profile", "user_123", &[("fraud_score", Value::Float(0.05))]).await?;
    ///
    /// let references = [
    ///     "user_profile:age",
    ///     "user_risk_profile:fraud_score",
    ///     "user_risk_profile:txn_count_24h",
    /// ];
    /// let vector = store.get_feature_vector("user_123", &references).await?;
    /// assert_eq!(
    ///     vector.into_vec(),
    ///     [
    ///         ("user_profile__age".into(), Value::Int(28)),
    ///         ("user_risk_profile__fraud_score".into(), Value::Float(0.05)),
    ///         ("user_risk_profile__txn_count_24h".into(), Value::Int(0)), // the default
    ///     ]
    /// );
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownName`] for a malformed reference (not `view:feature`), an unknown view or
    /// an unknown feature; otherwise as [`Store::read`].
    pub async fn get_feature_vector<R: AsRef<str>>(
        &self,
        id: impl EntityId,
        references: &[R],
    ) -> Result<Features> {
        crate::trace::call("get_feature_vector", "*", async move {
            let attached = require_registry(self)?;
            let plan = attached.vector_plan(references, || vector_plan(attached, references))?;
            let groups: Vec<ViewRead<'_>> = plan
                .groups
                .iter()
                .filter_map(|g| ViewRead::of_group(attached, g))
                .collect();
            let cmds = groups
                .iter()
                .map(|g| Ok(g.command(g.key(&id, self.key_layout())?)))
                .collect::<Result<Vec<_>>>()?;
            let now = now_ms();
            let decode = |cmds: &[Command], replies: &[Reply<'_>]| {
                let mut values = Vec::with_capacity(groups.len());
                for ((group, cmd), &reply) in groups.iter().zip(cmds).zip(replies) {
                    let row = group.row(cmd, reply)?;
                    let decoded = group.decode(&row, Some(now))?;
                    values.push((decoded, row.updated_at_ms().ok().flatten()));
                }
                Ok(values)
            };
            let mut out = Vec::with_capacity(1);
            self.run_reads(&cmds, cmds.len(), &mut out, decode).await?;
            let mut rows = out.pop().unwrap_or_default();
            let mut values = Vec::with_capacity(plan.slots.len());
            let mut statuses = Vec::with_capacity(plan.slots.len());
            let mut updated_at = Vec::with_capacity(plan.slots.len());
            for &(g, i) in plan.slots.iter() {
                let (value, status, at) = rows
                    .get_mut(g)
                    .and_then(|(row, at)| {
                        let slot = row.get_mut(i)?;
                        Some((std::mem::take(&mut slot.0), slot.1, *at))
                    })
                    .unwrap_or((Value::Null, Status::NotFound, None));
                values.push(value);
                statuses.push(status);
                updated_at.push(at);
            }
            Ok(Features {
                names: Arc::clone(&plan.names),
                values,
                statuses,
                updated_at,
            })
        })
        .await
    }

    /// Writes features of entity `id` in `view`, by name: the values, `_updated_at` and the
    /// view's expiry in one atomic script call, exactly as a typed view's `write` does, so that
    /// typed views read it back.
    ///
    /// Each value must match the registry: [`Value::Int`] for `int`, [`Value::Float`] or
    /// [`Value::Int`] for `float`, [`Value::String`] for `string`, [`Value::Bool`] for `bool`,
    /// [`Value::FloatList`] for `float_list` (of the declared `len`, if any).
    /// [`Value::Null`] removes the feature, required or not. Features not named are left as they
    /// are. Everything is checked before anything is sent: an error writes nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use fstore_runtime::registry::Registry;
    /// use fstore_runtime::{Error, Store, Value};
    ///
    /// let registry = Registry::parse(r#"
    ///     [entities.user]
    ///     [views.user_profile]
    ///     entity = "user"
    ///     ttl = "1h"
    ///     [views.user_profile.features]
    ///     age = "int"
    ///     lifetime_value = "float"
    ///     country = { type = "string", optional = true }
    /// "#, "features.toml")?;
    /// let store = Store::embedded().with_registry(registry);
    ///
    /// store
    ///     .write("user_profile", "user_123", &[
    ///         ("age", Value::Int(28)),
    ///         ("lifetime_value", Value::Int(1250)), // an int is a valid float
    ///         ("country", Value::from("DE")),
    ///     ])
    ///     .await?;
    /// store.write("user_profile", "user_123", &[("country", Value::Null)]).await?; // removes it
    ///
    /// let wrong = [("age", Value::from("28"))];
    /// let err = store.write("user_profile", "user_123", &wrong).await.unwrap_err();
    /// assert!(matches!(err, Error::InvalidValue { .. }));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "cannot write feature `age` of view `user_profile`: expected an `int` (`Value::Int`), \
    ///      found a string \"28\""
    /// );
    ///
    /// let row = store.read("user_profile", "user_123", None).await?.unwrap();
    /// assert_eq!(row.values(), [Value::Int(28), Value::Float(1250.0), Value::Null]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a value of the wrong type or length, or a feature given twice;
    /// [`Error::Config`] without a registry; [`Error::UnknownName`] for an unknown view or
    /// feature; [`Error::InvalidEntityId`] for the empty id; [`Error::Server`] when the server
    /// refuses the write; transport errors (after which the write may or may not have been
    /// applied, but never partly).
    pub async fn write(
        &self,
        view: &str,
        id: impl EntityId,
        features: &[(&str, Value)],
    ) -> Result<()> {
        crate::trace::call("write", view, async move {
            let registry = require_registry(self)?;
            let view = find_view(&registry.registry, view)?;
            let prefix = registry.prefix(view);
            let cmd = write_command(&prefix, view, id, features, self.key_layout(), now_ms())?;
            let results = self.run_writes(std::slice::from_ref(&cmd)).await?;
            results.into_iter().next().unwrap_or(Ok(()))
        })
        .await
    }

    /// Writes many entities of `view` by name, exactly as a typed view's `write_batch` does: in
    /// pipelines of [`Store::pipeline_chunk_size`] entities, each entity one call of the write
    /// script (fields, removals, stamp and expiry atomically), so that no entity is half written
    /// or left without its TTL. Each row is checked as [`Store::write`] checks it,
    /// every row before anything is sent: an error writes nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use fstore_runtime::registry::Registry;
    /// use fstore_runtime::{Store, Value};
    ///
    /// let registry = Registry::parse(r#"
    ///     [entities.item]
    ///     [views.item_stats]
    ///     entity = "item"
    ///     ttl = "1d"
    ///     [views.item_stats.features]
    ///     price = "float"
    /// "#, "features.toml")?;
    /// let store = Store::embedded().with_registry(registry);
    /// let rows = (1..=3).map(|i| (i, [("price", Value::Float(f64::from(i) * 10.0))]));
    /// store.write_batch("item_stats", rows).await?;
    ///
    /// let prices = store.read_batch("item_stats", [3, 1]).await?;
    /// assert_eq!(prices[0].as_ref().unwrap()["price"], Value::Float(30.0));
    /// assert_eq!(prices[1].as_ref().unwrap()["price"], Value::Float(10.0));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Store::write`] for a value or id that cannot be written: then nothing is sent.
    /// [`Error::Batch`] when the server did not apply every entity, with each one's
    /// [`WriteOutcome`](crate::WriteOutcome) (applied, refused with the server's reason,
    /// unknown, not sent), so that exactly the rest can be retried.
    pub async fn write_batch<'f, I, K, F>(&self, view: &str, rows: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, F)>,
        K: EntityId,
        F: AsRef<[(&'f str, Value)]>,
    {
        crate::trace::call("write_batch", view, async move {
            let registry = require_registry(self)?;
            let view = find_view(&registry.registry, view)?;
            let prefix = registry.prefix(view);
            let now = now_ms();
            let layout = self.key_layout();
            let cmds = rows
                .into_iter()
                .map(|(id, features)| {
                    write_command(&prefix, view, id, features.as_ref(), layout, now)
                })
                .collect::<Result<Vec<_>>>()?;
            self.run_write_batch(&cmds).await
        })
        .await
    }

    /// Checks one row exactly as [`Store::write`] and [`Store::write_batch`] check it, and
    /// sends nothing: the view and feature names, each value's type, range and `len`, a feature
    /// given twice, the entity id, the view's TTL and, on a handle made with
    /// [`refusing_out_of_vocab`](Store::refusing_out_of_vocab), strings outside their `vocab`.
    /// `Ok` means that a write of the row would be sent. For tools that check rows one at a time
    /// before writing them in batches (a bulk loader's per-row rejects, or a dry run on
    /// [`Store::embedded`], which needs no server).
    ///
    /// ```
    /// use fstore_runtime::registry::Registry;
    /// use fstore_runtime::{Error, Store, Value};
    ///
    /// let registry = Registry::parse(r#"
    ///     [entities.user]
    ///     [views.user_profile]
    ///     entity = "user"
    ///     ttl = "1h"
    ///     [views.user_profile.features]
    ///     age = "int"
    ///     segment = { type = "string", vocab = ["basic", "vip"] }
    /// "#, "features.toml")?;
    /// let store = Store::embedded().with_registry(registry);
    /// assert!(store.check_write("user_profile", "u1", &[("age", Value::Int(28))]).is_ok());
    /// let err = store.check_write("user_profile", "", &[("age", Value::Int(28))]).unwrap_err();
    /// assert!(matches!(err, Error::InvalidEntityId { .. }));
    ///
    /// let gold = [("segment", Value::from("gold"))];
    /// assert!(store.check_write("user_profile", "u1", &gold).is_ok());
    /// let strict = store.refusing_out_of_vocab();
    /// assert!(matches!(strict.check_write("user_profile", "u1", &gold), Err(Error::InvalidValue { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The errors [`Store::write`] returns before it sends anything: [`Error::InvalidValue`],
    /// [`Error::UnknownName`], [`Error::InvalidEntityId`], [`Error::Config`] without a registry.
    pub fn check_write(
        &self,
        view: &str,
        id: impl EntityId,
        features: &[(&str, Value)],
    ) -> Result<()> {
        let registry = require_registry(self)?;
        let view = find_view(&registry.registry, view)?;
        let prefix = registry.prefix(view);
        match write_command(&prefix, view, id, features, self.key_layout(), 0)? {
            Command::Write(w) if self.refuses_out_of_vocab() => {
                w.out_of_vocab().map_or(Ok(()), |miss| Err(miss.to_error()))
            }
            _ => Ok(()),
        }
    }
}

/// The write of `features` (checked against `view`) as entity `id`, stamped `updated_at_ms`.
fn write_command(
    prefix: &str,
    view: &View,
    id: impl EntityId,
    features: &[(&str, Value)],
    layout: KeyLayout,
    updated_at_ms: u64,
) -> Result<Command> {
    let mut w = RowWriter::with_capacity(features.len());
    // Which features were given (one bit each), to find one given twice without comparing
    // every pair of names; views of more than 128 features compare names.
    let mut given = 0u128;
    for (name, value) in features {
        let index = find_feature_index(view, name)?;
        let feature = &view.features[index];
        let twice = match u32::try_from(index).ok().and_then(|i| 1u128.checked_shl(i)) {
            Some(bit) => {
                let seen = given & bit != 0;
                given |= bit;
                seen
            }
            None => features.iter().filter(|(n, _)| n == name).count() > 1,
        };
        if twice {
            let times = features.iter().filter(|(n, _)| n == name).count();
            return Err(Error::InvalidValue {
                view: view.name.clone(),
                feature: feature.name.clone(),
                expected: "each feature once".to_owned(),
                found: format!("it {times} times"),
            });
        }
        encode(&mut w, view, feature, value)?;
    }
    let key = view_key(prefix, &view.name, id, layout)?;
    let ttl_ms = view.ttl_seconds.saturating_mul(1_000);
    Ok(Command::Write(w.finish(
        &view.name,
        key,
        ttl_ms,
        updated_at_ms,
    )?))
}

/// The registry of `store`, or the error that says how to attach one.
fn require_registry(store: &Store) -> Result<&Attached> {
    store.attached().ok_or_else(|| {
        Error::Config(
            "this store has no registry, which the dynamic API (`Store::read`, `read_batch`, \
             `get_feature_vector`, `write`, `write_batch`) needs to know views and feature types; attach one \
             with `Store::with_registry(Registry::from_path(\"features.toml\")?)`"
                .to_owned(),
        )
    })
}

fn find_view<'r>(registry: &'r Registry, name: &str) -> Result<&'r View> {
    registry.view(name).ok_or_else(|| Error::UnknownName {
        what: "view",
        name: name.to_owned(),
        help: suggestion(name, registry.views.iter().map(|v| v.name.as_str())),
    })
}

/// Restates an unknown-feature error of `view` for the reference the caller wrote:
/// ``unknown feature `user_profile:agee`; did you mean `user_profile:age`?``.
fn qualify(error: Error, view: &View, reference: &str) -> Error {
    let Error::UnknownName { what, name, .. } = error else {
        return error;
    };
    let help = match did_you_mean(&name, view.feature_names()) {
        Some(close) => format!("did you mean `{}:{close}`?", view.name),
        None => suggestion(&name, view.feature_names()),
    };
    Error::UnknownName {
        what,
        name: reference.to_owned(),
        help,
    }
}

/// Splits `view:feature` and finds the view.
fn parse_reference<'r, 'a>(
    registry: &'r Registry,
    reference: &'a str,
) -> Result<(&'r View, &'a str)> {
    match reference.split_once(':') {
        Some((view, feature))
            if !view.is_empty() && !feature.is_empty() && !feature.contains(':') =>
        {
            Ok((find_view(registry, view)?, feature))
        }
        _ => Err(Error::UnknownName {
            what: "feature reference",
            name: reference.to_owned(),
            help: reference_help(registry, reference),
        }),
    }
}

/// For a malformed reference: the valid one it was likely meant to be (`user_profile.age`,
/// `user_profile__age`, `user_profile::age`), else the expected form.
fn reference_help(registry: &Registry, reference: &str) -> String {
    for separator in ["::", "__", ".", "/", " "] {
        if let Some((view, feature)) = reference.split_once(separator) {
            if registry
                .view(view)
                .is_some_and(|v| v.feature(feature).is_some())
            {
                return format!("did you mean `{view}:{feature}`?");
            }
        }
    }
    let example = registry
        .views
        .iter()
        .find_map(|v| Some(format!("`{}:{}`", v.name, v.features.first()?.name)))
        .unwrap_or_else(|| "`user_profile:age`".to_owned());
    format!("a feature reference is `view:feature`, such as {example}")
}

/// `{namespace}:v{version}:{view}:{id}`, the key a typed view of the same name builds.
fn view_key(prefix: &str, view: &str, id: impl EntityId, layout: KeyLayout) -> Result<String> {
    let mut key = String::with_capacity(prefix.len() + 24);
    key.push_str(prefix);
    layout.push_id(&mut key, view, &id)?;
    Ok(key)
}

/// The plan of `get_feature_vector` for `references`: one read per view, in order of first
/// appearance, and where each reference lands.
fn vector_plan<R: AsRef<str>>(attached: &Attached, references: &[R]) -> Result<VectorPlan> {
    let registry = &*attached.registry;
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut slots = Vec::with_capacity(references.len());
    let mut names = Vec::with_capacity(references.len());
    for reference in references {
        let reference = reference.as_ref();
        let (view, feature) = parse_reference(registry, reference)?;
        let index = view_index(registry, view);
        let group = match groups.iter().position(|(v, _)| *v == index) {
            Some(g) => g,
            None => {
                groups.push((index, Vec::new()));
                groups.len() - 1
            }
        };
        let feature = find_feature_index(view, feature).map_err(|e| qualify(e, view, reference))?;
        slots.push((group, groups[group].1.len()));
        groups[group].1.push(feature);
        names.push(format!("{}__{}", view.name, view.features[feature].name));
    }
    let groups = groups
        .into_iter()
        .map(|(view, features)| {
            let (fields, names) = registry
                .views
                .get(view)
                .map(|v| field_lists(v, &features))
                .unwrap_or_default();
            GroupPlan {
                view,
                features,
                fields,
                names,
            }
        })
        .collect();
    Ok(VectorPlan {
        refs: references.iter().map(|r| r.as_ref().to_owned()).collect(),
        names: names.into(),
        groups,
        slots,
    })
}

/// The `HMGET` fields (the features' names, then `_updated_at`) and the result names of a read
/// of `features` (indices) of `view`.
fn field_lists(view: &View, features: &[usize]) -> (Arc<[String]>, Arc<[String]>) {
    let names: Vec<String> = features
        .iter()
        .filter_map(|&i| view.features.get(i))
        .map(|f| f.name.clone())
        .collect();
    let fields = names
        .iter()
        .cloned()
        .chain([UPDATED_AT.to_owned()])
        .collect();
    (fields, names.into())
}

/// The index of `view` in `registry`.
fn view_index(registry: &Registry, view: &View) -> usize {
    registry
        .views
        .iter()
        .position(|v| std::ptr::eq(v, view))
        .unwrap_or(usize::MAX)
}

/// The index of feature `name` of `view`.
fn find_feature_index(view: &View, name: &str) -> Result<usize> {
    view.features
        .iter()
        .position(|f| f.name == name)
        .ok_or_else(|| Error::UnknownName {
            what: "feature",
            name: name.to_owned(),
            help: suggestion(name, view.feature_names()),
        })
}

/// Checks `value` against `feature` and adds it to the write; the codec encodes it exactly as
/// the typed path would.
fn encode(w: &mut RowWriter, view: &View, feature: &Feature, value: &Value) -> Result<()> {
    let field = feature.name.clone();
    match (feature.ty, value) {
        (_, Value::Null) => w.put(field, &None::<i64>),
        (FeatureType::Int, Value::Int(i)) => w.put(field, i),
        (FeatureType::Float, Value::Float(x)) => w.put(field, x),
        (FeatureType::Float, Value::Int(i)) => w.put(field, &(*i as f64)),
        (FeatureType::String, Value::String(s)) => match &feature.vocab {
            Some(vocab) => w.put_vocab(field, s, vocab),
            None => w.put(field, s),
        },
        (FeatureType::Bool, Value::Bool(b)) => w.put(field, b),
        (FeatureType::FloatList, Value::FloatList(v))
            if feature.len.is_none_or(|len| len == v.len()) =>
        {
            w.put(field, &crate::codec::ListValue::new(v, list_spec(feature)));
        }
        (ty, value) => {
            let expected = match (ty, feature.len) {
                (FeatureType::Int, _) => "an `int` (`Value::Int`)".to_owned(),
                (FeatureType::Float, _) => "a `float` (`Value::Float` or `Value::Int`)".to_owned(),
                (FeatureType::String, _) => "a `string` (`Value::String`)".to_owned(),
                (FeatureType::Bool, _) => "a `bool` (`Value::Bool`)".to_owned(),
                (FeatureType::FloatList, Some(len)) => {
                    format!("a `float_list` of {len} elements (`Value::FloatList`)")
                }
                (FeatureType::FloatList, None) => "a `float_list` (`Value::FloatList`)".to_owned(),
            };
            return Err(Error::InvalidValue {
                view: view.name.clone(),
                feature: feature.name.clone(),
                expected,
                found: value.describe(),
            });
        }
    }
    Ok(())
}

/// What to read from one view: its features (all, or some, in order) and the `HMGET` fields.
struct ViewRead<'r> {
    view: &'r View,
    /// `{namespace}:v{version}:{view}:`.
    prefix: Cow<'r, str>,
    /// Indices into `view.features`, in reply order.
    features: Cow<'r, [usize]>,
    /// The features' names followed by `_updated_at`, the reply's order.
    fields: Arc<[String]>,
    /// The features' names: a result's names.
    names: Arc<[String]>,
}

impl<'r> ViewRead<'r> {
    /// The read of `fields` (`None`: every feature) of view `name`.
    fn resolve(attached: &'r Attached, name: &str, fields: Option<&[&str]>) -> Result<Self> {
        let view = find_view(&attached.registry, name)?;
        let Some(names) = fields else {
            if let Some(plan) = attached.plan(view) {
                return Ok(ViewRead {
                    view,
                    prefix: Cow::Borrowed(&plan.prefix),
                    features: Cow::Borrowed(&plan.all),
                    fields: Arc::clone(&plan.fields),
                    names: Arc::clone(&plan.names),
                });
            }
            return Ok(ViewRead::of(
                attached,
                view,
                (0..view.features.len()).collect(),
            ));
        };
        let features = names
            .iter()
            .map(|n| find_feature_index(view, n))
            .collect::<Result<_>>()?;
        Ok(ViewRead::of(attached, view, features))
    }

    /// The read of features `features` (indices) of `view`.
    fn of(attached: &'r Attached, view: &'r View, features: Vec<usize>) -> ViewRead<'r> {
        let (fields, names) = field_lists(view, &features);
        ViewRead {
            view,
            prefix: attached.prefix(view),
            features: Cow::Owned(features),
            fields,
            names,
        }
    }

    /// The read of one view of a vector plan.
    fn of_group(attached: &'r Attached, group: &'r GroupPlan) -> Option<ViewRead<'r>> {
        let view = attached.registry.views.get(group.view)?;
        Some(ViewRead {
            view,
            prefix: attached.prefix(view),
            features: Cow::Borrowed(&group.features),
            fields: Arc::clone(&group.fields),
            names: Arc::clone(&group.names),
        })
    }

    fn key(&self, id: impl EntityId, layout: KeyLayout) -> Result<String> {
        view_key(&self.prefix, &self.view.name, id, layout)
    }

    fn command(&self, key: String) -> Command {
        Command::hmget_shared(key, Arc::clone(&self.fields))
    }

    fn row<'a>(&'a self, cmd: &'a Command, reply: Reply<'a>) -> Result<Row<'a>> {
        let values = reply::hmget(cmd, self.fields.len(), reply)?;
        Ok(Row::new(
            cmd.key(),
            FieldNames::Shared(&self.fields),
            values,
        ))
    }

    /// The features of one entity (its one command and reply), `None` when it does not exist.
    fn decode_entity(&self, cmds: &[Command], replies: &[Reply<'_>]) -> Result<Option<Features>> {
        let (Some(cmd), Some(&reply)) = (cmds.first(), replies.first()) else {
            return Ok(None);
        };
        let row = self.row(cmd, reply)?;
        if row.is_absent() {
            crate::trace::row(&self.view.name, RowStatus::Missing);
            return Ok(None);
        }
        let (values, statuses): (Vec<Value>, Vec<Status>) =
            self.decode(&row, None)?.into_iter().unzip();
        let updated_at = vec![row.updated_at_ms().ok().flatten(); values.len()];
        Ok(Some(Features {
            names: Arc::clone(&self.names),
            values,
            statuses,
            updated_at,
        }))
    }

    /// The values of `row` and their statuses. With `now` (epoch milliseconds: a feature
    /// vector), a row older than the view's `max_age` is not used, as typed `FeatureVector`s do.
    ///
    /// # Errors
    /// [`Error::Decode`] for a malformed value, or a malformed stamp when `max_age` applies.
    fn decode(&self, row: &Row<'_>, now: Option<u64>) -> Result<Vec<(Value, Status)>> {
        let gone = if row.is_absent() {
            Some(Status::NotFound)
        } else {
            match (now, self.view.max_age_seconds) {
                (Some(now), Some(max_age)) => {
                    // A row without `_updated_at` cannot show that it is fresh.
                    let stale = row
                        .updated_at_ms()?
                        .is_none_or(|at| now.saturating_sub(at) > max_age.saturating_mul(1_000));
                    stale.then_some(Status::OutsideMaxAge)
                }
                _ => None,
            }
        };
        crate::trace::row(
            &self.view.name,
            match gone {
                None => RowStatus::Found,
                Some(Status::OutsideMaxAge) => RowStatus::Stale,
                Some(_) => RowStatus::Missing,
            },
        );
        self.features
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                let Some(feature) = self.view.features.get(f) else {
                    return Ok((Value::Null, Status::NotFound));
                };
                let decoded = match gone {
                    Some(status) => (Value::absent(feature), status),
                    None => decode_feature(row, i, feature)?,
                };
                if decoded.1 == Status::Defaulted {
                    crate::trace::defaulted(&self.view.name, &feature.name);
                }
                Ok(decoded)
            })
            .collect()
    }
}

/// Field `index` of `row` decoded as `feature`'s type by the codec, the way a typed view of
/// the registry's Rust type (`i64`, `f64`, `String`, `bool`, `Vec<f32>`) decodes it; an absent
/// one as its default ([`Status::Defaulted`]), `Null` when optional ([`Status::Null`]), else
/// `Null` with [`Status::NotFound`] (a typed view would fail).
fn decode_feature(row: &Row<'_>, index: usize, feature: &Feature) -> Result<(Value, Status)> {
    let value = match feature.ty {
        FeatureType::Int => row.get::<Option<i64>>(index)?.map(Value::Int),
        FeatureType::Float => row.get::<Option<f64>>(index)?.map(Value::Float),
        FeatureType::String => row.get::<Option<String>>(index)?.map(Value::String),
        FeatureType::Bool => row.get::<Option<bool>>(index)?.map(Value::Bool),
        FeatureType::FloatList => row
            .get_list::<Option<Vec<f32>>>(index, &list_spec(feature))?
            .map(Value::FloatList),
    };
    Ok(match value {
        Some(value) => (value, Status::Present),
        None if feature.default.is_some() => (Value::absent(feature), Status::Defaulted),
        None if feature.optional => (Value::Null, Status::Null),
        None => (Value::Null, Status::NotFound),
    })
}

/// The declaration of a `float_list` feature: its `len` and encoding, checked on every read and
/// write.
fn list_spec(feature: &Feature) -> crate::codec::ListSpec {
    crate::codec::ListSpec::new(feature.len, feature.encoding.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::parse(
            r#"
            [entities.user]
            [views.user_profile]
            entity = "user"
            ttl = "1h"
            [views.user_profile.features]
            age = "int"
            lifetime_value = "float"
            embedding = { type = "float_list", len = 2 }
            [views.user_risk_profile]
            entity = "user"
            ttl = "15m"
            [views.user_risk_profile.features]
            fraud_score = "float"
            "#,
            "test.toml",
        )
        .unwrap()
    }

    #[test]
    fn read_plans_are_one_hmget_of_the_features_and_updated_at() {
        let attached = Attached::new(Arc::new(registry()));
        let plan =
            ViewRead::resolve(&attached, "user_profile", Some(&["lifetime_value", "age"])).unwrap();
        let cmd = plan.command(plan.key("u1", KeyLayout::Plain).unwrap());
        assert_eq!(
            cmd.to_string(),
            "HMGET fs:v1:user_profile:u1 lifetime_value age _updated_at"
        );
        // Every feature: the precomputed plan, shared, and the same command.
        let every = ViewRead::resolve(&attached, "user_profile", None).unwrap();
        let again = ViewRead::resolve(&attached, "user_profile", None).unwrap();
        assert!(Arc::ptr_eq(&every.fields, &again.fields));
        let cmd = every.command(every.key("u1", KeyLayout::HashTag).unwrap());
        assert_eq!(
            cmd.to_string(),
            "HMGET fs:v1:user_profile:{u1} age lifetime_value embedding _updated_at"
        );
        assert_eq!(&*every.names, ["age", "lifetime_value", "embedding"]);
    }

    #[test]
    fn vector_plans_group_by_view_and_are_kept() {
        let attached = Attached::new(Arc::new(registry()));
        let refs = [
            "user_profile:embedding",
            "user_risk_profile:fraud_score",
            "user_profile:age",
        ];
        let plan = attached
            .vector_plan(&refs, || vector_plan(&attached, &refs))
            .unwrap();
        assert_eq!(plan.groups.len(), 2);
        assert_eq!(&*plan.groups[0].fields, ["embedding", "age", "_updated_at"]);
        assert_eq!(plan.slots, [(0, 0), (1, 0), (0, 1)]);
        assert_eq!(
            &*plan.names,
            [
                "user_profile__embedding",
                "user_risk_profile__fraud_score",
                "user_profile__age"
            ]
        );
        let kept = attached
            .vector_plan(&refs, || panic!("planned twice"))
            .unwrap();
        assert!(Arc::ptr_eq(&plan, &kept));
        // Another list is another plan; an unknown name is an error, and nothing is kept.
        let other = ["user_profile:age"];
        let second = attached
            .vector_plan(&other, || vector_plan(&attached, &other))
            .unwrap();
        assert!(!Arc::ptr_eq(&plan, &second));
        let bad = ["user_profile:agee"];
        let err = attached
            .vector_plan(&bad, || vector_plan(&attached, &bad))
            .unwrap_err();
        assert!(
            err.to_string().contains("did you mean `user_profile:age`?"),
            "{err}"
        );
    }

    #[test]
    fn writes_encode_through_the_codec() {
        let r = registry();
        let view = r.view("user_profile").unwrap();
        let mut w = RowWriter::default();
        encode(&mut w, view, view.feature("age").unwrap(), &Value::Int(28)).unwrap();
        encode(
            &mut w,
            view,
            view.feature("lifetime_value").unwrap(),
            &Value::Int(3),
        )
        .unwrap();
        encode(
            &mut w,
            view,
            view.feature("embedding").unwrap(),
            &Value::Null,
        )
        .unwrap();
        let cmd = Command::Write(w.finish("v", "k".into(), 1000, 7).unwrap());
        assert!(
            cmd.to_string()
                .ends_with(" 1 k 1000 3 age 28 lifetime_value 3.0 _updated_at 0.007 embedding"),
            "{cmd}"
        );
        let err = encode(
            &mut RowWriter::default(),
            view,
            view.feature("embedding").unwrap(),
            &Value::FloatList(vec![1.0; 3]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot write feature `embedding` of view `user_profile`: expected a `float_list` of \
             2 elements (`Value::FloatList`), found a float_list of 3 elements"
        );
    }

    #[test]
    fn references_must_be_view_colon_feature() {
        let r = registry();
        let (view, feature) = parse_reference(&r, "user_profile:age").unwrap();
        assert_eq!((view.name.as_str(), feature), ("user_profile", "age"));
        for (bad, help) in [
            ("user_profile.age", "did you mean `user_profile:age`?"),
            ("user_profile__age", "did you mean `user_profile:age`?"),
            ("user_profile::age", "did you mean `user_profile:age`?"),
            (
                "age",
                "a feature reference is `view:feature`, such as `user_profile:age`",
            ),
            (
                ":age",
                "a feature reference is `view:feature`, such as `user_profile:age`",
            ),
        ] {
            match parse_reference(&r, bad).unwrap_err() {
                Error::UnknownName {
                    what,
                    name,
                    help: got,
                } => {
                    assert_eq!(
                        (what, name.as_str(), got.as_str()),
                        ("feature reference", bad, help)
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn features_iterate_both_ways() {
        let f: Features = [
            ("a", Value::Int(1)),
            ("b", Value::Null),
            ("c", Value::Bool(true)),
        ]
        .into_iter()
        .collect();
        let back: Vec<(String, Value)> = f.clone().into_iter().rev().collect();
        assert_eq!(back[0], ("c".to_owned(), Value::Bool(true)));
        assert_eq!(back[2], ("a".to_owned(), Value::Int(1)));
        let mut it = f.clone().into_iter();
        assert_eq!(it.next_back().unwrap().0, "c");
        assert_eq!(it.next().unwrap().0, "a");
        assert_eq!(it.next().unwrap().0, "b");
        assert_eq!(it.next(), None);
        assert_eq!(f.iter().rev().map(|(n, _)| n).collect::<String>(), "cba");
        assert_eq!(f.iter().len(), 3);
    }

    #[test]
    #[should_panic(expected = "no feature `zz` in these features (they are: a, b)")]
    fn indexing_an_unknown_name_panics_clearly() {
        let f: Features = [("a", Value::Int(1)), ("b", Value::Null)]
            .into_iter()
            .collect();
        let _ = &f["zz"];
    }
}
