//! Plans: the commands an operation sends, as plain data (no socket, no wire format).
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
use std::sync::{Arc, OnceLock};

/// The Lua script behind every write: one atomic unit per entity, pipelined for batches.
///
/// `KEYS[1]` is the key; `ARGV[1]` the expiry in milliseconds; `ARGV[2]` the number `n` of
/// field/value pairs that follow, `_updated_at` last; then the pairs; then the fields to remove
/// (`None` values). The script
///
/// - refuses a key of another type with `WRONGTYPE` before touching anything: a write never
///   changes a key it does not own, not even its expiry;
/// - sets the fields, removes the `None` ones and sets the expiry, or fails before its first
///   write (`OOM`, `READONLY`, `NOPERM` come from that first `HSET`; nothing after it can fail),
///   so no key is ever left without its TTL;
/// - stamps `_updated_at` only when, after the write, every feature field of the hash is one
///   this write set (a new entity, or a write of every feature present). A write of some
///   features of a longer row (a projection) leaves the older stamp, so no feature is ever
///   reported fresher than its own last write; the features it wrote read as old as that stamp
///   until the next whole-row write. The check costs one `HKEYS` of an existing hash;
/// - returns 1 when it stamped the row, 0 when it kept the older stamp.
pub const WRITE_SCRIPT: &str = r"local key = KEYS[1]
local kind = redis.call('TYPE', key).ok
if kind ~= 'hash' and kind ~= 'none' then
  return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. kind .. ', not a hash; fstore left it untouched')
end
local last = 2 + 2 * tonumber(ARGV[2])
local whole = true
if kind == 'hash' then
  local mine = {}
  for i = 3, last - 1, 2 do mine[ARGV[i]] = true end
  for i = last + 1, #ARGV do mine[ARGV[i]] = true end
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if not mine[field] and string.byte(field, 1) ~= 95 then
      whole = false
      break
    end
  end
end
local upto = whole and last or last - 2
if upto >= 4 then
  redis.call('HSET', key, unpack(ARGV, 3, upto))
end
if #ARGV > last then
  redis.call('HDEL', key, unpack(ARGV, last + 1))
end
redis.call('PEXPIRE', key, ARGV[1])
if whole then return 1 end
return 0
";

/// The SHA-1 of [`WRITE_SCRIPT`], as `EVALSHA` takes it.
pub fn write_script_sha() -> &'static str {
    static SHA: OnceLock<String> = OnceLock::new();
    SHA.get_or_init(|| redis::Script::new(WRITE_SCRIPT).get_hash().to_owned())
}

/// The Lua script behind every recorded event: one atomic unit per event.
///
/// `KEYS[1]` is the aggregation's hash, `KEYS[2..]` the event's HyperLogLogs. `ARGV[1]` is the
/// hash's expiry in milliseconds, `ARGV[2]` the event's time, `ARGV[3]` the number of
/// resolution blocks; each block is `tag bucket oldest ops` then `ops` triples `op column value`
/// (`n` count, `si`/`sf` integer/float sum, `mni`/`mnf` minimum, `mxi`/`mxf` maximum, `t` the
/// latest event's time, `l` its value); then one `value ttl_ms` pair per HyperLogLog. The script
///
/// - refuses a hash of another type (`WRONGTYPE`) and a sum that would overflow before writing
///   anything;
/// - adds to the HyperLogLogs first (idempotent: a retry after a failure adds nothing twice);
/// - removes the buckets older than each block's `oldest` (bounded: the live buckets of a
///   resolution are at most its retention apart), updates the event's bucket per resolution;
/// - sets every key's expiry; returns 1.
pub const AGG_SCRIPT: &str = r"local key = KEYS[1]
local kind = redis.call('TYPE', key).ok
if kind ~= 'hash' and kind ~= 'none' then
  return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. kind .. ', not a hash; fstore left it untouched')
end
for k = 2, #KEYS do
  local t = redis.call('TYPE', KEYS[k]).ok
  if t ~= 'string' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. KEYS[k] .. ' holds a ' .. t .. ', not a HyperLogLog; fstore left the aggregation untouched')
  end
