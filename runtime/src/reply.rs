//! Every check of a reply against the command it answers, in one place: an `HMGET`'s values
//! (array, one value per field), a write's result (the script's count, a transaction's per-write
//! results), `PTTL`, `WAIT`, and server error lines turned into [`Error`]s.
//!
//! Replies are [`Reply`] views over parsed [`Frame`]s, borrowed from wherever they were read:
//! a raw connection's buffer (no copy), or a [`Replies`] that owns its bytes (the embedded
//! backend, the cluster's per-shard reads, the `redis` crate's TLS transport).

use std::time::Duration;

use crate::command::Command;
use crate::resp::{Frame, Span};
use crate::{Error, Result};

/// One reply: a frame and the buffer its spans index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reply<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) spans: &'a [Option<Span>],
    pub(crate) frame: &'a Frame,
}

/// The values of an `HMGET` reply, one per requested field (`None` for nil).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Values<'a> {
    buf: &'a [u8],
    spans: &'a [Option<Span>],
}

impl<'a> Values<'a> {
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Value `index`, `None` when nil or out of range.
    pub(crate) fn get(&self, index: usize) -> Option<&'a [u8]> {
        let buf = self.buf;
        self.spans
            .get(index)
            .copied()
            .flatten()
            .map(|span| span.of(buf))
    }

    /// `true` when every value is nil.
    pub(crate) fn all_nil(&self) -> bool {
        self.spans.iter().all(Option::is_none)
    }

    /// A copy that owns its bytes (only the values', not the whole read buffer's), for replies
    /// used after the buffer is gone.
    pub(crate) fn to_owned_values(self) -> OwnedValues {
        let mut buf = Vec::with_capacity(
            self.spans
                .iter()
                .flatten()
                .map(|s| s.end.saturating_sub(s.start))
                .sum(),
        );
        let spans = self
            .spans
            .iter()
            .map(|span| {
                span.map(|span| {
                    let start = buf.len();
                    buf.extend_from_slice(span.of(self.buf));
                    Span {
                        start,
                        end: buf.len(),
                    }
                })
            })
            .collect();
        OwnedValues { buf, spans }
    }
}

/// The values of an `HMGET` reply, owning their bytes (see [`Values::to_owned_values`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnedValues {
    buf: Vec<u8>,
    spans: Vec<Option<Span>>,
}

impl OwnedValues {
    /// The values, borrowed.
    pub(crate) fn as_values(&self) -> Values<'_> {
        Values {
            buf: &self.buf,
            spans: &self.spans,
        }
    }
}

impl<'a> Reply<'a> {
    /// The error line of an error reply.
    pub(crate) fn error_line(&self) -> Option<&'a [u8]> {
        match self.frame {
            Frame::Error(line) => Some(line.of(self.buf)),
            _ => None,
        }
    }

    /// A short description, for [`Error::UnexpectedReply`].
    fn describe(&self) -> String {
        let text = |span: &Span| crate::error::excerpt(span.of(self.buf));
        match self.frame {
            Frame::Values(range) => format!("an array of {} values", range.len()),
            Frame::Int(i) => format!("the integer {i}"),
            Frame::Status(s) => format!("the status {}", text(s)),
            Frame::Error(s) => format!("the error {}", text(s)),
            Frame::Nil => "nil".to_owned(),
            Frame::Bulk(s) => format!("the string {}", text(s)),
            Frame::Other(what) => what.clone(),
        }
    }
}

/// Replies that own their bytes: built from values the backend holds (embedded, `redis` crate
/// values) or copied from a connection's buffer (a cluster shard's part of a pipeline).
#[derive(Debug, Default)]
pub(crate) struct Replies {
    pub(crate) buf: Vec<u8>,
    pub(crate) frames: Vec<Frame>,
    pub(crate) spans: Vec<Option<Span>>,
}

impl Replies {
    pub(crate) fn with_capacity(replies: usize) -> Replies {
        Replies {
            buf: Vec::new(),
            frames: Vec::with_capacity(replies),
            spans: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// Every reply, in order.
    pub(crate) fn views(&self) -> Vec<Reply<'_>> {
        self.frames
            .iter()
            .map(|frame| Reply {
                buf: &self.buf,
                spans: &self.spans,
                frame,
            })
            .collect()
    }

    /// Reply `index`.
    pub(crate) fn get(&self, index: usize) -> Option<Reply<'_>> {
        self.frames.get(index).map(|frame| Reply {
            buf: &self.buf,
            spans: &self.spans,
            frame,
        })
    }

