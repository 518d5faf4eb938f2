//! The dynamic, registry-driven API (`Store::read`, `read_batch`, `get_feature_vector`, `write`):
//! it reads what typed views write and the reverse, byte for byte, with the same errors.

mod behaviour;
mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use behaviour::{key_of, Harness, UserProfile};
use fstore::registry::Registry;
use fstore::{Error, Features, Status, Store, Value};

fn registry() -> Registry {
    behaviour::root_registry()
}

fn dynamic(h: &Harness) -> Store {
    h.store.with_registry(registry())
}

/// What a dynamic read of every `user_profile` feature gives for `p` (which has no embedding).
fn all_features(p: &UserProfile) -> Features {
    [
        ("age", Value::Int(p.age)),
        ("lifetime_value", Value::Float(p.lifetime_value)),
        ("segment", Value::String(p.segment.clone())),
        ("is_premium", Value::Bool(p.is_premium)),
        ("country", Value::from(p.country.clone())),
        ("days_since_signup", Value::Int(p.tenure_days)),
        ("embedding", Value::Null),
    ]
    .into_iter()
    .collect()
}

/// The hash of `key` without `_updated_at`, which differs between two writes.
async fn features_of(h: &Harness, key: &str) -> Vec<(String, Vec<u8>)> {
    let mut all = h.hgetall(key).await;
    all.retain(|(f, _)| f != "_updated_at");
    all
}

async fn typed_writes_read_dynamically(h: Harness) {
    let store = dynamic(&h);
    for i in [1, 4] {
        UserProfile::sample(i)
            .write(&h.store, format!("user_{i}"))
            .await
            .unwrap();
    }
    for i in [1, 4] {
        let want = UserProfile::sample(i);
        let got = store
            .read("user_profile", format!("user_{i}"), None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, all_features(&want));
        assert_eq!(
            got.names().collect::<Vec<_>>(),
            [
                "age",
                "lifetime_value",
                "segment",
                "is_premium",
                "country",
                "days_since_signup",
                "embedding"
            ],
            "registry order"
        );
        // A subset, in the order asked for.
        let some = store
            .read(
                "user_profile",
                format!("user_{i}"),
                Some(&["days_since_signup", "country", "age"]),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            some.into_vec(),
            [
                ("days_since_signup".to_owned(), Value::Int(want.tenure_days)),
                ("country".to_owned(), Value::from(want.country.clone())),
                ("age".to_owned(), Value::Int(want.age)),
            ]
        );
    }
    assert_eq!(
        store.read("user_profile", "ghost", None).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .read("user_profile", "ghost", Some(&["age"]))
            .await
            .unwrap(),
        None
    );
}
both!(typed_to_dynamic, typed_writes_read_dynamically);

