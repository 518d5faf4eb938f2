//! The dynamic (registry-driven) API next to the typed API: the same server, data and views,
//! measured interleaved in the same run; ratio = dynamic p50 / typed p50 (target ≤ 1.10).
//!
//! The dynamic store is the typed store with `features.toml` attached
//! (`Store::with_registry(Registry::from_path(…))`): one backend, one connection.

use std::time::Instant;

use fstore::registry::Registry;
use fstore::{FeatureVector as _, Features, Store, Value};

use crate::data::{Data, SplitMix};
use crate::measurement::{measure, random_ids, random_rows, RatioRow};
use crate::settings::Settings;
use crate::views::{Fraud, Two, UserProfile};

/// The ratio to the typed API the issue sets for every dynamic row.
const TARGET: f64 = 1.10;
const VIEW: &str = "user_profile";
const TWO: [&str; 2] = ["age", "lifetime_value"];
/// The features of the [`Fraud`] vector, as `get_feature_vector` names them.
const VECTOR_REFERENCES: [&str; 7] = [
    "user_profile:age",
    "user_profile:lifetime_value",
    "user_profile:segment",
    "user_risk_profile:fraud_score",
    "user_risk_profile:txn_count_24h",
    "user_activity:sessions_7d",
    "user_activity:last_category",
];

/// A user's features as the dynamic API names and types them, in registry order.
fn profile_features(u: &UserProfile) -> Vec<(&'static str, Value)> {
    vec![
        ("age", Value::Int(u.age)),
        ("lifetime_value", Value::Float(u.lifetime_value)),
        ("segment", Value::String(u.segment.clone())),
        ("is_premium", Value::Bool(u.is_premium)),
        (
            "country",
            u.country.clone().map_or(Value::Null, Value::String),
        ),
        ("days_since_signup", Value::Int(u.days_since_signup)),
        ("embedding", Value::FloatList(u.embedding.clone())),
    ]
}

/// Rows for the dynamic `write_batch`: entity id and features by name.
fn write_rows<'a>(batch: &[(&'a str, &UserProfile)]) -> Vec<(&'a str, Vec<(&'static str, Value)>)> {
    batch
        .iter()
        .map(|(id, u)| (*id, profile_features(u)))
        .collect()
}