    fn push_span(&mut self, bytes: &[u8]) -> Span {
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        Span {
            start,
            end: self.buf.len(),
        }
    }

    /// Appends an array of values.
    pub(crate) fn push_values<'v>(&mut self, values: impl IntoIterator<Item = Option<&'v [u8]>>) {
        let first = self.spans.len();
        for value in values {
            let span = value.map(|v| self.push_span(v));
            self.spans.push(span);
        }
        self.frames.push(Frame::Values(first..self.spans.len()));
    }

    pub(crate) fn push_int(&mut self, i: i64) {
        self.frames.push(Frame::Int(i));
    }

    /// Appends an error reply of `line` (`CODE message`).
    pub(crate) fn push_error(&mut self, line: &[u8]) {
        let span = self.push_span(line);
        self.frames.push(Frame::Error(span));
    }

    pub(crate) fn push_nil(&mut self) {
        self.frames.push(Frame::Nil);
    }

    pub(crate) fn push_status(&mut self, text: &[u8]) {
        let span = self.push_span(text);
        self.frames.push(Frame::Status(span));
    }

    pub(crate) fn push_other(&mut self, what: String) {
        self.frames.push(Frame::Other(what));
    }

    /// Appends `reply` as parsed from `buf`, copying its bytes.
    pub(crate) fn push_parsed(&mut self, buf: &[u8], spans: &[Option<Span>], frame: Frame) {
        let reply = Reply {
            buf,
            spans,
            frame: &frame,
        };
        match &frame {
            Frame::Values(range) => {
                let values = spans.get(range.clone()).unwrap_or_default();
                self.push_values(values.iter().map(|s| s.map(|s| s.of(buf))));
            }
            Frame::Int(i) => self.push_int(*i),
            Frame::Error(line) => self.push_error(line.of(buf)),
            // Statuses (`OK`, `QUEUED`) are never read back: no bytes kept.
            Frame::Status(_) => self.frames.push(Frame::Status(Span { start: 0, end: 0 })),
            Frame::Nil => self.push_nil(),
            Frame::Bulk(_) | Frame::Other(_) => self.push_other(reply.describe()),
        }
    }
}

/// The values of the reply to `cmd`, an `HMGET` of `fields` fields: exactly one per field.
///
/// # Errors
/// The server's error; [`Error::UnexpectedReply`] for another shape or count.
pub(crate) fn hmget<'a>(cmd: &Command, fields: usize, reply: Reply<'a>) -> Result<Values<'a>> {
    let values = strings("HMGET", cmd, reply)?;
    if values.len() != fields {
        return Err(Error::UnexpectedReply {
            command: "HMGET",
            key: cmd.key().to_owned(),
            expected: "one value per requested field",
            found: format!("{} values for {} fields", values.len(), fields),
        });
    }
    Ok(values)
}

/// The strings of an array reply to `command`.
///
/// # Errors
/// The server's error; [`Error::UnexpectedReply`] for another shape.
fn strings<'a>(command: &'static str, cmd: &Command, reply: Reply<'a>) -> Result<Values<'a>> {
    match reply.frame {
        Frame::Values(range) => Ok(Values {
            buf: reply.buf,
            spans: reply.spans.get(range.clone()).unwrap_or_default(),
        }),
        Frame::Error(line) => Err(server_error(command, cmd.key(), line.of(reply.buf))),
        _ => Err(unexpected(command, cmd, "an array", reply.describe())),
    }
}

/// The strings of the reply to `HGETALL`: field, value, field, value…
///
/// # Errors
/// The server's error; [`Error::UnexpectedReply`] for another shape, or an odd count.
pub(crate) fn hgetall<'a>(cmd: &Command, reply: Reply<'a>) -> Result<Values<'a>> {
    let values = strings("HGETALL", cmd, reply)?;
    if values.len() % 2 != 0 {
        return Err(Error::UnexpectedReply {
            command: "HGETALL",
            key: cmd.key().to_owned(),
            expected: "fields and values in pairs",
            found: format!("{} strings", values.len()),
        });
    }
    Ok(values)
}

