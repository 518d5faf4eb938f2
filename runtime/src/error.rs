//! The one error type of fstore.

use std::time::Duration;

/// `Result` with [`Error`] as its error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in fstore.
///
/// Messages name what is wrong (the key, the field, the expected type and an escaped excerpt of
/// what was found) and, where there is one, what to do about it. Match on the variants to react
/// programmatically: [`Error::is_timeout`] and [`Error::is_connection`] group the transient ones.
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
         also `+cluster|slots`), a writer also `+hset +hdel +pexpire +evalsha +script|load +multi \
         +exec` (and `+wait` when waiting for replicas)",
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
}

impl Error {
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
    use super::excerpt;

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
