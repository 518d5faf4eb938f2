//! The runtime of [fstore](https://docs.rs/fstore): [`Store`], its backends, plans, the codec,
//! the error type, and the [`dynamic`] API that reads and writes features by name through a
//! [`registry`]. Use it through the `fstore` facade crate, which adds `#[derive(FeatureView)]`
//! and re-exports what users need by name; ARCHITECTURE.md at the repository root maps the
//! modules.
//!
//! ```
//! # async fn demo() -> fstore_runtime::Result<()> {
//! use fstore_runtime::Store;
//!
//! // In-process; `Store::connect("redis://127.0.0.1:6379")` for a Valkey or Redis server.
//! let store = Store::embedded();
//! assert_eq!(store.pipeline_chunk_size(), 1000);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod aggregate;
mod attached;
mod backend;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod codec;
mod command;
pub mod dynamic;
mod entity;
mod error;
mod exchange;
mod reply;
mod resp;
mod ring;
mod stamp;
mod store;
mod trace;

/// The epoch milliseconds of a stored `_updated_at`, in either form fstore reads: epoch seconds
/// with a fraction (`1796101050.697`, what fstore and Python writers store) or integer epoch
/// milliseconds (at least 10¹¹). For tools that read the stamp themselves, such as `fstore get`.
///
/// ```
/// assert_eq!(fstore_runtime::parse_updated_at(b"1796101050.697"), Ok(1_796_101_050_697));
/// assert_eq!(fstore_runtime::parse_updated_at(b"1796101050697"), Ok(1_796_101_050_697));
/// assert!(fstore_runtime::parse_updated_at(b"yesterday").is_err());
/// ```
///
/// # Errors
/// A short reason when `raw` is neither form.
pub fn parse_updated_at(raw: &[u8]) -> std::result::Result<u64, String> {
    stamp::decode(raw)
}
mod transport;
pub mod typed;
pub mod vector;
mod view;

pub use backend::Embedded;
pub use codec::FeatureValue;
pub use command::{
    Command, Fields, FieldsIter, RowWriter, WriteCommand, MAX_TTL_MS, UPDATED_AT, WRITE_SCRIPT,
};
pub use dynamic::{Features, Status, Value};
pub use entity::EntityId;
pub use error::{BatchWriteError, Error, Result, WriteOutcome};

pub use store::{
    Store, StoreBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_PIPELINE_CHUNK, DEFAULT_POOL_SIZE,
    DEFAULT_RESPONSE_TIMEOUT,
};
pub use trace::METRICS;
pub use vector::{
    BatchReport, FeatureVector, FieldCounts, FieldReport, Report, Source, VectorAggregation,
    VectorRows, VectorView,
};
pub use view::{FeatureView, KeyLayout, Row};

/// The `features.toml` registry (the `fstore-registry` crate): [`Registry`](registry::Registry),
/// its views and features. Attach one with [`Store::with_registry`] to use the dynamic API.
pub use fstore_registry as registry;
