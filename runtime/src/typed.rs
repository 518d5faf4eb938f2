//! Typed operations on any [`FeatureView`]: what the derive's inherent methods call
//! (`UserProfile::read(&store, id)` is `read::<UserProfile>(&store, id)`). Each builds its plan
//! ([`Command`]s), hands it to the store's backend, and decodes the replies straight into the
//! struct.

use std::borrow::Borrow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::command::Command;
use crate::reply::{self, Reply};
use crate::trace::RowStatus;
use crate::view::{FieldNames, Row};
use crate::{EntityId, FeatureView, Result, Store};

/// Reads entity `id`: one `HMGET` of exactly `T`'s features plus `_updated_at`.
///
/// # Errors
/// `Ok(None)` when the entity does not exist. [`Error::MissingField`](crate::Error::MissingField)
/// when it exists but lacks a required feature; [`Error::Decode`](crate::Error::Decode) for a
/// malformed value; [`Error::InvalidEntityId`](crate::Error::InvalidEntityId) for the empty id;
/// transport errors.
pub async fn read<T: FeatureView + Send>(store: &Store, id: impl EntityId) -> Result<Option<T>> {
    crate::trace::call("read", T::VIEW, async move {
        let cmd = read_command::<T>(store, id)?;
        let mut out = Vec::with_capacity(1);
        store
            .run_reads(std::slice::from_ref(&cmd), 1, &mut out, decode::<T>)
            .await?;
        Ok(out.pop().flatten())
    })
    .await
}

/// Reads many entities in pipelines of [`Store::pipeline_chunk_size`] `HMGET`s; one result per id,
/// in input order (duplicates allowed). An empty input sends nothing.
///
/// # Errors
/// As [`read`], for the first entity that fails.
pub async fn read_batch<T, I>(store: &Store, ids: I) -> Result<Vec<Option<T>>>
where
    T: FeatureView + Send,
    I: IntoIterator,
    I::Item: EntityId,
{
    crate::trace::call("read_batch", T::VIEW, async move {
        let ids = ids.into_iter();
        let chunk = store.pipeline_chunk_size();
        let mut out = Vec::with_capacity(ids.size_hint().0);
        let mut cmds = Vec::with_capacity(chunk.min(ids.size_hint().0.max(1)));
        for id in ids {
            cmds.push(read_command::<T>(store, id)?);
            if cmds.len() == chunk {
                store.run_reads(&cmds, 1, &mut out, decode::<T>).await?;
                cmds.clear();
            }
        }
        store.run_reads(&cmds, 1, &mut out, decode::<T>).await?;
        Ok(out)
    })
    .await
}

fn read_command<T: FeatureView>(store: &Store, id: impl EntityId) -> Result<Command> {
    Ok(Command::hmget(
        T::key_in(id, store.key_layout())?,
        T::READ_FIELDS,
    ))
}

