//! The one error type of fstore.

use std::fmt;
use std::time::Duration;

/// `Result` with [`Error`] as its error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in fstore.
///
/// Messages name what is wrong (the key, the field, the expected type and an escaped excerpt of
/// what was found) and, where there is one, what to do about it. Match on the variants to react
/// programmatically: [`Error::is_transient`] says whether the same call may succeed if made
/// again, [`Error::is_timeout`] and [`Error::is_connection`] single out the transport failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An entity id that cannot form a key (for example the empty string).
    #[error("invalid entity id {id:?} for view `{view}`: {reason}")]
    InvalidEntityId {
        /// The view whose key was being built.
        view: String,
        /// The offending id, as given.
        id: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The entity exists but lacks a feature that the struct requires.
    #[error(
        "`{key}` has no value for required feature `{field}`; \
         make the field an `Option` or give it `#[fstore(default = ...)]` if it may be absent"
    )]
    MissingField {
        /// The key of the hash that was read.
        key: String,
        /// The feature (hash field) that was absent.
        field: String,
    },

    /// A feature vector field with no usable value: the entity's row of that view is absent or
    /// stale, or lacks the feature, and the field has no default and is not an `Option`.
    #[error(
        "entity `{entity}` has no {}value for feature `{feature}` of view `{view}`; make the field \
         an `Option` or give it a default (in the attribute or in features.toml)",
        if *stale { "fresh " } else { "" }
    )]
    MissingFeature {
        /// The entity id.
        entity: String,
        /// The view.
        view: String,
        /// The feature.
        feature: String,
        /// The view's row was present but older than its `max_age`.
        stale: bool,
    },

    /// A stored value that does not parse as the declared type.
    #[error("cannot decode feature `{field}` of `{key}` as {expected}: {reason}; found {found}")]
    Decode {
        /// The key of the hash that was read.
        key: String,
        /// The feature (hash field) whose value is malformed.
        field: String,
        /// The expected type, such as `i64 (int)`.
        expected: &'static str,
        /// Why it did not parse.
        reason: String,
        /// An escaped excerpt of the stored bytes, quoted.
        found: String,
    },

    /// The server did not answer within the configured deadline.
    #[error(
        "timed out after {after:?} waiting for {op}; the server is slow or unreachable \
         (raise it with `StoreBuilder::response_timeout` if the work is legitimately large)"
    )]
    Timeout {
        /// What was being waited for, such as `a pipeline of 100 commands`.
        op: String,
        /// The deadline that passed.
        after: Duration,
    },

    /// The connection to the server could not be made or was lost.
    #[error("connection to {addr} failed: {source}")]
    Connection {
        /// The server address, without credentials.
        addr: String,
        /// The underlying client error.
        #[source]
        source: redis::RedisError,
    },

    /// The server answered a command with an error.
    #[error("the server rejected {command} on `{key}`: {message}")]
    Server {
        /// The command, such as `HMGET`.
        command: &'static str,
        /// The key it was sent for.
        key: String,
        /// The server's error text (for example `WRONGTYPE ...`).
        message: String,
    },

    /// The credentials were refused: a wrong password, an unknown or disabled ACL user, or none
    /// given where the server requires them.
    #[error(
        "authentication to {addr} failed: {message}; check the username and password (in the URL \
         `redis://user:password@host` or `StoreBuilder::username` / `password`)"
    )]
    Auth {
        /// The server address, without credentials.
        addr: String,
        /// The server's or client's explanation (never the password).
        message: String,
    },

    /// The ACL user may not run a command or touch a key (a `NOPERM` reply).
    #[error(
        "permission denied{}: {message}; a reader needs `+hmget +pttl +ping ~fs:*` (on a cluster \
         also `+cluster|slots`), a writer also `+evalsha +script|load +type +hkeys +hset +hdel \
         +pexpire` (and `+wait` when waiting for replicas)",
        denied_for(command, key)
    )]
    PermissionDenied {
        /// The command fstore sent, such as `write`'s `EVALSHA`, or `the connection setup`.
        command: &'static str,
        /// The key it was sent for; empty for the connection setup.
        key: String,
        /// The server's error text.
        message: String,
    },

    /// Writes that the primary applied but fewer replicas than required acknowledged in time
    /// ([`StoreBuilder::wait_for_replicas`](crate::StoreBuilder::wait_for_replicas)): they may be
    /// lost if the primary fails now. Writing them again is safe.
    #[error(
        "{entities} write(s) starting with `{key}` reached {acknowledged} of {required} required \
         replica(s) in time; they are applied on the primary but may be lost on a failover \
         (writing them again is safe)"
    )]
    NotReplicated {
        /// The first key of the unconfirmed writes.
        key: String,
        /// How many entities were written in that pipeline.
        entities: usize,
        /// How many replicas acknowledged them.
        acknowledged: usize,
        /// How many were required.
        required: usize,
    },

    /// The server answered with a reply of an unexpected shape.
    #[error("unexpected reply to {command} on `{key}`: expected {expected}, got {found}")]
    UnexpectedReply {
        /// The command, such as `HMGET`.
        command: &'static str,
        /// The key it was sent for.
        key: String,
        /// The expected reply shape.
        expected: &'static str,
        /// A short description of the reply that came back.
        found: String,
    },

    /// A view or feature name that the registry does not know (dynamic API).
    #[error("unknown {what} `{name}`; {help}")]
    UnknownName {
        /// What kind of name: `view`, `feature`, `feature reference`.
        what: &'static str,
        /// The name as given.
        name: String,
        /// A did-you-mean or the list of valid names.
        help: String,
    },

    /// A value that cannot be written to its feature (dynamic API): a value of another type than
    /// the registry declares, an embedding of the wrong length, or a feature given twice.
    /// Nothing is written when a write reports it.
    #[error(
        "cannot write feature `{feature}` of view `{view}`: expected {expected}, found {found}"
    )]
    InvalidValue {
        /// The view written to.
        view: String,
        /// The feature (hash field).
        feature: String,
        /// What the registry accepts, such as ``an `int` (`Value::Int`)``.
        expected: String,
        /// What was given, such as `a string "28"`.
        found: String,
    },

    /// Invalid configuration, such as an unparsable URL, or the dynamic API used on a store
    /// without a registry.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// A batch write that did not apply every entity; [`BatchWriteError::outcomes`] says what
    /// became of each, in input order.
    #[error(transparent)]
    Batch(Box<BatchWriteError>),

    /// The store (or a clone of it) was closed with [`Store::close`](crate::Store::close): it
    /// takes no more calls.
    #[error("the store was closed (`Store::close`); build a new one to go on")]
    Closed,
}

