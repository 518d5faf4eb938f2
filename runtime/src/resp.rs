//! The wire format, both ways: every command fstore sends is encoded here (RESP arrays of bulk
//! strings), and every reply is parsed here into [`Frame`]s whose strings are byte [`Span`]s of
//! the read buffer, so that nothing is copied or allocated per value.
//!
//! Encoding goes through a [`Sink`]: [`Vec<u8>`] writes RESP bytes for the raw connections, and
//! the `redis` crate's `Cmd` takes the same arguments on the TLS transport, so that there is one
//! encoder whatever carries the bytes. Parsing never panics: a malformed reply is an `Err`
//! describing it, an incomplete one `Ok(None)`.

use std::ops::Range;

use crate::command::{write_script_sha, Command, RecordCommand};

/// Larger bulk strings are a protocol error (the server's own default `proto-max-bulk-len`).
const MAX_BULK: usize = 512 * 1024 * 1024;
/// A header line (`*n`, `$n`, `:n`) longer than this is a protocol error.
const MAX_HEADER: usize = 32;
/// An error or status line longer than this is a protocol error.
const MAX_LINE: usize = 64 * 1024;

/// Where encoded commands go: one `array` header, then that many `arg`s.
pub(crate) trait Sink {
    /// Starts a command of `args` arguments.
    fn array(&mut self, args: usize);
    /// One argument.
    fn arg(&mut self, arg: &[u8]);
}

impl Sink for Vec<u8> {
    fn array(&mut self, args: usize) {
        header(self, b'*', args);
    }

    fn arg(&mut self, arg: &[u8]) {
        header(self, b'$', arg.len());
        self.extend_from_slice(arg);
        self.extend_from_slice(b"\r\n");
    }
}

/// Encodes one command of arguments `args` (setup commands, `WAIT`, `SCRIPT LOAD`, …).
pub(crate) fn args(out: &mut (impl Sink + ?Sized), args: &[&[u8]]) {
    out.array(args.len());
    for arg in args {
        out.arg(arg);
    }
}

/// Encodes `cmd` as sent on its own: `HMGET key field…`, `PTTL key`, or a write as
/// `EVALSHA <write script> 1 key ttl_ms n field value … removed…`.
pub(crate) fn command(out: &mut (impl Sink + ?Sized), cmd: &Command) {
    match cmd {
        Command::Hmget { key, fields } => {
            out.array(2 + fields.len());
            out.arg(b"HMGET");
            out.arg(key.as_bytes());
            for field in fields.iter() {
                out.arg(field.as_bytes());
            }
        }
        Command::Pttl { key } => {
            out.array(2);
            out.arg(b"PTTL");
            out.arg(key.as_bytes());
        }
        Command::Hgetall { key, .. } => {
            out.array(2);
            out.arg(b"HGETALL");
            out.arg(key.as_bytes());
        }
        Command::Pfcount { keys } => {
            out.array(1 + keys.len());
            out.arg(b"PFCOUNT");
            for key in keys {
                out.arg(key.as_bytes());
            }
        }
        Command::Record(r) => records(out, &[r]),
        Command::Write(w) => {
            let set = w.set();
            out.array(6 + 2 * set.len() + w.delete().len());
            out.arg(b"EVALSHA");
            out.arg(write_script_sha().as_bytes());
            out.arg(b"1");
            out.arg(w.key().as_bytes());
            let mut digits = [0u8; 20];
            out.arg(decimal(w.ttl_ms(), &mut digits));
            out.arg(decimal(set.len() as u64, &mut digits));
            for (field, value) in set {
                out.arg(field.as_bytes());
                out.arg(value);
            }
            for field in w.delete() {
                out.arg(field.as_bytes());
            }
        }
    }
}

/// Encodes one call of [`AGG_SCRIPT`](crate::command::AGG_SCRIPT) applying `events` in order.
pub(crate) fn records(out: &mut (impl Sink + ?Sized), events: &[&RecordCommand]) {
    // The hash fields the events name, sent once.
    let mut shared: Vec<&str> = Vec::new();
    for r in events {
        for s in r.shared_strings() {
            if !shared.contains(&s) {
                shared.push(s);
            }
        }
    }
    // Each event's numbers (one argument) and strings.
    let mut blob = Vec::with_capacity(events.len() * 256);
    let mut strings: Vec<&[u8]> = Vec::new();
    let mut parts = Vec::with_capacity(events.len());
    for r in events {
        let (b, s) = (blob.len(), strings.len());
        r.encode(&shared, &mut blob, &mut strings);
        parts.push((b..blob.len(), s..strings.len()));
    }
    let keys: usize = events.iter().map(|r| r.num_keys()).sum();
    out.array(5 + keys + shared.len() + events.len() + strings.len());
    out.arg(b"EVALSHA");
    out.arg(crate::command::agg_script_sha().as_bytes());
    let mut digits = [0u8; 20];
    out.arg(decimal(keys as u64, &mut digits));
    events
        .iter()
        .for_each(|r| r.for_each_key(|key| out.arg(key)));
    out.arg(decimal(events.len() as u64, &mut digits));
    out.arg(decimal(shared.len() as u64, &mut digits));
    shared.iter().for_each(|s| out.arg(s.as_bytes()));
    for (b, s) in parts {
        out.arg(&blob[b]);
        strings[s].iter().for_each(|s| out.arg(s));
    }
}

