//! Shared by the `fraud_scoring` and `serving` examples (`#[path = "common/fraud.rs"] mod fraud;`):
//! the fraud model's input, a feature vector over three views of features.toml; a small
//! logistic-regression model over its columns; and the demo users both examples seed.
//!
//! Not an example of its own: Cargo only builds `examples/*.rs` and `examples/*/main.rs`.

use fstore::Store;

/// One struct per view of features.toml: `UserProfile`, `UserRiskProfile`, `UserActivity`,
/// `ItemStats`, with public fields; used here to seed the demo users.
pub mod features {
    fstore::registry!("features.toml");
}

use features::{UserActivity, UserProfile, UserRiskProfile};

/// The model input: six features of a user from three views. `vector` reads them with one `HMGET`
/// per view, all in one round trip, and `to_array` turns them into `FraudInputs::WIDTH` columns:
/// `segment` one-hot over its registry vocab, `last_category` as its vocab index.
///
/// A field whose row (or value) is absent takes its default, or `None` for an `Option`; a
/// required field without either fails the read with `Error::MissingFeature` (an unknown user
/// has no `user_profile` row at all). `user_risk_profile` has `max_age = "10m"` in the registry:
/// an older row counts as absent.
#[derive(fstore::FeatureVector, Debug)]
#[feature_vector(registry = "features.toml")]
pub struct FraudInputs {
    #[fstore(view = "user_profile")]
    pub age: i64,
    #[fstore(view = "user_profile", name = "lifetime_value")]
    pub ltv: f64,
    /// vocab from features.toml → one column per value (`user_profile__segment=basic`, …).
    #[fstore(view = "user_profile")]
    pub segment: String,
    /// `None` when the user has no (fresh) risk row: the streaming job has not scored them yet.
    /// The model input is then NaN, which [`score`] handles.
    #[fstore(view = "user_risk_profile")]
    pub fraud_score: Option<f64>,
    #[fstore(view = "user_risk_profile", default = 0)]
    pub txn_count_24h: i64,
    /// vocab from features.toml, index encoding: 0..4, -1 for a category outside the vocab, NaN
    /// for `None`.
    #[fstore(view = "user_activity")]
    pub last_category: Option<String>,
}

/// One column of the model: it sees `z = (x - center) / scale` and adds `weight * z` to the logit.
#[derive(Debug, Clone, Copy)]
pub struct Coef {
    pub column: &'static str,
    pub center: f32,
    pub scale: f32,
    pub weight: f32,
}

const fn coef(column: &'static str, center: f32, scale: f32, weight: f32) -> Coef {
    Coef {
        column,
        center,
        scale,
        weight,
    }
}

/// A toy logistic regression, one coefficient per column of `FraudInputs`, in column order.
/// Giving it another number of columns than `FraudInputs::WIDTH` does not compile, and neither does
/// a column name that differs from `FraudInputs::COLUMNS` (checked below): a model
/// trained on another feature layout cannot be served by accident.
pub const MODEL: [Coef; FraudInputs::WIDTH] = [
    coef("user_profile__age", 40.0, 15.0, -0.4),
    coef("user_profile__lifetime_value", 800.0, 1000.0, -0.6),
    coef("user_profile__segment=basic", 0.0, 1.0, 0.5),
    coef("user_profile__segment=premium", 0.0, 1.0, -0.2),
    coef("user_profile__segment=vip", 0.0, 1.0, -0.6),
    coef("user_risk_profile__fraud_score", 0.1, 0.25, 1.2),
    coef("user_risk_profile__txn_count_24h", 3.0, 5.0, 0.5),
    // An index is an odd input for a linear model (one-hot suits it better); kept to show the
    // encoding.
    coef("user_activity__last_category", 0.0, 1.0, 0.1),
];

/// The intercept of [`MODEL`].
pub const BIAS: f32 = -3.0;

const fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn columns_match() -> bool {
    let mut i = 0;
    while i < MODEL.len() {
        if !same_str(MODEL[i].column, FraudInputs::COLUMNS[i]) {
            return false;
        }
        i += 1;
    }
    true
}

