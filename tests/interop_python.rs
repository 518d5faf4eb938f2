//! Interop with the seed's Python library (issue #12), run for real: `tests/python/feature_store.py`
//! on `valkey` from PyPI (in the venv `scripts/test` makes), against the same throwaway server as
//! fstore.
//!
//! Python writes → every fstore read path (typed `read`/`read_batch`, a projection, a
//! `FeatureVector`, the dynamic API); fstore writes (typed, batched, dynamic) → Python's `read`,
//! `read_batch` and `get_feature_vector`. Every feature type except `float_list`
//! (`interop_python_lists.rs`), with the edge values: `i64` limits, `0.1`, `1e-300`, `1e300`,
//! `f64::MAX`, the smallest subnormal, NaN, ±inf, `-0.0` (sign bit checked), empty, unicode and
//! look-alike strings (`"True"`, `"None"`, `"nan"`), both bools, absent optionals.
//!
//! Freshness: a row Python wrote (`_updated_at = str(time.time())`) is fresh for a vector over
//! `user_risk_profile` (`max_age = "10m"` in features.toml) while younger than that and stale
//! when older; fstore's own stamp (epoch seconds with a millisecond fraction) reads in Python as
//! the time of the write.

mod behaviour;
mod python;
mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use behaviour::{AgeAndValue, Harness, UserProfile};
use fstore::{Error, Features, Value};
use python::{present, row, sorted, Py, Python, Row};

mod features {
    #![allow(dead_code)]
    fstore::registry!("features.toml");
}

use features::{UserActivity, UserRiskProfile};

const UNICODE: &str = "naïve ✓ 日本";
const CONTROL: &str = "🦀 line\nbreak\t\"quoted\" \\ nul\0end";