/// Encodes `WAIT replicas timeout_ms`.
pub(crate) fn wait(out: &mut (impl Sink + ?Sized), replicas: usize, timeout_ms: u64) {
    let mut a = [0u8; 20];
    let mut b = [0u8; 20];
    args(
        out,
        &[
            b"WAIT",
            decimal(replicas as u64, &mut a),
            decimal(timeout_ms, &mut b),
        ],
    );
}

fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    let mut digits = [0u8; 20];
    out.extend_from_slice(decimal(n as u64, &mut digits));
    out.extend_from_slice(b"\r\n");
}

/// The decimal digits of `n`, written at the end of `digits`.
fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

// ---- parsing ---------------------------------------------------------------------------------

/// Bytes `start..end` of the buffer a reply was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    /// The bytes of the span in `buf`, empty when out of range.
    pub(crate) fn of(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start..self.end).unwrap_or_default()
    }
}

/// One parsed reply; its strings are spans of the buffer it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// An array of bulk strings, nils and simple strings: their spans are `spans[range]` of
    /// the spans vector the parser filled (`None` for nil).
    Values(Range<usize>),
    /// An integer.
    Int(i64),
    /// A simple string such as `OK` or `QUEUED`.
    Status(Span),
    /// An error: its whole line (`WRONGTYPE Operation …`), without `-` and CRLF.
    Error(Span),
    /// A nil bulk string or nil array.
    Nil,
    /// A bulk string.
    Bulk(Span),
    /// A reply of a shape fstore never asks for (a nested array, …), described.
    Other(String),
}

/// A header line: its type byte, its text and where the next line starts.
pub(crate) type Line<'a> = (u8, &'a [u8], usize);

/// Parses one reply starting at `buf[at..]`: `Ok(None)` when the buffer does not hold all of it
/// yet, else its frame and where it ends. The spans of an array's values are pushed onto
/// `spans` (and taken back when the reply is incomplete). Spans index `buf`.
pub(crate) fn parse(
    buf: &[u8],
    at: usize,
    spans: &mut Vec<Option<Span>>,
) -> Result<Option<(Frame, usize)>, String> {
    let Some((kind, line, mut pos)) = line_at(buf, at)? else {
        return Ok(None);
    };
    let span = |line: &[u8]| {
        let start = at + 1;
        Span {
            start,
            end: start + line.len(),
        }
    };
    let frame = match kind {
        b'*' => {
            let n = number(line)?;
            if n < 0 {
                return Ok(Some((Frame::Nil, pos)));
            }
            let first = spans.len();
            for _ in 0..n {
                match value_at(buf, pos) {
                    Ok(Some((Element::Value(value), next))) => {
                        spans.push(value);
                        pos = next;
                    }
                    Ok(Some((Element::Other(kind), _))) => {
                        spans.truncate(first);
                        let what = format!("an array element of type {:?}", kind as char);
                        return skip(buf, at, spans)
                            .map(|end| end.map(|e| (Frame::Other(what), e)));
                    }
                    Ok(None) => {
                        spans.truncate(first);
                        return Ok(None);
                    }
                    Err(e) => {
                        spans.truncate(first);
                        return Err(e);
                    }
                }
            }
            Frame::Values(first..spans.len())
        }
        b'$' => match bulk_at(buf, line, pos)? {
            None => return Ok(None),
            Some((None, next)) => {
                pos = next;
                Frame::Nil
            }
            Some((Some(value), next)) => {
                pos = next;
                Frame::Bulk(value)
            }
        },
        b':' => Frame::Int(number(line)?),
        b'+' => Frame::Status(span(line)),
        b'-' => Frame::Error(span(line)),
        other => return Err(format!("a reply starting with byte {other:#04x}")),
    };
    Ok(Some((frame, pos)))
}

/// Where the reply starting at `buf[at..]` ends, nested arrays included: `Ok(None)` while
/// incomplete.
pub(crate) fn end_of(buf: &[u8], at: usize) -> Result<Option<usize>, String> {
    skip(buf, at, &mut Vec::new())
}

