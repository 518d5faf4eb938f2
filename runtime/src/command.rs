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
/// `KEYS` are each event's keys in turn: its aggregation hash, its HyperLogLogs, then the unions
/// of its `distinct` windows. `ARGV[1]` is the number of events, `ARGV[2]` the number `m` of
/// *shared strings* (the hash fields the events name: rings' and unions'), `ARGV[3..=m + 2]`
/// those strings. Then, per event: one binary argument of little-endian `f64`s, followed by the
/// event's own strings (HyperLogLog members; a string's last value and its slot's field). The
/// numbers are: the event's number of keys, the hash's expiry in milliseconds, the event's
/// time, its numbers of resolution blocks, of unions and of HyperLogLogs, and of its own
/// strings; each block as `field slots slot bucket width ops` (`field`: a shared string's
/// 1-based index), then `ops` column updates, each an operation code and its values (1 `n`
/// count; 2 `t` the latest event's time; 3 to 6 an integer's sum, minimum, maximum, last
/// value, with the value's two parts `hi lo`; 7 to 10 the same over a float, with the value;
/// 11 a string's last value, with the index of its field among the event's strings, the value
/// following); then one `block value ttl_ms` triple per HyperLogLog (`value`: an index among
/// the event's strings); then one `hll field buckets` triple per union (its HyperLogLog,
/// 1-based; the shared string naming the hash field that holds `"{bucket} {count}"`, the
/// bucket the union's window ends at and the union's `PFCOUNT`; the window in buckets). The
/// blocks' fields are *rings* (see the [`aggregate`](crate::aggregate) module): `slots` slots of
/// `width` little-endian doubles, the event's bucket in slot `slot`.
/// For each event the script
///
/// - refuses a hash of another type (`WRONGTYPE`), a ring of the wrong size (`CORRUPT`) and a
///   sum that would overflow (`OVERFLOW`) before writing anything;
/// - per block, resets the slot when it holds an older bucket (or none), leaves it when it
///   holds a newer one, and updates every column of the event's bucket;
/// - adds to the HyperLogLogs of the blocks it updated (a key of another type stops the event
///   there, before its hash is written: adding a member is idempotent, so a retry counts
///   nothing twice), sets the expiry of each HyperLogLog it changed (fixed per bucket: when the
///   bucket leaves the windows);
/// - per union whose block it updated: when the event's bucket is newer than the union's (or
///   the hash's field is absent or damaged), rebuilds it as the `PFMERGE` of the window's
///   HyperLogLogs ending at that bucket (keys made from the HyperLogLog's, all in the hash's
///   cluster slot); else, when the event's HyperLogLog changed and its bucket is in the union's
///   window, adds the value to the union (a count below the field's, which a union that grows
///   never has, means the union was lost: it is rebuilt). When the union was made or changed,
///   its `PFCOUNT` and bucket go into the field, so that a read counts nothing. A key of
///   another type refuses the event; a failed rebuild removes the field, so no read trusts it;
/// - writes the rings and fields in one `HSET`; sets the hash's expiry when a block started a
///   bucket (the first event of every bucket does, a hash the event creates included: every
///   later event of that bucket is covered by that expiry), and each union's (as the hash's)
///   when it is made or changed.
///
/// It returns one bulk string per event: the number of fields written (`0`: every block held a
/// newer bucket), or the refusal (`WRONGTYPE …`, `CORRUPT …`, `OVERFLOW …`, or the server's
/// error from `HSET`, such as `OOM`). A refused event changes nothing and does not stop the
/// events after it.
pub const AGG_SCRIPT: &str = r"local ARITY = {0, 0, 2, 2, 2, 2, 1, 1, 1, 1, 1}
local CELLS = {1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 0}
local LO = 4294967296
local FMT = {}
local function fmt(n)
  local f = FMT[n]
  if not f then
    f = '<' .. string.rep('d', n)
    FMT[n] = f
  end
  return f
