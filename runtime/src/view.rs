//! The `FeatureView` trait that `#[derive(FeatureView)]` implements, and what its code uses.

use std::time::Duration;

use crate::codec::{ListField, ListSpec};
use crate::command::{Command, RowWriter, UPDATED_AT};
use crate::reply::Values;
use crate::{EntityId, Error, FeatureValue, Result};

/// A struct whose fields are the features of one feature view (or a subset: a projection).
///
/// Implemented by `#[derive(FeatureView)]`; the derive also adds the inherent async methods
/// `read`, `read_batch`, `write`, `write_batch` and `ttl`, which forward to the functions in
/// `fstore`'s typed operations. The constants describe the storage layout; the methods build plans.
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
    /// The entity the view's ids name (`user`): the registry's, or
    /// `#[feature_view(entity = "user")]`; `None` when the struct does not say.
    const ENTITY: Option<&'static str> = None;

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
    /// [`Error::InvalidEntityId`] for the empty id; [`Error::InvalidValue`] for a value out of
    /// its feature's storage range.
    fn write_command(&self, id: impl EntityId, updated_at_ms: u64) -> Result<Command> {
        let key = Self::key(id)?;
        self.write_command_for_key(key, updated_at_ms)
    }

    /// [`write_command`](Self::write_command) for an already built key.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a value out of its feature's storage range.
    fn write_command_for_key(&self, key: String, updated_at_ms: u64) -> Result<Command> {
        let mut w = RowWriter::with_capacity(Self::FEATURES.len());
        self.encode(&mut w);
        let ttl_ms = u64::try_from(Self::TTL.as_millis()).unwrap_or(u64::MAX);
        Ok(Command::Write(w.finish(
            Self::VIEW,
            key,
            ttl_ms,
            updated_at_ms,
        )?))
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
/// `decode` methods take their fields from it by position. The values are borrowed from the
/// reply buffer: nothing is copied until a field is decoded.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    key: &'a str,
    fields: FieldNames<'a>,
    values: Values<'a>,
}

/// The field names of a [`Row`], for messages and `_updated_at`: a derived view's static list,
/// or names known at run time.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldNames<'a> {
    Static(&'a [&'a str]),
    Shared(&'a [String]),
}

impl<'a> FieldNames<'a> {
    fn get(self, index: usize) -> Option<&'a str> {
        match self {
            FieldNames::Static(f) => f.get(index).copied(),
            FieldNames::Shared(f) => f.get(index).map(String::as_str),
        }
    }

    fn position(self, name: &str) -> Option<usize> {
        match self {
            FieldNames::Static(f) => f.iter().position(|f| *f == name),
            FieldNames::Shared(f) => f.iter().position(|f| f == name),
        }
    }
}

impl<'a> Row<'a> {
    /// A row of `values` (checked: one per field) read from `key`.
    pub(crate) fn new(key: &'a str, fields: FieldNames<'a>, values: Values<'a>) -> Self {
        Row {
            key,
            fields,
            values,
        }
    }

    /// `true` when the entity does not exist: every requested field, `_updated_at` included, is nil.
    pub fn is_absent(&self) -> bool {
        self.values.all_nil()
    }

    /// The key the row was read from.
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// The raw bytes of field `index`, `None` when absent.
    ///
    /// # Errors
    /// Never; a `Result` for the generated code's sake.
    pub fn raw(&self, index: usize) -> Result<Option<&'a [u8]>> {
        Ok(self.values.get(index))
    }

    /// Field `index` decoded as `T`.
    ///
    /// # Errors
    /// [`Error::MissingField`] when absent and `T` is not an `Option`; [`Error::Decode`] when
    /// the stored value does not parse as `T`.
    pub fn get<T: FeatureValue>(&self, index: usize) -> Result<T> {
        match self.raw(index)? {
            Some(raw) => self.decode(index, raw),
            None => self.absent(index),
        }
    }

    /// Field `index`, a `float_list` declared as `spec` (its length and encoding), decoded as
    /// `T` (`Vec<f32>` or `Option<Vec<f32>>`).
    ///
    /// # Errors
    /// [`Error::MissingField`] when absent and `T` is not an `Option`; [`Error::Decode`] when
    /// the stored value is not a list in the declared encoding, or of another length.
    pub fn get_list<T: ListField>(&self, index: usize, spec: &ListSpec) -> Result<T> {
        match self.raw(index)? {
            Some(raw) => self.decode_list(index, raw, spec).map(T::from_list),
            None => self.absent(index),
        }
    }

    /// The value of absent field `index`: `None` for an `Option`, else [`Error::MissingField`].
    fn absent<T: FeatureValue>(&self, index: usize) -> Result<T> {
        T::absent().ok_or_else(|| Error::MissingField {
            key: self.key.to_owned(),
            field: self.field(index).to_owned(),
        })
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

    /// The `_updated_at` stamp in epoch milliseconds, when the row has one (either stored form:
    /// seconds with a fraction, or integer milliseconds).
    ///
    /// # Errors
    /// [`Error::Decode`] for a stamp in neither form.
    pub fn updated_at_ms(&self) -> Result<Option<u64>> {
        let Some(index) = self.fields.position(UPDATED_AT) else {
            return Ok(None);
        };
        let Some(raw) = self.raw(index)? else {
            return Ok(None);
        };
        crate::stamp::decode(raw)
            .map(Some)
            .map_err(|reason| Error::Decode {
                key: self.key.to_owned(),
                field: UPDATED_AT.to_owned(),
                expected: crate::stamp::EXPECTED,
                reason,
                found: crate::error::excerpt(raw),
            })
    }

    fn field(&self, index: usize) -> &'a str {
        self.fields.get(index).unwrap_or("?")
    }

    pub(crate) fn decode<T: FeatureValue>(&self, index: usize, raw: &[u8]) -> Result<T> {
        T::decode(raw).map_err(|reason| self.malformed(index, T::EXPECTED, reason, raw))
    }

    /// `raw`, field `index`, decoded as a list declared as `spec`.
    pub(crate) fn decode_list(
        &self,
        index: usize,
        raw: &[u8],
        spec: &ListSpec,
    ) -> Result<Vec<f32>> {
        crate::codec::decode_list(raw, spec)
            .map_err(|reason| self.malformed(index, spec.expected(), reason, raw))
    }

    /// The error for `raw`, field `index`, which does not parse as `expected`.
    fn malformed(&self, index: usize, expected: &'static str, reason: String, raw: &[u8]) -> Error {
        Error::Decode {
            key: self.key.to_owned(),
            field: self.field(index).to_owned(),
            expected,
            reason,
            found: crate::error::excerpt(raw),
        }
    }
}