end
local ts = tonumber(ARGV[2])
local nblocks = tonumber(ARGV[3])
local i = 4
for b = 1, nblocks do
  local idx, nops = ARGV[i + 1], tonumber(ARGV[i + 3])
  local j = i + 4
  for o = 1, nops do
    local op, col, val = ARGV[j], ARGV[j + 1] .. idx, ARGV[j + 2]
    if op == 'si' then
      local cur = tonumber(redis.call('HGET', key, col) or '0')
      if math.abs(cur + tonumber(val)) >= 9.2e18 then
        return redis.error_reply('OVERFLOW the sum ' .. col .. ' of ' .. key .. ' would leave the 64-bit range; the event was not recorded')
      end
    elseif op == 'sf' then
      local sum = tonumber(redis.call('HGET', key, col) or '0') + tonumber(val)
      if sum ~= sum or sum == math.huge or sum == -math.huge then
        return redis.error_reply('OVERFLOW the sum ' .. col .. ' of ' .. key .. ' would not be a finite float; the event was not recorded')
      end
    end
    j = j + 3
  end
  i = j
end
local h = i
for k = 2, #KEYS do
  redis.call('PFADD', KEYS[k], ARGV[h])
  redis.call('PEXPIRE', KEYS[k], ARGV[h + 1])
  h = h + 2
end
local function ilt(a, b)
  local na, nb = string.byte(a, 1) == 45, string.byte(b, 1) == 45
  if na ~= nb then return na end
  if #a ~= #b then
    if na then return #a > #b end
    return #a < #b
  end
  if na then return a > b end
  return a < b
end
i = 4
for b = 1, nblocks do
  local tag, idx, oldest, nops = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local lof, hif = '_lo:' .. tag, '_hi:' .. tag
  local bounds = redis.call('HMGET', key, lof, hif)
  local lo, hi = tonumber(bounds[1]), tonumber(bounds[2])
  local j = i + 4
  if lo and hi and lo < oldest then
    local dead = {}
    for d = lo, math.min(hi, oldest - 1) do
      for o = 0, nops - 1 do
        dead[#dead + 1] = ARGV[j + 3 * o + 1] .. d
      end
      if #dead >= 512 then
        redis.call('HDEL', key, unpack(dead))
        dead = {}
      end
    end
    if #dead > 0 then redis.call('HDEL', key, unpack(dead)) end
    if hi < oldest then lo, hi = nil, nil else lo = oldest end
  end
  if not lo or idx < lo then lo = idx end
  if not hi or idx > hi then hi = idx end
  local newer = true
  for o = 1, nops do
    local op, col, val = ARGV[j], ARGV[j + 1] .. idx, ARGV[j + 2]
    if op == 'n' then
      redis.call('HINCRBY', key, col, 1)
    elseif op == 'si' then
      redis.call('HINCRBY', key, col, val)
    elseif op == 'sf' then
      redis.call('HINCRBYFLOAT', key, col, val)
    elseif op == 't' then
      local old = tonumber(redis.call('HGET', key, col))
      newer = (not old) or ts >= old
      if newer then redis.call('HSET', key, col, val) end
    elseif op == 'l' then
      if newer then redis.call('HSET', key, col, val) end
    else
      local old = redis.call('HGET', key, col)
      local set = not old
      if old then
        if op == 'mni' then set = ilt(val, old)
        elseif op == 'mxi' then set = ilt(old, val)
        elseif op == 'mnf' then set = tonumber(val) < tonumber(old)
        elseif op == 'mxf' then set = tonumber(val) > tonumber(old)
        end
      end
      if set then redis.call('HSET', key, col, val) end
    end
    j = j + 3
  end
  redis.call('HSET', key, lof, lo, hif, hi)
  i = j
end
redis.call('PEXPIRE', key, ARGV[1])
return 1
";

/// The SHA-1 of [`AGG_SCRIPT`], as `EVALSHA` takes it.
pub fn agg_script_sha() -> &'static str {
    static SHA: OnceLock<String> = OnceLock::new();
    SHA.get_or_init(|| redis::Script::new(AGG_SCRIPT).get_hash().to_owned())
}