/// Decodes the reply to a read of `T`: `None` for a missing entity.
fn decode<T: FeatureView>(cmds: &[Command], replies: &[Reply<'_>]) -> Result<Option<T>> {
    let (Some(cmd), Some(&reply)) = (cmds.first(), replies.first()) else {
        return Ok(None);
    };
    let values = reply::hmget(cmd, T::READ_FIELDS.len(), reply)?;
    let row = Row::new(cmd.key(), FieldNames::Static(T::READ_FIELDS), values);
    if row.is_absent() {
        crate::trace::row(T::VIEW, RowStatus::Missing);
        return Ok(None);
    }
    crate::trace::row(T::VIEW, RowStatus::Found);
    T::decode(&row).map(Some)
}

/// Writes `row` as entity `id`: its features, `_updated_at` and the key's expiry, atomically.
/// `None` features are removed from the hash.
///
/// # Errors
/// [`Error::InvalidEntityId`](crate::Error::InvalidEntityId) for the empty id;
/// [`Error::Server`](crate::Error::Server) when the server refuses the write; transport errors.
/// After a transport error the write may or may not have been applied, but never partly: it is
/// one atomic unit.
pub async fn write<T: FeatureView>(store: &Store, id: impl EntityId, row: &T) -> Result<()> {
    crate::trace::call("write", T::VIEW, async move {
        let key = T::key_in(id, store.key_layout())?;
        let cmd = row.write_command_for_key(key, now_ms())?;
        let results = store.run_writes(std::slice::from_ref(&cmd)).await?;
        results.into_iter().next().unwrap_or(Ok(()))
    })
    .await
}

/// One entity of a `write_batch`: an id and a row of `T`, owned or borrowed. Implemented for
/// `(id, row)` and `(id, &row)` pairs and for references to them, so that a batch can be a
/// `Vec<(String, Row)>` passed by value or by reference, or any iterator of such pairs; the id is
/// anything that is an [`EntityId`] (`&str`, `String`, an integer, …).
pub trait BatchRow<T> {
    /// The id's type.
    type Id: EntityId + ?Sized;

    /// The entity id.
    fn id(&self) -> &Self::Id;

    /// The row.
    fn row(&self) -> &T;
}

impl<T, K: EntityId, R: Borrow<T>> BatchRow<T> for (K, R) {
    type Id = K;

    fn id(&self) -> &K {
        &self.0
    }

    fn row(&self) -> &T {
        self.1.borrow()
    }
}

impl<T, P: BatchRow<T> + ?Sized> BatchRow<T> for &P {
    type Id = P::Id;

    fn id(&self) -> &P::Id {
        (**self).id()
    }

    fn row(&self) -> &T {
        (**self).row()
    }
}

/// Writes many entities in pipelines of [`Store::pipeline_chunk_size`] entities. Each entity is
/// its own atomic unit (one call of the write script): applied whole, with its TTL, or not at
/// all, whatever happens to the connection. Every id and value is checked before anything is
/// sent. `rows` are [`BatchRow`]s: `(id, row)` or `(id, &row)` pairs, or references to them.
///
/// # Errors
/// [`Error::InvalidEntityId`](crate::Error::InvalidEntityId) or
/// [`Error::InvalidValue`](crate::Error::InvalidValue): nothing was sent.
/// [`Error::Batch`](crate::Error::Batch) when the server did not apply every entity: one
/// [`WriteOutcome`](crate::WriteOutcome) per row, in input order (applied; refused, with the
/// server's reason such as `WRONGTYPE` or `OOM`, the key left untouched; unknown, sent without
/// a reply; not sent, after a transport error), so that exactly the rest can be written again.
pub async fn write_batch<T, I>(store: &Store, rows: I) -> Result<()>
where
    T: FeatureView,
    I: IntoIterator,
    I::Item: BatchRow<T>,
{
    crate::trace::call("write_batch", T::VIEW, async move {
        let updated_at = now_ms();
        let layout = store.key_layout();
        let cmds = rows
            .into_iter()
            .map(|r| {
                r.row()
                    .write_command_for_key(T::key_in(r.id(), layout)?, updated_at)
            })
            .collect::<Result<Vec<_>>>()?;
        store.run_write_batch(&cmds).await
    })
    .await
}

/// The remaining time to live of entity `id`: `None` when it does not exist (or, written by
/// another writer, has no expiry).
///
/// # Errors
/// [`Error::InvalidEntityId`](crate::Error::InvalidEntityId) for the empty id; transport errors.
pub async fn ttl<T: FeatureView>(store: &Store, id: impl EntityId) -> Result<Option<Duration>> {
    crate::trace::call("ttl", T::VIEW, async move {
        let cmd = Command::Pttl {
            key: T::key_in(id, store.key_layout())?,
        };
        let mut out = Vec::with_capacity(1);
        store
            .run_reads(
                std::slice::from_ref(&cmd),
                1,
                &mut out,
                |cmds, replies| match (cmds.first(), replies.first()) {
                    (Some(cmd), Some(&r)) => reply::pttl(cmd, r),
                    _ => Ok(None),
                },
            )
            .await?;
        Ok(out.pop().flatten())
    })
    .await
}

/// Milliseconds since the unix epoch, for `_updated_at`.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