/// Server error codes that describe a passing state of the server or the cluster: loading its
/// dataset after a restart, a slot moving or a cluster without a quorum, a primary that lost its
/// link with its own primary, a node that became a replica in a failover.
const TRANSIENT_CODES: [&str; 5] = [
    "LOADING",
    "TRYAGAIN",
    "MASTERDOWN",
    "CLUSTERDOWN",
    "READONLY",
];

impl Error {
    /// `true` when the same call may succeed if made again, soon, unchanged: a
    /// [timeout](Self::is_timeout), a [lost connection](Self::is_connection), a server that is
    /// loading its dataset (`LOADING`), a cluster that is changing (`TRYAGAIN`, `CLUSTERDOWN`), a
    /// primary without its own primary (`MASTERDOWN`), a node demoted to replica by a failover
    /// (`READONLY`), writes not yet confirmed by replicas ([`Error::NotReplicated`]), or a
    /// [batch](Self::Batch) whose every entity that was not applied failed for such a reason.
    ///
    /// Reads and writes are idempotent, and fstore already retries a transient server error
    /// within the call's deadline ([`StoreBuilder::response_timeout`](crate::StoreBuilder::response_timeout))
    /// before it returns one.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Connection { .. } | Error::NotReplicated { .. } => true,
            Error::Server { .. } => self.is_transient_server(),
            Error::Batch(batch) => {
                batch.cause().is_none_or(Error::is_transient)
                    && batch.outcomes().iter().all(|o| match o {
                        WriteOutcome::Refused(e) => e.is_transient(),
                        _ => true,
                    })
            }
            _ => false,
        }
    }

    /// `true` for an [`Error::Server`] whose code is one of the transient ones; what fstore
    /// retries itself.
    pub(crate) fn is_transient_server(&self) -> bool {
        match self {
            Error::Server { message, .. } => {
                let code = message.split([':', ' ']).next().unwrap_or_default();
                TRANSIENT_CODES.iter().any(|c| c.eq_ignore_ascii_case(code))
            }
            _ => false,
        }
    }

    /// `true` for [`Error::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// `true` for [`Error::Connection`].
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. })
    }

    /// `true` for [`Error::Auth`].
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Auth { .. })
    }

    /// `true` for [`Error::PermissionDenied`].
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::PermissionDenied { .. })
    }

    /// The error for a server's error reply (`code`, such as `WRONGTYPE`, and its text) to
    /// `command` on `key`: [`Error::PermissionDenied`] for `NOPERM`, else [`Error::Server`].
    pub(crate) fn from_server(
        command: &'static str,
        key: &str,
        code: &str,
        message: String,
    ) -> Error {
        if code.eq_ignore_ascii_case("NOPERM") {
            Error::PermissionDenied {
                command,
                key: key.to_owned(),
                message,
            }
        } else {
            Error::Server {
                command,
                key: key.to_owned(),
                message,
            }
        }
    }
}