/// One update of a bucket column (see [`AGG_SCRIPT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Count,
    SumInt,
    SumFloat,
    MinInt,
    MinFloat,
    MaxInt,
    MaxFloat,
    LastTime,
    Last,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Count => "n",
            Op::SumInt => "si",
            Op::SumFloat => "sf",
            Op::MinInt => "mni",
            Op::MinFloat => "mnf",
            Op::MaxInt => "mxi",
            Op::MaxFloat => "mxf",
            Op::LastTime => "t",
            Op::Last => "l",
        }
    }
}

/// The updates of one resolution: the event's bucket and the oldest bucket to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) tag: Arc<str>,
    pub(crate) idx: i64,
    pub(crate) oldest: i64,
    pub(crate) ops: Vec<(Op, Arc<str>, Vec<u8>)>,
}

/// One HyperLogLog an event adds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hll {
    pub(crate) key: String,
    pub(crate) value: Vec<u8>,
    pub(crate) ttl_ms: u64,
}

/// One event's update of its aggregation: a call of [`AGG_SCRIPT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCommand {
    pub(crate) key: String,
    pub(crate) ttl_ms: u64,
    pub(crate) ts_ms: u64,
    pub(crate) blocks: Vec<Block>,
    pub(crate) hlls: Vec<Hll>,
}

impl RecordCommand {
    /// The aggregation hash's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The number of arguments after `EVALSHA sha numkeys`.
    pub(crate) fn arg_count(&self) -> usize {
        let ops: usize = self.blocks.iter().map(|b| 4 + 3 * b.ops.len()).sum();
        self.num_keys() + 3 + ops + 2 * self.hlls.len()
    }

    /// Calls `arg` with each argument after `EVALSHA sha numkeys`, in order: the keys, then
    /// `ARGV` (numbers as decimal text).
    pub(crate) fn for_each_arg(&self, mut arg: impl FnMut(&[u8])) {
        let mut digits = String::new();
        let mut number = |n: &dyn fmt::Display, arg: &mut dyn FnMut(&[u8])| {
            use std::fmt::Write as _;
            digits.clear();
            let _ = write!(digits, "{n}");
            arg(digits.as_bytes());
        };
        arg(self.key.as_bytes());
        self.hlls.iter().for_each(|h| arg(h.key.as_bytes()));
        number(&self.ttl_ms, &mut arg);
        number(&self.ts_ms, &mut arg);
        number(&self.blocks.len(), &mut arg);
        for b in &self.blocks {
            arg(b.tag.as_bytes());
            number(&b.idx, &mut arg);
            number(&b.oldest, &mut arg);
            number(&b.ops.len(), &mut arg);
            for (op, col, val) in &b.ops {
                arg(op.name().as_bytes());
                arg(col.as_bytes());
                arg(val);
            }
        }
        for h in &self.hlls {
            arg(&h.value);
            number(&h.ttl_ms, &mut arg);
        }
    }

    /// The number of keys (`KEYS`): the hash and the HyperLogLogs.
    pub(crate) fn num_keys(&self) -> usize {
        1 + self.hlls.len()
    }
}

impl fmt::Display for RecordCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EVALSHA {} {}", agg_script_sha(), self.num_keys())?;
        let mut result = Ok(());
        self.for_each_arg(|arg| {
            if result.is_ok() {
                result = write!(f, " {}", arg.escape_ascii());
            }
        });
        result
    }
}

/// The metadata field every write sets: when the row was written, as epoch seconds with a
/// millisecond fraction (`1796101050.697`); integer epoch milliseconds are read too.
pub const UPDATED_AT: &str = "_updated_at";

/// One result per write of a call: `Err` with the server's refusal of that write.
pub(crate) type Outcomes = Vec<crate::Result<()>>;

