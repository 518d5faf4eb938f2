//! A fraud-scoring HTTP service: one `Store` shared by every request, one feature-vector read
//! (one round trip) and one model evaluation per request.
//!
//! ```text
//! cargo run --example serving                       # embedded backend, http://127.0.0.1:3000
//! PORT=0 cargo run --example serving                # any free port; the address is printed
//! VALKEY_URL=redis://127.0.0.1:6379 cargo run --example serving
//!
//! curl -i http://127.0.0.1:3000/score/user_001
//! ```
//!
//! `GET /score/{user_id}` answers
//!
//! - 200 `{"user_id": "user_004", "probability": 0.02, "report": "…", "defaulted": ["…"]}`:
//!   `report` is the vector's [`fstore::Report`], `defaulted` the features that did not come from
//!   the store (defaulted or `None`; their model input was imputed), each as `view.feature`;
//! - 400 for an invalid id: a user id is 1 to 64 characters, each an ASCII letter or digit or one
//!   of `_ - . :` (so no spaces, control characters or non-ASCII text);
//! - 404 when a required feature has no value, which is what an unknown user looks like
//!   (`Error::MissingFeature`);
//! - 503 when the store cannot answer (timeout, connection lost, server error);
//! - 500 for anything else, such as a stored value that does not parse.
//!
//! Every error body is `{"error": "<kind>", "reason": "<message>"}`. The service seeds the demo users
//! of `examples/common/fraud.rs` (`user_001` … `user_004`) at start, and shuts down gracefully on
//! Ctrl-C (SIGINT) or SIGTERM: it stops accepting, finishes the requests in flight, and exits 0.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use fstore::{Error, Store};
use serde::Serialize;

// The vector struct, the model and the demo users, shared with the `fraud_scoring` example (which
// also uses what this service does not, such as the per-column terms).
#[path = "common/fraud.rs"]
#[allow(dead_code)]
mod fraud;

use fraud::FraudInputs;

/// The longest user id accepted.
const MAX_ID_LEN: usize = 64;

#[derive(Serialize)]
struct ScoreResponse {
    user_id: String,
    probability: f32,
    report: String,
    defaulted: Vec<String>,
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    reason: String,
}

/// An error answer: a status and a JSON body.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    reason: String,
}

impl ApiError {
    fn bad_request(reason: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            reason: reason.into(),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            // A required feature without a value: no such user (or not enough data about them).
            Error::MissingFeature { .. } => StatusCode::NOT_FOUND,
            Error::InvalidEntityId { .. } => StatusCode::BAD_REQUEST,
            // The store is unreachable, slow or refusing: retry later.
            Error::Timeout { .. }
            | Error::Connection { .. }
            | Error::Server { .. }
            | Error::UnexpectedReply { .. } => StatusCode::SERVICE_UNAVAILABLE,
            // A malformed stored value, a configuration problem: a bug to fix, not to retry.
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            reason: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = match self.status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "internal",
        };
        let body = ErrorBody {
            error,
            reason: self.reason,
        };
        (self.status, Json(body)).into_response()
    }
}

/// `Ok` for an id of 1 to [`MAX_ID_LEN`] characters from `[A-Za-z0-9_.:-]`.
fn check_user_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() {
        return Err(ApiError::bad_request("the user id is empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(ApiError::bad_request(format!(
            "the user id is {} bytes long; at most {MAX_ID_LEN} are allowed",
            id.len()
        )));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
    {
        return Err(ApiError::bad_request(format!(
            "the user id contains {c:?}; allowed are ASCII letters, digits and `_ - . :`"
        )));
    }
    Ok(())
}

/// `GET /score/{user_id}`.
async fn score(
    State(store): State<Store>,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<Json<ScoreResponse>, ApiError> {
    let Path(user_id) = user_id.map_err(|e| ApiError::bad_request(e.body_text()))?;
    check_user_id(&user_id)?;
    let (inputs, report) = FraudInputs::vector_with_report(&store, &user_id).await?;
    let scored = fraud::score(&inputs.to_array());
    Ok(Json(ScoreResponse {
        probability: scored.probability,
        report: report.to_string(),
        defaulted: report
            .not_stored()
            .map(|f| format!("{}.{}", f.view, f.feature))
            .collect(),
        user_id,
    }))
}

/// `GET /score` and `GET /score/`: no id at all.
async fn no_user_id() -> ApiError {
    ApiError::bad_request("the user id is empty: use GET /score/{user_id}")
}

async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        reason: "no such route; use GET /score/{user_id}".to_owned(),
    }
}

/// Logs one line per request: status, method, path, duration.
async fn log_request(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let t = Instant::now();
    let response = next.run(request).await;
    println!(
        "{} {method} {path} {:.3} ms",
        response.status().as_u16(),
        t.elapsed().as_secs_f64() * 1e3
    );
    response
}

fn app(store: Store) -> Router {
    Router::new()
        .route("/score/{user_id}", get(score))
        .route("/score", get(no_user_id))
        .route("/score/", get(no_user_id))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(log_request))
        .with_state(store)
}

/// A future that resolves on Ctrl-C (SIGINT) or SIGTERM, to stop the service gracefully.
///
/// The handlers are installed here, before the service says it is listening, not when the
/// future is first polled: a signal that arrived in between would meet the inherited disposition,
/// and a background job of a non-interactive shell inherits "ignore SIGINT".
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        println!("{name}: shutting down, finishing the requests in flight");
    })
}

/// A future that resolves on Ctrl-C, to stop the service gracefully.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            println!("Ctrl-C: shutting down, finishing the requests in flight");
        } else {
            std::future::pending::<()>().await;
        }
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // PORT=0: any free port.
    let port: u16 = match std::env::var("PORT") {
        Ok(p) if !p.is_empty() => p
            .parse()
            .map_err(|_| format!("PORT={p:?} is not a port number (0 to 65535)"))?,
        _ => 3000,
    };
    let store = Store::from_env("VALKEY_URL").await?;
    println!("fstore serving on {}", store.backend_name());
    if store.as_embedded().is_some() {
        println!("  (set VALKEY_URL=redis://host:port to run against a server)");
    }
    fraud::seed(&store).await?;
    let users: Vec<&str> = fraud::USERS.iter().map(|(id, _)| *id).collect();
    println!("seeded users {}", users.join(", "));

    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    // With PORT=0 the system picks a free port: print the one it picked.
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    println!("  try: curl -i http://{addr}/score/user_001   (Ctrl-C to stop)");

    axum::serve(listener, app(store))
        .with_graceful_shutdown(shutdown)
        .await?;
    println!("stopped");
    Ok(())
}