end
local function int(x) return string.format('%.0f', x) end
local STARTS, FIELDS, OUT, DONE, ADDED = {}, {}, {}, {}, {}
local function record(k0, a, shared)
  local v = {struct.unpack(fmt(#ARGV[a] / 8), ARGV[a])}
  local key, ttl, ts, nblocks, nu, nh = KEYS[k0], v[2], v[3], v[4], v[5], v[6]
  local nxt = a + 1 + v[7]
  local starts, fields, out, done, added = STARTS, FIELDS, OUT, DONE, ADDED
  local p = 8
  for b = 1, nblocks do
    starts[b] = p
    fields[b] = ARGV[shared + v[p]]
    local nops = v[p + 5]
    p = p + 6
    for o = 1, nops do p = p + 1 + ARITY[v[p]] end
  end
  local u0 = p + 3 * nh
  for j = 1, nu do fields[nblocks + j] = ARGV[shared + v[u0 + 3 * j - 2]] end
  local rings = redis.pcall('HMGET', key, unpack(fields, 1, nblocks + nu))
  if rings.err then
    return 'WRONGTYPE ' .. key .. ' holds a ' .. redis.call('TYPE', key).ok .. ', not a hash; fstore left it untouched', nxt
  end
  local no, started = 0, false
  for b = 1, nblocks do
    done[b] = false
    local q = starts[b]
    local field, slots, slot, idx, width = fields[b], v[q + 1], v[q + 2], v[q + 3], v[q + 4]
    local f = fmt(width)
    local ring = rings[b]
    if not ring then
      ring = string.rep(struct.pack('<d', -1) .. string.rep(struct.pack('<d', 0), width - 1), slots)
    elseif #ring ~= slots * width * 8 then
      return 'CORRUPT the field ' .. field .. ' of ' .. key .. ' is ' .. #ring .. ' bytes, not a ring of ' .. slots .. ' slots of ' .. width .. ' cells; the event was not recorded', nxt
    end
    local off = slot * width * 8
    local c = {struct.unpack(f, ring, off + 1)}
    if c[1] <= idx then
      local fresh = c[1] < idx
      if fresh then
        started = true
        c[1] = idx
        for k = 2, width do c[k] = 0 end
      end
      local k, j, newer = 2, q + 6, true
      for o = 1, v[q + 5] do
        local op = v[j]
        if op == 1 then
          c[k] = c[k] + 1
        elseif op == 7 then
          local s = c[k] + v[j + 1]
          if s ~= s or s == math.huge or s == -math.huge then
            return 'OVERFLOW a sum in ' .. field .. ' of ' .. key .. ' would not be a finite float; the event was not recorded', nxt
          end
          c[k] = s
        elseif op == 3 then
          local lo = c[k + 1] + v[j + 2]
          local carry = math.floor(lo / LO)
          local hi = c[k] + v[j + 1] + carry
          if hi < -2147483648 or hi > 2147483647 then
            return 'OVERFLOW a sum in ' .. field .. ' of ' .. key .. ' would leave the 64-bit range; the event was not recorded', nxt
          end
          c[k], c[k + 1] = hi, lo - carry * LO
        elseif op == 4 or op == 5 then
          local hi, lo = v[j + 1], v[j + 2]
          local less = hi < c[k] or (hi == c[k] and lo < c[k + 1])
          local more = hi > c[k] or (hi == c[k] and lo > c[k + 1])
          if fresh or (op == 4 and less) or (op == 5 and more) then c[k], c[k + 1] = hi, lo end
        elseif op == 8 or op == 9 then
          local x = v[j + 1]
          if fresh or (op == 8 and x < c[k]) or (op == 9 and x > c[k]) then c[k] = x end
        elseif op == 2 then
          newer = fresh or ts >= c[k]
          if newer then c[k] = ts end
        elseif op == 6 then
          if newer then c[k], c[k + 1] = v[j + 1], v[j + 2] end
        elseif op == 10 then
          if newer then c[k] = v[j + 1] end
        elseif op == 11 then
          if newer then
            out[no + 1], out[no + 2] = ARGV[a + v[j + 1]], ARGV[a + v[j + 1] + 1]
            no = no + 2
          end
        end
        k = k + CELLS[op]
        j = j + 1 + ARITY[op]
      end
      out[no + 1], out[no + 2] = field, ring:sub(1, off) .. struct.pack(f, unpack(c, 1, width)) .. ring:sub(off + width * 8 + 1)
      no = no + 2
      done[b] = true
    end
  end
  for k = 1, nh do
    added[k] = 0
    local h = p + 3 * k - 3
    if done[v[h]] then
      local hll = KEYS[k0 + k]
      local r = redis.pcall('PFADD', hll, ARGV[a + v[h + 1]])
      if type(r) == 'table' then
        return 'WRONGTYPE ' .. hll .. ' is not a HyperLogLog; fstore left the aggregation hash untouched', nxt
      end
      if r == 1 then redis.call('PEXPIRE', hll, int(v[h + 2])) end
      added[k] = r
    end
  end
  for j = 1, nu do
    local w = u0 + 3 * j - 3
    local k = v[w]
    local h = p + 3 * k - 3
    local b = v[h]
    if done[b] then
      local u, hll, ufield, e, nb = KEYS[k0 + nh + j], KEYS[k0 + k], fields[nblocks + j], v[starts[b] + 3], v[w + 2]
      local cur, n0
      if rings[nblocks + j] then
        local x, n = string.match(rings[nblocks + j], '^(%d+) (%d+)$')
        cur, n0 = tonumber(x), tonumber(n)
      end
      local t, n
      if not cur or e > cur then
        t = e
      elseif added[k] == 1 and e > cur - nb then
        local r = redis.pcall('PFADD', u, ARGV[a + v[h + 1]])
        if type(r) == 'table' then
          return 'WRONGTYPE ' .. u .. ' is not a HyperLogLog; fstore left the aggregation hash untouched', nxt
        end
        if r == 1 then
          n = redis.call('PFCOUNT', u)
          if n < n0 then t = cur else redis.call('PEXPIRE', u, int(ttl)) end
        end
      end
      if t then
        local es = int(e)
        local prefix, src = string.sub(hll, 1, #hll - #es), {}
        for x = math.max(0, t - nb + 1), t do src[#src + 1] = prefix .. int(x) end
        redis.call('DEL', u)
        local m = redis.pcall('PFMERGE', u, unpack(src))
        if type(m) == 'table' and m.err then
          redis.call('HDEL', key, ufield)
          return 'WRONGTYPE a HyperLogLog of the window of ' .. u .. ' is not one (' .. m.err .. '); fstore left the aggregation hash untouched', nxt
        end
        redis.call('PEXPIRE', u, int(ttl))
        n = redis.call('PFCOUNT', u)
      end
      if n then
        out[no + 1], out[no + 2] = ufield, int(t or cur) .. ' ' .. n
        no = no + 2
      end
    end
  end
  if no == 0 then return '0', nxt end
  local set = redis.pcall('HSET', key, unpack(out, 1, no))
  if type(set) == 'table' then return set.err, nxt end
  if started then redis.call('PEXPIRE', key, int(ttl)) end
  return tostring(no), nxt
end
local results = {}
local shared = 2
local k0, a = 1, 3 + tonumber(ARGV[2])
for e = 1, tonumber(ARGV[1]) do
  local result, nxt = record(k0, a, shared)
  results[e] = result
  k0 = k0 + struct.unpack('<d', ARGV[a])
  a = nxt
end
return results";

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
    /// The operation's name in ring field names (`r:60:61:2:n,sf:amount`) and in
    /// [`RecordCommand`]'s display.
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

    /// The operation's code in the script's arguments (1-based, its tables' index).
    pub(crate) fn code(self) -> f64 {
        match self {
            Op::Count => 1.0,
            Op::LastTime => 2.0,
            Op::SumInt => 3.0,
            Op::MinInt => 4.0,
            Op::MaxInt => 5.0,
            Op::LastInt => 6.0,
            Op::SumFloat => 7.0,
            Op::MinFloat => 8.0,
            Op::MaxFloat => 9.0,
            Op::LastFloat => 10.0,
            Op::LastText => 11.0,
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
    /// The ring's field holding the event's slot, such as `r:60:61:2:n,sf:amount/7`.
    pub(crate) field: Arc<str>,
    pub(crate) slots: u64,
    pub(crate) slot: u64,
    pub(crate) idx: i64,
    pub(crate) width: usize,
    /// Each column's operation and its value.
    pub(crate) ops: Vec<(Op, OpValue)>,
}

/// The value of one column update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpValue {
    /// None: a count, or the event's time.
    None,
    /// A float (or a bool as 0 or 1), as [`f64::to_bits`].
    Float(u64),
    /// An integer in its two parts ([`ring::split`](crate::ring::split)), exact as `f64`s.
    Int(i64, i64),
    /// A string's last value and the field of its slot.
    Text {
        /// The slot's field, such as `l:merchant:3600:25:7`.
        field: String,
        /// The value, as stored.
        value: Vec<u8>,
    },
}

/// One HyperLogLog an event adds to, when its block (1-based) is updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hll {
    pub(crate) key: String,
    pub(crate) block: usize,
    pub(crate) value: Vec<u8>,
    pub(crate) ttl_ms: u64,
}

/// The union of a `distinct` window's HyperLogLogs that an event keeps up to date: the window
/// that ends at the newest bucket recorded (kept in the hash's field `field`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Union {
    /// The union's key: `{hash key}:u:{of}:{seconds}:{buckets}`.
    pub(crate) key: String,
    /// The event's HyperLogLog (1-based, in [`RecordCommand::hlls`]) whose value it adds.
    pub(crate) hll: usize,
    /// The hash field holding the bucket the union's window ends at and its count:
    /// `u:{of}:{seconds}:{buckets}`.
    pub(crate) field: Arc<str>,
    /// The window, in buckets.
    pub(crate) buckets: u64,
}

/// One event's update of its aggregation: a unit of a call of [`AGG_SCRIPT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCommand {
    pub(crate) key: String,
    pub(crate) ttl_ms: u64,
    pub(crate) ts_ms: u64,
    pub(crate) blocks: Vec<Block>,
    pub(crate) hlls: Vec<Hll>,
    pub(crate) unions: Vec<Union>,
}

impl RecordCommand {
    /// The aggregation hash's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Calls `key` with each of the event's keys: the hash, the HyperLogLogs, then the unions.
    pub(crate) fn for_each_key(&self, mut key: impl FnMut(&[u8])) {
        key(self.key.as_bytes());
        self.hlls.iter().for_each(|h| key(h.key.as_bytes()));
        self.unions.iter().for_each(|u| key(u.key.as_bytes()));
    }

    /// The hash fields the event names (its rings' and unions'), which a call of
    /// [`AGG_SCRIPT`] sends once for all its events.
    pub(crate) fn shared_strings(&self) -> impl Iterator<Item = &str> {
        let blocks = self.blocks.iter().map(|b| &*b.field);
        blocks.chain(self.unions.iter().map(|u| &*u.field))
    }

    /// Appends the event's numbers to `blob` as little-endian `f64`s and its own strings to
    /// `strings`, as [`AGG_SCRIPT`] reads them; `shared` are the call's shared strings (see
    /// [`shared_strings`](Self::shared_strings)), which the event names by 1-based index.
    pub(crate) fn encode<'a>(
        &'a self,
        shared: &[&str],
        blob: &mut Vec<u8>,
        strings: &mut Vec<&'a [u8]>,
    ) {
        // The header's seventh number, the count of the event's strings, is set at the end.
        let count_at = blob.len() + 6 * 8;
        let mut put = |x: f64| blob.extend_from_slice(&x.to_le_bytes());
        let index = |name: &str| {
            shared
                .iter()
                .position(|s| *s == name)
                .map_or(0.0, |i| (i + 1) as f64)
        };
        let first = strings.len();
        let string = |s: &'a [u8], strings: &mut Vec<&'a [u8]>| {
            strings.push(s);
            (strings.len() - first) as f64
        };
        let header = [
            self.num_keys() as f64,
            self.ttl_ms as f64,
            self.ts_ms as f64,
            self.blocks.len() as f64,
            self.unions.len() as f64,
            self.hlls.len() as f64,
        ];
        header.iter().for_each(|&x| put(x));
        put(0.0);
        for b in &self.blocks {
            put(index(&b.field));
            put(b.slots as f64);
            put(b.slot as f64);
            put(b.idx as f64);
            put(b.width as f64);
            put(b.ops.len() as f64);
            for (op, value) in &b.ops {
                put(op.code());
                match value {
                    OpValue::None => {}
                    OpValue::Float(bits) => put(f64::from_bits(*bits)),
                    OpValue::Int(hi, lo) => {
                        put(*hi as f64);
                        put(*lo as f64);
                    }
                    OpValue::Text { field, value } => {
                        let at = string(field.as_bytes(), strings);
                        string(value, strings);
                        put(at);
                    }
                }
            }
        }
        for h in &self.hlls {
            put(h.block as f64);
            put(string(&h.value, strings));
            put(h.ttl_ms as f64);
        }
        for u in &self.unions {
            put(u.hll as f64);
            put(index(&u.field));
            put(u.buckets as f64);
        }
        let count = (strings.len() - first) as f64;
        blob[count_at..count_at + 8].copy_from_slice(&count.to_le_bytes());
    }

    /// The number of keys (`KEYS`): the hash, the HyperLogLogs and the unions.
    pub(crate) fn num_keys(&self) -> usize {
        1 + self.hlls.len() + self.unions.len()
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
        let shared: Vec<&str> = self.shared_strings().collect();
        show(shared.len().to_string().as_bytes());
        shared.iter().for_each(|s| show(s.as_bytes()));
        result?;
        // The event's numbers are sent as one binary argument: shown decoded.
        write!(
            f,
            " <event at {} ms, expiry {} ms:",
            self.ts_ms, self.ttl_ms
        )?;
        for b in &self.blocks {
            write!(f, " {} slot {} bucket {}", b.field, b.slot, b.idx)?;
            for (op, value) in &b.ops {
                match value {
                    OpValue::None => write!(f, " {}", op.name())?,
                    OpValue::Float(bits) => write!(f, " {}={}", op.name(), f64::from_bits(*bits))?,
                    OpValue::Int(hi, lo) => write!(f, " {}={hi}:{lo}", op.name())?,
                    OpValue::Text { field, value } => {
                        write!(f, " {}={field}={}", op.name(), value.escape_ascii())?
                    }
                }
            }
            write!(f, ";")?;
        }
        for h in &self.hlls {
            write!(f, " PFADD {} {}", h.key, h.value.escape_ascii())?;
        }
        for u in &self.unions {
            write!(f, " union {} of {} buckets", u.key, u.buckets)?;
        }
        write!(f, ">")
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
    /// `HGETALL key`: every field of one hash, for a read that needs most of them (an
    /// aggregation's rings: the server walks a small hash once, where an `HMGET` of most of its
    /// fields would look each one up).
    Hgetall {
        /// The hash's key.
        key: String,
        /// The fields the reader wants, in the order it decodes them (not sent).
        fields: Fields,
    },
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
            Command::Hmget { key, .. } | Command::Hgetall { key, .. } | Command::Pttl { key } => {
                key
            }
            Command::Write(w) => &w.key,
            Command::Record(r) => r.key(),
            Command::Pfcount { keys } => keys.first().map_or("", String::as_str),
        }
    }

    /// The command's name as sent, for error messages: `HMGET`, `EVALSHA`, `PTTL`.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Hmget { .. } => "HMGET",
            Command::Hgetall { .. } => "HGETALL",
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
            Command::Hgetall { key, .. } => write!(f, "HGETALL {key}"),
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
