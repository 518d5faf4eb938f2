//! The `FeatureView` trait that `#[derive(FeatureView)]` implements, and what its code uses.

use std::time::Duration;

use redis::Value;

use crate::plan::{Command, RowWriter, UPDATED_AT};
use crate::{EntityId, Error, FeatureValue, Result};

/// A struct whose fields are the features of one feature view (or a subset: a projection).
///
/// Implemented by `#[derive(FeatureView)]`; the derive also adds the inherent async methods
/// `read`, `read_batch`, `write`, `write_batch` and `ttl`, which forward to the functions in
/// [`ops`](crate::ops). The constants describe the storage layout; the methods build plans.
/// Implementing it by hand is possible but not needed: every item the derive fills in is listed
/// here so that generic code can be written over views.
pub trait FeatureView: Sized {
    /// The view's name, such as `user_profile`.
    const VIEW: &'static str;
    /// The key namespace, `fs` by default.
    const NAMESPACE: &'static str;
    /// The layout version, `1` by default.
    const VERSION: u32;
    /// `{namespace}:v{version}:{view}:`, to which the entity id is appended.
    const KEY_PREFIX: &'static str;
    /// The expiry every write sets on the key.
    const TTL: Duration;
    /// The stored feature names (hash fields), in field order.
    const FEATURES: &'static [&'static str];
    /// What a read asks for: [`FEATURES`](Self::FEATURES) followed by `_updated_at`.
    const READ_FIELDS: &'static [&'static str];

    /// Decodes one `HMGET` reply of [`READ_FIELDS`](Self::READ_FIELDS).
    ///
    /// # Errors
    /// [`Error::MissingField`] and [`Error::Decode`] from [`Row`].
    fn decode(row: &Row<'_>) -> Result<Self>;

    /// Encodes every feature of `self` into `out`.
    fn encode(&self, out: &mut RowWriter);

    /// The key of entity `id` in this view: `fs:v1:user_profile:user_123`.
    ///
    /// # Errors
    /// [`Error::InvalidEntityId`] for the empty id.
    fn key(id: impl EntityId) -> Result<String> {
        Self::key_in(id, KeyLayout::Plain)
    }

    /// The key of entity `id` in this view in `layout`: `fs:v1:user_profile:user_123`, or
    /// `fs:v1:user_profile:{user_123}` with [`KeyLayout::HashTag`].
    ///
    /// # Errors
    /// [`Error::InvalidEntityId`] for the empty id.
    fn key_in(id: impl EntityId, layout: KeyLayout) -> Result<String> {
        let mut key = String::with_capacity(Self::KEY_PREFIX.len() + 26);
        key.push_str(Self::KEY_PREFIX);
        layout.push_id(&mut key, Self::VIEW, &id)?;
        Ok(key)
    }

    /// The command a `read` of entity `id` sends: `HMGET key <features> _updated_at`.
    ///
    /// # Errors
    /// [`Error::InvalidEntityId`] for the empty id.
    fn read_command(id: impl EntityId) -> Result<Command> {
        Ok(Command::hmget(Self::key(id)?, Self::READ_FIELDS))
    }

    /// The command a `write` of `self` as entity `id` sends, stamped `updated_at_ms`.
    ///
    /// # Errors
    /// [`Error::InvalidEntityId`] for the empty id.
    fn write_command(&self, id: impl EntityId, updated_at_ms: u64) -> Result<Command> {
        let key = Self::key(id)?;
        Ok(self.write_command_for_key(key, updated_at_ms))
    }

    /// [`write_command`](Self::write_command) for an already built key.
    fn write_command_for_key(&self, key: String, updated_at_ms: u64) -> Command {
        let mut w = RowWriter::with_capacity(Self::FEATURES.len());
        self.encode(&mut w);
        let ttl_ms = u64::try_from(Self::TTL.as_millis()).unwrap_or(u64::MAX);
        Command::Write(w.finish(key, ttl_ms, updated_at_ms))
    }
}

/// How an entity id is placed in its keys; set with
/// [`StoreBuilder::hash_tag_entities`](crate::StoreBuilder::hash_tag_entities).
///
/// The layout is part of the stored data's format: a store reads only keys written in its own
/// layout, so switching it is a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyLayout {
    /// `fs:v1:user_profile:user_123`: the id verbatim after the view's prefix. The default, and
    /// the layout of the Python library.
    #[default]
    Plain,
    /// `fs:v1:user_profile:{user_123}`: the id in a cluster hash tag, so that every view of one
    /// entity hashes to the same slot (and node) of a Valkey Cluster. An id whose text starts
    /// with `}` makes an empty tag, which Valkey ignores: its keys still work, spread by the
    /// whole key.
    HashTag,
}

impl KeyLayout {
    /// Appends `id` to `key` (which holds a view's prefix) in this layout.
    ///
    /// # Errors
    /// [`Error::InvalidEntityId`] for the empty id.
    pub(crate) fn push_id(
        self,
        key: &mut String,
        view: &str,
        id: &(impl EntityId + ?Sized),
    ) -> Result<()> {
        let prefix = key.len();
        if self == KeyLayout::HashTag {
            key.push('{');
        }
        let start = key.len();
        id.write_id(key);
        if key.len() == start {
            key.truncate(prefix);
            return Err(empty_id(view));
        }
        if self == KeyLayout::HashTag {
            key.push('}');
        }
        Ok(())
    }
}

