//! The backend seam: every operation reaches a backend through [`Backend::read`] ("run these
//! read commands, decode their replies") or [`Backend::write`] ("apply these writes,
//! each atomically"), with one implementation per backend, each in its own file. The backend is
//! chosen once, when the `Store` is built.
//!
//! An enum with one `match` per operation rather than a trait object: the decode callbacks are
//! generic (each typed view decodes straight from the reply buffer), which a `dyn` trait could
//! only take boxed, and the set of backends is closed.

mod cluster;
mod embedded;
pub(crate) mod redis_client;
mod server;

use std::time::Duration;

pub(crate) use cluster::Cluster;
pub use embedded::Embedded;
pub(crate) use server::Server;

use crate::command::{Command, Outcomes};
use crate::exchange::{Decode, Read};
use crate::Result;

/// Where a store's data lives.
pub(crate) enum Backend {
    Server(Box<Server>),
    Cluster(Box<Cluster>),
    Embedded(Embedded),
}

impl Backend {
    /// Runs `read`'s commands (`HMGET`, `PTTL`) in one round trip and has it decode their
    /// replies, in order; `after` bounds the call.
    ///
    /// # Errors
    /// Transport errors; the first error the decoder returns.
    pub(crate) async fn read<T: Send, D: Decode<T>>(
        &self,
        read: &mut Read<'_, '_, T, D>,
        after: Duration,
    ) -> Result<()> {
        match self {
            Backend::Server(server) => server.read(read, after).await,
            Backend::Cluster(cluster) => cluster.read(read, after).await,
            Backend::Embedded(db) => db.read(read),
        }
    }

    /// Applies `writes` (all [`Command::Write`]) in one round trip, each write its own atomic
    /// unit (the write script); one result per write (the server's refusal of that write, if
    /// any).
    ///
    /// # Errors
    /// Transport errors (after which each write may or may not have been applied, whole or not
    /// at all); [`Error::NotReplicated`](crate::Error::NotReplicated).
    pub(crate) async fn write(&self, writes: &[Command], after: Duration) -> Result<Outcomes> {
        match self {
            Backend::Server(server) => server.write(writes, after).await,
            Backend::Cluster(cluster) => cluster.write(writes, after).await,
            Backend::Embedded(db) => Ok(db.write(writes)),
        }
    }

    /// `PING`s the backend (every primary of a cluster).
    ///
    /// # Errors
    /// Transport errors.
    pub(crate) async fn ping(&self, after: Duration) -> Result<()> {
        match self {
            Backend::Server(server) => server.ping(after).await,
            Backend::Cluster(cluster) => cluster.ping(after).await,
            Backend::Embedded(_) => Ok(()),
        }
    }

    /// Closes idle connections.
    pub(crate) fn close(&self) {
        match self {
            Backend::Server(server) => server.close(),
            Backend::Cluster(cluster) => cluster.close(),
            Backend::Embedded(_) => {}
        }
    }
}
