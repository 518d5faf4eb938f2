//! Typed operations on any [`FeatureView`]; the derive's inherent methods forward here.
//!
//! `UserProfile::read(&store, id)` and `fstore::ops::read::<UserProfile>(&store, id)` are the same
//! call; the functions are public for code that is generic over views.

use std::borrow::Borrow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::Value;

use crate::plan::Command;
use crate::view::Row;
use crate::{EntityId, Error, FeatureView, Result, Store};

/// Reads entity `id`: one `HMGET` of exactly `T`'s features plus `_updated_at`.
///
/// # Errors
/// `Ok(None)` when the entity does not exist. [`Error::MissingField`] when it exists but lacks a
/// required feature; [`Error::Decode`] for a malformed value; [`Error::InvalidEntityId`] for the
/// empty id; transport errors from [`Store::execute`].
pub async fn read<T: FeatureView>(store: &Store, id: impl EntityId) -> Result<Option<T>> {
    let cmd = read_command::<T>(store, id)?;
    let replies = store.execute(std::slice::from_ref(&cmd)).await?;
    decode_reply::<T>(&cmd, replies.first())
}

/// Reads many entities in pipelines of [`Store::pipeline_chunk_size`] `HMGET`s; one result per id,
/// in input order (duplicates allowed). An empty input sends nothing.
///
/// # Errors
/// As [`read`], for the first entity that fails.
pub async fn read_batch<T, I>(store: &Store, ids: I) -> Result<Vec<Option<T>>>
where
    T: FeatureView,
    I: IntoIterator,
    I::Item: EntityId,
{
    let ids = ids.into_iter();
    let chunk = store.pipeline_chunk_size();
    let mut out = Vec::with_capacity(ids.size_hint().0);
    let mut cmds = Vec::with_capacity(chunk.min(ids.size_hint().0.max(1)));
    for id in ids {
        cmds.push(read_command::<T>(store, id)?);
        if cmds.len() == chunk {
            read_chunk(store, &cmds, &mut out).await?;
            cmds.clear();
        }
    }
    read_chunk(store, &cmds, &mut out).await?;
    Ok(out)
}

fn read_command<T: FeatureView>(store: &Store, id: impl EntityId) -> Result<Command> {
    Ok(Command::hmget(
        T::key_in(id, store.key_layout())?,
        T::READ_FIELDS,
    ))
}

async fn read_chunk<T: FeatureView>(
    store: &Store,
    cmds: &[Command],
    out: &mut Vec<Option<T>>,
) -> Result<()> {
    if cmds.is_empty() {
        return Ok(());
    }
    if let Some((pool, addr)) = store.fast_pool() {
        store.count_round_trip();
        return crate::fast::hmget_each(
            pool,
            addr,
            store.response_timeout(),
            cmds,
            out,
            |cmd, values| decode_raw::<T>(cmd, values),
        )
        .await;
    }
    execute_each(store, cmds, out, |cmd, reply| {
        decode_reply::<T>(cmd, Some(reply))
    })
    .await
}

/// Executes `cmds` in one pipeline (nothing when empty) and appends `decode` of each reply.
pub(crate) async fn execute_each<T>(
    store: &Store,
    cmds: &[Command],
    out: &mut Vec<T>,
    mut decode: impl FnMut(&Command, &Value) -> Result<T>,
) -> Result<()> {
    if cmds.is_empty() {
        return Ok(());
    }
    let replies = store.execute(cmds).await?;
    check_reply_count(cmds, &replies)?;
    for (cmd, reply) in cmds.iter().zip(&replies) {
        out.push(decode(cmd, reply)?);
    }
    Ok(())
}

/// Decodes the reply to a read command of `T`.
fn decode_reply<T: FeatureView>(cmd: &Command, reply: Option<&Value>) -> Result<Option<T>> {
    let row = Row::new(cmd.key(), T::READ_FIELDS, hmget_values(cmd, reply)?)?;
    if row.is_absent() {
        return Ok(None);
    }
    T::decode(&row).map(Some)
}

/// Decodes the raw values of the reply to a read command of `T`.
fn decode_raw<T: FeatureView>(cmd: &Command, values: &[Option<&[u8]>]) -> Result<Option<T>> {
    let row = Row::from_raw(cmd.key(), T::READ_FIELDS, values)?;
    if row.is_absent() {
        return Ok(None);
    }
    T::decode(&row).map(Some)
}

/// The values of the reply to an `HMGET`, or the error it stands for.
pub(crate) fn hmget_values<'r>(cmd: &Command, reply: Option<&'r Value>) -> Result<&'r [Value]> {
    match reply {
        Some(Value::Array(values)) => Ok(values),
        Some(Value::ServerError(e)) => Err(server_error(cmd, e)),
        other => Err(Error::UnexpectedReply {
            command: "HMGET",
            key: cmd.key().to_owned(),
            expected: "an array",
            found: describe(other),
        }),
    }
}