/// The remaining time to live from the reply to `PTTL`: `None` for a missing key or one
/// without expiry.
///
/// # Errors
/// The server's error; [`Error::UnexpectedReply`] for another shape.
pub(crate) fn pttl(cmd: &Command, reply: Reply<'_>) -> Result<Option<Duration>> {
    match reply.frame {
        Frame::Int(ms) if *ms >= 0 => Ok(Some(Duration::from_millis(ms.unsigned_abs()))),
        Frame::Int(_) => Ok(None),
        Frame::Error(line) => Err(server_error("PTTL", cmd.key(), line.of(reply.buf))),
        _ => Err(unexpected("PTTL", cmd, "an integer", reply.describe())),
    }
}

/// The integer reply to `cmd` (`PFCOUNT`).
///
/// # Errors
/// The server's error; [`Error::UnexpectedReply`] for another shape.
pub(crate) fn count(cmd: &Command, reply: Reply<'_>) -> Result<i64> {
    match reply.frame {
        Frame::Int(n) => Ok(*n),
        Frame::Error(line) => Err(server_error(cmd.name(), cmd.key(), line.of(reply.buf))),
        _ => Err(unexpected(cmd.name(), cmd, "an integer", reply.describe())),
    }
}

/// The result of a single write (the write script's reply: the number of fields set).
///
/// # Errors
/// The server's error; [`Error::UnexpectedReply`] for another shape.
pub(crate) fn script_write(cmd: &Command, reply: Reply<'_>) -> Result<()> {
    if let Command::Record(_) = cmd {
        return records(&[cmd], reply).pop().unwrap_or(Ok(()));
    }
    match reply.frame {
        Frame::Int(_) => Ok(()),
        Frame::Error(line) => Err(server_error("EVALSHA", cmd.key(), line.of(reply.buf))),
        _ => Err(unexpected("EVALSHA", cmd, "an integer", reply.describe())),
    }
}

/// The result of each event of one call of the aggregation script (`events`, each a
/// [`Command::Record`]): the call's own error for all of them, else one per element of its
/// array (`Ok` for a count of fields written, the event's refusal otherwise).
pub(crate) fn records(events: &[&Command], reply: Reply<'_>) -> Vec<Result<()>> {
    let first = events.first().map_or("", |c| c.key());
    let values = match reply.frame {
        Frame::Values(range) => Values {
            buf: reply.buf,
            spans: reply.spans.get(range.clone()).unwrap_or_default(),
        },
        Frame::Error(line) => {
            let line = line.of(reply.buf);
            return events
                .iter()
                .map(|c| Err(server_error("EVALSHA", c.key(), line)))
                .collect();
        }
        _ => {
            let found = reply.describe();
            return events
                .iter()
                .map(|c| Err(unexpected("EVALSHA", c, "an array", found.clone())))
                .collect();
        }
    };
    if values.len() != events.len() {
        let found = format!(
            "{} results for {} events from {first}",
            values.len(),
            events.len()
        );
        return events
            .iter()
            .map(|c| {
                Err(unexpected(
                    "EVALSHA",
                    c,
                    "one result per event",
                    found.clone(),
                ))
            })
            .collect();
    }
    events
        .iter()
        .enumerate()
        .map(|(i, c)| match values.get(i) {
            Some(v) if v.first().is_some_and(u8::is_ascii_digit) => Ok(()),
            Some(line) => Err(server_error("EVALSHA", c.key(), line)),
            None => Err(unexpected("EVALSHA", c, "a result", "nil".to_owned())),
        })
        .collect()
}

/// Checks the reply to `PING`: `PONG`.
///
/// # Errors
/// The server's error (`NOAUTH`, …); [`Error::UnexpectedReply`] for another shape.
pub(crate) fn pong(reply: Option<Reply<'_>>) -> Result<()> {
    match reply.map(|r| (r, r.frame)) {
        Some((_, Frame::Status(_))) => Ok(()),
        Some((r, Frame::Error(line))) => Err(server_error("PING", "", line.of(r.buf))),
        Some((r, _)) => Err(Error::UnexpectedReply {
            command: "PING",
            key: String::new(),
            expected: "PONG",
            found: r.describe(),
        }),
        None => Err(Error::UnexpectedReply {
            command: "PING",
            key: String::new(),
            expected: "PONG",
            found: "no reply".to_owned(),
        }),
    }
}

