//! A registry attached to a store ([`Store::with_registry`](crate::Store::with_registry)), with
//! what the dynamic API would otherwise rebuild on every call worked out once per view: the key
//! prefix, the `HMGET` field list and the result names.

use std::any::Any;
use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};

use fstore_registry::{Registry, View};

use crate::command::UPDATED_AT;
use crate::Result;

/// Vector plans kept per store; further reference lists are planned on every call.
const VECTOR_PLANS: usize = 64;

/// A registry and its views' plans, in the registry's view order.
#[derive(Debug)]
pub(crate) struct Attached {
    pub(crate) registry: Arc<Registry>,
    plans: Vec<ViewPlan>,
    /// The plans of the reference lists `get_feature_vector` was called with.
    vectors: Mutex<Vec<Arc<VectorPlan>>>,
    /// What the aggregation module works out once per registry (its resolved specs), kept here
    /// without this module knowing its type.
    aggregations: OnceLock<Box<dyn Any + Send + Sync>>,
}

/// The plan of one `get_feature_vector` reference list.
#[derive(Debug)]
pub(crate) struct VectorPlan {
    /// The references, as given.
    pub(crate) refs: Vec<String>,
    /// The result names, `view__feature`.
    pub(crate) names: Arc<[String]>,
    /// One read per view, in order of first appearance.
    pub(crate) groups: Vec<GroupPlan>,
    /// Where reference `i` lands: (group, position in the group).
    pub(crate) slots: Vec<(usize, usize)>,
}

/// One view's read in a [`VectorPlan`].
#[derive(Debug)]
pub(crate) struct GroupPlan {
    /// The view's index in the registry.
    pub(crate) view: usize,
    /// Indices into the view's features, in reply order.
    pub(crate) features: Vec<usize>,
    /// Those features' names, then `_updated_at`.
    pub(crate) fields: Arc<[String]>,
    /// Those features' names.
    pub(crate) names: Arc<[String]>,
}

/// What reading every feature of one view takes.
#[derive(Debug)]
pub(crate) struct ViewPlan {
    /// `{namespace}:v{version}:{view}:`.
    pub(crate) prefix: String,
    /// Every feature, then `_updated_at`: the `HMGET` fields.
    pub(crate) fields: Arc<[String]>,
    /// Every feature: the names of a read's result.
    pub(crate) names: Arc<[String]>,
    /// Every feature's index, in order.
    pub(crate) all: Vec<usize>,
}

impl Attached {
    pub(crate) fn new(registry: Arc<Registry>) -> Attached {
        let plans = registry
            .views
            .iter()
            .map(|view| ViewPlan {
                prefix: registry.key_prefix(&view.name),
                fields: view
                    .features
                    .iter()
                    .map(|f| f.name.clone())
                    .chain([UPDATED_AT.to_owned()])
                    .collect(),
                names: view.features.iter().map(|f| f.name.clone()).collect(),
                all: (0..view.features.len()).collect(),
            })
            .collect();
        Attached {
            registry,
            plans,
            vectors: Mutex::new(Vec::new()),
            aggregations: OnceLock::new(),
        }
    }

    /// The key prefix of `view`, a view of this registry: `{namespace}:v{version}:{view}:`.
    pub(crate) fn prefix(&self, view: &View) -> Cow<'_, str> {
        match self.plan(view) {
            Some(plan) => Cow::Borrowed(&plan.prefix),
            None => Cow::Owned(self.registry.key_prefix(&view.name)),
        }
    }

    /// The plan of the reference list `refs`: kept from an earlier call, or made by `build`
    /// (and kept, up to a bound).
    ///
    /// # Errors
    /// What `build` returns.
    pub(crate) fn vector_plan<R: AsRef<str>>(
        &self,
        refs: &[R],
        build: impl FnOnce() -> Result<VectorPlan>,
    ) -> Result<Arc<VectorPlan>> {
        let same = |plan: &VectorPlan| {
            plan.refs.len() == refs.len()
                && plan.refs.iter().zip(refs).all(|(a, b)| a == b.as_ref())
        };
        if let Some(plan) = self.lock().iter().find(|p| same(p)) {
            return Ok(Arc::clone(plan));
        }
        let plan = Arc::new(build()?);
        let mut kept = self.lock();
        if kept.len() < VECTOR_PLANS && !kept.iter().any(|p| same(p)) {
            kept.push(Arc::clone(&plan));
        }
        Ok(plan)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<VectorPlan>>> {
        // A panic cannot leave the list half changed: a push is all or nothing.
        self.vectors.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The aggregations' state, made by `init` on first use (the aggregation module's resolved
    /// specs); `None` if an earlier call made a value of another type.
    pub(crate) fn aggregations<T: Any + Send + Sync>(
        &self,
        init: impl FnOnce(&Registry) -> T,
    ) -> Option<&T> {
        self.aggregations
            .get_or_init(|| Box::new(init(&self.registry)))
            .downcast_ref()
    }

    /// The plan of `view`, a view of this registry.
    pub(crate) fn plan(&self, view: &View) -> Option<&ViewPlan> {
        let index = self
            .registry
            .views
            .iter()
            .position(|v| std::ptr::eq(v, view))?;
        self.plans.get(index)
    }
}