/// A fresh server, a store on it, and the Python library on the same server.
async fn setup() -> (Harness, Python) {
    let mut h = Harness::valkey().await;
    let python = Python::new(h.server().port());
    (h, python)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A typed row as named features, in registry order.
trait AsRow {
    fn as_row(&self) -> Row;
}

impl AsRow for UserProfile {
    fn as_row(&self) -> Row {
        row([
            ("age", self.age.into()),
            ("lifetime_value", self.lifetime_value.into()),
            ("segment", (&self.segment).into()),
            ("is_premium", self.is_premium.into()),
            ("country", self.country.as_ref().into()),
            ("days_since_signup", self.tenure_days.into()),
        ])
    }
}

impl AsRow for UserActivity {
    fn as_row(&self) -> Row {
        row([
            ("sessions_7d", self.sessions_7d.into()),
            ("clicks_24h", self.clicks_24h.into()),
            ("last_category", self.last_category.as_ref().into()),
            ("avg_session_seconds", self.avg_session_seconds.into()),
        ])
    }
}

impl AsRow for UserRiskProfile {
    fn as_row(&self) -> Row {
        row([
            ("fraud_score", self.fraud_score.into()),
            ("txn_count_24h", self.txn_count_24h.into()),
            ("chargebacks_90d", self.chargebacks_90d.into()),
            ("is_flagged", self.is_flagged.into()),
        ])
    }
}

impl AsRow for Features {
    fn as_row(&self) -> Row {
        self.clone()
            .into_vec()
            .into_iter()
            .map(|(name, v)| (name, Py::from(&v)))
            .collect()
    }
}

/// The features `names` of `row`, in that order (absent ones `None`).
fn pick(row: &Row, names: &[&str]) -> Row {
    names
        .iter()
        .map(|name| {
            let v = row.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            ((*name).to_owned(), v.unwrap_or(Py::None))
        })
        .collect()
}

/// `row` as the dynamic API's `(name, Value)` pairs.
fn values(row: &Row) -> Vec<(&str, Value)> {
    row.iter()
        .map(|(n, v)| (n.as_str(), v.to_value()))
        .collect()
}

fn rows_of<T: AsRow>(rows: &[(&'static str, T)]) -> Vec<(&'static str, Row)> {
    rows.iter().map(|(id, r)| (*id, r.as_row())).collect()
}

fn ids_of<T>(rows: &[(&'static str, T)]) -> Vec<&'static str> {
    rows.iter().map(|(id, _)| *id).collect()
}

fn profile(
    age: i64,
    lifetime_value: f64,
    segment: &str,
    is_premium: bool,
    country: Option<&str>,
    tenure_days: i64,
) -> UserProfile {
    UserProfile {
        age,
        lifetime_value,
        segment: segment.to_owned(),
        is_premium,
        country: country.map(str::to_owned),
        tenure_days,
    }
}

/// One `user_profile` row per edge value; the strings include look-alikes of other types.
fn edge_profiles() -> Vec<(&'static str, UserProfile)> {
    vec![
        (
            "i64_min",
            profile(i64::MIN, 0.1, "", true, Some(UNICODE), i64::MAX),
        ),
        (
            "i64_max",
            profile(i64::MAX, 1e-300, UNICODE, false, Some(""), i64::MIN),
        ),
        ("huge", profile(0, 1e300, CONTROL, true, None, -1)),
        ("nan", profile(-1, f64::NAN, "True", false, Some("None"), 0)),
        (
            "inf",
            profile(1, f64::INFINITY, " padded ", true, Some("nan"), 1),
        ),
        (
            "neg_inf",
            profile(2, f64::NEG_INFINITY, "0", false, None, 2),
        ),
        ("neg_zero", profile(3, -0.0, "vip", true, Some("DE"), 3)),
        ("zero", profile(4, 0.0, "basic", false, Some("false"), 4)),
        ("f64_max", profile(5, f64::MAX, "premium", true, None, 5)),
        ("subnormal", profile(6, 5e-324, "1e300", false, None, 6)),
        ("small", profile(7, 1e-5, "[]", true, Some("{}"), 7)),
        ("third", profile(8, 1.0 / 3.0, "y", true, None, -8)),
        ("negative", profile(-9, -1250.5, "z", false, Some("ß"), 9)),
    ]
}

const INTS: [i64; 6] = [i64::MAX, i64::MIN, 0, -1, 1, 1_000_000_007];
const FLOATS: [f64; 11] = [
    0.1,
    1e-300,
    1e300,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -0.0,
    f64::MAX,
    5e-324,
    1e-5,
    61.5,
];
const STRINGS: [Option<&str>; 6] = [
    Some("books"),
    None,
    Some(UNICODE),
    Some(""),
    Some(CONTROL),
    Some("None"),
];

fn activity(i: usize) -> UserActivity {
    UserActivity {
        sessions_7d: INTS[i % INTS.len()],
        clicks_24h: INTS[(i + 1) % INTS.len()],
        last_category: STRINGS[i % STRINGS.len()].map(str::to_owned),
        avg_session_seconds: FLOATS[(i + 3) % FLOATS.len()],
    }
}

fn risk(i: usize) -> UserRiskProfile {
    UserRiskProfile {
        fraud_score: FLOATS[(i + 5) % FLOATS.len()],
        txn_count_24h: INTS[(i + 2) % INTS.len()],
        chargebacks_90d: INTS[(i + 3) % INTS.len()],
        is_flagged: i % 2 == 1,
    }
}

/// An `user_activity` and a `user_risk_profile` row for each id: every edge value in each column.
fn edge_activities(ids: &[&'static str]) -> Vec<(&'static str, UserActivity)> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| (*id, activity(i)))
        .collect()
}

fn edge_risks(ids: &[&'static str]) -> Vec<(&'static str, UserRiskProfile)> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| (*id, risk(i)))
        .collect()
}

/// Two views in one vector, neither with a `max_age`: what Python wrote, through a vector.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml")]
struct ProfileAndActivity {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_profile")]
    lifetime_value: f64,
    #[fstore(view = "user_profile")]
    segment: String,
    #[fstore(view = "user_profile")]
    is_premium: bool,
    #[fstore(view = "user_profile", skip)]
    country: Option<String>,
    #[fstore(view = "user_profile")]
    days_since_signup: i64,
    #[fstore(view = "user_activity")]
    sessions_7d: i64,
    #[fstore(view = "user_activity")]
    clicks_24h: i64,
    #[fstore(view = "user_activity")]
    last_category: Option<String>,
    #[fstore(view = "user_activity")]
    avg_session_seconds: f64,
}

impl AsRow for ProfileAndActivity {
    fn as_row(&self) -> Row {
        row([
            ("age", self.age.into()),
            ("lifetime_value", self.lifetime_value.into()),
            ("segment", (&self.segment).into()),
            ("is_premium", self.is_premium.into()),
            ("country", self.country.as_ref().into()),
            ("days_since_signup", self.days_since_signup.into()),
            ("sessions_7d", self.sessions_7d.into()),
            ("clicks_24h", self.clicks_24h.into()),
            ("last_category", self.last_category.as_ref().into()),
            ("avg_session_seconds", self.avg_session_seconds.into()),
        ])
    }
}

/// `user_risk_profile` has `max_age = "10m"` in features.toml: older rows count as missing
/// (`txn_count_24h` and `is_flagged` have registry defaults, the others become `None`).
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml")]
struct RiskInputs {
    #[fstore(view = "user_risk_profile")]
    fraud_score: Option<f64>,
    #[fstore(view = "user_risk_profile")]
    txn_count_24h: i64,
    #[fstore(view = "user_risk_profile")]
    chargebacks_90d: Option<i64>,
    #[fstore(view = "user_risk_profile")]
    is_flagged: bool,
}

impl AsRow for RiskInputs {
    fn as_row(&self) -> Row {
        row([
            ("fraud_score", self.fraud_score.into()),
            ("txn_count_24h", self.txn_count_24h.into()),
            ("chargebacks_90d", self.chargebacks_90d.into()),
            ("is_flagged", self.is_flagged.into()),
        ])
    }
}

/// A required feature of a view with `max_age`: a stale row is `Error::MissingFeature`.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml")]
struct RiskScore {
    #[fstore(view = "user_risk_profile")]
    fraud_score: f64,
}

// ---------------------------------------------------------------------------------------------
// Python writes, fstore reads.

#[tokio::test]
async fn python_writes_read_by_typed_views() {
    let (h, py) = setup().await;
    let profiles = edge_profiles();
    let ids = ids_of(&profiles);
    let activities = edge_activities(&ids);
    let risks = edge_risks(&ids);
    py.write("user_profile", &rows_of(&profiles));
    py.write("user_activity", &rows_of(&activities));
    py.write("user_risk_profile", &rows_of(&risks));

    for (id, want) in &profiles {
        let got = UserProfile::read(&h.store, *id).await.unwrap();
        let got = got.unwrap_or_else(|| panic!("user_profile {id} absent"));
        assert_eq!(got.as_row(), want.as_row(), "user_profile {id}");
        let got = AgeAndValue::read(&h.store, *id).await.unwrap().unwrap();
        assert_eq!(
            row([
                ("age", got.age.into()),
                ("lifetime_value", got.lifetime_value.into())
            ]),
            pick(&want.as_row(), &["age", "lifetime_value"]),
            "projection of user_profile {id}"
        );
    }
    for (id, want) in &activities {
        let got = UserActivity::read(&h.store, *id).await.unwrap().unwrap();
        assert_eq!(got.as_row(), want.as_row(), "user_activity {id}");
    }
    for (id, want) in &risks {
        let got = UserRiskProfile::read(&h.store, *id).await.unwrap().unwrap();
        assert_eq!(got.as_row(), want.as_row(), "user_risk_profile {id}");
    }

    // read_batch, with an entity Python never wrote among them.
    let mut batch_ids = ids.clone();
    batch_ids.insert(1, "ghost");
    let got = UserProfile::read_batch(&h.store, &batch_ids).await.unwrap();
    let got: Vec<Option<Row>> = got.iter().map(|r| r.as_ref().map(AsRow::as_row)).collect();
    let mut want: Vec<Option<Row>> = profiles.iter().map(|(_, p)| Some(p.as_row())).collect();
    want.insert(1, None);
    assert_each("UserProfile::read_batch", &batch_ids, &got, &want);
    let got = UserActivity::read_batch(&h.store, &batch_ids)
        .await
        .unwrap();
    let got: Vec<Option<Row>> = got.iter().map(|r| r.as_ref().map(AsRow::as_row)).collect();
    let mut want: Vec<Option<Row>> = activities.iter().map(|(_, a)| Some(a.as_row())).collect();
    want.insert(1, None);
    assert_each("UserActivity::read_batch", &batch_ids, &got, &want);

    // A Python int in a float feature (`str(61)`) reads as that float.
    let mut int_float = activity(0).as_row();
    int_float[3].1 = Py::Int(61);
    py.write("user_activity", &[("int_float", int_float)]);
    let got = UserActivity::read(&h.store, "int_float").await.unwrap();
    assert!(
        python::same_float(got.unwrap().avg_session_seconds, 61.0),
        "`61` in a float feature"
    );
}

#[tokio::test]
async fn python_writes_read_by_a_feature_vector() {
    let (h, py) = setup().await;
    let profiles = edge_profiles();
    let ids = ids_of(&profiles);
    let activities = edge_activities(&ids);
    py.write("user_profile", &rows_of(&profiles));
    py.write("user_activity", &rows_of(&activities));
    let want: Vec<Row> = profiles
        .iter()
        .zip(&activities)
        .map(|((_, p), (_, a))| {
            let mut r = p.as_row();
            r.extend(a.as_row());
            r
        })
        .collect();

    for (id, want) in ids.iter().zip(&want) {
        let (got, report) = ProfileAndActivity::vector_with_report(&h.store, *id)
            .await
            .unwrap();
        assert_eq!(&got.as_row(), want, "vector of {id}");
        // Everything Python wrote counts as stored; only the absent optionals are not.
        let not_stored: Vec<&str> = report.not_stored().map(|f| f.feature).collect();
        let absent: Vec<&str> = want
            .iter()
            .filter(|(_, v)| *v == Py::None)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(not_stored, absent, "{id}: {report}");
        assert_eq!(report.stale().count(), 0, "{id}: {report}");
    }
    let got = ProfileAndActivity::vector_batch(&h.store, &ids)
        .await
        .unwrap();
    let got: Vec<Row> = got.iter().map(AsRow::as_row).collect();
    assert_each("vector_batch", &ids, &got, &want);
}

#[tokio::test]
async fn python_writes_read_by_the_dynamic_api() {
    let (h, py) = setup().await;
    let store = h.store.with_registry(behaviour::root_registry());
    let profiles = edge_profiles();
    let ids = ids_of(&profiles);
    let activities = edge_activities(&ids);
    py.write("user_profile", &rows_of(&profiles));
    py.write("user_activity", &rows_of(&activities));

    for (id, p) in &profiles {
        // Every feature, in registry order; Python wrote no embedding.
        let got = store
            .read("user_profile", *id, None)
            .await
            .unwrap()
            .unwrap();
        let mut want = p.as_row();
        want.push(("embedding".to_owned(), Py::None));
        assert_eq!(got.as_row(), want, "user_profile {id}");
        // Some features, in the order asked for.
        let names = ["days_since_signup", "lifetime_value", "country", "segment"];
        let got = store.read("user_profile", *id, Some(&names)).await.unwrap();
        assert_eq!(got.unwrap().as_row(), pick(&p.as_row(), &names), "{id}");
    }
    for (id, a) in &activities {
        let got = store.read("user_activity", *id, None).await.unwrap();
        assert_eq!(got.unwrap().as_row(), a.as_row(), "user_activity {id}");
    }

    let mut batch_ids = ids.clone();
    batch_ids.push("ghost");
    let got = store.read_batch("user_activity", &batch_ids).await.unwrap();
    let got: Vec<Option<Row>> = got.iter().map(|r| r.as_ref().map(AsRow::as_row)).collect();
    let mut want: Vec<Option<Row>> = activities.iter().map(|(_, a)| Some(a.as_row())).collect();
    want.push(None);
    assert_each(
        "dynamic read_batch of user_activity",
        &batch_ids,
        &got,
        &want,
    );

    let references = [
        "user_profile:lifetime_value",
        "user_activity:avg_session_seconds",
        "user_profile:segment",
        "user_activity:last_category",
        "user_profile:age",
        "user_profile:is_premium",
        "user_activity:clicks_24h",
    ];
    for ((id, p), (_, a)) in profiles.iter().zip(&activities) {
        let got = store.get_feature_vector(*id, &references).await.unwrap();
        assert_eq!(
            got.as_row(),
            vector_of(
                &references,
                &[("user_profile", p.as_row()), ("user_activity", a.as_row())]
            ),
            "{id}"
        );
    }
}

/// What `get_feature_vector(references)` gives for these rows of these views: `view__feature`.
fn vector_of(references: &[&str], rows: &[(&str, Row)]) -> Row {
    references
        .iter()
        .map(|reference| {
            let (view, feature) = reference.split_once(':').unwrap();
            let (_, r) = rows.iter().find(|(v, _)| *v == view).unwrap();
            let value = pick(r, &[feature]).pop().unwrap().1;
            (format!("{view}__{feature}"), value)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// fstore writes, Python reads.

/// Asserts `got == want` entity by entity, naming the entity that differs.
fn assert_each<T: PartialEq + std::fmt::Debug>(what: &str, ids: &[&str], got: &[T], want: &[T]) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?}");
    for ((id, got), want) in ids.iter().zip(got).zip(want) {
        assert_eq!(got, want, "{what} of {id}");
    }
}

/// Checks Python's `read` (whole and by feature), `read_batch` and `get_feature_vector` of the
/// rows written for `profiles` and `activities`.
fn python_reads(
    py: &Python,
    profiles: &[(&'static str, UserProfile)],
    activities: &[(&'static str, UserActivity)],
) {
    let ids = ids_of(profiles);
    let mut with_ghost = ids.clone();
    with_ghost.insert(2, "ghost");

    // `read(view, id)`: HGETALL, the stored features only, in the server's order.
    let got: Vec<Option<Row>> = py
        .read("user_profile", &with_ghost, None)
        .into_iter()
        .map(|r| r.map(sorted))
        .collect();
    let mut want: Vec<Option<Row>> = profiles
        .iter()
        .map(|(_, p)| Some(sorted(present(&p.as_row()))))
        .collect();
    want.insert(2, None);
    assert_each("Python read of user_profile", &with_ghost, &got, &want);
    let got: Vec<Option<Row>> = py
        .read("user_activity", &ids, None)
        .into_iter()
        .map(|r| r.map(sorted))
        .collect();
    let want: Vec<Option<Row>> = activities
        .iter()
        .map(|(_, a)| Some(sorted(present(&a.as_row()))))
        .collect();
    assert_each("Python read of user_activity", &ids, &got, &want);

    // `read(view, id, features)`: HMGET, absent features `None`.
    let names = ["country", "lifetime_value", "is_premium", "age", "segment"];
    let got = py.read("user_profile", &with_ghost, Some(&names));
    let mut want: Vec<Option<Row>> = profiles
        .iter()
        .map(|(_, p)| Some(pick(&p.as_row(), &names)))
        .collect();
    want.insert(2, None);
    assert_each(
        "Python read of some user_profile features",
        &with_ghost,
        &got,
        &want,
    );

    // `read_batch`: the entities found, in order, the ghost left out.
    let got: Vec<(String, Row)> = py
        .read_batch("user_profile", &with_ghost)
        .into_iter()
        .map(|(id, r)| (id, sorted(r)))
        .collect();
    let want: Vec<(String, Row)> = profiles
        .iter()
        .map(|(id, p)| ((*id).to_owned(), sorted(present(&p.as_row()))))
        .collect();
    assert_each("Python read_batch of user_profile", &ids, &got, &want);

    // `get_feature_vector`: one pipeline of HMGETs across views, `view__feature`.
    let references = [
        "user_profile:lifetime_value",
        "user_activity:avg_session_seconds",
        "user_profile:segment",
        "user_activity:last_category",
        "user_profile:is_premium",
        "user_profile:country",
        "user_activity:sessions_7d",
        "user_profile:age",
    ];
    let got = py.get_feature_vector(&ids, &references);
    let want: Vec<Row> = profiles
        .iter()
        .zip(activities)
        .map(|((_, p), (_, a))| {
            vector_of(
                &references,
                &[("user_profile", p.as_row()), ("user_activity", a.as_row())],
            )
        })
        .collect();
    assert_each("Python get_feature_vector", &ids, &got, &want);
}

#[tokio::test]
async fn typed_writes_read_by_python() {
    let (h, py) = setup().await;
    let profiles = edge_profiles();
    let activities = edge_activities(&ids_of(&profiles));
    // Half one write each, half one batch; the activities in one batch.
    let (single, batch) = profiles.split_at(profiles.len() / 2);
    for (id, p) in single {
        p.write(&h.store, *id).await.unwrap();
    }
    UserProfile::write_batch(&h.store, batch).await.unwrap();
    UserActivity::write_batch(&h.store, &activities)
        .await
        .unwrap();
    python_reads(&py, &profiles, &activities);
}

#[tokio::test]
async fn dynamic_writes_read_by_python() {
    let (h, py) = setup().await;
    let store = h.store.with_registry(behaviour::root_registry());
    let profiles = edge_profiles();
    let activities = edge_activities(&ids_of(&profiles));
    for (id, p) in &profiles {
        store
            .write("user_profile", *id, &values(&p.as_row()))
            .await
            .unwrap();
    }
    let rows: Vec<(&str, Row)> = rows_of(&activities);
    store
        .write_batch("user_activity", rows.iter().map(|(id, r)| (*id, values(r))))
        .await
        .unwrap();
    python_reads(&py, &profiles, &activities);
}

// ---------------------------------------------------------------------------------------------
// Freshness: `_updated_at` as each side writes it.

#[tokio::test]
async fn rows_python_just_wrote_are_fresh() {
    let (h, py) = setup().await;
    let ids = ["r0", "r1", "r2", "r3", "r4", "r5"];
    let risks = edge_risks(&ids);
    let (now, five_minutes_ago) = risks.split_at(3);
    py.write("user_risk_profile", &rows_of(now));
    py.write_aged("user_risk_profile", &rows_of(five_minutes_ago), 300.0);
    for (id, want) in &risks {
        let (got, report) = RiskInputs::vector_with_report(&h.store, *id).await.unwrap();
        assert!(report.is_clean(), "{id}: {report}");
        assert_eq!(got.as_row(), want.as_row(), "{id}");
        let got = RiskScore::vector(&h.store, *id).await.unwrap();
        assert!(
            python::same_float(got.fraud_score, want.fraud_score),
            "{id}"
        );
    }
    let got = RiskInputs::vector_batch(&h.store, ids).await.unwrap();
    let got: Vec<Row> = got.iter().map(AsRow::as_row).collect();
    let want: Vec<Row> = risks.iter().map(|(_, r)| r.as_row()).collect();
    assert_each("vector_batch", &ids, &got, &want);
}

#[tokio::test]
async fn rows_python_wrote_twenty_minutes_ago_are_stale() {
    let (h, py) = setup().await;
    let ids = ["old0", "old1", "young"];
    let risks = edge_risks(&ids);
    py.write_aged("user_risk_profile", &rows_of(&risks[..2]), 20.0 * 60.0);
    py.write_aged("user_risk_profile", &rows_of(&risks[2..]), 5.0 * 60.0);

    // Beside the young row (fresh, so the stamps are read), the old ones are stale: defaults
    // and `None` instead of the stored values.
    let got = RiskInputs::vector_batch(&h.store, ids).await.unwrap();
    let stale = row([
        ("fraud_score", Py::None),
        ("txn_count_24h", 0.into()),
        ("chargebacks_90d", Py::None),
        ("is_flagged", false.into()),
    ]);
    assert_eq!(got[0].as_row(), stale, "old0");
    assert_eq!(got[1].as_row(), stale, "old1");
    assert_eq!(got[2].as_row(), risks[2].1.as_row(), "young");

    let (_, report) = RiskInputs::vector_with_report(&h.store, "old0")
        .await
        .unwrap();
    let stale_features: Vec<&str> = report.stale().map(|f| f.feature).collect();
    assert_eq!(
        stale_features,
        [
            "fraud_score",
            "txn_count_24h",
            "chargebacks_90d",
            "is_flagged"
        ],
        "{report}"
    );
    let err = RiskScore::vector(&h.store, "old1").await.unwrap_err();
    assert!(
        matches!(&err, Error::MissingFeature { feature, stale: true, .. } if feature == "fraud_score"),
        "{err:?}"
    );
    let (_, report) = RiskInputs::vector_with_report(&h.store, "young")
        .await
        .unwrap();
    assert!(report.is_clean(), "young: {report}");
}

#[tokio::test]
async fn fstore_stamps_read_in_python_as_the_time_of_the_write() {
    let (h, py) = setup().await;
    let store = h.store.with_registry(behaviour::root_registry());
    let before = now_ms();
    risk(0).write(&h.store, "typed").await.unwrap();
    UserActivity::write_batch(&h.store, [("batch", activity(1))])
        .await
        .unwrap();
    store
        .write(
            "user_profile",
            "dynamic",
            &values(&edge_profiles()[0].1.as_row()),
        )
        .await
        .unwrap();
    let after = now_ms();

    for (view, id) in [
        ("user_risk_profile", "typed"),
        ("user_activity", "batch"),
        ("user_profile", "dynamic"),
    ] {
        let (raw, seconds) = py.stamp(view, id);
        // Epoch seconds with a three-digit millisecond fraction.
        let (whole, fraction) = raw.split_once('.').unwrap_or((&raw, ""));
        assert!(
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.len() == 3
                && fraction.bytes().all(|b| b.is_ascii_digit()),
            "{view} {id}: _updated_at is {raw:?}, expected epoch seconds such as 1796101050.697"
        );
        // Python's `float()` of it is the time of the write.
        let ms = (seconds * 1000.0).round();
        assert!(
            ms >= before as f64 && ms <= after as f64,
            "{view} {id}: _updated_at {raw:?} reads in Python as {seconds} s, not between \
             {before} and {after} ms since the epoch"
        );
    }
}