/// The longest expiry a write sets: 2⁶² ms (about 146 million years), far below where `PEXPIRE`
/// overflows (`i64::MAX` ms minus the server's clock).
pub const MAX_TTL_MS: u64 = 1 << 62;

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
    /// One event of a real-time aggregation, applied atomically (see
    /// [`AGG_SCRIPT`]).
    Record(Box<RecordCommand>),
    /// `PFCOUNT key…`: the approximate number of distinct members of the union of these
    /// HyperLogLogs (all in one cluster slot).
    Pfcount {
        /// The HyperLogLogs' keys; the first names the command in errors.
        keys: Vec<String>,
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

    /// An `HMGET` of field names known only at run time (the dynamic, registry-driven API),
    /// shared by every command of a batch.
    pub fn hmget_shared(key: String, fields: Arc<[String]>) -> Self {
        Command::Hmget {
            key,
            fields: Fields::Shared(fields),
        }
    }

    /// The key the command is for.
    pub fn key(&self) -> &str {
        match self {
            Command::Hmget { key, .. } | Command::Pttl { key } => key,
            Command::Write(w) => &w.key,
            Command::Record(r) => r.key(),
            Command::Pfcount { keys } => keys.first().map_or("", String::as_str),
        }
    }

    /// The command's name as sent, for error messages: `HMGET`, `EVALSHA`, `PTTL`.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Hmget { .. } => "HMGET",
            Command::Write(_) | Command::Record(_) => "EVALSHA",
            Command::Pttl { .. } => "PTTL",
            Command::Pfcount { .. } => "PFCOUNT",
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
            Command::Record(r) => write!(f, "{r}"),
            Command::Pfcount { keys } => write!(f, "PFCOUNT {}", keys.join(" ")),
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
    /// Names chosen at run time, shared by the commands of one plan.
    Shared(Arc<[String]>),
}

impl Fields {
    /// The field names, in order.
    pub fn iter(&self) -> FieldsIter<'_> {
        match self {
            Fields::Static(f) => FieldsIter::Static(f.iter()),
            Fields::Shared(f) => FieldsIter::Owned(f.iter()),
        }
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        match self {
            Fields::Static(f) => f.len(),
            Fields::Shared(f) => f.len(),
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
    /// The first value outside its feature's `vocab`, which a store made with
    /// [`Store::refusing_out_of_vocab`](crate::Store::refusing_out_of_vocab) refuses.
    out_of_vocab: Option<Box<VocabMiss>>,
}

/// A string value outside its feature's declared `vocab`, found while encoding a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabMiss {
    view: String,
    feature: String,
    vocab: String,
    found: String,
}

impl VocabMiss {
    /// The refusal of a store that does not store values outside the vocabulary.
    pub(crate) fn to_error(&self) -> crate::Error {
        crate::Error::InvalidValue {
            view: self.view.clone(),
            feature: self.feature.clone(),
            expected: format!(
                "one of the feature's `vocab` ({}): this store refuses values outside it \
                 (`Store::refusing_out_of_vocab`)",
                self.vocab
            ),
            found: self.found.clone(),
        }
    }
}

