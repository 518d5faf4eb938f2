//! Vocabulary misses are visible: a string feature with a `vocab` holding a value outside it
//! (one-hot all zeros, index `-1`, which a model may take for a real category) is counted by
//! vector reports, and a writer that opts in (`Store::refusing_out_of_vocab`) gets an error and
//! writes nothing, on every write path (typed, registry-generated, dynamic; single and batch).

mod behaviour;
mod support;

use behaviour::Harness;
use fstore::{Error, Source, Value};

mod features {
    #![allow(dead_code)]
    fstore::registry!("features.toml");
}

use features::{UserActivity, UserProfile};

/// `segment` is one-hot over `basic, premium, vip`; `last_category` is index-encoded.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml")]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_profile")]
    segment: String,
    #[fstore(view = "user_activity")]
    last_category: Option<String>,
}

/// A standalone view whose field declares its own vocabulary.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "tiers", ttl = "1h")]
struct Tier {
    #[fstore(vocab = ["bronze", "silver"])]
    tier: Option<String>,
    score: f64,
}

fn profile(segment: &str) -> UserProfile {
    UserProfile {
        age: 30,
        lifetime_value: 1.5,
        segment: segment.to_owned(),
        is_premium: false,
        country: None,
        days_since_signup: 3,
        embedding: vec![0.5; 8],
    }
}

fn activity(category: Option<&str>) -> UserActivity {
    UserActivity {
        sessions_7d: 1,
        clicks_24h: 2,
        last_category: category.map(str::to_owned),
        avg_session_seconds: 3.5,
    }
}

async fn reports_count_values_outside_the_vocabulary(h: Harness) {
    // By default a value outside the vocabulary is written: a new category may reach the
    // store before the model's vocabulary does.
    profile("vip").write(&h.store, "u1").await.unwrap();
    activity(Some("books")).write(&h.store, "u1").await.unwrap();
    profile("gold").write(&h.store, "u2").await.unwrap();
    activity(Some("garden"))
        .write(&h.store, "u2")
        .await
        .unwrap();
    profile("platinum").write(&h.store, "u3").await.unwrap();
    activity(None).write(&h.store, "u3").await.unwrap();

    let (clean, report) = Inputs::vector_with_report(&h.store, "u1").await.unwrap();
    assert_eq!(clean.segment, "vip");
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.out_of_vocab().count(), 0);

    let (got, report) = Inputs::vector_with_report(&h.store, "u2").await.unwrap();
    // The value itself is returned as stored; its model input is what the model would see.
    assert_eq!(got.segment, "gold");
    assert_eq!(&got.to_array()[1..4], [0.0, 0.0, 0.0]);
    assert_eq!(got.to_array()[4], -1.0);
    assert!(!report.is_clean());
    let missed: Vec<_> = report
        .out_of_vocab()
        .map(|f| (f.view, f.feature, f.source))
        .collect();
    assert_eq!(
        missed,
        [
            ("user_profile", "segment", Source::Stored),
            ("user_activity", "last_category", Source::Stored),
        ]
    );
    assert_eq!(
        report.to_string(),
        "user_profile.segment stored (out of vocabulary), \
         user_activity.last_category stored (out of vocabulary)"
    );

    // `None` is not a vocabulary miss (its input is NaN, and the report says null).
    let (_, report) = Inputs::vector_with_report(&h.store, "u3").await.unwrap();
    assert_eq!(
        report.out_of_vocab().map(|f| f.feature).collect::<Vec<_>>(),
        ["segment"]
    );
}

async fn batch_reports_count_per_feature(h: Harness) {
    profile("vip").write(&h.store, "u1").await.unwrap();
    activity(Some("books")).write(&h.store, "u1").await.unwrap();
    profile("gold").write(&h.store, "u2").await.unwrap();
    activity(Some("garden"))
        .write(&h.store, "u2")
        .await
        .unwrap();
    profile("platinum").write(&h.store, "u3").await.unwrap();

    let (rows, report) = Inputs::vector_batch_with_report(&h.store, ["u1", "u2", "u3"])
        .await
        .unwrap();
    // The values are those of `vector_batch`.
    assert_eq!(
        rows,
        Inputs::vector_batch(&h.store, ["u1", "u2", "u3"])
            .await
            .unwrap()
    );
    assert_eq!(report.entities(), 3);
    let segment = report.field("user_profile", "segment").unwrap();
    assert_eq!((segment.stored, segment.out_of_vocab), (3, 2));
    let category = report.field("user_activity", "last_category").unwrap();
    assert_eq!(
        (category.stored, category.null, category.out_of_vocab),
        (2, 1, 1)
    );
    let age = report.field("user_profile", "age").unwrap();
    assert_eq!((age.stored, age.out_of_vocab), (3, 0));
    assert!(!report.is_clean());
    assert_eq!(
        report.to_string(),
        "3 entities: user_profile.segment 2 out of vocabulary, \
         user_activity.last_category 1 null, 1 out of vocabulary"
    );

    let (_, report) = Inputs::vector_batch_with_report(&h.store, ["u1"])
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.to_string(), "1 entities, all stored");
}