fn owned(features: Vec<(&'static str, Value)>) -> Vec<(String, Value)> {
    features
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// The [`Fraud`] vector as `get_feature_vector` returns it: `view__feature`, raw values (no
/// one-hot or index encoding).
fn fraud_features(f: &Fraud) -> Vec<(String, Value)> {
    let values = [
        Value::Int(f.age),
        Value::Float(f.ltv),
        Value::String(f.segment.clone()),
        Value::Float(f.fraud_score),
        Value::Int(f.txn_count_24h),
        Value::Int(f.sessions_7d),
        f.last_category.clone().map_or(Value::Null, Value::String),
    ];
    VECTOR_REFERENCES
        .iter()
        .map(|r| r.replacen(':', "__", 1))
        .zip(values)
        .collect()
}

/// The dynamic vector reads the same views and features as [`Fraud`].
fn check_vector_references() {
    let typed: Vec<String> = Fraud::VIEWS
        .iter()
        .flat_map(|v| {
            v.read_fields
                .iter()
                .filter(|f| **f != "_updated_at")
                .map(move |f| format!("{}:{f}", v.name))
        })
        .collect();
    assert_eq!(
        typed, VECTOR_REFERENCES,
        "the dynamic vector's references differ from the Fraud vector's features"
    );
}

/// The result of `call` and the round trips it took on `store` (`Store::round_trips`).
async fn counted<T>(store: &Store, call: impl AsyncFnOnce() -> T) -> (u64, T) {
    let before = store.round_trips();
    let out = call().await;
    (store.round_trips() - before, out)
}

fn values(row: Option<Features>) -> Option<Vec<(String, Value)>> {
    row.map(Features::into_vec)
}

pub async fn dynamic_rows(settings: &Settings, store: &Store, data: &Data) -> Vec<RatioRow> {
    let s = settings;
    let registry = Registry::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/features.toml"))
        .expect("features.toml");
    let dynamic = store.with_registry(registry);
    let mut rng = SplitMix(0xd1a_a1c);
    let mut rows = Vec::new();
    check_vector_references();

    // Single read, all features.
    {
        let probe = data.ids[7].as_str();
        let (rt_d, d) = counted(store, async || dynamic.read(VIEW, probe, None).await).await;
        let (rt_t, t) = counted(store, async || UserProfile::read(store, probe).await).await;
        let want = owned(profile_features(&data.users[7]));
        assert_eq!(values(d.unwrap()), Some(want), "dynamic single read");
        assert_eq!(t.unwrap().as_ref(), Some(&data.users[7]));
        note!("row: dynamic single read, all features");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let id = data.ids[rng.below(data.ids.len())].as_str();
            let t = Instant::now();
            let found = if side == 0 {
                dynamic.read(VIEW, id, None).await.unwrap().is_some()
            } else {
                UserProfile::read(store, id).await.unwrap().is_some()
            };
            let d = t.elapsed();
            assert!(found);
            d
        })
        .await;
        rows.push(RatioRow::new(
            "single read, all features (7)",
            "dynamic `read(view, id, None)` | typed `UserProfile::read`: HMGET, 8 fields",
            TARGET,
            (rt_d, rt_t),
            &samples,
            0,
            1,
        ));
    }

    // Single read, 2 features.
    {
        let probe = data.ids[42].as_str();
        let (rt_d, d) = counted(store, async || dynamic.read(VIEW, probe, Some(&TWO)).await).await;
        let (rt_t, t) = counted(store, async || Two::read(store, probe).await).await;
        let u = &data.users[42];
        let want = vec![
            ("age".to_owned(), Value::Int(u.age)),
            ("lifetime_value".to_owned(), Value::Float(u.lifetime_value)),
        ];
        assert_eq!(values(d.unwrap()), Some(want), "dynamic 2-feature read");
        let t = t.unwrap().expect("typed 2-feature read");
        assert_eq!((t.age, t.lifetime_value), (u.age, u.lifetime_value));
        note!("row: dynamic single read, 2 features");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let id = data.ids[rng.below(data.ids.len())].as_str();
            let t = Instant::now();
            let found = if side == 0 {
                dynamic.read(VIEW, id, Some(&TWO)).await.unwrap().is_some()
            } else {
                Two::read(store, id).await.unwrap().is_some()
            };
            let d = t.elapsed();
            assert!(found);
            d
        })
        .await;
        rows.push(RatioRow::new(
            "single read, 2 features",
            "dynamic `read(view, id, Some(&[\"age\", \"lifetime_value\"]))` | typed `Two::read`: HMGET, 3 fields",
            TARGET,
            (rt_d, rt_t),
            &samples,
            0,
            1,
        ));
    }

    // Batch read of 100.
    {
        let picked: Vec<usize> = (0..100).map(|_| rng.below(data.ids.len())).collect();
        let probe: Vec<&str> = picked.iter().map(|&i| data.ids[i].as_str()).collect();
        let (rt_d, d) = counted(store, async || dynamic.read_batch(VIEW, &probe).await).await;
        let (rt_t, t) = counted(store, async || UserProfile::read_batch(store, &probe).await).await;
        let d: Vec<_> = d.unwrap().into_iter().map(values).collect();
        let want: Vec<_> = picked
            .iter()
            .map(|&i| Some(owned(profile_features(&data.users[i]))))
            .collect();
        assert_eq!(d, want, "dynamic batch read");
        let t = t.unwrap();
        assert!(picked
            .iter()
            .zip(&t)
            .all(|(&i, row)| row.as_ref() == Some(&data.users[i])));
        note!("row: dynamic batch read of 100");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let ids = random_ids(&mut rng, data, 100);
            let t = Instant::now();
            let n = if side == 0 {
                dynamic.read_batch(VIEW, &ids).await.unwrap().len()
            } else {
                UserProfile::read_batch(store, &ids).await.unwrap().len()
            };
            let d = t.elapsed();
            assert_eq!(n, 100);
            d
        })
        .await;
        rows.push(RatioRow::new(
            "batch read, 100 entities",
            "dynamic `read_batch(view, ids)` | typed `UserProfile::read_batch`: pipeline of 100 HMGET",
            TARGET,
            (rt_d, rt_t),
            &samples,
            0,
            1,
        ));
    }

    // Multi-view vector.
    {
        for i in [3, 7, 10] {
            let probe = data.ids[i].as_str();
            let d = dynamic
                .get_feature_vector(probe, &VECTOR_REFERENCES)
                .await
                .unwrap();
            let t = Fraud::vector(store, probe).await.unwrap();
            assert_eq!(
                d.into_vec(),
                fraud_features(&t),
                "dynamic vector of {probe}"
            );
        }
        let probe = data.ids[3].as_str();
        let (rt_d, _) = counted(store, async || {
            dynamic.get_feature_vector(probe, &VECTOR_REFERENCES).await
        })
        .await;
        let (rt_t, _) = counted(store, async || Fraud::vector(store, probe).await).await;
        note!("row: dynamic multi-view vector");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let id = data.ids[rng.below(data.ids.len())].as_str();
            let t = Instant::now();
            let n = if side == 0 {
                dynamic
                    .get_feature_vector(id, &VECTOR_REFERENCES)
                    .await
                    .unwrap()
                    .len()
            } else {
                Fraud::vector(store, id).await.unwrap();
                VECTOR_REFERENCES.len()
            };
            let d = t.elapsed();
            assert_eq!(n, VECTOR_REFERENCES.len());
            d
        })
        .await;
        rows.push(RatioRow::new(
            "multi-view vector, 3 views",
            "dynamic `get_feature_vector(id, 7 references)` | typed `Fraud::vector`: pipeline of 3 HMGET",
            TARGET,
            (rt_d, rt_t),
            &samples,
            0,
            1,
        ));
    }

    // Batch write of 100: the dynamic `write_batch` (rows of features by name) against the typed
    // `write_batch` of the same rows.
    {
        let batch = random_rows(&mut rng, data, 100);
        // Written changed by the dynamic side, then back by the typed side: each must land.
        let changed: Vec<UserProfile> = batch
            .iter()
            .map(|(_, u)| UserProfile {
                age: u.age + 1_000,
                ..(*u).clone()
            })
            .collect();
        let changed_rows: Vec<(&str, &UserProfile)> =
            batch.iter().map(|(id, _)| *id).zip(&changed).collect();
        let ids: Vec<&str> = batch.iter().map(|(id, _)| *id).collect();
        let (rt_d, written) = counted(store, async || {
            dynamic.write_batch(VIEW, write_rows(&changed_rows)).await
        })
        .await;
        written.unwrap();
        let back = UserProfile::read_batch(store, &ids).await.unwrap();
        assert!(
            back.iter()
                .zip(&changed)
                .all(|(b, c)| b.as_ref() == Some(c)),
            "a dynamic batch write reads back differently"
        );
        let (rt_t, written) = counted(store, async || {
            UserProfile::write_batch(store, batch.iter().copied()).await
        })
        .await;
        written.unwrap();
        let back = UserProfile::read_batch(store, &ids).await.unwrap();
        assert!(back
            .iter()
            .zip(&batch)
            .all(|(b, (_, u))| b.as_ref() == Some(*u)));
        note!("row: dynamic batch write of 100");
        let samples = measure(
            2,
            s.warmup.min(20),
            s.write100_iters,
            s.row_budget,
            async |side| {
                let batch = random_rows(&mut rng, data, 100);
                let given = (side == 0).then(|| write_rows(&batch));
                let t = Instant::now();
                match given {
                    Some(rows) => dynamic.write_batch(VIEW, rows).await.unwrap(),
                    None => UserProfile::write_batch(store, batch.iter().copied())
                        .await
                        .unwrap(),
                }
                t.elapsed()
            },
        )
        .await;
        rows.push(RatioRow::new(
            "batch write, 100 entities",
            "dynamic `write_batch(view, rows)`, features by name | typed `UserProfile::write_batch`: one EVALSHA of the write script per entity",
            TARGET,
            (rt_d, rt_t),
            &samples,
            0,
            1,
        ));
    }
    rows
}
