//! Plans: the commands an operation sends, as plain data.
//!
//! Generated code never talks to a socket. It builds [`Command`]s (a key and a field list for a
//! read, a key and encoded values for a write), a backend executes them in one pipeline, and the
//! replies are decoded by the generated code. Because a plan is data, a test can assert the exact
//! command a struct emits without a server:
//!
//! ```
//! # use fstore_runtime::Command;
//! let cmd = Command::hmget("fs:v1:user_profile:user_123".into(), &["age", "_updated_at"]);
//! assert_eq!(cmd.to_string(), "HMGET fs:v1:user_profile:user_123 age _updated_at");
//! ```

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;
use std::time::Duration;

/// The Lua script behind every single write (`write`): one atomic unit per entity. Batches
/// (`write_batch`) send the same commands in one `MULTI` … `EXEC` transaction per pipeline
/// instead, which costs the server less per entity.
///
/// `KEYS[1]` is the key; `ARGV[1]` the expiry in milliseconds; `ARGV[2]` the number `n` of
/// field/value pairs that follow; then the pairs; then the fields to remove (`None` values).
/// Setting the fields and the expiry in one script means no key is ever left without its TTL,
/// even when the connection drops mid-batch, and it works the same on a cluster (one key per call).
pub const WRITE_SCRIPT: &str = r"local n = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + 2 * n))
if #ARGV > 2 + 2 * n then
  redis.call('HDEL', KEYS[1], unpack(ARGV, 3 + 2 * n))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
";

/// The SHA-1 of [`WRITE_SCRIPT`], as `EVALSHA` takes it.
pub fn write_script_sha() -> &'static str {
    static SHA: OnceLock<String> = OnceLock::new();
    SHA.get_or_init(|| redis::Script::new(WRITE_SCRIPT).get_hash().to_owned())
}

/// The metadata field every write sets: unix epoch milliseconds of the write.
pub const UPDATED_AT: &str = "_updated_at";

/// One command of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `HMGET key field…`: read exactly these fields of one entity.
    Hmget {
        /// The hash's key, such as `fs:v1:user_profile:user_123`.
        key: String,
        /// The fields, in reply order.
        fields: Fields,
    },
    /// Set fields, remove fields and set the expiry of one key, atomically (see [`WRITE_SCRIPT`]).
    Write(WriteCommand),
    /// `PTTL key`: the remaining time to live.
    Pttl {
        /// The hash's key.
        key: String,
    },
}

