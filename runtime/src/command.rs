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

/// The Lua script behind recorded events: one call applies a group of events (consecutive
/// events of a pipeline, up to 32 on one server; one per call on a cluster), each one an
/// atomic unit.
///
/// `KEYS` are each event's keys in turn: its aggregation hash, then its HyperLogLogs. `ARGV[1]`
/// is the number of events; then, per event: its number of keys, the hash's expiry in
/// milliseconds, the event's time, the number of resolution blocks; each block is
/// `field slots slot bucket width ops`, then `ops` column updates, each an operation and its
/// values (`n` count; `si`/`mni`/`mxi`/`li` integer sum, minimum, maximum, last value, with the
/// value's two parts `hi lo`; `sf`/`mnf`/`mxf`/`lf` the same over a float; `t` the latest
/// event's time; `ls field value` a string's last value); then one `block value ttl_ms` triple
/// per HyperLogLog. The blocks' fields are *rings* (see the [`aggregate`](crate::aggregate)
/// module): `slots` slots of `width` little-endian doubles, the event's bucket in slot `slot`.
/// For each event the script
///
/// - refuses a hash of another type (`WRONGTYPE`), a ring of the wrong size (`CORRUPT`) and a
///   sum that would overflow (`OVERFLOW`) before writing anything;
/// - per block, resets the slot when it holds an older bucket (or none), leaves it when it
///   holds a newer one, and updates every column of the event's bucket;
/// - adds to the HyperLogLogs of the blocks it updated (a key of another type stops the event
///   there, before its hash is written: adding a member is idempotent, so a retry counts
///   nothing twice), sets the expiry of each HyperLogLog it changed (fixed per bucket: when the
///   bucket leaves the windows), writes the rings in one `HSET` and sets the hash's expiry.
///
/// It returns one bulk string per event: the number of fields written (`0`: every block held a
/// newer bucket), or the refusal (`WRONGTYPE …`, `CORRUPT …`, `OVERFLOW …`, or the server's
/// error from `HSET`, such as `OOM`). A refused event changes nothing and does not stop the
/// events after it.
pub const AGG_SCRIPT: &str = r"local arity = {n = 0, t = 0, si = 2, mni = 2, mxi = 2, li = 2, sf = 1, mnf = 1, mxf = 1, lf = 1, ls = 2}
local width_of = {n = 1, t = 1, si = 2, mni = 2, mxi = 2, li = 2, sf = 1, mnf = 1, mxf = 1, lf = 1, ls = 0}
local LO = 4294967296
local function record(k0, i)
  local nkeys = tonumber(ARGV[i])
  local key = KEYS[k0]
  local ts = tonumber(ARGV[i + 2])
  local nblocks = tonumber(ARGV[i + 3])
  local starts, fields = {}, {}
  local p = i + 4
  for b = 1, nblocks do
    starts[b] = p
    fields[b] = ARGV[p]
    local nops = tonumber(ARGV[p + 5])
    p = p + 6
    for o = 1, nops do p = p + 1 + arity[ARGV[p]] end
  end
  local h = p
  local nxt = h + 3 * (nkeys - 1)
  local rings = redis.pcall('HMGET', key, unpack(fields))
  if rings.err then
    return 'WRONGTYPE ' .. key .. ' holds a ' .. redis.call('TYPE', key).ok .. ', not a hash; fstore left it untouched', nxt
  end
  local out, done = {}, {}
  for b = 1, nblocks do
    local q = starts[b]
    local slots, slot, idx, width = tonumber(ARGV[q + 1]), tonumber(ARGV[q + 2]), tonumber(ARGV[q + 3]), tonumber(ARGV[q + 4])
    local fmt = '<' .. string.rep('d', width)
    local ring = rings[b]
    if not ring then
      ring = string.rep(struct.pack('<d', -1) .. string.rep(struct.pack('<d', 0), width - 1), slots)
    elseif #ring ~= slots * width * 8 then
      return 'CORRUPT the field ' .. ARGV[q] .. ' of ' .. key .. ' is ' .. #ring .. ' bytes, not a ring of ' .. slots .. ' slots of ' .. width .. ' cells; the event was not recorded', nxt
    end
    local off = slot * width * 8
    local c = {struct.unpack(fmt, ring, off + 1)}
    if c[1] <= idx then
      local fresh = c[1] < idx
      if fresh then
        c[1] = idx
        for k = 2, width do c[k] = 0 end
      end
      local k, j, newer = 2, q + 6, true
      for o = 1, tonumber(ARGV[q + 5]) do
        local op = ARGV[j]
        if op == 'n' then
          c[k] = c[k] + 1
        elseif op == 'si' then
          local lo = c[k + 1] + tonumber(ARGV[j + 2])
          local carry = math.floor(lo / LO)
          local hi = c[k] + tonumber(ARGV[j + 1]) + carry
          if hi < -2147483648 or hi > 2147483647 then
            return 'OVERFLOW a sum in ' .. ARGV[q] .. ' of ' .. key .. ' would leave the 64-bit range; the event was not recorded', nxt
          end
          c[k], c[k + 1] = hi, lo - carry * LO
        elseif op == 'sf' then
          local s = c[k] + tonumber(ARGV[j + 1])
          if s ~= s or s == math.huge or s == -math.huge then
            return 'OVERFLOW a sum in ' .. ARGV[q] .. ' of ' .. key .. ' would not be a finite float; the event was not recorded', nxt
          end
          c[k] = s
        elseif op == 'mni' or op == 'mxi' then
          local hi, lo = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2])
          local less = hi < c[k] or (hi == c[k] and lo < c[k + 1])
          local more = hi > c[k] or (hi == c[k] and lo > c[k + 1])
          if fresh or (op == 'mni' and less) or (op == 'mxi' and more) then c[k], c[k + 1] = hi, lo end
        elseif op == 'mnf' or op == 'mxf' then
          local v = tonumber(ARGV[j + 1])
          if fresh or (op == 'mnf' and v < c[k]) or (op == 'mxf' and v > c[k]) then c[k] = v end
        elseif op == 't' then
          newer = fresh or ts >= c[k]
          if newer then c[k] = ts end
        elseif op == 'li' then
          if newer then c[k], c[k + 1] = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2]) end
        elseif op == 'lf' then
          if newer then c[k] = tonumber(ARGV[j + 1]) end
        elseif op == 'ls' then
          if newer then
            out[#out + 1] = ARGV[j + 1]
            out[#out + 1] = ARGV[j + 2]
          end
        end
        k = k + width_of[op]
        j = j + 1 + arity[op]
      end
      out[#out + 1] = ARGV[q]
      out[#out + 1] = ring:sub(1, off) .. struct.pack(fmt, unpack(c, 1, width)) .. ring:sub(off + width * 8 + 1)
      done[b] = true
    end
  end
  for k = 1, nkeys - 1 do
    if done[tonumber(ARGV[h])] then
      local hll = KEYS[k0 + k]
      local added = redis.pcall('PFADD', hll, ARGV[h + 1])
      if type(added) == 'table' then
        return 'WRONGTYPE ' .. hll .. ' is not a HyperLogLog; fstore left the aggregation hash untouched', nxt
      end
      if added == 1 then redis.call('PEXPIRE', hll, ARGV[h + 2]) end
    end
    h = h + 3
  end
  if #out == 0 then return '0', nxt end
  local set = redis.pcall('HSET', key, unpack(out))
  if type(set) == 'table' then return set.err, nxt end
  redis.call('PEXPIRE', key, ARGV[i + 1])
  return tostring(#out), nxt
end
local results = {}
local k0, i = 1, 2
for e = 1, tonumber(ARGV[1]) do
  local nkeys = tonumber(ARGV[i])
  local result, nxt = record(k0, i)
  results[e] = result
  k0 = k0 + nkeys
  i = nxt
end
return results
";

/// The most events one call of [`AGG_SCRIPT`] applies: consecutive records of a pipeline are
/// sent in groups of up to this many, so that one call holds the server for a bounded time.
pub(crate) const RECORD_GROUP: usize = 32;

/// The SHA-1 of [`AGG_SCRIPT`], as `EVALSHA` takes it.
pub fn agg_script_sha() -> &'static str {
    static SHA: OnceLock<String> = OnceLock::new();
    SHA.get_or_init(|| redis::Script::new(AGG_SCRIPT).get_hash().to_owned())
}

/// One update of a ring's column (see [`AGG_SCRIPT`]).
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
    LastInt,
    /// The last value of a `float` or (as 0 or 1) a `bool` field.
    LastFloat,
    /// The last value of a `string` field, kept in a field of its own per slot.
    LastText,
}

impl Op {
    /// The operation's name in the script's arguments.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Count => "n",
            Op::SumInt => "si",
            Op::SumFloat => "sf",
            Op::MinInt => "mni",
            Op::MinFloat => "mnf",
            Op::MaxInt => "mxi",
            Op::MaxFloat => "mxf",
            Op::LastTime => "t",
            Op::LastInt => "li",
            Op::LastFloat => "lf",
            Op::LastText => "ls",
        }
    }

    /// The number of values the operation takes after its name.
    pub(crate) fn arity(self) -> usize {
        match self {
            Op::Count | Op::LastTime => 0,
            Op::SumFloat | Op::MinFloat | Op::MaxFloat | Op::LastFloat => 1,
            Op::SumInt | Op::MinInt | Op::MaxInt | Op::LastInt | Op::LastText => 2,
        }
    }

    /// The number of cells (doubles) the column takes in a ring's slot.
    pub(crate) fn cells(self) -> usize {
        match self {
            Op::LastText => 0,
            Op::SumInt | Op::MinInt | Op::MaxInt | Op::LastInt => 2,
            _ => 1,
        }
    }
}

/// The update of one resolution's ring: the event's bucket, its slot, and the column updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    /// The ring's field, such as `r:60:61:n,sf:amount`.
    pub(crate) field: Arc<str>,
    pub(crate) slots: u64,
    pub(crate) slot: u64,
    pub(crate) idx: i64,
    pub(crate) width: usize,
    /// Each column's operation and its values ([`Op::arity`] of them).
    pub(crate) ops: Vec<(Op, [Vec<u8>; 2])>,
}