// ---- batch write outcomes -------------------------------------------------------------------
//
// Every entity of a batch is its own atomic unit (one call of the write script): applied whole
// (features, `_updated_at`, expiry) or not at all. When a batch does not apply every entity,
// `write_batch` returns [`Error::Batch`] with one [`WriteOutcome`] per entity, in input order, so
// that a caller can retry exactly the ones that need it (writes are idempotent).

/// What became of one entity of a batch write.
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteOutcome {
    /// Applied, whole: its features, `_updated_at` and its expiry.
    Applied,
    /// Refused by the server, which left the key untouched; the error carries the server's
    /// reason (`WRONGTYPE`, `OOM`, `NOPERM`, `READONLY`, …) and the key.
    Refused(Error),
    /// Applied on the primary, but fewer replicas than
    /// [`wait_for_replicas`](crate::StoreBuilder::wait_for_replicas) requires acknowledged it in
    /// time: a failover now could lose it.
    NotReplicated,
    /// Sent, but no reply said what happened (the connection dropped, the deadline passed): it
    /// may have been applied, whole, or not at all.
    Unknown,
    /// Not sent: the call stopped at an earlier pipeline's transport error.
    NotSent,
}

impl WriteOutcome {
    /// `true` for [`WriteOutcome::Applied`].
    pub fn is_applied(&self) -> bool {
        matches!(self, WriteOutcome::Applied)
    }
}

/// A batch write that did not apply every entity: what became of each, in input order.
///
/// ```
/// # use fstore_runtime::{Error, WriteOutcome};
/// # fn retry(err: Error, ids: &[&str]) {
/// if let Error::Batch(batch) = &err {
///     let again: Vec<&str> = batch.to_retry().map(|i| ids[i]).collect();
///     for (i, outcome) in batch.outcomes().iter().enumerate() {
///         if let WriteOutcome::Refused(why) = outcome {
///             eprintln!("{}: {why}", ids[i]);
///         }
///     }
/// }
/// # }
/// ```
pub struct BatchWriteError {
    outcomes: Vec<WriteOutcome>,
    cause: Option<Box<Error>>,
}