impl Command {
    /// An `HMGET` of `fields` on `key`.
    pub fn hmget(key: String, fields: &'static [&'static str]) -> Self {
        Command::Hmget {
            key,
            fields: Fields::Static(fields),
        }
    }

    /// An `HMGET` of field names known only at run time (the dynamic, registry-driven API).
    pub fn hmget_owned(key: String, fields: Vec<String>) -> Self {
        Command::Hmget {
            key,
            fields: Fields::Owned(fields),
        }
    }

    /// The key the command is for.
    pub fn key(&self) -> &str {
        match self {
            Command::Hmget { key, .. } | Command::Pttl { key } => key,
            Command::Write(w) => &w.key,
        }
    }

    /// The command's name as sent, for error messages: `HMGET`, `EVALSHA`, `PTTL`.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Hmget { .. } => "HMGET",
            Command::Write(_) => "EVALSHA",
            Command::Pttl { .. } => "PTTL",
        }
    }

    /// Appends the command to a redis pipeline.
    pub(crate) fn append_to(&self, pipe: &mut redis::Pipeline) {
        pipe.add_command(self.to_cmd());
    }

    /// Appends a write as plain commands (`HSET`, `HDEL` when fields are removed, `PEXPIRE`),
    /// for a transaction; returns how many. Other commands are appended as they are.
    pub(crate) fn append_unscripted(&self, pipe: &mut redis::Pipeline) -> usize {
        let Command::Write(w) = self else {
            self.append_to(pipe);
            return 1;
        };
        let bytes =
            4 + w.key.len() + w.buf.len() + w.set.iter().map(|(f, _)| f.len()).sum::<usize>();
        let mut hset = redis::Cmd::with_capacity(2 + 2 * w.set.len(), bytes);
        hset.arg("HSET").arg(w.key.as_str());
        for (field, value) in w.set() {
            hset.arg(field).arg(value);
        }
        pipe.add_command(hset);
        let mut count = 1;
        if !w.delete.is_empty() {
            let bytes = 4 + w.key.len() + w.delete.iter().map(|f| f.len()).sum::<usize>();
            let mut hdel = redis::Cmd::with_capacity(2 + w.delete.len(), bytes);
            hdel.arg("HDEL").arg(w.key.as_str());
            for field in &w.delete {
                hdel.arg(field.as_ref());
            }
            pipe.add_command(hdel);
            count += 1;
        }
        let mut pexpire = redis::Cmd::with_capacity(3, 7 + w.key.len() + 20);
        pexpire.arg("PEXPIRE").arg(w.key.as_str()).arg(w.ttl_ms);
        pipe.add_command(pexpire);
        count + 1
    }

    /// How many fields a write sets (the write script's reply); 0 for other commands.
    pub(crate) fn fields_set(&self) -> usize {
        match self {
            Command::Write(w) => w.set.len(),
            _ => 0,
        }
    }

    /// The command as the `redis` crate sends it, its buffers sized up front (one allocation
    /// for the arguments' bytes and one for their offsets, instead of one per growth step).
    pub(crate) fn to_cmd(&self) -> redis::Cmd {
        match self {
            Command::Hmget { key, fields } => {
                let bytes = 5 + key.len() + fields.iter().map(str::len).sum::<usize>();
                let mut cmd = redis::Cmd::with_capacity(2 + fields.len(), bytes);
                cmd.arg("HMGET").arg(key.as_str());
                for field in fields.iter() {
                    cmd.arg(field);
                }
                cmd
            }
            Command::Pttl { key } => {
                let mut cmd = redis::Cmd::with_capacity(2, 4 + key.len());
                cmd.arg("PTTL").arg(key.as_str());
                cmd
            }
            Command::Write(w) => {
                let args = 6 + 2 * w.set.len() + w.delete.len();
                let bytes = 7
                    + 40
                    + 1
                    + w.key.len()
                    + 20
                    + 4
                    + w.buf.len()
                    + w.set.iter().map(|(f, _)| f.len()).sum::<usize>()
                    + w.delete.iter().map(|f| f.len()).sum::<usize>();
                let mut cmd = redis::Cmd::with_capacity(args, bytes);
                cmd.arg("EVALSHA")
                    .arg(write_script_sha())
                    .arg(1)
                    .arg(w.key.as_str())
                    .arg(w.ttl_ms)
                    .arg(w.set.len());
                for (field, value) in w.set() {
                    cmd.arg(field).arg(value);
                }
                for field in &w.delete {
                    cmd.arg(field.as_ref());
                }
                cmd
            }
        }
    }
}

impl fmt::Display for Command {
    /// The command as sent, arguments separated by spaces, non-printable bytes escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Hmget { key, fields } => {
                write!(f, "HMGET {key}")?;
                for field in fields.iter() {
                    write!(f, " {field}")?;
                }
                Ok(())
            }
            Command::Pttl { key } => write!(f, "PTTL {key}"),
            Command::Write(w) => {
                write!(
                    f,
                    "EVALSHA {} 1 {} {} {}",
                    write_script_sha(),
                    w.key,
                    w.ttl_ms,
                    w.set.len()
                )?;
                for (field, value) in w.set() {
                    write!(f, " {field} {}", value.escape_ascii())?;
                }
                for field in &w.delete {
                    write!(f, " {field}")?;
                }
                Ok(())
            }
        }
    }
}

/// The field list of an `HMGET`: fixed at compile time (derived views) or built at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fields {
    /// A derived view's [`READ_FIELDS`](crate::FeatureView::READ_FIELDS).
    Static(&'static [&'static str]),
    /// Names chosen at run time.
    Owned(Vec<String>),
}

