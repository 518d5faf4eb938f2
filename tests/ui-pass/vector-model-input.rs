// A vector without a registry (the struct is the schema) with every kind of column: numbers, a
// bool, an `Option` (NaN when `None`), one-hot and index strings, a list, and a skipped string.

use fstore::{FeatureVector, VectorView};

#[derive(fstore::FeatureVector, Debug, Clone)]
#[feature_vector(
    namespace = "test",
    version = 2,
    max_age(user_risk_profile = "10m", user_activity = 30)
)]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_profile", name = "is_premium")]
    premium: bool,
    #[fstore(view = "user_risk_profile")]
    fraud_score: Option<f64>,
    #[fstore(view = "user_profile", vocab = ["basic", "premium", "vip"])]
    segment: String,
    #[fstore(
        view = "user_activity",
        rename = "last_category",
        vocab = ["books", "home"],
        encode = "index"
    )]
    category: Option<String>,
    #[fstore(view = "user_profile", len = 3)]
    embedding: Vec<f32>,
    #[fstore(view = "user_profile", skip)]
    country: Option<String>,
    #[fstore(view = "user_risk_profile", default = 0)]
    txn_count_24h: u32,
}

fn main() {
    assert_eq!(Inputs::WIDTH, 1 + 1 + 1 + 3 + 1 + 3 + 1);
    assert_eq!(<Inputs as FeatureVector>::WIDTH, Inputs::WIDTH);
    assert_eq!(
        Inputs::COLUMNS,
        [
            "user_profile__age",
            "user_profile__is_premium",
            "user_risk_profile__fraud_score",
            "user_profile__segment=basic",
            "user_profile__segment=premium",
            "user_profile__segment=vip",
            "user_activity__last_category",
            "user_profile__embedding[0]",
            "user_profile__embedding[1]",
            "user_profile__embedding[2]",
            "user_risk_profile__txn_count_24h",
        ]
    );
    // One view per distinct `view`, in order of first use; the skipped field is still read.
    assert_eq!(
        Inputs::VIEWS,
        [
            VectorView {
                name: "user_profile",
                key_prefix: "test:v2:user_profile:",
                read_fields: &[
                    "age",
                    "is_premium",
                    "segment",
                    "embedding",
                    "country",
                    "_updated_at"
                ],
                max_age_ms: None,
                key: 0,
            },
            VectorView {
                name: "user_risk_profile",
                key_prefix: "test:v2:user_risk_profile:",
                read_fields: &["fraud_score", "txn_count_24h", "_updated_at"],
                max_age_ms: Some(600_000),
                key: 0,
            },
            VectorView {
                name: "user_activity",
                key_prefix: "test:v2:user_activity:",
                read_fields: &["last_category", "_updated_at"],
                max_age_ms: Some(30_000),
                key: 0,
            },
        ]
    );

    let known = Inputs {
        age: 28,
        premium: true,
        fraud_score: Some(0.25),
        segment: "vip".into(),
        category: Some("home".into()),
        embedding: vec![0.5, -1.0, 2.0],
        country: Some("DE".into()),
        txn_count_24h: 7,
    };
    assert_eq!(
        known.to_array(),
        [28.0, 1.0, 0.25, 0.0, 0.0, 1.0, 1.0, 0.5, -1.0, 2.0, 7.0]
    );

    let unknown = Inputs {
        premium: false,
        fraud_score: None,
        segment: "gold".into(),
        category: Some("toys".into()),
        country: None,
        ..known.clone()
    };
    let a = unknown.to_array();
    assert_eq!(a[1], 0.0, "false is 0");
    assert!(a[2].is_nan(), "None is NaN");
    assert_eq!(
        a[3..6],
        [0.0, 0.0, 0.0],
        "an unknown one-hot entry is all zero"
    );
    assert_eq!(a[6], -1.0, "an unknown index is -1");

    let absent = Inputs {
        category: None,
        ..known.clone()
    };
    assert!(absent.to_array()[6].is_nan(), "a `None` index is NaN");

    // `write_f32` fills a longer slice's first `WIDTH` values and leaves the rest.
    let mut out = vec![9.0; Inputs::WIDTH + 2];
    known.write_f32(&mut out);
    assert_eq!(out[..Inputs::WIDTH], known.to_array());
    assert_eq!(out[Inputs::WIDTH..], [9.0, 9.0]);

    let matrix = Inputs::to_matrix(&[known.clone(), unknown]);
    assert_eq!(matrix.len(), 2 * Inputs::WIDTH);
    assert_eq!(matrix[..Inputs::WIDTH], known.to_array());

    std::panic::set_hook(Box::new(|_| {}));
    let short = std::panic::catch_unwind(|| known.write_f32(&mut [0.0; 3])).unwrap_err();
    drop(std::panic::take_hook());
    let message = short.downcast_ref::<String>().unwrap();
    assert_eq!(
        message,
        "`Inputs::write_f32` needs at least 11 columns (`WIDTH`), got 3"
    );
}