impl BatchWriteError {
    /// One outcome per entity of the batch, in input order.
    pub fn outcomes(&self) -> &[WriteOutcome] {
        &self.outcomes
    }

    /// The outcomes, owned.
    pub fn into_outcomes(self) -> Vec<WriteOutcome> {
        self.outcomes
    }

    /// The indices (into the batch's input) of the entities that were not applied, or not
    /// confirmed: everything but [`WriteOutcome::Applied`]. Writing them again is safe.
    pub fn to_retry(&self) -> impl Iterator<Item = usize> + '_ {
        self.outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| !o.is_applied())
            .map(|(i, _)| i)
    }

    /// The transport error that cut the call short (after which entities are
    /// [`Unknown`](WriteOutcome::Unknown) or [`NotSent`](WriteOutcome::NotSent)), or the first
    /// [`Error::NotReplicated`]; `None` when the server only refused some entities.
    pub fn cause(&self) -> Option<&Error> {
        self.cause.as_deref()
    }

    fn count(&self, f: impl Fn(&WriteOutcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(o)).count()
    }
}

/// A summary: the counts, the first few refusals with their index, and the cause (a batch of
/// 50,000 entities would otherwise print 50,000 outcomes).
impl fmt::Debug for BatchWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refused: Vec<(usize, &Error)> = self
            .outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                WriteOutcome::Refused(e) => Some((i, e)),
                _ => None,
            })
            .take(3)
            .collect();
        f.debug_struct("BatchWriteError")
            .field("entities", &self.outcomes.len())
            .field("applied", &self.count(WriteOutcome::is_applied))
            .field("first_refused", &refused)
            .field(
                "not_replicated",
                &self.count(|o| matches!(o, WriteOutcome::NotReplicated)),
            )
            .field(
                "unknown",
                &self.count(|o| matches!(o, WriteOutcome::Unknown)),
            )
            .field(
                "not_sent",
                &self.count(|o| matches!(o, WriteOutcome::NotSent)),
            )
            .field("cause", &self.cause)
            .finish()
    }
}

impl fmt::Display for BatchWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refused = self.count(|o| matches!(o, WriteOutcome::Refused(_)));
        write!(
            f,
            "write_batch of {} entities: {} applied, {refused} refused",
            self.outcomes.len(),
            self.count(WriteOutcome::is_applied),
        )?;
        if let Some(WriteOutcome::Refused(first)) = self
            .outcomes
            .iter()
            .find(|o| matches!(o, WriteOutcome::Refused(_)))
        {
            write!(f, " (first: {first})")?;
        }
        for (n, what) in [
            (
                self.count(|o| matches!(o, WriteOutcome::NotReplicated)),
                "not confirmed by replicas",
            ),
            (
                self.count(|o| matches!(o, WriteOutcome::Unknown)),
                "unknown (sent, no reply)",
            ),
            (
                self.count(|o| matches!(o, WriteOutcome::NotSent)),
                "not sent",
            ),
        ] {
            if n > 0 {
                write!(f, ", {n} {what}")?;
            }
        }
        if let Some(cause) = &self.cause {
            write!(f, "; because {cause}")?;
        }
        f.write_str("; `BatchWriteError::to_retry` lists the entities to write again")
    }
}

impl std::error::Error for BatchWriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Some(cause) => Some(cause.as_ref()),
            None => self.outcomes.iter().find_map(|o| match o {
                WriteOutcome::Refused(e) => Some(e as &(dyn std::error::Error + 'static)),
                _ => None,
            }),
        }
    }
}

impl BatchWriteError {
    /// The error for `outcomes`, cut short by `cause` (if any).
    pub(crate) fn new(outcomes: Vec<WriteOutcome>, cause: Option<Box<Error>>) -> BatchWriteError {
        BatchWriteError { outcomes, cause }
    }

