//! The server backend: one Valkey or Redis server. Every call goes over the raw transport
//! (pooled RESP2 connections, replies decoded from the read buffer); `rediss://` and RESP3
//! URLs go through the `redis` crate's connection instead, with the same commands and checks.
//!
//! Reads are one pipeline. Every write is one `EVALSHA` of the write script (loaded at connect,
//! and again when the server has forgotten it), a batch one pipeline of them: each entity is
//! its own atomic unit with its own result. With `wait_for_replicas`, `WAIT` rides in the same
//! round trip, on the connection that wrote.

use std::ops::Range;
use std::time::Duration;

use tokio::time::Instant;

use super::redis_client::{Managed, PipelineSink};
use crate::command::{Command, Outcomes, RecordCommand, AGG_SCRIPT, RECORD_GROUP, WRITE_SCRIPT};
use crate::exchange::{Collect, Collected, Decode, Read};
use crate::reply::{self, Reply};
use crate::resp::{self, Sink};
use crate::transport::Pool;
use crate::{Error, Result};

/// One server.
pub(crate) struct Server {
    /// Host and port or socket path, without credentials.
    pub(crate) addr: String,
    transport: Transport,
    /// `WAIT` for this many replicas, this long, after writes.
    wait: Option<(usize, Duration)>,
}

/// One result per write, and the replies of the last round trip (for `WAIT`'s).
type Written = (Outcomes, Collected);

enum Transport {
    Raw(Pool),
    Managed(Box<Managed>),
}

impl Server {
    pub(crate) fn raw(pool: Pool, wait: Option<(usize, Duration)>) -> Server {
        Server {
            addr: pool.addr().to_owned(),
            transport: Transport::Raw(pool),
            wait,
        }
    }

    pub(crate) fn managed(
        managed: Managed,
        addr: String,
        wait: Option<(usize, Duration)>,
    ) -> Server {
        Server {
            addr,
            transport: Transport::Managed(Box::new(managed)),
            wait,
        }
    }