impl Fields {
    /// The field names, in order.
    pub fn iter(&self) -> FieldsIter<'_> {
        match self {
            Fields::Static(f) => FieldsIter::Static(f.iter()),
            Fields::Owned(f) => FieldsIter::Owned(f.iter()),
        }
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        match self {
            Fields::Static(f) => f.len(),
            Fields::Owned(f) => f.len(),
        }
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The iterator of [`Fields::iter`].
#[derive(Debug, Clone)]
pub enum FieldsIter<'a> {
    #[doc(hidden)]
    Static(std::slice::Iter<'a, &'static str>),
    #[doc(hidden)]
    Owned(std::slice::Iter<'a, String>),
}

impl<'a> Iterator for FieldsIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            FieldsIter::Static(it) => it.next().copied(),
            FieldsIter::Owned(it) => it.next().map(String::as_str),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            FieldsIter::Static(it) => it.size_hint(),
            FieldsIter::Owned(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for FieldsIter<'_> {}

/// The data of one entity write: fields to set, fields to remove, the expiry.
///
/// Field names are borrowed `&'static str`s for derived views (no allocation per feature) and
/// owned strings for the dynamic, registry-driven API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteCommand {
    key: String,
    ttl_ms: u64,
    buf: Vec<u8>,
    set: Vec<(Cow<'static, str>, Range<usize>)>,
    delete: Vec<Cow<'static, str>>,
}

impl WriteCommand {
    /// The hash's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The expiry set on the key, in milliseconds.
    pub fn ttl_ms(&self) -> u64 {
        self.ttl_ms
    }

    /// The fields to set with their encoded values, `_updated_at` last.
    pub fn set(&self) -> impl ExactSizeIterator<Item = (&str, &[u8])> + '_ {
        self.set
            .iter()
            .map(|(f, r)| (f.as_ref(), &self.buf[r.clone()]))
    }

    /// The fields to remove (features whose value is `None`).
    pub fn delete(&self) -> &[Cow<'static, str>] {
        &self.delete
    }
}

/// Collects the encoded features of one entity write; used by generated `encode` methods and by
/// the dynamic [`Store::write`](crate::Store::write).
#[derive(Debug, Default)]
pub struct RowWriter {
    buf: Vec<u8>,
    set: Vec<(Cow<'static, str>, Range<usize>)>,
    delete: Vec<Cow<'static, str>>,
}

impl RowWriter {
    /// An empty writer with room for `features` features.
    pub fn with_capacity(features: usize) -> Self {
        RowWriter {
            buf: Vec::with_capacity(features * 8),
            set: Vec::with_capacity(features + 1),
            delete: Vec::new(),
        }
    }

    /// Adds one feature: set when it has a value, removed when it is `None`.
    ///
    /// `field` is a `&'static str` for derived views (kept borrowed: no allocation) or a
    /// `String` for names known only at run time.
    pub fn put<T: crate::FeatureValue>(&mut self, field: impl Into<Cow<'static, str>>, value: &T) {
        let field = field.into();
        let start = self.buf.len();
        if value.encode(&mut self.buf) {
            self.set.push((field, start..self.buf.len()));
        } else {
            self.buf.truncate(start);
            self.delete.push(field);
        }
    }

