//! The packed bucket layout of real-time aggregations: per resolution, a *ring* of slots.
//!
//! A ring holds `slots` fixed-width slots; bucket `i` of the resolution lives in slot
//! `i mod slots`, so a newer bucket takes the slot of one `slots` buckets older, which has left
//! every window by then. The ring is kept in hash fields of [`chunk_slots`] slots each (the last
//! one shorter), so that an event rewrites one small field, not the whole ring. A slot is `width`
//! little-endian `f64` *cells*: the bucket's number (`-1`: empty), then its columns in the
//! spec's order, each [`Op::cells`] wide. Integers (counts, bucket numbers, times) are exact in
//! `f64` below 2⁵³; an `i64` value (an `int` field's sum, minimum, maximum or last value) is
//! kept split as `hi · 2³² + lo` with `0 ≤ lo < 2³²`, both exact, so sums stay exact over the
//! whole `i64` range. A `string` field's last value does not fit a cell: it lives in its own
//! field per slot ([`text_field`]).
//!
//! [`AGG_SCRIPT`](crate::command::AGG_SCRIPT) updates rings on the server; [`update`] is the
//! same computation in Rust, for the embedded backend; [`decode_into`] decodes a field for
//! reads.

use crate::command::{Op, OpValue};

/// The longest field [`chunk_slots`] makes: the server's default `hash-max-listpack-value`, so
/// that an aggregation hash of at most 128 fields (`hash-max-listpack-entries`) stays a compact
/// listpack.
pub(crate) const MAX_CHUNK_BYTES: u64 = 64;

/// The slots of one field of a ring of slots of `width` cells: as many as fit in
/// [`MAX_CHUNK_BYTES`], at least one. A ring of `S` slots is kept in `ceil(S / chunk)` fields
/// (chunks), so that an event rewrites a few dozen bytes, not the whole ring, and the script
/// (whose strings the server's Lua hashes byte by byte) handles short strings only.
pub(crate) fn chunk_slots(width: usize) -> u64 {
    (MAX_CHUNK_BYTES / (8 * width.max(1) as u64)).max(1)
}

/// The bucket number of an empty slot.
pub(crate) const EMPTY: f64 = -1.0;

/// `2³²`: the weight of an `i64`'s high part.
const LO: f64 = 4_294_967_296.0;

/// Splits `v` into its exact `f64` parts `(hi, lo)`: `v = hi · 2³² + lo`, `0 ≤ lo < 2³²`.
pub(crate) fn split(v: i64) -> (i64, i64) {
    (v >> 32, v & 0xFFFF_FFFF)
}

/// The `i64` of parts `(hi, lo)`, or `None` when they are not the parts of one.
pub(crate) fn join(hi: f64, lo: f64) -> Option<i64> {
    if hi.fract() != 0.0 || lo.fract() != 0.0 || !(0.0..LO).contains(&lo) {
        return None;
    }
    if !(-2_147_483_648.0..=2_147_483_647.0).contains(&hi) {
        return None;
    }
    Some(((hi as i64) << 32) | lo as i64)
}

/// The field of a string `last` value: the column's prefix (`l:merchant:3600:25:`) and the slot.
pub(crate) fn text_field(prefix: &str, slot: u64) -> String {
    format!("{prefix}{slot}")
}

/// A `distinct` union's hash field value, `"{bucket} {count}"`: the bucket its window ends at
/// and its count, as the script writes it.
pub(crate) fn union_value(bucket: i64, count: i64) -> String {
    format!("{bucket} {count}")
}

/// The bucket and count of a union's field value ([`union_value`]), or `None` when it is not
/// two decimal numbers (absent or damaged: not to be trusted).
pub(crate) fn parse_union(value: &[u8]) -> Option<(i64, i64)> {
    let (b, n) = std::str::from_utf8(value).ok()?.split_once(' ')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    if !(digits(b) && digits(n)) {
        return None;
    }
    Some((b.parse().ok()?, n.parse().ok()?))
}

/// The cells of an empty ring of `slots` slots of `width` cells (each slot's bucket
/// [`EMPTY`]).
pub(crate) fn empty_cells(slots: u64, width: usize) -> Vec<f64> {
    let mut cells = vec![0.0; slots as usize * width];
    cells
        .iter_mut()
        .step_by(width.max(1))
        .for_each(|c| *c = EMPTY);
    cells
}

/// Decodes a ring field's value into `out` (`slots × width` cells), or says why it is not a
/// ring of `slots × width` finite cells.
pub(crate) fn decode_into(
    bytes: &[u8],
    slots: u64,
    width: usize,
    out: &mut [f64],
) -> Result<(), String> {
    let want = slots as usize * width * 8;
    if bytes.len() != want || out.len() * 8 != want {
        return Err(format!(
            "a ring of {slots} slots of {width} cells is {want} bytes, this one {}",
            bytes.len()
        ));
    }
    for (i, (cell, b)) in out.iter_mut().zip(bytes.chunks_exact(8)).enumerate() {
        let c = f64::from_le_bytes(b.try_into().unwrap_or_default());
        if !c.is_finite() {
            return Err(format!("cell {i} is not a finite number"));
        }
        *cell = c;
    }
    Ok(())
}

/// The cells of `bytes` (a whole number of 8-byte cells).
fn decode(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()))
        .collect()
}

/// The byte range of slot `slot` in a ring of `width`-cell slots.
fn slot_range(slot: u64, width: usize) -> std::ops::Range<usize> {
    let start = slot as usize * width * 8;
    start..start + width * 8
}

/// The cells of slot `slot` of `ring`.
pub(crate) fn read_slot(ring: &[u8], slot: u64, width: usize) -> Vec<f64> {
    decode(&ring[slot_range(slot, width)])
}