impl WriteCommand {
    /// The first value of this write outside its feature's `vocab`, as the error a store that
    /// refuses such values returns.
    pub(crate) fn out_of_vocab(&self) -> Option<&VocabMiss> {
        self.out_of_vocab.as_deref()
    }

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
    /// The first value refused by [`FeatureValue::check`](crate::FeatureValue::check).
    invalid: Option<(Cow<'static, str>, String)>,
    /// The first string outside its feature's `vocab`: feature, the vocabulary, the value.
    out_of_vocab: Option<(Cow<'static, str>, String, String)>,
}

impl RowWriter {
    /// An empty writer with room for `features` features.
    pub fn with_capacity(features: usize) -> Self {
        RowWriter {
            buf: Vec::with_capacity(features * 8),
            set: Vec::with_capacity(features + 1),
            delete: Vec::new(),
            invalid: None,
            out_of_vocab: None,
        }
    }

    /// [`put`](Self::put) for a string feature with a declared `vocab`: a value outside it is
    /// written as any other, and noted, so that a store made with
    /// [`Store::refusing_out_of_vocab`](crate::Store::refusing_out_of_vocab) refuses the write.
    pub fn put_vocab<T, S>(&mut self, field: impl Into<Cow<'static, str>>, value: &T, vocab: &[S])
    where
        T: crate::FeatureValue + crate::codec::VocabValue,
        S: AsRef<str>,
    {
        let field = field.into();
        if self.out_of_vocab.is_none() {
            if let Some(s) = value.vocab_str() {
                if !vocab.iter().any(|v| v.as_ref() == s) {
                    let listed = vocab
                        .iter()
                        .map(|v| format!("`{}`", v.as_ref()))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let found = format!("the string {}", crate::error::excerpt(s.as_bytes()));
                    self.out_of_vocab = Some((field.clone(), listed, found));
                }
            }
        }
        self.put(field, value);
    }

    /// Adds one feature: set when it has a value, removed when it is `None`.
    ///
    /// `field` is a `&'static str` for derived views (kept borrowed: no allocation) or a
    /// `String` for names known only at run time.
    pub fn put<T: crate::FeatureValue>(&mut self, field: impl Into<Cow<'static, str>>, value: &T) {
        let field = field.into();
        if let Err(reason) = value.check() {
            self.invalid.get_or_insert((field, reason));
            return;
        }
        let start = self.buf.len();
        if value.encode(&mut self.buf) {
            self.set.push((field, start..self.buf.len()));
        } else {
            self.buf.truncate(start);
            self.delete.push(field);
        }
    }

    /// Finishes the write for `key` of view `view`: appends `_updated_at` and fixes the expiry.
    ///
    /// # Errors
    /// [`Error::InvalidValue`](crate::Error::InvalidValue) for the first value that
    /// [`FeatureValue::check`](crate::FeatureValue::check) refused: nothing is written.
    pub fn finish(
        mut self,
        view: &str,
        key: String,
        ttl_ms: u64,
        updated_at_ms: u64,
    ) -> crate::Result<WriteCommand> {
        if ttl_ms == 0 || ttl_ms > MAX_TTL_MS {
            return Err(crate::Error::InvalidValue {
                view: view.to_owned(),
                feature: "(the view's TTL)".to_owned(),
                expected: format!("a TTL of 1 ms to {MAX_TTL_MS} ms"),
                found: format!("{ttl_ms} ms"),
            });
        }
        if let Some((feature, reason)) = self.invalid {
            return Err(crate::Error::InvalidValue {
                view: view.to_owned(),
                feature: feature.into_owned(),
                expected: "a value every reader of the feature can read".to_owned(),
                found: reason,
            });
        }
        let start = self.buf.len();
        crate::stamp::encode(updated_at_ms, &mut self.buf);
        self.set.push((UPDATED_AT.into(), start..self.buf.len()));
        let out_of_vocab = self.out_of_vocab.map(|(feature, vocab, found)| {
            Box::new(VocabMiss {
                view: view.to_owned(),
                feature: feature.into_owned(),
                vocab,
                found,
            })
        });
        Ok(WriteCommand {
            key,
            ttl_ms,
            buf: self.buf,
            set: self.set,
            delete: self.delete,
            out_of_vocab,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{RowWriter, MAX_TTL_MS};
    use crate::Error;

    #[test]
    fn a_ttl_the_server_cannot_set_is_refused_before_sending() {
        for ttl_ms in [0, MAX_TTL_MS + 1, u64::MAX] {
            let mut w = RowWriter::default();
            w.put("age", &1i64);
            let err = w.finish("v", "k".into(), ttl_ms, 1).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidValue { view, found, .. } if view == "v" && *found == format!("{ttl_ms} ms")),
                "{err:?}"
            );
        }
        let mut w = RowWriter::default();
        w.put("age", &1i64);
        assert_eq!(
            w.finish("v", "k".into(), MAX_TTL_MS, 1).unwrap().ttl_ms(),
            MAX_TTL_MS
        );
    }
}