/// Checks that a pipeline answered every command.
pub(crate) fn check_reply_count(cmds: &[Command], replies: &[Value]) -> Result<()> {
    if replies.len() == cmds.len() {
        return Ok(());
    }
    Err(Error::UnexpectedReply {
        command: cmds.first().map_or("a pipeline", Command::name),
        key: cmds
            .first()
            .map(Command::key)
            .unwrap_or_default()
            .to_owned(),
        expected: "one reply per command of the pipeline",
        found: format!("{} replies for {} commands", replies.len(), cmds.len()),
    })
}

/// Writes `row` as entity `id`: its features, `_updated_at` and the key's expiry, atomically.
/// `None` features are removed from the hash.
///
/// # Errors
/// [`Error::InvalidEntityId`] for the empty id; [`Error::Server`] when the server refuses the
/// write; transport errors from [`Store::execute`]. After a transport error the write may or may
/// not have been applied, but never partly: it is one atomic unit.
pub async fn write<T: FeatureView>(store: &Store, id: impl EntityId, row: &T) -> Result<()> {
    let key = T::key_in(id, store.key_layout())?;
    let cmd = row.write_command_for_key(key, now_ms());
    let replies = store.execute(std::slice::from_ref(&cmd)).await?;
    check_write(&cmd, replies.first())
}

/// Writes many entities in pipelines of [`Store::pipeline_chunk_size`] entities, each pipeline one
/// transaction (`MULTI`, then `HSET`, `HDEL` for `None` features and `PEXPIRE` per entity, then
/// `EXEC`): a pipeline cut off before `EXEC` applies nothing, so no entity is ever half written or
/// left without its TTL. Every id is checked before anything is sent.
///
/// # Errors
/// As [`write()`]. When a later pipeline fails, the earlier ones have been applied. A key of
/// another type than a hash (`WRONGTYPE`) fails its own entity (the error names the key) but not
/// the others of the transaction; its expiry is still set, as `PEXPIRE` does not depend on the type.
pub async fn write_batch<T, I, K, R>(store: &Store, rows: I) -> Result<()>
where
    T: FeatureView,
    I: IntoIterator<Item = (K, R)>,
    K: EntityId,
    R: Borrow<T>,
{
    let rows = rows
        .into_iter()
        .map(|(id, row)| Ok((T::key_in(id, store.key_layout())?, row)))
        .collect::<Result<Vec<_>>>()?;
    let updated_at = now_ms();
    let chunk = store.pipeline_chunk_size();
    let mut cmds = Vec::with_capacity(chunk.min(rows.len()));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        cmds.clear();
        cmds.extend(
            rows.by_ref()
                .take(chunk)
                .map(|(key, row)| row.borrow().write_command_for_key(key, updated_at)),
        );
        let replies = store.execute_writes(&cmds).await?;
        for (i, cmd) in cmds.iter().enumerate() {
            check_write(cmd, replies.get(i))?;
        }
    }
    Ok(())
}

pub(crate) fn check_write(cmd: &Command, reply: Option<&Value>) -> Result<()> {
    match reply {
        Some(Value::Int(_)) => Ok(()),
        Some(Value::ServerError(e)) => Err(server_error(cmd, e)),
        other => Err(Error::UnexpectedReply {
            command: cmd.name(),
            key: cmd.key().to_owned(),
            expected: "an integer",
            found: describe(other),
        }),
    }
}

/// The remaining time to live of entity `id`: `None` when it does not exist (or, written by
/// another writer, has no expiry).
///
/// # Errors
/// [`Error::InvalidEntityId`] for the empty id; transport errors from [`Store::execute`].
pub async fn ttl<T: FeatureView>(store: &Store, id: impl EntityId) -> Result<Option<Duration>> {
    let cmd = Command::Pttl {
        key: T::key_in(id, store.key_layout())?,
    };
    let replies = store.execute(std::slice::from_ref(&cmd)).await?;
    match replies.first() {
        Some(Value::Int(ms)) if *ms >= 0 => Ok(Some(Duration::from_millis(ms.unsigned_abs()))),
        Some(Value::Int(_)) => Ok(None),
        Some(Value::ServerError(e)) => Err(server_error(&cmd, e)),
        other => Err(Error::UnexpectedReply {
            command: "PTTL",
            key: cmd.key().to_owned(),
            expected: "an integer",
            found: describe(other),
        }),
    }
}

fn server_error(cmd: &Command, e: &redis::ServerError) -> Error {
    Error::from_server(cmd.name(), cmd.key(), e.code(), e.to_string())
}

fn describe(reply: Option<&Value>) -> String {
    match reply {
        None => "no reply".to_owned(),
        Some(v) => format!("{v:?}").chars().take(80).collect(),
    }
}

/// Milliseconds since the unix epoch, for `_updated_at`.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