/// Writes `cells` into slot `slot` of `ring`.
pub(crate) fn write_slot(ring: &mut [u8], slot: u64, cells: &[f64]) {
    let at = slot_range(slot, cells.len());
    for (c, cell) in ring[at].chunks_exact_mut(8).zip(cells) {
        c.copy_from_slice(&cell.to_le_bytes());
    }
}

/// An empty ring of `slots × width` cells, as bytes.
pub(crate) fn empty(slots: u64, width: usize) -> Vec<u8> {
    empty_cells(slots, width)
        .iter()
        .flat_map(|c| c.to_le_bytes())
        .collect()
}

/// Applies one event to the slot `cells` (its bucket number first) as the script does: resets
/// it when it holds an older bucket (or none), then updates every column. Returns whether the
/// event is the slot's latest (its string `last` values are to be written), or the overflow
/// message when a sum would leave its range (the slot is then unspecified: the caller
/// discards it).
pub(crate) fn update<'a>(
    cells: &mut [f64],
    idx: f64,
    ts: f64,
    ops: impl IntoIterator<Item = (Op, &'a OpValue)>,
) -> Result<Option<bool>, &'static str> {
    // As the script's `c[1] <= idx`: a slot holding a newer bucket (or, damaged, not a number)
    // is left alone.
    if cells[0] > idx || cells[0].is_nan() {
        return Ok(None);
    }
    let fresh = cells[0] < idx;
    if fresh {
        cells[0] = idx;
        cells[1..].iter_mut().for_each(|c| *c = 0.0);
    }
    let mut k = 1;
    let mut newer = true;
    for (op, value) in ops {
        // A float's value, or an integer's two parts (a string's last value is written by the
        // caller, to its own field, when the event is the latest).
        let (x, y) = match value {
            OpValue::Float(bits) => (f64::from_bits(*bits), 0.0),
            OpValue::Int(hi, lo) => (*hi as f64, *lo as f64),
            OpValue::None | OpValue::Text { .. } => (0.0, 0.0),
        };
        match op {
            Op::Count => cells[k] += 1.0,
            Op::SumInt => {
                let lo = cells[k + 1] + y;
                let carry = (lo / LO).floor();
                let hi = cells[k] + x + carry;
                if !(-2_147_483_648.0..=2_147_483_647.0).contains(&hi) {
                    return Err("leave the 64-bit range");
                }
                cells[k] = hi;
                cells[k + 1] = lo - carry * LO;
            }
            Op::SumFloat => {
                let sum = cells[k] + x;
                if !sum.is_finite() {
                    return Err("not be a finite float");
                }
                cells[k] = sum;
            }
            Op::MinInt | Op::MaxInt
                if fresh
                    || (op == Op::MinInt && (x, y) < (cells[k], cells[k + 1]))
                    || (op == Op::MaxInt && (x, y) > (cells[k], cells[k + 1])) =>
            {
                cells[k] = x;
                cells[k + 1] = y;
            }
            Op::MinFloat | Op::MaxFloat
                if fresh
                    || (op == Op::MinFloat && x < cells[k])
                    || (op == Op::MaxFloat && x > cells[k]) =>
            {
                cells[k] = x;
            }
            Op::LastTime => {
                newer = fresh || ts >= cells[k];
                if newer {
                    cells[k] = ts;
                }
            }
            Op::LastInt if newer => {
                cells[k] = x;
                cells[k + 1] = y;
            }
            Op::LastFloat if newer => cells[k] = x,
            _ => {}
        }
        k += op.cells();
    }
    Ok(Some(newer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join_are_exact_over_i64() {
        for v in [
            0,
            1,
            -1,
            i64::MAX,
            i64::MIN,
            (1 << 53) + 1,
            -(1 << 53) - 3,
            4_294_967_296,
            -4_294_967_296,
        ] {
            let (hi, lo) = split(v);
            assert!((0..1 << 32).contains(&lo), "{v}");
            assert_eq!(join(hi as f64, lo as f64), Some(v), "{v}");
        }
        assert_eq!(join(0.5, 0.0), None);
        assert_eq!(join(0.0, LO), None);
        assert_eq!(join(2_147_483_648.0, 0.0), None);
    }

    #[test]
    fn integer_sums_carry_and_refuse_overflow() {
        let mut cells = vec![EMPTY, 0.0, 0.0];
        let add = |cells: &mut Vec<f64>, v: i64| {
            let (hi, lo) = split(v);
            update(cells, 7.0, 0.0, [(Op::SumInt, &OpValue::Int(hi, lo))])
        };
        let mut want: i64 = 0;
        for v in [
            (1 << 53) + 1,
            -3,
            4_294_967_295,
            4_294_967_295,
            -(1 << 40) - 7,
            i64::MAX / 4,
        ] {
            want += v;
            assert_eq!(add(&mut cells, v), Ok(Some(true)));
            assert_eq!(join(cells[1], cells[2]), Some(want));
        }
        assert_eq!(add(&mut cells, i64::MAX), Err("leave the 64-bit range"));
    }

    #[test]
    fn an_older_bucket_leaves_the_slot_alone_and_a_newer_one_resets_it() {
        let mut cells = vec![9.0, 4.0];
        assert_eq!(
            update(&mut cells, 8.0, 0.0, [(Op::Count, &OpValue::None)]),
            Ok(None)
        );
        assert_eq!(cells, [9.0, 4.0]);
        assert_eq!(
            update(&mut cells, 10.0, 0.0, [(Op::Count, &OpValue::None)]),
            Ok(Some(true))
        );
        assert_eq!(cells, [10.0, 1.0]);
    }
}