    /// Finishes the write for `key`: appends `_updated_at` and fixes the expiry.
    pub fn finish(mut self, key: String, ttl_ms: u64, updated_at_ms: u64) -> WriteCommand {
        self.put(UPDATED_AT, &updated_at_ms);
        WriteCommand {
            key,
            ttl_ms,
            buf: self.buf,
            set: self.set,
            delete: self.delete,
        }
    }
}

/// `WAIT replicas timeout` ([`StoreBuilder::wait_for_replicas`](crate::StoreBuilder::wait_for_replicas)).
pub(crate) fn wait_command((replicas, timeout): (usize, Duration)) -> redis::Cmd {
    let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    redis::cmd("WAIT").arg(replicas).arg(ms).clone()
}

/// Checks the reply to a [`wait_command`] after `writes` (non-empty): enough replicas, or
/// [`Error::NotReplicated`](crate::Error::NotReplicated) naming the first write's key.
pub(crate) fn check_replicated(
    replicas: usize,
    reply: Option<&redis::Value>,
    writes: &[&Command],
) -> crate::Result<()> {
    let key = writes.first().map(|w| w.key()).unwrap_or_default();
    let acknowledged = match reply {
        Some(redis::Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
        Some(redis::Value::ServerError(e)) => {
            return Err(crate::Error::from_server(
                "WAIT",
                key,
                e.code(),
                e.to_string(),
            ));
        }
        _ => 0,
    };
    if acknowledged >= replicas {
        return Ok(());
    }
    Err(crate::Error::NotReplicated {
        key: key.to_owned(),
        entities: writes.len(),
        acknowledged,
        required: replicas,
    })
}

/// Appends `writes` as one transaction: `MULTI`, then each write's `HSET` / `HDEL` / `PEXPIRE`,
/// then `EXEC`. Returns how many commands each write queued, for [`transaction_replies`].
pub(crate) fn append_transaction<'a>(
    pipe: &mut redis::Pipeline,
    writes: impl IntoIterator<Item = &'a Command>,
) -> Vec<usize> {
    pipe.cmd("MULTI");
    let counts = writes
        .into_iter()
        .map(|cmd| cmd.append_unscripted(pipe))
        .collect();
    pipe.cmd("EXEC");
    counts
}

/// Splits the replies of a transaction made by [`append_transaction`] (`MULTI`'s, one per queued
/// command, `EXEC`'s) into one reply per write, as `execute` returns them: the number of fields
/// set, or the write's first server error. When the transaction was refused as a whole (an error
/// while queueing, a `NOPERM` for `MULTI`), each write gets its own queueing error, else the
/// refusal.
///
/// The replies are read here rather than by the `redis` crate's atomic pipelines, which skip
/// `MULTI`'s reply and cannot cope with it being an error.
pub(crate) fn transaction_replies<'a>(
    writes: impl IntoIterator<Item = &'a Command>,
    counts: &[usize],
    replies: &[redis::Value],
) -> crate::Result<Vec<redis::Value>> {
    use redis::Value;
    let queued: usize = counts.iter().sum();
    let writes: Vec<&Command> = writes.into_iter().collect();
    let first_key = || {
        writes
            .first()
            .map(|w| w.key())
            .unwrap_or_default()
            .to_owned()
    };
    let (Some(multi), Some(exec), true) =
        (replies.first(), replies.last(), replies.len() == queued + 2)
    else {
        return Err(crate::Error::UnexpectedReply {
            command: "EXEC",
            key: first_key(),
            expected: "one reply for MULTI, one per queued command and one for EXEC",
            found: format!("{} replies for {} commands", replies.len(), queued + 2),
        });
    };
    let (results, refused) = match exec {
        Value::Array(results) if results.len() == queued => (results.as_slice(), None),
        Value::ServerError(_) => (&replies[1..=queued], Some(exec)),
        other => {
            return Err(crate::Error::UnexpectedReply {
                command: "EXEC",
                key: first_key(),
                expected: "one result per queued command",
                found: format!("{other:?}").chars().take(80).collect(),
            })
        }
    };
    let multi_error = matches!(multi, Value::ServerError(_)).then_some(multi);
    let mut results = results.iter();
    Ok(writes
        .iter()
        .zip(counts)
        .map(|(cmd, &count)| {
            results
                .by_ref()
                .take(count)
                .find(|r| matches!(r, Value::ServerError(_)))
                .or(multi_error)
                .or(refused)
                .cloned()
                .unwrap_or(Value::Int(cmd.fields_set() as i64))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::Value;

    fn write(key: &str, with_none: bool) -> Command {
        let mut w = RowWriter::default();
        w.put("age", &28i64);
        if with_none {
            w.put("country", &None::<String>);
        }
        Command::Write(w.finish(key.into(), 1_000, 42))
    }

    fn error(text: &str) -> Value {
        let mut raw = format!("-{text}\r\n").into_bytes();
        raw.shrink_to_fit();
        redis::parse_redis_value(&raw).unwrap()
    }

    fn ok(text: &str) -> Value {
        Value::SimpleString(text.to_owned())
    }

    #[test]
    fn transactions_queue_every_write_between_multi_and_exec() {
        let writes = [write("a", true), write("b", false)];
        let mut pipe = redis::Pipeline::new();
        let counts = append_transaction(&mut pipe, &writes);
        assert_eq!(counts, vec![3, 2]);
        assert_eq!(pipe.len(), 7);
        // The first argument of each command, in order.
        let names: Vec<String> = pipe
            .cmd_iter()
            .map(|c| {
                let packed = String::from_utf8_lossy(&c.get_packed_command()).into_owned();
                packed.split("\r\n").nth(2).unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(
            names,
            ["MULTI", "HSET", "HDEL", "PEXPIRE", "HSET", "PEXPIRE", "EXEC"]
        );
    }

    #[test]
    fn transaction_replies_per_write() {
        let writes = [write("a", true), write("b", false)];
        let counts = [3, 2];
        let queued = |n| vec![ok("QUEUED"); n];
        // Applied: each write's count, or its own error (a WRONGTYPE key).
        let mut replies = vec![ok("OK")];
        replies.extend(queued(5));
        replies.push(Value::Array(vec![
            Value::Int(2),
            Value::Int(0),
            Value::Int(1),
            error("WRONGTYPE Operation against a key holding the wrong kind of value"),
            Value::Int(1),
        ]));
        let out = transaction_replies(&writes, &counts, &replies).unwrap();
        assert_eq!(out[0], Value::Int(2));
        assert!(matches!(&out[1], Value::ServerError(e) if e.code() == "WRONGTYPE"));

        // Refused while queueing: the refused write gets its own error, the others EXECABORT.
        let mut replies = vec![ok("OK")];
        replies.extend(queued(3));
        replies.push(error("NOPERM no permissions to run the 'hset' command"));
        replies.push(ok("QUEUED"));
        replies.push(error(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
        let out = transaction_replies(&writes, &counts, &replies).unwrap();
        assert!(matches!(&out[0], Value::ServerError(e) if e.code() == "EXECABORT"));
        assert!(matches!(&out[1], Value::ServerError(e) if e.code() == "NOPERM"));

        // MULTI itself refused: every command errs, and every write reports the first error.
        let noperm = error("NOPERM no permissions to run the 'multi' command");
        let mut replies = vec![noperm.clone(); 6];
        replies.push(error("NOPERM no permissions to run the 'exec' command"));
        let out = transaction_replies(&writes, &counts, &replies).unwrap();
        assert!(out.iter().all(|r| r == &noperm), "{out:?}");

        // A reply count that does not fit is an error, not a guess.
        let err = transaction_replies(&writes, &counts, &replies[1..]).unwrap_err();
        assert!(
            err.to_string().contains("6 replies for 7 commands"),
            "{err}"
        );
        let mut replies = vec![ok("OK")];
        replies.extend(queued(5));
        replies.push(Value::Array(vec![Value::Int(1)]));
        let err = transaction_replies(&writes, &counts, &replies).unwrap_err();
        assert!(
            err.to_string().contains("one result per queued command"),
            "{err}"
        );
    }

    #[test]
    fn write_displays_as_sent() {
        let mut w = RowWriter::default();
        w.put("age", &28i64);
        w.put("country", &None::<String>);
        w.put("segment", &"a b".to_owned());
        let cmd = Command::Write(w.finish("fs:v1:u:1".into(), 3_600_000, 42));
        assert_eq!(
            cmd.to_string(),
            format!(
                "EVALSHA {} 1 fs:v1:u:1 3600000 3 age 28 segment a b _updated_at 42 country",
                write_script_sha()
            )
        );
        assert_eq!(write_script_sha().len(), 40);
    }
}