/// `true` when the reply says the server does not know the write script (after a restart or
/// `SCRIPT FLUSH`): load it and send the write again.
pub(crate) fn is_noscript(reply: Reply<'_>) -> bool {
    reply
        .error_line()
        .is_some_and(|l| l.starts_with(b"NOSCRIPT"))
}

/// Checks the reply to a `WAIT` sent after `writes` (non-empty): at least `replicas`
/// acknowledged, or [`Error::NotReplicated`] naming the first write's key.
///
/// # Errors
/// [`Error::NotReplicated`]; the server's error.
pub(crate) fn replicated(
    replicas: usize,
    reply: Option<Reply<'_>>,
    writes: &[&Command],
) -> Result<()> {
    let key = writes.first().map(|w| w.key()).unwrap_or_default();
    let acknowledged = match reply.map(|r| (r, r.frame)) {
        Some((_, Frame::Int(n))) => usize::try_from(*n).unwrap_or(0),
        Some((r, Frame::Error(line))) => return Err(server_error("WAIT", key, line.of(r.buf))),
        _ => 0,
    };
    if acknowledged >= replicas {
        return Ok(());
    }
    Err(Error::NotReplicated {
        key: key.to_owned(),
        entities: writes.len(),
        acknowledged,
        required: replicas,
    })
}

/// The error for the server's error `line` (`CODE message`) to `command` on `key`:
/// [`Error::PermissionDenied`] for `NOPERM`, else [`Error::Server`].
pub(crate) fn server_error(command: &'static str, key: &str, line: &[u8]) -> Error {
    let text = String::from_utf8_lossy(line);
    let code = text.split(' ').next().unwrap_or_default();
    let message = match text.split_once(' ') {
        Some((code, rest)) => format!("{code}: {rest}"),
        None => text.clone().into_owned(),
    };
    Error::from_server(command, key, code, message)
}

fn unexpected(
    command: &'static str,
    cmd: &Command,
    expected: &'static str,
    found: String,
) -> Error {
    Error::UnexpectedReply {
        command,
        key: cmd.key().to_owned(),
        expected,
        found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(key: &str, with_none: bool) -> Command {
        let mut w = crate::RowWriter::default();
        w.put("age", &28i64);
        if with_none {
            w.put("country", &None::<String>);
        }
        Command::Write(w.finish("v", key.into(), 1_000, 42).unwrap())
    }

    #[test]
    fn hmget_arity_and_errors() {
        let cmd = Command::hmget("k".into(), &["a", "b"]);
        let mut replies = Replies::default();
        replies.push_values([Some(&b"1"[..]), None]);
        replies.push_values([Some(&b"1"[..])]);
        replies.push_error(b"WRONGTYPE Operation against a key holding the wrong kind of value");
        replies.push_int(3);
        let values = hmget(&cmd, 2, replies.get(0).unwrap()).unwrap();
        assert_eq!((values.get(0), values.get(1)), (Some(&b"1"[..]), None));
        let err = hmget(&cmd, 2, replies.get(1).unwrap()).unwrap_err();
        assert!(err.to_string().contains("1 values for 2 fields"), "{err}");
        let err = hmget(&cmd, 2, replies.get(2).unwrap()).unwrap_err();
        assert!(matches!(err, Error::Server { ref message, .. } if message.contains("WRONGTYPE")));
        let err = hmget(&cmd, 2, replies.get(3).unwrap()).unwrap_err();
        assert!(err.to_string().contains("the integer 3"), "{err}");
    }

    #[test]
    fn wait_replies() {
        let a = write("a", false);
        let mut replies = Replies::default();
        replies.push_int(1);
        replies.push_int(0);
        assert!(replicated(1, replies.get(0), &[&a]).is_ok());
        let err = replicated(1, replies.get(1), &[&a]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotReplicated {
                    acknowledged: 0,
                    ..
                }
            ),
            "{err}"
        );
    }
}