    /// The outcomes and the cause, for a caller that reorders the outcomes.
    pub(crate) fn into_parts(self) -> (Vec<WriteOutcome>, Option<Box<Error>>) {
        (self.outcomes, self.cause)
    }
}

/// ` for EVALSHA on `key``, or ` for the connection setup` when there is no key.
fn denied_for(command: &str, key: &str) -> String {
    if key.is_empty() {
        format!(" for {command}")
    } else {
        format!(" for {command} on `{key}`")
    }
}

/// A quoted, escaped excerpt of at most 64 bytes of `bytes`, for error messages.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let shown = &bytes[..bytes.len().min(MAX)];
    let mut out = String::with_capacity(shown.len() + 16);
    out.push('"');
    out.extend(shown.escape_ascii().map(char::from));
    out.push('"');
    if bytes.len() > MAX {
        out.push_str(&format!(" (first {MAX} of {} bytes)", bytes.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{excerpt, BatchWriteError, Error, WriteOutcome};
    use crate::reply::server_error;

    #[test]
    fn transient_server_states_and_only_those() {
        for line in [
            &b"LOADING Valkey is loading the dataset in memory"[..],
            b"TRYAGAIN Multiple keys request during rehashing of slot",
            b"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            b"CLUSTERDOWN The cluster is down",
            b"READONLY You can't write against a read only replica.",
        ] {
            let err = server_error("HMGET", "k", line);
            assert!(err.is_transient(), "{err:?}");
        }
        for line in [
            &b"WRONGTYPE Operation against a key holding the wrong kind of value"[..],
            b"OOM command not allowed when used memory > 'maxmemory'.",
            b"ERR unknown command",
            b"NOPERM User reader has no permissions to run the 'evalsha' command",
            b"LOADINGX not a real code",
        ] {
            let err = server_error("EVALSHA", "k", line);
            assert!(!err.is_transient(), "{err:?}");
        }
        assert!(Error::Closed.to_string().contains("close"));
        assert!(!Error::Closed.is_transient());

        // A batch is transient when every entity not applied failed for a transient reason.
        let loading = || server_error("EVALSHA", "k", b"LOADING Valkey is loading");
        let oom = || server_error("EVALSHA", "k", b"OOM command not allowed");
        let batch = |outcomes| Error::Batch(Box::new(BatchWriteError::new(outcomes, None)));
        assert!(batch(vec![
            WriteOutcome::Applied,
            WriteOutcome::Refused(loading())
        ])
        .is_transient());
        assert!(!batch(vec![
            WriteOutcome::Refused(loading()),
            WriteOutcome::Refused(oom())
        ])
        .is_transient());
        let cut = Error::Batch(Box::new(BatchWriteError::new(
            vec![
                WriteOutcome::Applied,
                WriteOutcome::Unknown,
                WriteOutcome::NotSent,
            ],
            Some(Box::new(Error::Closed)),
        )));
        assert!(!cut.is_transient());
        let Error::Batch(b) = &cut else {
            unreachable!()
        };
        assert_eq!(b.to_retry().collect::<Vec<_>>(), [1, 2]);
        let text = cut.to_string();
        assert!(
            text.starts_with("write_batch of 3 entities: 1 applied, 0 refused, 1 unknown (sent, no reply), 1 not sent; because the store was closed"),
            "{text}"
        );
        let debug = format!("{cut:?}");
        assert!(
            debug.contains("entities: 3") && debug.contains("not_sent: 1"),
            "{debug}"
        );
    }

    #[test]
    fn excerpt_escapes_and_truncates() {
        assert_eq!(excerpt(b"12a"), "\"12a\"");
        assert_eq!(excerpt(b"a\nb\x00\xff\""), r#""a\nb\x00\xff\"""#);
        let long = vec![b'x'; 100];
        let e = excerpt(&long);
        assert!(e.ends_with("\" (first 64 of 100 bytes)"), "{e}");
        assert_eq!(e.matches('x').count(), 64);
    }
}