/// The error for the empty entity id in `view`.
pub(crate) fn empty_id(view: &str) -> Error {
    Error::InvalidEntityId {
        view: view.to_owned(),
        id: String::new(),
        reason: "the empty string is not an entity id",
    }
}

/// One `HMGET` reply, aligned with a view's [`READ_FIELDS`](FeatureView::READ_FIELDS); generated
/// `decode` methods take their fields from it by position.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    key: &'a str,
    fields: &'a [&'a str],
    values: Values<'a>,
}

/// The values of a [`Row`]: a `redis` reply, or raw values decoded straight from the wire.
#[derive(Debug, Clone, Copy)]
enum Values<'a> {
    Reply(&'a [Value]),
    Raw(&'a [Option<&'a [u8]>]),
}

impl Values<'_> {
    fn len(&self) -> usize {
        match self {
            Values::Reply(v) => v.len(),
            Values::Raw(v) => v.len(),
        }
    }
}

impl<'a> Row<'a> {
    /// A row of `values` read from `key`.
    ///
    /// # Errors
    /// [`Error::UnexpectedReply`] when the number of values is not the number of fields.
    pub fn new(key: &'a str, fields: &'a [&'a str], values: &'a [Value]) -> Result<Self> {
        Row::with_values(key, fields, Values::Reply(values))
    }

    /// A row of raw values (`None` for nil) read from `key`.
    ///
    /// # Errors
    /// As [`Row::new`].
    pub(crate) fn from_raw(
        key: &'a str,
        fields: &'a [&'a str],
        values: &'a [Option<&'a [u8]>],
    ) -> Result<Self> {
        Row::with_values(key, fields, Values::Raw(values))
    }

    fn with_values(key: &'a str, fields: &'a [&'a str], values: Values<'a>) -> Result<Self> {
        if values.len() != fields.len() {
            return Err(Error::UnexpectedReply {
                command: "HMGET",
                key: key.to_owned(),
                expected: "one value per requested field",
                found: format!("{} values for {} fields", values.len(), fields.len()),
            });
        }
        Ok(Row {
            key,
            fields,
            values,
        })
    }

    /// `true` when the entity does not exist: every requested field, `_updated_at` included, is nil.
    pub fn is_absent(&self) -> bool {
        match self.values {
            Values::Reply(values) => values.iter().all(|v| matches!(v, Value::Nil)),
            Values::Raw(values) => values.iter().all(Option::is_none),
        }
    }

    /// The key the row was read from.
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// The raw bytes of field `index`, `None` when absent.
    ///
    /// # Errors
    /// [`Error::UnexpectedReply`] for a reply value that is neither a string nor nil.
    pub fn raw(&self, index: usize) -> Result<Option<&'a [u8]>> {
        let values = match self.values {
            Values::Reply(values) => values,
            Values::Raw(values) => return Ok(values.get(index).copied().flatten()),
        };
        match values.get(index) {
            Some(Value::BulkString(b)) => Ok(Some(b)),
            Some(Value::Nil) | None => Ok(None),
            Some(Value::SimpleString(s)) => Ok(Some(s.as_bytes())),
            Some(other) => Err(Error::UnexpectedReply {
                command: "HMGET",
                key: self.key.to_owned(),
                expected: "a bulk string or nil per field",
                found: format!("{other:?}").chars().take(80).collect(),
            }),
        }
    }

    /// Field `index` decoded as `T`.
    ///
    /// # Errors
    /// [`Error::MissingField`] when absent and `T` is not an `Option`; [`Error::Decode`] when
    /// the stored value does not parse as `T`.
    pub fn get<T: FeatureValue>(&self, index: usize) -> Result<T> {
        match self.raw(index)? {
            Some(raw) => self.decode(index, raw),
            None => T::absent().ok_or_else(|| Error::MissingField {
                key: self.key.to_owned(),
                field: self.field(index).to_owned(),
            }),
        }
    }

    /// Field `index` decoded as `T`, or `default()` when absent.
    ///
    /// # Errors
    /// [`Error::Decode`] when the stored value does not parse as `T`.
    pub fn get_or_else<T: FeatureValue>(
        &self,
        index: usize,
        default: impl FnOnce() -> T,
    ) -> Result<T> {
        match self.raw(index)? {
            Some(raw) => self.decode(index, raw),
            None => Ok(default()),
        }
    }

    /// The `_updated_at` stamp (epoch milliseconds), when the row has one that parses.
    pub fn updated_at_ms(&self) -> Option<u64> {
        let index = self.fields.iter().position(|f| *f == UPDATED_AT)?;
        let raw = self.raw(index).ok()??;
        u64::decode(raw).ok()
    }

    fn field(&self, index: usize) -> &'a str {
        self.fields.get(index).copied().unwrap_or("?")
    }

    pub(crate) fn decode<T: FeatureValue>(&self, index: usize, raw: &[u8]) -> Result<T> {
        T::decode(raw).map_err(|reason| Error::Decode {
            key: self.key.to_owned(),
            field: self.field(index).to_owned(),
            expected: T::EXPECTED,
            reason,
            found: crate::error::excerpt(raw),
        })
    }
}
