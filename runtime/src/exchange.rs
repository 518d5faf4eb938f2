//! The round trips the raw transport runs ([`Exchange`]s): a pipeline of reads decoded as
//! their replies arrive, straight from the connection's buffer ([`Read`]), and a pipeline whose
//! replies are kept, `EXEC` results included ([`Collect`]: writes, transactions, `WAIT`, and a
//! cluster shard's part of a batch).

use crate::command::Command;
use crate::reply::{Replies, Reply};
use crate::resp::{self, Frame, Sink, Span};
use crate::transport::{Exchange, Failure};
use crate::{Error, Result};

/// What decodes one entity's replies (one per command of its group) into a `T`.
pub(crate) trait Decode<T>: FnMut(&[Command], &[Reply<'_>]) -> Result<T> + Send {}

impl<T, F: FnMut(&[Command], &[Reply<'_>]) -> Result<T> + Send> Decode<T> for F {}

/// A pipeline of `HMGET`/`PTTL` commands whose replies are decoded `group` at a time (one
/// entity: one reply per view) into `out`, as they arrive; nothing is copied.
pub(crate) struct Read<'c, 'o, T, D> {
    cmds: &'c [Command],
    group: usize,
    out: &'o mut Vec<T>,
    /// `out`'s length before the call, restored before a retry.
    base: usize,
    decode: D,
    frames: Vec<Frame>,
    spans: Vec<Option<Span>>,
    /// The next command whose reply is expected.
    next: usize,
}

impl<'c, 'o, T, D> Read<'c, 'o, T, D>
where
    D: FnMut(&[Command], &[Reply<'_>]) -> Result<T>,
{
    /// `cmds.len()` must be a multiple of `group` (at least 1).
    pub(crate) fn new(cmds: &'c [Command], group: usize, out: &'o mut Vec<T>, decode: D) -> Self {
        let base = out.len();
        Read {
            cmds,
            group: group.max(1),
            out,
            base,
            decode,
            frames: Vec::with_capacity(group),
            spans: Vec::with_capacity(16),
            next: 0,
        }
    }
}

impl<'c, T, D> Read<'c, '_, T, D>
where
    D: FnMut(&[Command], &[Reply<'_>]) -> Result<T>,
{
    /// The commands to send.
    pub(crate) fn cmds(&self) -> &'c [Command] {
        self.cmds
    }

    /// Decodes `replies` (one per command, held elsewhere: a backend without a raw buffer)
    /// into the output.
    ///
    /// # Errors
    /// The first error the decoder returns.
    pub(crate) fn decode_replies(&mut self, replies: &[Reply<'_>]) -> Result<()> {
        decode_groups(self.cmds, replies, self.group, self.out, &mut self.decode)
    }
}

impl<T, D> Exchange for Read<'_, '_, T, D>
where
    T: Send,
    D: FnMut(&[Command], &[Reply<'_>]) -> Result<T> + Send,
{
    type Output = ();

    fn encode(&mut self, out: &mut Vec<u8>) {
        for cmd in &self.cmds[self.next..] {
            resp::command(out, cmd);
        }
    }

    fn replies(&self) -> usize {
        self.cmds.len() - self.next
    }

    fn read(&mut self, buf: &[u8]) -> std::result::Result<(usize, Option<()>), Failure> {
        let mut used = 0;
        let mut replies: Vec<Reply<'_>> = Vec::with_capacity(self.group);
        while self.next < self.cmds.len() {
            // One group's replies, whole, or wait for more bytes.
            replies = reuse(replies);
            self.frames.clear();
            self.spans.clear();
            let mut pos = used;
            for i in 0..self.group {
                let cmd = &self.cmds[self.next + i];
                match resp::parse(buf, pos, &mut self.spans).map_err(|e| malformed(cmd, e))? {
                    Some((frame, end)) => {
                        self.frames.push(frame);
                        pos = end;
                    }
                    None => return Ok((used, None)),
                }
            }
            replies.extend(self.frames.iter().map(|frame| Reply {
                buf,
                spans: &self.spans,
                frame,
            }));
            let cmds = &self.cmds[self.next..self.next + self.group];
            let value = (self.decode)(cmds, &replies).map_err(Failure::Fatal)?;
            self.out.push(value);
            self.next += self.group;
            used = pos;
        }
        Ok((used, Some(())))
    }

    fn reset(&mut self) {
        self.out.truncate(self.base);
        self.next = 0;
    }
}

/// The same (emptied) vector, for replies of another lifetime: keeps its allocation.
fn reuse<'b>(mut v: Vec<Reply<'_>>) -> Vec<Reply<'b>> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// The replies of a [`Collect`].
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// One reply per command.
    pub(crate) replies: Replies,
}

/// A pipeline whose replies are copied out.
pub(crate) struct Collect<'a, E> {
    /// Encodes the commands (straight into the connection's buffer).
    encode: E,
    /// How many replies to collect.
    replies: usize,
    /// The key of the first command, for errors.
    key: &'a str,
    collected: Collected,
}

impl<'a, E: FnMut(&mut dyn Sink)> Collect<'a, E> {
    /// `encode` writes `replies` commands, one reply each.
    pub(crate) fn new(encode: E, replies: usize, key: &'a str) -> Self {
        Collect {
            encode,
            replies,
            key,
            collected: Collected {
                replies: Replies::with_capacity(replies),
            },
        }
    }

    fn bad(&self, found: String) -> Failure {
        Failure::Fatal(Error::UnexpectedReply {
            command: "a pipeline",
            key: self.key.to_owned(),
            expected: "a well-formed RESP2 reply",
            found,
        })
    }
}

impl<E: FnMut(&mut dyn Sink)> Exchange for Collect<'_, E> {
    type Output = Collected;

    fn encode(&mut self, out: &mut Vec<u8>) {
        (self.encode)(out);
    }

    fn replies(&self) -> usize {
        self.replies
    }

    fn read(&mut self, buf: &[u8]) -> std::result::Result<(usize, Option<Collected>), Failure> {
        let mut pos = 0;
        let mut spans = Vec::new();
        loop {
            if self.collected.replies.len() == self.replies {
                return Ok((pos, Some(std::mem::take(&mut self.collected))));
            }
            spans.clear();
            let Some((frame, end)) = resp::parse(buf, pos, &mut spans).map_err(|e| self.bad(e))?
            else {
                return Ok((pos, None));
            };
            self.collected.replies.push_parsed(buf, &spans, frame);
            pos = end;
        }
    }

    fn reset(&mut self) {
        self.collected = Collected::default();
    }
}

fn malformed(cmd: &Command, found: String) -> Failure {
    Failure::Fatal(Error::UnexpectedReply {
        command: cmd.name(),
        key: cmd.key().to_owned(),
        expected: "a well-formed RESP2 reply",
        found,
    })
}

/// Decodes `replies` (one per command of `cmds`) `group` at a time into `out`.
///
/// # Errors
/// The first error `decode` returns.
pub(crate) fn decode_groups<T>(
    cmds: &[Command],
    replies: &[Reply<'_>],
    group: usize,
    out: &mut Vec<T>,
    mut decode: impl FnMut(&[Command], &[Reply<'_>]) -> Result<T>,
) -> Result<()> {
    let group = group.max(1);
    if replies.len() != cmds.len() {
        return Err(Error::UnexpectedReply {
            command: cmds.first().map_or("a pipeline", Command::name),
            key: cmds
                .first()
                .map(Command::key)
                .unwrap_or_default()
                .to_owned(),
            expected: "one reply per command of the pipeline",
            found: format!("{} replies for {} commands", replies.len(), cmds.len()),
        });
    }
    for (cmds, replies) in cmds.chunks(group).zip(replies.chunks(group)) {
        out.push(decode(cmds, replies)?);
    }
    Ok(())
}