/// Where a reply starting at `at` that [`parse`] does not take apart ends, skipping nested
/// arrays of any type: `Ok(None)` while incomplete.
fn skip(buf: &[u8], at: usize, spans: &mut Vec<Option<Span>>) -> Result<Option<usize>, String> {
    let Some((kind, line, pos)) = line_at(buf, at)? else {
        return Ok(None);
    };
    match kind {
        b'*' => {
            let mut pos = pos;
            for _ in 0..number(line)?.max(0) {
                match skip(buf, pos, spans)? {
                    Some(next) => pos = next,
                    None => return Ok(None),
                }
            }
            Ok(Some(pos))
        }
        _ => {
            let first = spans.len();
            let end = parse(buf, at, spans)?.map(|(_, end)| end);
            spans.truncate(first);
            Ok(end)
        }
    }
}

enum Element {
    /// A bulk string, simple string (`Some`) or nil (`None`).
    Value(Option<Span>),
    /// An element of another type: its type byte.
    Other(u8),
}

/// One array element at `pos`.
fn value_at(buf: &[u8], pos: usize) -> Result<Option<(Element, usize)>, String> {
    let Some((kind, line, next)) = line_at(buf, pos)? else {
        return Ok(None);
    };
    Ok(match kind {
        b'$' => bulk_at(buf, line, next)?.map(|(v, next)| (Element::Value(v), next)),
        b'+' => Some((
            Element::Value(Some(Span {
                start: pos + 1,
                end: pos + 1 + line.len(),
            })),
            next,
        )),
        other => Some((Element::Other(other), next)),
    })
}

/// The bulk string whose header `line` ends at `pos`: `None` for nil.
fn bulk_at(buf: &[u8], line: &[u8], pos: usize) -> Result<Option<(Option<Span>, usize)>, String> {
    let len = number(line)?;
    if len < 0 {
        return Ok(Some((None, pos)));
    }
    let len = usize::try_from(len).map_err(|_| "bad length".to_owned())?;
    if len > MAX_BULK {
        return Err(format!("a bulk string of {len} bytes"));
    }
    let end = pos + len;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err("a bulk string not followed by CRLF".to_owned());
    }
    Ok(Some((Some(Span { start: pos, end }), end + 2)))
}

/// The line starting at `pos`: its type byte, its text and where the next one starts. Lines of
/// error and simple-string replies may be long; headers may not.
pub(crate) fn line_at(buf: &[u8], pos: usize) -> Result<Option<Line<'_>>, String> {
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let rest = &buf[pos + 1..];
    let limit = if matches!(kind, b'-' | b'+') {
        MAX_LINE
    } else {
        MAX_HEADER
    };
    match rest.iter().take(limit).position(|&b| b == b'\n') {
        Some(nl) => {
            if nl == 0 || rest[nl - 1] != b'\r' {
                return Err("a line not ended by CRLF".to_owned());
            }
            Ok(Some((kind, &rest[..nl - 1], pos + 1 + nl + 1)))
        }
        None if rest.len() >= limit => Err(format!(
            "a {:?} line longer than {limit} bytes",
            kind as char
        )),
        None => Ok(None),
    }
}