fn refused(err: Error, view: &str, feature: &str, value: &str) {
    match err {
        Error::InvalidValue {
            view: v,
            feature: f,
            expected,
            found,
        } => {
            assert_eq!((v.as_str(), f.as_str()), (view, feature));
            assert!(expected.contains("vocab"), "{expected}");
            assert!(found.contains(value), "{found}");
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
}

async fn an_opted_in_writer_refuses_and_writes_nothing(h: Harness) {
    let strict = h.store.refusing_out_of_vocab();
    assert!(strict.refuses_out_of_vocab());
    assert!(!h.store.refuses_out_of_vocab());

    // Registry-generated views carry the registry's vocabulary.
    let err = profile("gold").write(&strict, "u1").await.unwrap_err();
    refused(err, "user_profile", "segment", "\"gold\"");
    assert_eq!(UserProfile::read(&strict, "u1").await.unwrap(), None);
    profile("vip").write(&strict, "u1").await.unwrap();

    // A batch with one miss is refused whole: nothing is sent.
    let rows = vec![
        ("b1".to_owned(), profile("basic")),
        ("b2".to_owned(), profile("premium")),
        ("b3".to_owned(), profile("Vip")), // case matters
    ];
    let err = UserProfile::write_batch(&strict, &rows).await.unwrap_err();
    refused(err, "user_profile", "segment", "\"Vip\"");
    for id in ["b1", "b2", "b3"] {
        assert_eq!(UserProfile::read(&strict, id).await.unwrap(), None, "{id}");
    }
    UserProfile::write_batch(&strict, &rows[..2]).await.unwrap();

    // Optional strings: `None` is not a miss; an escaped excerpt of the value is shown.
    activity(None).write(&strict, "u1").await.unwrap();
    let err = activity(Some("gar\"den\n"))
        .write(&strict, "u1")
        .await
        .unwrap_err();
    refused(err, "user_activity", "last_category", r#""gar\"den\n""#);
    assert_eq!(
        UserActivity::read(&strict, "u1")
            .await
            .unwrap()
            .unwrap()
            .last_category,
        None
    );

    // A standalone view's own `vocab`.
    let gold = Tier {
        tier: Some("gold".to_owned()),
        score: 1.0,
    };
    refused(
        gold.write(&strict, "t1").await.unwrap_err(),
        "tiers",
        "tier",
        "\"gold\"",
    );
    gold.write(&h.store, "t1").await.unwrap();
    assert_eq!(Tier::read(&h.store, "t1").await.unwrap(), Some(gold));

    // The dynamic API applies the registry's vocabulary the same way.
    let dynamic = strict.with_registry(behaviour::root_registry());
    assert!(dynamic.refuses_out_of_vocab());
    let err = dynamic
        .write("item_stats", "i1", &[("category", Value::from("garden"))])
        .await
        .unwrap_err();
    refused(err, "item_stats", "category", "\"garden\"");
    let err = dynamic
        .write_batch(
            "item_stats",
            [
                ("i1", vec![("category", Value::from("books"))]),
                ("i2", vec![("category", Value::from("toys"))]),
            ],
        )
        .await
        .unwrap_err();
    refused(err, "item_stats", "category", "\"toys\"");
    assert_eq!(dynamic.read("item_stats", "i1", None).await.unwrap(), None);
    // The lenient handle on the same backend writes it.
    let lenient = h.store.with_registry(behaviour::root_registry());
    lenient
        .write("item_stats", "i1", &[("category", Value::from("garden"))])
        .await
        .unwrap();
    assert_eq!(
        lenient
            .read("item_stats", "i1", None)
            .await
            .unwrap()
            .unwrap()["category"],
        Value::from("garden")
    );
}

all_backends!(reports, reports_count_values_outside_the_vocabulary);
all_backends!(batch_reports, batch_reports_count_per_feature);
all_backends!(
    refusing_writers,
    an_opted_in_writer_refuses_and_writes_nothing
);
