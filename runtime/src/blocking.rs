//! A synchronous [`Store`] for code that is not async (the `blocking` cargo feature, as in
//! `reqwest::blocking` and `redis`'s sync API): each call runs the async one on a small runtime
//! the store owns (one worker thread), and waits for it.
//!
//! ```no_run
//! # fn demo() -> fstore_runtime::Result<()> {
//! use fstore_runtime::blocking::Store;
//!
//! let store = Store::connect("redis://127.0.0.1:6379")?;
//! store.ping()?;
//! # Ok(()) }
//! ```
//!
//! Typed views read and write through generic methods: `store.read::<UserProfile>("user_123")`,
//! `store.write("user_123", &row)`, `store.vector::<FraudInputs>("user_123")`; the dynamic API
//! through the `*_by_name` methods. Clones share the connection and the runtime. Call it from
//! plain threads: from inside an async runtime it returns [`Error::Config`] (use the async
//! [`Store`](crate::Store) there).

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::dynamic::{Features, Value};
use crate::registry::Registry;
use crate::typed::BatchRow;
use crate::vector::FeatureVector;
use crate::{EntityId, Error, FeatureView, Result, StoreBuilder};

/// A synchronous handle on a feature store; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Store {
    store: crate::Store,
    runtime: Arc<Owned>,
}

/// The store's runtime, shut down without waiting when the last clone goes (which also works
/// where blocking is not allowed).
#[derive(Debug)]
struct Owned(Option<Runtime>);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Store {
    /// Connects to a Valkey or Redis server with default settings (see
    /// [`crate::Store::connect`]).
    ///
    /// # Errors
    /// As [`crate::Store::connect`]; [`Error::Config`] from inside an async runtime.
    pub fn connect(url: &str) -> Result<Store> {
        Store::build(crate::Store::builder(url))
    }

    /// Builds the store `builder` describes (a server or a cluster).
    ///
    /// # Errors
    /// As [`StoreBuilder::build`]; [`Error::Config`] from inside an async runtime.
    pub fn build(builder: StoreBuilder) -> Result<Store> {
        let runtime = runtime()?;
        let store = runtime.block_on(builder.build())?;
        Ok(Store {
            store,
            runtime: Arc::new(Owned(Some(runtime))),
        })
    }

    /// The store the environment describes (see [`crate::Store::from_env`]).
    ///
    /// # Errors
    /// As [`crate::Store::from_env`]; [`Error::Config`] from inside an async runtime.
    pub fn from_env(var: &str) -> Result<Store> {
        let runtime = runtime()?;
        let store = runtime.block_on(crate::Store::from_env(var))?;
        Ok(Store {
            store,
            runtime: Arc::new(Owned(Some(runtime))),
        })
    }

    /// A store on the in-process embedded backend.
    ///
    /// # Errors
    /// [`Error::Config`] from inside an async runtime, or when no runtime thread can be started.
    pub fn embedded() -> Result<Store> {
        Ok(Store {
            store: crate::Store::embedded(),
            runtime: Arc::new(Owned(Some(runtime()?))),
        })
    }

    /// A handle on the same backend with `registry` attached, for the `*_by_name` methods.
    #[must_use = "`with_registry` returns a new handle and leaves `self` without a registry"]
    pub fn with_registry(&self, registry: impl Into<Arc<Registry>>) -> Store {
        Store {
            store: self.store.with_registry(registry),
            runtime: Arc::clone(&self.runtime),
        }
    }

    /// A handle on the same backend that refuses to write a string outside its feature's
    /// `vocab`, as [`crate::Store::refusing_out_of_vocab`].
    #[must_use = "`refusing_out_of_vocab` returns a new handle and leaves `self` as it was"]
    pub fn refusing_out_of_vocab(&self) -> Store {
        Store {
            store: self.store.refusing_out_of_vocab(),
            runtime: Arc::clone(&self.runtime),
        }
    }

    /// The async store underneath (for its accessors: `round_trips`, `backend_name`, …).
    pub fn as_async(&self) -> &crate::Store {
        &self.store
    }

    /// Runs `call` on the store's runtime and waits for it.
    fn wait<T>(&self, call: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        in_plain_thread()?;
        match &self.runtime.0 {
            Some(runtime) => runtime.block_on(call),
            None => Err(Error::Closed),
        }
    }

    /// Reads entity `id` of view `T` ([`read`](crate::typed::read)).
    ///
    /// # Errors
    /// As [`crate::typed::read`].
    pub fn read<T: FeatureView + Send>(&self, id: impl EntityId) -> Result<Option<T>> {
        self.wait(crate::typed::read::<T>(&self.store, id))
    }

    /// Reads many entities of view `T` ([`read_batch`](crate::typed::read_batch)).
    ///
    /// # Errors
    /// As [`crate::typed::read_batch`].
    pub fn read_batch<T, I>(&self, ids: I) -> Result<Vec<Option<T>>>
    where
        T: FeatureView + Send,
        I: IntoIterator,
        I::Item: EntityId,
    {
        self.wait(crate::typed::read_batch::<T, I>(&self.store, ids))
    }