/// One HyperLogLog an event adds to, when its block (1-based) is updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hll {
    pub(crate) key: String,
    pub(crate) block: usize,
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

    /// The number of `ARGV` entries of this event in a call of [`AGG_SCRIPT`].
    pub(crate) fn arg_count(&self) -> usize {
        let ops: usize = self
            .blocks
            .iter()
            .map(|b| 6 + b.ops.iter().map(|(op, _)| 1 + op.arity()).sum::<usize>())
            .sum();
        4 + ops + 3 * self.hlls.len()
    }

    /// Calls `key` with each of the event's keys: the hash, then the HyperLogLogs.
    pub(crate) fn for_each_key(&self, mut key: impl FnMut(&[u8])) {
        key(self.key.as_bytes());
        self.hlls.iter().for_each(|h| key(h.key.as_bytes()));
    }

    /// Calls `arg` with each of the event's `ARGV` entries in a call of [`AGG_SCRIPT`], in
    /// order (numbers as decimal text).
    pub(crate) fn for_each_arg(&self, mut arg: impl FnMut(&[u8])) {
        let mut digits = String::new();
        let mut number = |n: &dyn fmt::Display, arg: &mut dyn FnMut(&[u8])| {
            use std::fmt::Write as _;
            digits.clear();
            let _ = write!(digits, "{n}");
            arg(digits.as_bytes());
        };
        number(&self.num_keys(), &mut arg);
        number(&self.ttl_ms, &mut arg);
        number(&self.ts_ms, &mut arg);
        number(&self.blocks.len(), &mut arg);
        for b in &self.blocks {
            arg(b.field.as_bytes());
            number(&b.slots, &mut arg);
            number(&b.slot, &mut arg);
            number(&b.idx, &mut arg);
            number(&b.width, &mut arg);
            number(&b.ops.len(), &mut arg);
            for (op, values) in &b.ops {
                arg(op.name().as_bytes());
                values[..op.arity()].iter().for_each(|v| arg(v));
            }
        }
        for h in &self.hlls {
            number(&h.block, &mut arg);
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
    /// The event as a call of [`AGG_SCRIPT`] of its own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EVALSHA {} {}", agg_script_sha(), self.num_keys())?;
        let mut result = Ok(());
        let mut show = |arg: &[u8]| {
            if result.is_ok() {
                result = write!(f, " {}", arg.escape_ascii());
            }
        };
        self.for_each_key(&mut show);
        show(b"1");
        self.for_each_arg(&mut show);
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