    /// Connects now: checks the credentials (`PING`) and loads the write script, in one round
    /// trip. A user without permission for `SCRIPT` (a read-only ACL user) can still read;
    /// writes then report the server's refusal themselves.
    ///
    /// # Errors
    /// [`Error::Auth`], [`Error::Connection`], [`Error::Timeout`].
    pub(crate) async fn connect(&self, after: Duration) -> Result<()> {
        if let Transport::Managed(managed) = &self.transport {
            managed.connect().await?;
        }
        let encode = |out: &mut dyn Sink| {
            resp::args(out, &[b"PING"]);
            resp::args(out, &[b"SCRIPT", b"LOAD", WRITE_SCRIPT.as_bytes()]);
            resp::args(out, &[b"SCRIPT", b"LOAD", AGG_SCRIPT.as_bytes()]);
        };
        let collected = self.collect(encode, 3, None, after).await?;
        match collected.replies.get(0).and_then(|r| r.error_line()) {
            Some(line) if line.starts_with(b"NOAUTH") => Err(Error::Auth {
                addr: self.addr.clone(),
                message: format!(
                    "{}; the server requires a password",
                    String::from_utf8_lossy(line)
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Runs `read` in one pipeline.
    ///
    /// # Errors
    /// Transport errors, and the first error the decoder returns.
    pub(crate) async fn read<T: Send, D: Decode<T>>(
        &self,
        read: &mut Read<'_, '_, T, D>,
        after: Duration,
    ) -> Result<()> {
        let deadline = Instant::now() + after;
        let commands = read.cmds().len();
        match &self.transport {
            Transport::Raw(pool) => pool.call(read, deadline, after, || self.op(commands)).await,
            Transport::Managed(managed) => {
                let mut sink = PipelineSink::default();
                read.cmds()
                    .iter()
                    .for_each(|cmd| resp::command(&mut sink, cmd));
                let first = read.cmds().first();
                let collected = managed.send(&sink.finish(), first, deadline, after).await?;
                read.decode_replies(&collected.replies.views())
            }
        }
    }

    /// Applies `writes`, each atomically (the write script), in one pipeline; one result per
    /// write.
    ///
    /// # Errors
    /// Transport errors; [`Error::NotReplicated`] when too few replicas acknowledged.
    pub(crate) async fn write(&self, writes: &[Command], after: Duration) -> Result<Outcomes> {
        let all: Vec<&Command> = writes.iter().collect();
        let written = self.scripted(&all, after).await?;
        self.replicated(&all, written)
    }

    /// The results, once `WAIT` (when configured, and every write applied) says enough replicas
    /// have them.
    fn replicated(&self, writes: &[&Command], (results, last): Written) -> Result<Outcomes> {
        if let (Some((replicas, _)), true) = (self.wait, results.iter().all(Result::is_ok)) {
            let last = last.replies.get(last.replies.len().wrapping_sub(1));
            reply::replicated(replicas, last, writes)?;
        }
        Ok(results)
    }

    /// The writes as script calls (and `WAIT`); a second round trip loads the script and
    /// resends the writes the server refused with `NOSCRIPT` (after a restart or `SCRIPT
    /// FLUSH`; they are idempotent). Returns the results and the last round trip's replies.
    async fn scripted(&self, writes: &[&Command], after: Duration) -> Result<Written> {
        let wait = self.wait;
        let units = units(writes);
        let encode = |out: &mut dyn Sink, units: &[Range<usize>]| {
            for unit in units {
                encode_unit(out, &writes[unit.clone()]);
            }
            if let Some((replicas, timeout)) = wait {
                resp::wait(out, replicas, millis(timeout));
            }
        };
        let n = units.len() + usize::from(wait.is_some());
        let mut collected = self
            .collect(|out| encode(out, &units), n, writes.first().copied(), after)
            .await?;
        let views = collected.replies.views();
        let missing: Vec<usize> = (0..units.len())
            .filter(|&u| views.get(u).is_some_and(|r| reply::is_noscript(*r)))
            .collect();
        let mut results: Vec<Result<()>> = Vec::with_capacity(writes.len());
        for (unit, reply) in units.iter().zip(&views) {
            results.extend(unit_results(&writes[unit.clone()], *reply));
        }
        drop(views);
        if !missing.is_empty() {
            let again: Vec<Range<usize>> = missing.iter().map(|&u| units[u].clone()).collect();
            let encode_again = |out: &mut dyn Sink| {
                resp::args(out, &[b"SCRIPT", b"LOAD", WRITE_SCRIPT.as_bytes()]);
                resp::args(out, &[b"SCRIPT", b"LOAD", AGG_SCRIPT.as_bytes()]);
                encode(out, &again);
            };
            let m = 2 + again.len() + usize::from(wait.is_some());
            let first = again.first().map(|u| writes[u.start]);
            collected = self.collect(encode_again, m, first, after).await?;
            let views = collected.replies.views();
            for (unit, reply) in again.iter().zip(views.iter().skip(2)) {
                for (i, result) in unit
                    .clone()
                    .zip(unit_results(&writes[unit.clone()], *reply))
                {
                    results[i] = result;
                }
            }
        }
        Ok((results, collected))
    }

    /// Sends what `encode` writes (`replies` commands) in one round trip and collects the
    /// replies.
    async fn collect(
        &self,
        mut encode: impl FnMut(&mut dyn Sink) + Send,
        replies: usize,
        first: Option<&Command>,
        after: Duration,
    ) -> Result<Collected> {
        let deadline = Instant::now() + after;
        match &self.transport {
            Transport::Raw(pool) => {
                let mut collect = Collect::new(encode, replies, first.map_or("", Command::key));
                pool.call(&mut collect, deadline, after, || self.op(replies))
                    .await
            }
            Transport::Managed(managed) => {
                let mut sink = PipelineSink::default();
                encode(&mut sink);
                managed.send(&sink.finish(), first, deadline, after).await
            }
        }
    }

    /// `PING`: the server answers.
    ///
    /// # Errors
    /// Transport errors; [`Error::Auth`] for a server that wants a password.
    pub(crate) async fn ping(&self, after: Duration) -> Result<()> {
        let ping = |out: &mut dyn Sink| resp::args(out, &[b"PING"]);
        let collected = self.collect(ping, 1, None, after).await?;
        match collected.replies.get(0).and_then(|r| r.error_line()) {
            Some(line) if line.starts_with(b"NOAUTH") => Err(Error::Auth {
                addr: self.addr.clone(),
                message: String::from_utf8_lossy(line).into_owned(),
            }),
            _ => reply::pong(collected.replies.get(0)),
        }
    }

    /// Closes the idle connections.
    pub(crate) fn close(&self) {
        if let Transport::Raw(pool) = &self.transport {
            pool.close();
        }
    }

    fn op(&self, commands: usize) -> String {
        if commands == 1 {
            format!("a reply from {}", self.addr)
        } else {
            format!("a pipeline of {commands} commands to {}", self.addr)
        }
    }
}

/// The pipeline's units: each write alone, consecutive records in groups of up to
/// [`RECORD_GROUP`] (one script call each).
fn units(writes: &[&Command]) -> Vec<Range<usize>> {
    let mut units = Vec::new();
    let mut i = 0;
    while i < writes.len() {
        let mut end = i + 1;
        if matches!(writes[i], Command::Record(_)) {
            while end < writes.len()
                && end - i < RECORD_GROUP
                && matches!(writes[end], Command::Record(_))
            {
                end += 1;
            }
        }
        units.push(i..end);
        i = end;
    }
    units
}

/// Encodes one unit of [`units`].
fn encode_unit(out: &mut dyn Sink, unit: &[&Command]) {
    let records: Vec<&RecordCommand> = unit
        .iter()
        .filter_map(|c| match c {
            Command::Record(r) => Some(&**r),
            _ => None,
        })
        .collect();
    match unit {
        [Command::Record(_), ..] => resp::records(out, &records),
        _ => unit.iter().for_each(|w| resp::command(out, w)),
    }
}

/// The results of one unit's writes from its reply.
fn unit_results(unit: &[&Command], reply: Reply<'_>) -> Vec<Result<()>> {
    match unit {
        [Command::Record(_), ..] => reply::records(unit, reply),
        _ => unit.iter().map(|w| reply::script_write(w, reply)).collect(),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
