//! The runtime of [fstore](https://docs.rs/fstore): [`Store`], its backends, plans, the codec,
//! the error type, and the [`dynamic`] API that reads and writes features by name through a
//! [`registry`]. Use it through the `fstore` facade crate, which adds `#[derive(FeatureView)]`.
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

mod cluster;
pub mod codec;
pub mod dynamic;
mod embedded;
mod entity;
mod error;
mod fast;
pub mod ops;
pub mod plan;
mod store;
pub mod vector;
mod view;

pub use codec::FeatureValue;
pub use dynamic::{Features, Value};
pub use embedded::Embedded;
pub use entity::EntityId;
pub use error::{Error, Result};
pub use plan::{Command, Fields, RowWriter, WriteCommand};
pub use store::{
    Store, StoreBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_PIPELINE_CHUNK, DEFAULT_RESPONSE_TIMEOUT,
};
pub use vector::{FeatureVector, FieldReport, Report, Source, VectorRows, VectorView};
pub use view::{FeatureView, KeyLayout, Row};

/// The `features.toml` registry (the `fstore-registry` crate): [`Registry`](registry::Registry),
/// its views and features. Attach one with [`Store::with_registry`] to use the dynamic API.
pub use fstore_registry as registry;

/// One reply of the server protocol, as [`Store::execute`] returns it (the `redis` crate's
/// `Value`).
pub use redis::Value as Reply;