    /// Writes `row` as entity `id` ([`write`](crate::typed::write)).
    ///
    /// # Errors
    /// As [`crate::typed::write`].
    pub fn write<T: FeatureView>(&self, id: impl EntityId, row: &T) -> Result<()> {
        self.wait(crate::typed::write(&self.store, id, row))
    }

    /// Writes many `(id, row)` pairs ([`write_batch`](crate::typed::write_batch)).
    ///
    /// # Errors
    /// As [`crate::typed::write_batch`].
    pub fn write_batch<T, I>(&self, rows: I) -> Result<()>
    where
        T: FeatureView,
        I: IntoIterator,
        I::Item: BatchRow<T>,
    {
        self.wait(crate::typed::write_batch::<T, I>(&self.store, rows))
    }

    /// The remaining time to live of entity `id` of view `T`.
    ///
    /// # Errors
    /// As [`crate::typed::ttl`].
    pub fn ttl<T: FeatureView>(&self, id: impl EntityId) -> Result<Option<Duration>> {
        self.wait(crate::typed::ttl::<T>(&self.store, id))
    }

    /// The feature vector `V` of entity `id` ([`vector`](crate::vector::vector)).
    ///
    /// # Errors
    /// As [`crate::vector::vector`].
    pub fn vector<V: FeatureVector + Send>(&self, id: impl EntityId) -> Result<V> {
        self.wait(crate::vector::vector::<V>(&self.store, id))
    }

    /// The feature vectors `V` of many entities.
    ///
    /// # Errors
    /// As [`crate::vector::vector_batch`].
    pub fn vector_batch<V, I>(&self, ids: I) -> Result<Vec<V>>
    where
        V: FeatureVector + Send,
        I: IntoIterator,
        I::Item: EntityId,
    {
        self.wait(crate::vector::vector_batch::<V, I>(&self.store, ids))
    }

    /// [`crate::Store::read`] (dynamic API): features of `view` by name.
    ///
    /// # Errors
    /// As [`crate::Store::read`].
    pub fn read_by_name(
        &self,
        view: &str,
        id: impl EntityId,
        fields: Option<&[&str]>,
    ) -> Result<Option<Features>> {
        self.wait(self.store.read(view, id, fields))
    }

    /// [`crate::Store::read_batch`] (dynamic API).
    ///
    /// # Errors
    /// As [`crate::Store::read_batch`].
    pub fn read_batch_by_name<I>(&self, view: &str, ids: I) -> Result<Vec<Option<Features>>>
    where
        I: IntoIterator,
        I::Item: EntityId,
    {
        self.wait(self.store.read_batch(view, ids))
    }

    /// [`crate::Store::get_feature_vector`] (dynamic API).
    ///
    /// # Errors
    /// As [`crate::Store::get_feature_vector`].
    pub fn get_feature_vector<R: AsRef<str>>(
        &self,
        id: impl EntityId,
        references: &[R],
    ) -> Result<Features> {
        self.wait(self.store.get_feature_vector(id, references))
    }

    /// [`crate::Store::write`] (dynamic API).
    ///
    /// # Errors
    /// As [`crate::Store::write`].
    pub fn write_by_name(
        &self,
        view: &str,
        id: impl EntityId,
        features: &[(&str, Value)],
    ) -> Result<()> {
        self.wait(self.store.write(view, id, features))
    }

    /// [`crate::Store::write_batch`] (dynamic API).
    ///
    /// # Errors
    /// As [`crate::Store::write_batch`].
    pub fn write_batch_by_name<'f, I, K, F>(&self, view: &str, rows: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, F)>,
        K: EntityId,
        F: AsRef<[(&'f str, Value)]>,
    {
        self.wait(self.store.write_batch(view, rows))
    }

    /// [`crate::Store::ping`].
    ///
    /// # Errors
    /// As [`crate::Store::ping`].
    pub fn ping(&self) -> Result<()> {
        self.wait(self.store.ping())
    }

    /// [`crate::Store::close`]: waits for the calls in flight, then closes the connections.
    ///
    /// # Errors
    /// [`Error::Config`] from inside an async runtime.
    pub fn close(&self) -> Result<()> {
        self.wait(async {
            self.store.close().await;
            Ok(())
        })
    }
}

/// The runtime of a blocking store: one worker thread, so that the connections' background work
/// goes on between calls.
fn runtime() -> Result<Runtime> {
    in_plain_thread()?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("fstore-blocking")
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("cannot start the blocking store's runtime: {e}")))
}

/// [`Error::Config`] inside an async runtime, where waiting would block one of its threads.
fn in_plain_thread() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::Config(
            "fstore::blocking::Store was called from inside an async runtime, where it would \
             block a runtime thread; use the async fstore::Store there"
                .to_owned(),
        ));
    }
    Ok(())
}
