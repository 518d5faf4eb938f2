//! Tracing of store calls: every public operation runs in one `fstore` span at `DEBUG` level,
//! with its `op` (`read`, `read_batch`, `write`, `vector`, …), its `view` and its `outcome`
//! (`ok` or the error's kind), and one `TRACE` event per round trip with its command count. With
//! no subscriber interested, a call pays one check of the span's callsite and nothing else.

use std::future::Future;

use tracing::field::Empty;
use tracing::Instrument;

use crate::{Error, Result};

/// Runs `call` (operation `op` on `view`) in an `fstore` span, recording its outcome.
pub(crate) async fn call<T>(
    op: &'static str,
    view: &str,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    let span = tracing::debug_span!("fstore", op, view, outcome = Empty);
    if span.is_disabled() {
        return call.await;
    }
    let result = call.instrument(span.clone()).await;
    match &result {
        Ok(_) => {
            span.record("outcome", "ok");
        }
        Err(e) => {
            span.record("outcome", kind(e));
            tracing::debug!(parent: &span, error = %e, "fstore call failed");
        }
    }
    result
}

/// One round trip of `commands` commands, as a `TRACE` event in the current call's span.
pub(crate) fn round_trip(commands: usize) {
    tracing::trace!(commands, "round trip");
}

/// A short name of the error's kind, for the `outcome` field.
fn kind(e: &Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connection() {
        "connection"
    } else if e.is_transient() {
        "transient"
    } else {
        match e {
            Error::Decode { .. } => "decode",
            Error::MissingField { .. } | Error::MissingFeature { .. } => "missing",
            Error::InvalidValue { .. } | Error::InvalidEntityId { .. } => "invalid",
            Error::Batch(_) => "batch",
            _ => "error",
        }
    }
}
