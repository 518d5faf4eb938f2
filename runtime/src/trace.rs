//! Tracing and metrics of store calls.
//!
//! Every public operation runs in one `fstore` span at `DEBUG` level, with its `op` (`read`,
//! `read_batch`, `write`, `vector`, …), its `view` and its `outcome` (`ok` or the error's kind),
//! and one `TRACE` event per round trip with its command count. With no subscriber interested, a
//! call pays one check of the span's callsite and nothing else.
//!
//! With the `metrics` feature, the same calls are measured through the `metrics` facade
//! ([`METRICS`] lists the names): each call's latency, each row read and each default used, and
//! each error by kind. Without the feature, these functions are empty.

use std::future::Future;

use tracing::field::Empty;
use tracing::Instrument;

use crate::{Error, Result};

/// The metrics recorded with the `metrics` feature, as `(name, kind, meaning)`.
///
/// | name | kind | labels |
/// |---|---|---|
/// | `fstore_call_duration_seconds` | histogram | `op`, `view`, `outcome` (`ok` or the error's kind) |
/// | `fstore_rows_total` | counter | `view`, `status`: `found`, `missing`, `stale` (older than the view's `max_age`) |
/// | `fstore_defaulted_total` | counter | `view`, `feature`: a vector's or the dynamic API's default used for an absent value |
/// | `fstore_errors_total` | counter | `op`, `kind`: `timeout`, `connection`, `transient`, `decode`, `missing`, `invalid`, `batch`, `error` |
/// | `fstore_events_refused_total` | counter | `aggregation`, `reason`: `late` (no window can cover it), `future` (ahead of the clock) |
///
/// A vector call is labelled with its first view; the dynamic API's `get_feature_vector` with
/// `*`. Rows are counted per view and entity read (a typed view's `read`/`read_batch`, each view
/// of a vector, the dynamic API).
pub const METRICS: [(&str, &str, &str); 5] = [
    (
        "fstore_call_duration_seconds",
        "histogram",
        "latency of one public call, labelled op, view, outcome",
    ),
    (
        "fstore_rows_total",
        "counter",
        "rows read, labelled view, status (found, missing, stale)",
    ),
    (
        "fstore_defaulted_total",
        "counter",
        "defaults used for absent values, labelled view, feature",
    ),
    (
        "fstore_errors_total",
        "counter",
        "failed calls, labelled op, kind",
    ),
    (
        "fstore_events_refused_total",
        "counter",
        "aggregation events refused for their time, labelled aggregation, reason (late, future)",
    ),
];

/// Runs `call` (operation `op` on `view`) in an `fstore` span, recording its outcome (and, with
/// the `metrics` feature, its latency and errors).
pub(crate) async fn call<T>(
    op: &'static str,
    view: &str,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    #[cfg(feature = "metrics")]
    let started = std::time::Instant::now();
    let span = tracing::debug_span!("fstore", op, view, outcome = Empty);
    let result = if span.is_disabled() {
        call.await
    } else {
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
    };
    #[cfg(feature = "metrics")]
    {
        let outcome = result.as_ref().map_or_else(kind, |_| "ok");
        metrics::histogram!(
            "fstore_call_duration_seconds",
            "op" => op,
            "view" => view.to_owned(),
            "outcome" => outcome,
        )
        .record(started.elapsed().as_secs_f64());
        if outcome != "ok" {
            metrics::counter!("fstore_errors_total", "op" => op, "kind" => outcome).increment(1);
        }
    }
    result
}

/// Whether a row read was found, missing, or stale (found, but older than its view's `max_age`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RowStatus {
    Found,
    Missing,
    Stale,
}

/// One row of `view` read, with its status (a metric with the `metrics` feature).
#[inline]
pub(crate) fn row(view: &str, status: RowStatus) {
    #[cfg(feature = "metrics")]
    {
        let status = match status {
            RowStatus::Found => "found",
            RowStatus::Missing => "missing",
            RowStatus::Stale => "stale",
        };
        metrics::counter!("fstore_rows_total", "view" => view.to_owned(), "status" => status)
            .increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (view, status);
}

/// A default used for an absent value of `view`'s `feature` (a metric with the `metrics`
/// feature).
#[inline]
pub(crate) fn defaulted(view: &str, feature: &str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        "fstore_defaulted_total",
        "view" => view.to_owned(),
        "feature" => feature.to_owned(),
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (view, feature);
}

/// `n` events of `aggregation` refused for their time (`late` or `future`; a metric with the
/// `metrics` feature).
#[inline]
pub(crate) fn refused(aggregation: &str, reason: &'static str, n: usize) {
    #[cfg(feature = "metrics")]
    if n > 0 {
        metrics::counter!(
            "fstore_events_refused_total",
            "aggregation" => aggregation.to_owned(),
            "reason" => reason,
        )
        .increment(n as u64);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (aggregation, reason, n);
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