// Evaluated at compile time: a mismatch is a build error.
const _: () = assert!(
    columns_match(),
    "MODEL's column names differ from FraudInputs::COLUMNS"
);

/// A scored vector.
#[derive(Debug, Clone)]
pub struct Scored {
    /// `BIAS` plus every term.
    pub logit: f32,
    /// `1 / (1 + e^-logit)`.
    pub probability: f32,
    /// `weight * z` per column.
    pub terms: [f32; FraudInputs::WIDTH],
    /// The columns whose input was NaN (a `None` field), imputed as described in [`score`].
    pub imputed: Vec<&'static str>,
}

/// Scores one model input (`FraudInputs::to_array`).
///
/// NaN means "no value" (an `Option` field that was `None`). A logistic regression cannot take
/// NaN, so the column is imputed with its training center: `z = 0`, which adds nothing to the
/// logit. The column is listed in `imputed` so callers can log it.
pub fn score(x: &[f32; FraudInputs::WIDTH]) -> Scored {
    let mut terms = [0.0; FraudInputs::WIDTH];
    let mut imputed = Vec::new();
    for ((c, &v), term) in MODEL.iter().zip(x).zip(&mut terms) {
        let z = if v.is_nan() {
            imputed.push(c.column);
            0.0
        } else {
            (v - c.center) / c.scale
        };
        *term = c.weight * z;
    }
    let logit = BIAS + terms.iter().sum::<f32>();
    Scored {
        logit,
        probability: 1.0 / (1.0 + (-logit).exp()),
        terms,
        imputed,
    }
}

/// The demo users: `(id, what is special about them)`.
pub const USERS: [(&str, &str); 4] = [
    (
        "user_001",
        "long-standing premium customer, low fraud score",
    ),
    (
        "user_002",
        "new basic account, high fraud score, many transactions",
    ),
    ("user_003", "vip, no last category yet"),
    (
        "user_004",
        "no risk row: the streaming job has not scored them",
    ),
];

fn profile(age: i64, ltv: f64, segment: &str, days: i64) -> UserProfile {
    UserProfile {
        age,
        lifetime_value: ltv,
        segment: segment.to_owned(),
        is_premium: segment != "basic",
        country: Some("DE".to_owned()),
        days_since_signup: days,
        embedding: vec![0.1; 8],
    }
}

fn risk(fraud_score: f64, txn_count_24h: i64) -> UserRiskProfile {
    UserRiskProfile {
        fraud_score,
        txn_count_24h,
        chargebacks_90d: 0,
        is_flagged: fraud_score > 0.8,
    }
}

fn activity(last_category: Option<&str>) -> UserActivity {
    UserActivity {
        sessions_7d: 5,
        clicks_24h: 12,
        last_category: last_category.map(str::to_owned),
        avg_session_seconds: 210.0,
    }
}

/// Writes [`USERS`] with the generated registry structs. `user_004` gets no `user_risk_profile`
/// row (nothing in the examples ever writes one).
pub async fn seed(store: &Store) -> fstore::Result<()> {
    let profiles = [
        ("user_001", profile(41, 2300.0, "premium", 1400)),
        ("user_002", profile(19, 35.0, "basic", 2)),
        ("user_003", profile(52, 9100.0, "vip", 3000)),
        ("user_004", profile(33, 420.0, "basic", 90)),
    ];
    UserProfile::write_batch(store, profiles.iter().map(|(id, row)| (id, row))).await?;
    risk(0.04, 3).write(store, "user_001").await?;
    risk(0.91, 27).write(store, "user_002").await?;
    risk(0.12, 1).write(store, "user_003").await?;
    let activities = [
        ("user_001", activity(Some("books"))),
        ("user_002", activity(Some("electronics"))),
        ("user_003", activity(None)),
        ("user_004", activity(Some("home"))),
    ];
    UserActivity::write_batch(store, activities.iter().map(|(id, row)| (id, row))).await?;
    Ok(())
}