/// The integer of a header line.
pub(crate) fn number(line: &[u8]) -> Result<i64, String> {
    let bad = || {
        format!(
            "a malformed number {:?}",
            String::from_utf8_lossy(line)
                .chars()
                .take(30)
                .collect::<String>()
        )
    };
    let (neg, digits) = match line.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, line),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let n = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Ok(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Option<(Frame, usize, Vec<Option<Vec<u8>>>)>;

    fn parse_all(buf: &[u8]) -> Result<Parsed, String> {
        let mut spans = Vec::new();
        Ok(parse(buf, 0, &mut spans)?.map(|(frame, used)| {
            let values = spans
                .iter()
                .map(|s| s.map(|s| s.of(buf).to_vec()))
                .collect();
            (frame, used, values)
        }))
    }

    #[test]
    fn nil_empty_and_binary_bulks() {
        let buf = b"*4\r\n$-1\r\n$0\r\n\r\n$4\r\n\x00\r\n\xff\r\n$2\r\n42\r\n";
        let (frame, used, values) = parse_all(buf).unwrap().unwrap();
        assert_eq!(frame, Frame::Values(0..4));
        assert_eq!(used, buf.len());
        assert_eq!(
            values,
            vec![
                None,
                Some(vec![]),
                Some(b"\x00\r\n\xff".to_vec()),
                Some(b"42".to_vec())
            ]
        );
    }

    #[test]
    fn trailing_bytes_are_left() {
        let buf = b"*1\r\n$1\r\na\r\n*0\r\n";
        let (_, used, values) = parse_all(buf).unwrap().unwrap();
        assert_eq!(used, 11);
        assert_eq!(values, vec![Some(b"a".to_vec())]);
        let mut spans = Vec::new();
        assert_eq!(
            parse(buf, used, &mut spans).unwrap(),
            Some((Frame::Values(0..0), buf.len()))
        );
    }

    #[test]
    fn scalars_and_errors() {
        let mut spans = Vec::new();
        let err = b"-WRONGTYPE Operation against a key\r\n";
        let (frame, used) = parse(err, 0, &mut spans).unwrap().unwrap();
        assert_eq!(used, err.len());
        let Frame::Error(line) = frame else { panic!() };
        assert_eq!(line.of(err), b"WRONGTYPE Operation against a key");
        for (buf, frame) in [
            (&b":-2\r\n"[..], Frame::Int(-2)),
            (b"*-1\r\n", Frame::Nil),
            (b"$-1\r\n", Frame::Nil),
            (b"+OK\r\n", Frame::Status(Span { start: 1, end: 3 })),
            (b"$1\r\nx\r\n", Frame::Bulk(Span { start: 4, end: 5 })),
        ] {
            assert_eq!(parse(buf, 0, &mut spans).unwrap(), Some((frame, buf.len())));
        }
    }

    #[test]
    fn other_shapes_are_described_and_skipped() {
        let buf = b"*2\r\n:5\r\n*1\r\n$1\r\na\r\n+OK\r\n";
        let mut spans = Vec::new();
        let (frame, used) = parse(buf, 0, &mut spans).unwrap().unwrap();
        assert!(
            matches!(frame, Frame::Other(ref s) if s.contains("':'")),
            "{frame:?}"
        );
        assert_eq!(used, buf.len() - 5);
        assert!(spans.is_empty());
    }

    #[test]
    fn incomplete_at_every_split_point() {
        let buf = b"*3\r\n$3\r\nabc\r\n$-1\r\n$5\r\nx\r\ny\0\r\n";
        for split in 0..buf.len() {
            let mut spans = Vec::new();
            assert_eq!(
                parse(&buf[..split], 0, &mut spans).unwrap(),
                None,
                "{split}"
            );
            assert!(spans.is_empty());
        }
        let (_, used, values) = parse_all(buf).unwrap().unwrap();
        assert_eq!(used, buf.len());
        assert_eq!(values.len(), 3);
        let err = b"-ERR oops\r\n";
        for split in 0..err.len() {
            assert_eq!(parse_all(&err[..split]).unwrap(), None);
        }
    }

    #[test]
    fn huge_and_malformed_headers_are_errors() {
        for buf in [
            &b"*1\r\n$99999999999\r\n"[..],
            b"*1\r\n$999999999999999999999\r\n",
            b"*x\r\n",
            b"*\r\n",
            b"*1\n",
            b"*1\r\n$3\r\nabcXY",
            b"?\r\n",
            b"*1\r\n$--1\r\n",
            b"*111111111111111111111111111111111111111111",
        ] {
            assert!(parse_all(buf).is_err(), "{buf:?}");
        }
    }

    fn write(key: &str, with_none: bool) -> Command {
        let mut w = crate::RowWriter::with_capacity(3);
        w.put("age", &28i64);
        w.put("segment", &"a b".to_owned());
        if with_none {
            w.put("country", &None::<String>);
        }
        Command::Write(w.finish("v", key.into(), 3_600_000, 42).unwrap())
    }

    /// The commands of `out`, one line each, arguments separated by spaces.
    fn commands(out: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(out);
        let mut lines = Vec::new();
        let mut parts = text.split("\r\n").peekable();
        while let Some(head) = parts.next() {
            let Some(n) = head.strip_prefix('*') else {
                continue;
            };
            let args: Vec<&str> = (0..n.parse::<usize>().unwrap())
                .map(|_| {
                    parts.next();
                    parts.next().unwrap()
                })
                .collect();
            lines.push(args.join(" "));
        }
        lines
    }

    #[test]
    fn encodings() {
        let mut out = Vec::new();
        command(&mut out, &Command::hmget("key".into(), &["a", "bc"]));
        assert_eq!(
            out,
            b"*4\r\n$5\r\nHMGET\r\n$3\r\nkey\r\n$1\r\na\r\n$2\r\nbc\r\n"
        );
        out.clear();
        header(&mut out, b'$', 1234567890);
        assert_eq!(out, b"$1234567890\r\n");
        out.clear();
        command(&mut out, &write("k", true));
        assert_eq!(
            commands(&out),
            [format!(
                "EVALSHA {} 1 k 3600000 3 age 28 segment a b _updated_at 0.042 country",
                write_script_sha()
            )]
        );
        // The same text as the plan displays.
        assert_eq!(commands(&out)[0], write("k", true).to_string());
        out.clear();
        wait(&mut out, 2, 150);
        assert_eq!(commands(&out), ["WAIT 2 150"]);
    }
}