async fn dynamic_writes_read_typed(h: Harness) {
    let store = dynamic(&h);
    let p = UserProfile::sample(3);
    let embedding: Vec<f32> = (0..8).map(|i| i as f32 / 4.0).collect();
    store
        .write(
            "user_profile",
            "dyn",
            &[
                ("age", Value::Int(p.age)),
                ("lifetime_value", Value::Float(p.lifetime_value)),
                ("segment", Value::from(p.segment.as_str())),
                ("is_premium", Value::Bool(p.is_premium)),
                ("country", Value::from(p.country.clone())),
                ("days_since_signup", Value::Int(p.tenure_days)),
                ("embedding", Value::FloatList(embedding.clone())),
            ],
        )
        .await
        .unwrap();
    // The reverse: a typed view reads it.
    assert_eq!(
        UserProfile::read(&h.store, "dyn").await.unwrap(),
        Some(p.clone())
    );
    // Same bytes as a typed write of the same profile, and the same expiry and stamp.
    p.write(&h.store, "typed").await.unwrap();
    let mut dyn_hash = features_of(&h, &key_of::<UserProfile>("dyn")).await;
    dyn_hash.retain(|(f, _)| f != "embedding");
    assert_eq!(
        dyn_hash,
        features_of(&h, &key_of::<UserProfile>("typed")).await
    );
    let pttl = h.pttl(&key_of::<UserProfile>("dyn")).await;
    assert!(pttl > 3_500_000 && pttl <= 3_600_000, "PTTL {pttl}");
    assert!(h
        .hgetall(&key_of::<UserProfile>("dyn"))
        .await
        .iter()
        .any(|(f, v)| f == "_updated_at" && v.len() == 14 && v[10] == b'.'));
    // The embedding is stored as the JSON text Python's `json.dumps` writes (the registry's
    // default encoding), and round-trips.
    assert!(h
        .hgetall(&key_of::<UserProfile>("dyn"))
        .await
        .iter()
        .any(|(f, v)| f == "embedding"
            && v.as_slice() == b"[0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]"));
    let got = store
        .read("user_profile", "dyn", Some(&["embedding"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got["embedding"].as_f32_slice(), Some(embedding.as_slice()));

    // An int is a valid float; a partial write leaves the other features alone.
    store
        .write("user_profile", "dyn", &[("lifetime_value", Value::Int(7))])
        .await
        .unwrap();
    let typed = UserProfile::read(&h.store, "dyn").await.unwrap().unwrap();
    assert_eq!(
        typed,
        UserProfile {
            lifetime_value: 7.0,
            ..p
        }
    );
}
both!(dynamic_to_typed, dynamic_writes_read_typed);

async fn absent_features_read_as_defaults_or_null(h: Harness) {
    let store = dynamic(&h);
    // Another writer stored only `age`: the typed view (with required features) refuses it,
    // the dynamic API does not enforce required features.
    h.hset(&key_of::<UserProfile>("partial"), &[("age", b"41")])
        .await;
    assert!(matches!(
        UserProfile::read(&h.store, "partial").await.unwrap_err(),
        Error::MissingField { .. }
    ));
    let got = store
        .read("user_profile", "partial", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.values(),
        [
            Value::Int(41),
            Value::Null,
            Value::Null,
            Value::Bool(false), // `default = false`
            Value::Null,        // `optional = true`
            Value::Null,
            Value::Null,
        ]
    );
    // Statuses say why each value is what it is: a required feature that is absent is
    // `NotFound` (where the typed view fails), a `default` is `Defaulted`, an optional one `Null`.
    assert_eq!(
        got.statuses().collect::<Vec<_>>(),
        [
            Status::Present,
            Status::NotFound,
            Status::NotFound,
            Status::Defaulted,
            Status::Null,
            Status::NotFound,
            Status::NotFound,
        ]
    );
    assert_eq!(got.status("age").map(Status::feast_name), Some("PRESENT"));
    assert_eq!(
        got.status("segment").map(Status::feast_name),
        Some("NOT_FOUND")
    );
    assert_eq!(
        got.status("country").map(Status::feast_name),
        Some("NULL_VALUE")
    );
    assert_eq!(got.status("agee"), None);
    h.hset(
        "fs:v1:user_risk_profile:partial",
        &[("fraud_score", b"0.5")],
    )
    .await;
    let risk = store
        .read("user_risk_profile", "partial", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        risk.into_vec(),
        [
            ("fraud_score".to_owned(), Value::Float(0.5)),
            ("txn_count_24h".to_owned(), Value::Int(0)),
            ("chargebacks_90d".to_owned(), Value::Null),
            ("is_flagged".to_owned(), Value::Bool(false)),
        ]
    );

    // Writing `Null` removes the feature, and it reads as absent again.
    store
        .write(
            "user_profile",
            "partial",
            &[("country", "DE".into()), ("is_premium", true.into())],
        )
        .await
        .unwrap();
    let fields = |hash: Vec<(String, Vec<u8>)>| -> Vec<String> {
        hash.into_iter().map(|(f, _)| f).collect()
    };
    assert_eq!(
        fields(features_of(&h, &key_of::<UserProfile>("partial")).await),
        ["age", "country", "is_premium"]
    );
    store
        .write(
            "user_profile",
            "partial",
            &[("country", Value::Null), ("is_premium", Value::Null)],
        )
        .await
        .unwrap();
    assert_eq!(
        fields(features_of(&h, &key_of::<UserProfile>("partial")).await),
        ["age"]
    );
    // The other writer's row has no `_updated_at`, and fstore's writes of some of its
    // features do not add one (its `age` is as old as ever): `age` shows the entity exists.
    let got = store
        .read(
            "user_profile",
            "partial",
            Some(&["age", "is_premium", "country"]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.values(),
        [Value::Int(41), Value::Bool(false), Value::Null]
    );
}
both!(defaults_and_null, absent_features_read_as_defaults_or_null);

async fn batch_order_duplicates_and_missing(h: Harness) {
    let store = dynamic(&h);
    h.seed_samples(10).await;
    let ids = [
        "user_007", "ghost", "user_001", "user_007", "user_009", "ghost_2",
    ];
    let got = store.read_batch("user_profile", ids).await.unwrap();
    let want: Vec<Option<Features>> = [Some(7), None, Some(1), Some(7), Some(9), None]
        .into_iter()
        .map(|i| i.map(|i| all_features(&UserProfile::sample(i))))
        .collect();
    assert_eq!(got, want);
    // A batch agrees with single reads.
    for (id, row) in ids.iter().zip(&got) {
        assert_eq!(
            &store.read("user_profile", *id, None).await.unwrap(),
            row,
            "{id}"
        );
    }
    let none: [&str; 0] = [];
    assert_eq!(
        store.read_batch("user_profile", none).await.unwrap(),
        vec![]
    );
}
both!(batch_order, batch_order_duplicates_and_missing);

#[tokio::test]
async fn batches_are_chunked_and_empty_batches_send_nothing() {
    let mut h = Harness::valkey_with(|b| b.pipeline_chunk_size(3)).await;
    let store = dynamic(&h);
    let rows: Vec<(u32, UserProfile)> = (0..10)
        .map(|i| (i, UserProfile::sample(i.into())))
        .collect();
    UserProfile::write_batch(&h.store, rows).await.unwrap();
    let ids: Vec<u32> = (0..12).rev().collect();
    let before = store.round_trips();
    let got = store.read_batch("user_profile", &ids).await.unwrap();
    assert_eq!(store.round_trips() - before, 4, "12 ids in chunks of 3");
    assert_eq!(got.len(), 12);
    for (id, row) in ids.iter().zip(&got) {
        let want = (*id < 10).then(|| all_features(&UserProfile::sample((*id).into())));
        assert_eq!(row, &want, "id {id}");
    }
    // With the server gone any round trip fails: an empty batch makes none.
    h.server().kill();
    let none: Vec<String> = Vec::new();
    assert_eq!(
        store.read_batch("user_profile", &none).await.unwrap(),
        vec![]
    );
    let no_refs: [&str; 0] = [];
    assert!(store
        .get_feature_vector("user_1", &no_refs)
        .await
        .unwrap()
        .is_empty());
    assert!(store.read_batch("user_profile", ["x"]).await.is_err());
}

/// Writes one user across three views (user_activity left missing for `user_2`).
async fn seed_three_views(h: &Harness, store: &Store) {
    UserProfile::sample(5)
        .write(&h.store, "user_1")
        .await
        .unwrap();
    store
        .write(
            "user_risk_profile",
            "user_1",
            &[
                ("fraud_score", Value::Float(0.05)),
                ("chargebacks_90d", Value::Int(2)),
            ],
        )
        .await
        .unwrap();
    store
        .write(
            "user_activity",
            "user_1",
            &[
                ("sessions_7d", Value::Int(4)),
                ("clicks_24h", Value::Int(31)),
                ("last_category", Value::from("books")),
                ("avg_session_seconds", Value::Float(92.5)),
            ],
        )
        .await
        .unwrap();
    UserProfile::sample(6)
        .write(&h.store, "user_2")
        .await
        .unwrap();
}

const VECTOR: [&str; 6] = [
    "user_risk_profile:fraud_score",
    "user_profile:age",
    "user_activity:clicks_24h",
    "user_profile:segment",
    "user_risk_profile:txn_count_24h",
    "user_activity:last_category",
];

async fn feature_vectors_span_views(h: Harness) {
    let store = dynamic(&h);
    seed_three_views(&h, &store).await;
    let p = UserProfile::sample(5);
    let got = store.get_feature_vector("user_1", &VECTOR).await.unwrap();
    assert_eq!(
        got.into_vec(),
        [
            (
                "user_risk_profile__fraud_score".to_owned(),
                Value::Float(0.05)
            ),
            ("user_profile__age".to_owned(), Value::Int(p.age)),
            ("user_activity__clicks_24h".to_owned(), Value::Int(31)),
            ("user_profile__segment".to_owned(), Value::String(p.segment)),
            ("user_risk_profile__txn_count_24h".to_owned(), Value::Int(0)), // default
            (
                "user_activity__last_category".to_owned(),
                Value::from("books")
            ),
        ]
    );
    // Missing from two views: their features read as absent (default or Null).
    let got = store.get_feature_vector("user_2", &VECTOR).await.unwrap();
    assert_eq!(
        got.values(),
        [
            Value::Null,
            Value::Int(UserProfile::sample(6).age),
            Value::Null,
            Value::String(UserProfile::sample(6).segment),
            Value::Int(0),
            Value::Null,
        ]
    );
    // The absent views' features are `NotFound` (even `txn_count_24h`, whose default is used).
    assert_eq!(
        got.statuses().collect::<Vec<_>>(),
        [
            Status::NotFound,
            Status::Present,
            Status::NotFound,
            Status::Present,
            Status::NotFound,
            Status::NotFound,
        ]
    );

    // A `user_risk_profile` row (`max_age = "10m"`) stamped 11 minutes ago is not used: its
    // features read as their defaults or `Null`, `OutsideMaxAge`, never as the stored values.
    let old = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 11 * 60;
    h.hset(
        "fs:v1:user_risk_profile:user_1",
        &[
            ("_updated_at", format!("{old}.250").as_bytes()),
            ("txn_count_24h", b"17"),
        ],
    )
    .await;
    let got = store.get_feature_vector("user_1", &VECTOR).await.unwrap();
    assert_eq!(got["user_risk_profile__fraud_score"], Value::Null);
    assert_eq!(got["user_risk_profile__txn_count_24h"], Value::Int(0));
    assert_eq!(
        got.status("user_risk_profile__fraud_score"),
        Some(Status::OutsideMaxAge)
    );
    assert_eq!(
        got.status("user_risk_profile__txn_count_24h")
            .map(Status::feast_name),
        Some("OUTSIDE_MAX_AGE")
    );
    assert_eq!(got.status("user_profile__age"), Some(Status::Present));
    // A plain read applies no `max_age` (as typed views): the stored values, `Present`.
    let risk = store
        .read("user_risk_profile", "user_1", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(risk["txn_count_24h"], Value::Int(17));
    assert_eq!(risk.status("txn_count_24h"), Some(Status::Present));
    // Stamped a minute ago (milliseconds, the other format): fresh again.
    let recent = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 60)
        * 1_000;
    h.hset(
        "fs:v1:user_risk_profile:user_1",
        &[("_updated_at", recent.to_string().as_bytes())],
    )
    .await;
    let got = store.get_feature_vector("user_1", &VECTOR).await.unwrap();
    assert_eq!(got["user_risk_profile__txn_count_24h"], Value::Int(17));
    assert_eq!(
        got.status("user_risk_profile__fraud_score"),
        Some(Status::Present)
    );

    // Owned references work too, and one view alone is fine.
    let refs = vec!["user_profile:is_premium".to_owned()];
    let got = store.get_feature_vector(5u64, &refs).await.unwrap();
    assert_eq!(got["user_profile__is_premium"], Value::Bool(false));
}
both!(feature_vector, feature_vectors_span_views);

#[tokio::test]
async fn a_feature_vector_is_one_hmget_per_view() {
    let h = Harness::valkey().await;
    let store = dynamic(&h);
    seed_three_views(&h, &store).await;
    h.reset_command_stats().await;
    let got = store.get_feature_vector("user_1", &VECTOR).await.unwrap();
    assert_eq!(got.len(), 6);
    let calls = h.command_calls().await;
    assert_eq!(
        calls.into_iter().collect::<Vec<_>>(),
        [("hmget".to_owned(), 3)]
    );

    // A dynamic read is one HMGET, a dynamic write one script call, as for typed views.
    h.reset_command_stats().await;
    store.read("user_profile", "user_1", None).await.unwrap();
    store
        .write("user_activity", "user_1", &[("clicks_24h", Value::Int(1))])
        .await
        .unwrap();
    let calls = h.command_calls().await;
    assert_eq!(
        calls.into_iter().collect::<Vec<_>>(),
        [
            ("evalsha".to_owned(), 1),
            // The script's own: the key exists, so it checks which features it holds.
            ("hkeys".to_owned(), 1),
            ("hmget".to_owned(), 1),
            ("hset".to_owned(), 1),
            ("pexpire".to_owned(), 1),
            ("type".to_owned(), 1),
        ]
    );
}

fn unknown(err: Error) -> (&'static str, String, String) {
    match err {
        Error::UnknownName { what, name, help } => (what, name, help),
        other => panic!("expected an unknown-name error, got {other:?}"),
    }
}

async fn unknown_names_say_what_to_use(h: Harness) {
    let store = dynamic(&h);
    let err = store.read("user_profil", "u", None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown view `user_profil`; did you mean `user_profile`?"
    );
    assert_eq!(
        unknown(err),
        (
            "view",
            "user_profil".to_owned(),
            "did you mean `user_profile`?".to_owned()
        )
    );
    assert_eq!(
        store
            .read_batch("xyz", ["u"])
            .await
            .unwrap_err()
            .to_string(),
        "unknown view `xyz`; expected one of `user_profile`, `user_risk_profile`, \
         `user_activity`, `item_stats`"
    );
    assert_eq!(
        store
            .read("user_profile", "u", Some(&["age", "agee"]))
            .await
            .unwrap_err()
            .to_string(),
        "unknown feature `agee`; did you mean `age`?"
    );
    assert_eq!(
        store
            .write("user_activity", "u", &[("qqq", Value::Int(1))])
            .await
            .unwrap_err()
            .to_string(),
        "unknown feature `qqq`; expected one of `sessions_7d`, `clicks_24h`, \
         `last_category`, `avg_session_seconds`"
    );
    // Metadata is not a feature.
    assert!(matches!(
        store
            .write("user_activity", "u", &[("_updated_at", Value::Int(1))])
            .await
            .unwrap_err(),
        Error::UnknownName {
            what: "feature",
            ..
        }
    ));
    for (reference, message) in [
        (
            "user_profile:agee",
            "unknown feature `user_profile:agee`; did you mean `user_profile:age`?",
        ),
        (
            "user_profiel:age",
            "unknown view `user_profiel`; did you mean `user_profile`?",
        ),
        (
            "user_profile.age",
            "unknown feature reference `user_profile.age`; did you mean `user_profile:age`?",
        ),
        (
            "user_profile__age",
            "unknown feature reference `user_profile__age`; did you mean `user_profile:age`?",
        ),
        (
            "age",
            "unknown feature reference `age`; a feature reference is `view:feature`, such as \
             `user_profile:age`",
        ),
    ] {
        let err = store
            .get_feature_vector("u", &["user_profile:age", reference])
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    // Nothing reached the store.
    assert!(h.keys().await.is_empty());
}
both!(unknown_names, unknown_names_say_what_to_use);

async fn malformed_values_are_decode_errors(h: Harness) {
    let store = dynamic(&h);
    let key = key_of::<UserProfile>("bad");
    h.hset(
        &key,
        &[
            ("age", b"twenty\x00eight"),
            ("lifetime_value", b"1.5"),
            ("segment", b"basic"),
            ("days_since_signup", b"3"),
        ],
    )
    .await;
    let err = store.read("user_profile", "bad", None).await.unwrap_err();
    match &err {
        Error::Decode {
            key: k,
            field,
            expected,
            found,
            ..
        } => {
            assert_eq!(k, &key);
            assert_eq!(field, "age");
            assert_eq!(*expected, "i64 (int)");
            assert_eq!(found, r#""twenty\x00eight""#);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    // The very error a typed view gives for the same bytes.
    let typed = UserProfile::read(&h.store, "bad").await.unwrap_err();
    assert_eq!(err.to_string(), typed.to_string());
    // Through a batch and a vector as well; a read that skips the field does not see it.
    for err in [
        store.read_batch("user_profile", ["bad"]).await.unwrap_err(),
        store
            .get_feature_vector("bad", &["user_profile:age"])
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.to_string(), typed.to_string());
    }
    assert!(store
        .read("user_profile", "bad", Some(&["segment"]))
        .await
        .unwrap()
        .is_some());

    h.hset(&key, &[("embedding", b"\x00\x00\x80")]).await;
    let err = store
        .read("user_profile", "bad", Some(&["embedding"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { field, expected: "Vec<f32> (float_list, json)", .. } if field == "embedding"),
        "{err:?}"
    );
    assert!(err.to_string().contains("binary data (3 bytes)"), "{err}");
}
both!(malformed, malformed_values_are_decode_errors);

async fn wrong_values_write_nothing(h: Harness) {
    let store = dynamic(&h);
    let key = key_of::<UserProfile>("w");
    UserProfile::sample(2).write(&h.store, "w").await.unwrap();
    let before = h.hgetall(&key).await;

    let err = store
        .write(
            "user_profile",
            "w",
            &[("age", Value::Int(50)), ("segment", Value::Int(5))],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot write feature `segment` of view `user_profile`: expected a `string` \
         (`Value::String`), found an int 5"
    );
    match err {
        Error::InvalidValue {
            view,
            feature,
            expected,
            found,
        } => {
            assert_eq!(
                (view.as_str(), feature.as_str(), found.as_str()),
                ("user_profile", "segment", "an int 5")
            );
            assert_eq!(expected, "a `string` (`Value::String`)");
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
    for (features, message) in [
        (
            vec![("age", Value::Float(1.5))],
            "cannot write feature `age` of view `user_profile`: expected an `int` \
             (`Value::Int`), found a float 1.5",
        ),
        (
            vec![("is_premium", Value::from("true"))],
            "cannot write feature `is_premium` of view `user_profile`: expected a `bool` \
             (`Value::Bool`), found a string \"true\"",
        ),
        (
            vec![("lifetime_value", Value::Bool(true))],
            "cannot write feature `lifetime_value` of view `user_profile`: expected a `float` \
             (`Value::Float` or `Value::Int`), found a bool true",
        ),
        (
            vec![("embedding", Value::FloatList(vec![1.0; 3]))],
            "cannot write feature `embedding` of view `user_profile`: expected a `float_list` \
             of 8 elements (`Value::FloatList`), found a float_list of 3 elements",
        ),
        (
            vec![("age", Value::Int(1)), ("age", Value::Int(2))],
            "cannot write feature `age` of view `user_profile`: expected each feature once, \
             found it 2 times",
        ),
    ] {
        let err = store
            .write("user_profile", "w", &features)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    // Also for an entity that does not exist yet: no key appears.
    store
        .write("user_profile", "new", &[("segment", Value::Int(1))])
        .await
        .unwrap_err();
    assert_eq!(h.keys().await, std::slice::from_ref(&key));
    assert_eq!(
        h.hgetall(&key).await,
        before,
        "a refused write changed data"
    );
}
both!(wrong_types, wrong_values_write_nothing);

async fn a_store_without_registry_says_how_to_attach_one(h: Harness) {
    assert!(h.store.registry().is_none());
    let errors = [
        h.store.read("user_profile", "u", None).await.unwrap_err(),
        h.store.read_batch("user_profile", ["u"]).await.unwrap_err(),
        h.store
            .get_feature_vector("u", &["user_profile:age"])
            .await
            .unwrap_err(),
        h.store
            .write("user_profile", "u", &[("age", Value::Int(1))])
            .await
            .unwrap_err(),
    ];
    for err in errors {
        match &err {
            Error::Config(message) => assert!(
                message.contains("no registry") && message.contains("Store::with_registry"),
                "{message}"
            ),
            other => panic!("expected a config error, got {other:?}"),
        }
    }
    // The registry handle shares the connection; the original stays without one.
    let store = dynamic(&h);
    assert_eq!(store.registry().unwrap().views.len(), 4);
    store
        .write("user_profile", "u", &[("age", Value::Int(1))])
        .await
        .unwrap();
    assert_eq!(h.keys().await, [key_of::<UserProfile>("u")]);
    assert!(h.store.registry().is_none());
}
both!(no_registry, a_store_without_registry_says_how_to_attach_one);

async fn empty_ids_are_rejected(h: Harness) {
    let store = dynamic(&h);
    let check = |err: Error| {
        assert!(
            matches!(&err, Error::InvalidEntityId { view, .. } if view == "user_profile"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "invalid entity id \"\" for view `user_profile`: the empty string is not an entity id"
        );
    };
    check(store.read("user_profile", "", None).await.unwrap_err());
    check(
        store
            .read_batch("user_profile", ["a", ""])
            .await
            .unwrap_err(),
    );
    check(
        store
            .get_feature_vector("", &["user_profile:age"])
            .await
            .unwrap_err(),
    );
    check(
        store
            .write("user_profile", "", &[("age", Value::Int(1))])
            .await
            .unwrap_err(),
    );
    assert!(h.keys().await.is_empty());
}
both!(empty_ids, empty_ids_are_rejected);

#[tokio::test]
async fn dynamic_writes_expire_like_typed_ones() {
    let h = Harness::embedded();
    let store = dynamic(&h);
    store
        .write(
            "user_risk_profile",
            "u",
            &[("fraud_score", Value::Float(0.1))],
        )
        .await
        .unwrap();
    h.assert_every_key_expires(Duration::from_secs(15 * 60))
        .await;
}

/// `Store::write_batch` by name: one round trip per pipeline, read back by typed views and the
/// dynamic API alike, every key with its TTL; a bad row anywhere writes nothing.
async fn dynamic_batch_writes(h: Harness) {
    let store = dynamic(&h);
    // Every feature by name, as a dynamic read gives them (`embedding` as `Null`: removed).
    let features: Vec<Features> = (0..5)
        .map(|i| all_features(&UserProfile::sample(i)))
        .collect();
    let rows: Vec<(String, Vec<(&str, Value)>)> = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let named = f.iter().map(|(name, value)| (name, value.clone()));
            (format!("batch_{i}"), named.collect())
        })
        .collect();
    let before = store.round_trips();
    store
        .write_batch("user_profile", rows.clone())
        .await
        .unwrap();
    if !h.is_cluster() {
        assert_eq!(store.round_trips() - before, 1, "one round trip");
    }
    for i in 0..5 {
        let typed = UserProfile::read(&h.store, format!("batch_{i}"))
            .await
            .unwrap();
        assert_eq!(typed, Some(UserProfile::sample(i)), "batch_{i}");
    }
    let read = store.read_batch("user_profile", ["batch_3"]).await.unwrap();
    assert_eq!(read[0], Some(all_features(&UserProfile::sample(3))));
    h.assert_every_key_expires(Duration::from_secs(3600)).await;

    // One bad row (the last): nothing of the batch is written.
    let mut bad = rows.clone();
    for (id, _) in &mut bad {
        *id = id.replace("batch", "bad");
    }
    bad[4].1[0] = ("age", Value::from("old"));
    let err = store.write_batch("user_profile", bad).await.unwrap_err();
    assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
    assert!(store
        .read("user_profile", "bad_0", None)
        .await
        .unwrap()
        .is_none());
    let empty: [(u32, [(&str, Value); 0]); 0] = [];
    let before = store.round_trips();
    store.write_batch("user_profile", empty).await.unwrap();
    assert_eq!(store.round_trips(), before, "an empty batch sends nothing");
}
all_backends!(batch_writes, dynamic_batch_writes);
