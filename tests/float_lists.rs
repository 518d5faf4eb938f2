//! `float_list` features (embeddings) cannot turn into garbage: each declares its `len` and its
//! encoding (`json`, the default: the text Python's `json.dumps` writes; or `f32le`: little-endian
//! `f32` bytes), and every path checks both. A stored list of another length or in the other
//! encoding is an `Error::Decode` naming the key, the feature and what was found, on the typed
//! read, `read_batch`, a vector and the dynamic read alike; a write of another length is an
//! `Error::InvalidValue` and writes nothing (typed `write`, `write_batch`, dynamic `write`,
//! `write_batch`). Python's text reads back exactly, and fstore's text is JSON.

mod behaviour;
mod support;

use behaviour::{key_of, Harness};
use fstore::registry::Registry;
use fstore::{Error, Store, Value};

mod features {
    fstore::registry!("features.toml");
}

/// A view with a list in each encoding (both `len = 8`) and an optional `f32le` list of any
/// length.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(name = "embeddings", ttl = "1h")]
struct Embeddings {
    #[fstore(len = 8)]
    text: Vec<f32>,
    #[fstore(len = 8, encoding = "f32le")]
    packed: Vec<f32>,
    #[fstore(encoding = "f32le")]
    any: Option<Vec<f32>>,
}

/// The same lists through a vector.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
struct EmbeddingInputs {
    #[fstore(view = "embeddings", len = 8)]
    text: Vec<f32>,
    #[fstore(view = "embeddings", len = 8, encoding = "f32le")]
    packed: Vec<f32>,
}

/// The same view in a registry, for the dynamic API.
const REGISTRY: &str = r#"
[entities.item]

[views.embeddings]
entity = "item"
ttl = "1h"

[views.embeddings.features]
text = { type = "float_list", len = 8 }
packed = { type = "float_list", len = 8, encoding = "f32le" }
any = { type = "float_list", encoding = "f32le", optional = true }
"#;

fn dynamic(h: &Harness) -> Store {
    h.store
        .with_registry(Registry::parse(REGISTRY, "embeddings.toml").unwrap())
}

const HALVES: [f32; 8] = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5];
/// What Python's `json.dumps(HALVES)` writes.
const HALVES_JSON: &[u8] = b"[0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]";

fn le(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// What numpy's default `np.array(values).tobytes()` stores: `float64`s.
fn float64_bytes(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|x| f64::from(*x).to_le_bytes())
        .collect()
}

/// Stores a valid `embeddings` row for `id` with `field` replaced by `value`.
async fn seed(h: &Harness, id: &str, field: &str, value: &[u8]) {
    let packed = le(&HALVES);
    let mut fields: Vec<(&str, &[u8])> = vec![("text", HALVES_JSON), ("packed", &packed)];
    fields.retain(|(f, _)| *f != field);
    fields.push((field, value));
    h.hset(&key_of::<Embeddings>(id), &fields).await;
}

/// Asserts that `err` is the decode error of `field` of entity `id`, with `expected` and a
/// reason starting with `reason`, and that its message shows an excerpt of `stored`.
fn assert_decode(err: &Error, id: &str, field: &str, expected: &str, reason: &str, stored: &[u8]) {
    match err {
        Error::Decode {
            key,
            field: f,
            expected: e,
            reason: r,
            found,
        } => {
            assert_eq!(key, &key_of::<Embeddings>(id), "{err}");
            assert_eq!(f, field, "{err}");
            assert_eq!(*e, expected, "{err}");
            assert!(r.starts_with(reason), "reason {r:?}, expected {reason:?}");
            let shown = &stored[..stored.len().min(64)];
            assert!(
                found.starts_with(&format!("\"{}", shown.escape_ascii())),
                "{found} does not show {stored:?}"
            );
        }
        other => panic!("expected a decode error of `{field}`, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!("`{field}` of `fs:v1:embeddings:{id}`")),
        "{message}"
    );
}

/// Every read path refuses entity `id` with the decode error of `field`: the typed read,
/// `read_batch`, the vector and the dynamic `read`, `read_batch` and `get_feature_vector` (which
/// name the expected type without the length, and give it in the reason).
async fn assert_every_read_refuses(
    h: &Harness,
    id: &str,
    field: &str,
    reason: &str,
    stored: &[u8],
) {
    let typed_expected = match field {
        "text" => "Vec<f32> (float_list, len 8, json)",
        _ => "Vec<f32> (float_list, len 8, f32le)",
    };
    let dynamic_expected = match field {
        "text" => "Vec<f32> (float_list, json)",
        _ => "Vec<f32> (float_list, f32le)",
    };
    let typed = Embeddings::read(&h.store, id).await.unwrap_err();
    assert_decode(&typed, id, field, typed_expected, reason, stored);
    let batch = Embeddings::read_batch(&h.store, ["absent", id])
        .await
        .unwrap_err();
    assert_eq!(batch.to_string(), typed.to_string());
    let vector = EmbeddingInputs::vector(&h.store, id).await.unwrap_err();
    assert_eq!(vector.to_string(), typed.to_string());

    let store = dynamic(h);
    let reference = format!("embeddings:{field}");
    for err in [
        store.read("embeddings", id, None).await.unwrap_err(),
        store.read_batch("embeddings", [id]).await.unwrap_err(),
        store
            .get_feature_vector(id, &[reference.as_str()])
            .await
            .unwrap_err(),
    ] {
        assert_decode(&err, id, field, dynamic_expected, reason, stored);
    }
}

async fn wrong_lengths_are_refused_on_every_read_path(h: Harness) {
    // The issue's cases: a `len = 8` list holding 3 floats (12 bytes), or 12 of them.
    let twelve = b"[0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5]";
    seed(&h, "long_text", "text", twelve).await;
    let reason = "12 floats, expected 8 (the declared `len`)";
    assert_every_read_refuses(&h, "long_text", "text", reason, twelve).await;

    seed(&h, "short_text", "text", b"[]").await;
    let reason = "0 floats, expected 8 (the declared `len`)";
    assert_every_read_refuses(&h, "short_text", "text", reason, b"[]").await;

    let three = le(&[0.5, 1.5, 2.5]);
    seed(&h, "short_packed", "packed", &three).await;
    let reason = "12 bytes: 3 f32 values? expected 32 bytes (8 × f32, f32le)";
    assert_every_read_refuses(&h, "short_packed", "packed", reason, &three).await;

    let odd = vec![0u8; 30];
    seed(&h, "odd_packed", "packed", &odd).await;
    let reason = "30 bytes is not a whole number of f32 values; expected 32 bytes";
    assert_every_read_refuses(&h, "odd_packed", "packed", reason, &odd).await;
}
both!(wrong_length, wrong_lengths_are_refused_on_every_read_path);

async fn wrong_encodings_are_refused_on_every_read_path(h: Harness) {
    // f32 bytes where JSON text is declared: the old default, or another writer's.
    let packed = le(&HALVES);
    seed(&h, "bytes_in_text", "text", &packed).await;
    let reason = "binary data, not JSON text: 32 bytes, as 8 little-endian f32 values would be; \
                  the feature is declared json (`encoding = \"f32le\"` reads f32 bytes)";
    assert_every_read_refuses(&h, "bytes_in_text", "text", reason, &packed).await;

    // numpy's default float64 bytes, in either encoding.
    let doubles = float64_bytes(&HALVES);
    seed(&h, "doubles_in_text", "text", &doubles).await;
    let reason = "binary data, not JSON text: 64 bytes";
    assert_every_read_refuses(&h, "doubles_in_text", "text", reason, &doubles).await;
    seed(&h, "doubles_in_packed", "packed", &doubles).await;
    let reason = "64 bytes: 8 float64 values? expected 32 bytes (8 × f32, f32le)";
    assert_every_read_refuses(&h, "doubles_in_packed", "packed", reason, &doubles).await;

    // What a Python writer stores where f32 bytes are declared: JSON text, of any length (these
    // 32 bytes are the size of 8 f32s).
    let reason = "looks like json text; the feature is declared f32le";
    for (i, text) in [
        &b"[0.5, 1.5, 2.5, 3.5]"[..],
        HALVES_JSON,
        b"[1.5,2.5,3.5,4.5,5.5,6.5,7.5,18]",
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("text_in_packed_{i}");
        seed(&h, &id, "packed", text).await;
        assert_every_read_refuses(&h, &id, "packed", reason, text).await;
    }

    // Text that is not a JSON array of numbers.
    for (i, (text, reason)) in [
        (
            &b"0.5, 1.5"[..],
            "not a JSON array of numbers (expected `[`)",
        ),
        (
            b"[0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5",
            "expected `,` or `]` after element 7",
        ),
        (
            b"[0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 1e39]",
            "element 7: out of range for f32 (overflows to infinity)",
        ),
        (
            b"[\"0.5\", 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]",
            "element 0 is not a number (at byte 1)",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("bad_text_{i}");
        seed(&h, &id, "text", text).await;
        assert_every_read_refuses(&h, &id, "text", reason, text).await;
    }
}
both!(
    wrong_encoding,
    wrong_encodings_are_refused_on_every_read_path
);

async fn python_json_text_reads_back_exactly(h: Harness) {
    let store = dynamic(&h);
    let nan_and_friends = [
        f32::NAN,
        f32::NEG_INFINITY,
        f32::INFINITY,
        -0.0,
        f32::from_bits(1),
        1.0,
        2000.0,
        f32::MAX,
    ];
    let cases: [(&[u8], [f32; 8]); 4] = [
        (HALVES_JSON, HALVES),
        (b" [ 0.5,1.5 ,\n2.5,\t3.5,4.5, 5.5,6.5 , 7.5 ]\r\n", HALVES),
        // Python's `json.dumps` of these values (as floats): its `repr` of each.
        (
            b"[NaN, -Infinity, Infinity, -0.0, 1e-45, 1, 2e3, 3.4028234663852886e+38]",
            nan_and_friends,
        ),
        (
            b"[0.1, 0.2, 0.30000001192092896, -1e-07, 1E+2, 100.0, 33554432, -5.5]",
            [0.1, 0.2, 0.3, -1e-7, 100.0, 100.0, 33_554_432.0, -5.5],
        ),
    ];
    let bits = |v: &[f32]| -> Vec<Option<u32>> {
        v.iter()
            .map(|x| (!x.is_nan()).then_some(x.to_bits()))
            .collect()
    };
    for (i, (text, want)) in cases.iter().enumerate() {
        let id = format!("py{i}");
        seed(&h, &id, "text", text).await;
        let typed = Embeddings::read(&h.store, &id).await.unwrap().unwrap();
        assert_eq!(bits(&typed.text), bits(want), "{}", text.escape_ascii());
        let batch = Embeddings::read_batch(&h.store, [&id]).await.unwrap();
        assert_eq!(bits(&batch[0].as_ref().unwrap().text), bits(want));
        let vector = EmbeddingInputs::vector(&h.store, &id).await.unwrap();
        assert_eq!(bits(&vector.text), bits(want));
        let row = store
            .read("embeddings", &id, Some(&["text"]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bits(row["text"].as_f32_slice().unwrap()), bits(want));
    }
}
both!(python_text, python_json_text_reads_back_exactly);

async fn stored_lists_are_json_text_and_f32le_bytes(h: Harness) {
    let text = vec![
        0.5,
        -1.5,
        0.1,
        1e-7,
        f32::MAX,
        -0.0,
        f32::from_bits(1),
        16_777_216.0,
    ];
    let row = Embeddings {
        text: text.clone(),
        packed: HALVES.to_vec(),
        any: Some(vec![f32::NAN, 2.0]),
    };
    row.write(&h.store, "w").await.unwrap();
    let stored = h.hgetall(&key_of::<Embeddings>("w")).await;
    let field = |name: &str| -> Vec<u8> {
        stored
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let json = b"[0.5, -1.5, 0.1, 1e-7, 3.4028235e38, -0.0, 1e-45, 16777216.0]";
    assert_eq!(
        field("text").escape_ascii().to_string(),
        json.escape_ascii().to_string()
    );
    // Valid JSON: what Python's `json.loads` (here serde_json) reads, the same numbers.
    let parsed: Vec<f64> = serde_json::from_slice(&field("text")).unwrap();
    let widened: Vec<f64> = text.iter().map(|x| f64::from(*x)).collect();
    for (p, w) in parsed.iter().zip(&widened) {
        assert_eq!(*p as f32, *w as f32, "{p} vs {w}");
    }
    assert_eq!(parsed.len(), 8);
    assert_eq!(field("packed"), le(&HALVES));
    assert_eq!(field("any"), le(&[f32::NAN, 2.0]));

    // The non-finite values as Python's `json` writes them (serde_json does not read these).
    let special = Embeddings {
        text: vec![
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            1.0,
            -2.0,
            0.25,
            3.0,
        ],
        ..row.clone()
    };
    special.write(&h.store, "special").await.unwrap();
    let stored = h.hgetall(&key_of::<Embeddings>("special")).await;
    assert!(
        stored
            .iter()
            .any(|(f, v)| f == "text"
                && v == b"[NaN, Infinity, -Infinity, 0.0, 1.0, -2.0, 0.25, 3.0]")
    );

    // The dynamic API stores the same bytes as the typed one.
    dynamic(&h)
        .write(
            "embeddings",
            "dyn",
            &[
                ("text", Value::FloatList(text)),
                ("packed", Value::FloatList(HALVES.to_vec())),
                ("any", Value::FloatList(vec![f32::NAN, 2.0])),
            ],
        )
        .await
        .unwrap();
    let without_stamp = |mut hash: Vec<(String, Vec<u8>)>| {
        hash.retain(|(f, _)| f != "_updated_at");
        hash.sort();
        hash
    };
    assert_eq!(
        without_stamp(h.hgetall(&key_of::<Embeddings>("dyn")).await),
        without_stamp(h.hgetall(&key_of::<Embeddings>("w")).await)
    );
}
both!(stored_format, stored_lists_are_json_text_and_f32le_bytes);

async fn both_encodings_round_trip(h: Harness) {
    let store = dynamic(&h);
    let row = Embeddings {
        text: vec![
            f32::MIN_POSITIVE,
            -f32::MAX,
            1.0 / 3.0,
            1e30,
            -1e-40,
            0.0,
            65504.0,
            -7.25,
        ],
        packed: vec![
            f32::from_bits(0x7fc0_1234),
            -0.0,
            1.0 / 3.0,
            1e30,
            -1e-40,
            0.0,
            65504.0,
            -7.25,
        ],
        any: Some(vec![]),
    };
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let same = |a: &Embeddings, b: &Embeddings| {
        assert_eq!(bits(&a.text), bits(&b.text));
        // f32le keeps every bit, NaN payloads included.
        assert_eq!(bits(&a.packed), bits(&b.packed));
        assert_eq!(a.any, b.any);
    };
    row.write(&h.store, "rt").await.unwrap();
    same(
        &Embeddings::read(&h.store, "rt").await.unwrap().unwrap(),
        &row,
    );
    Embeddings::write_batch(&h.store, [("rt_batch", &row)])
        .await
        .unwrap();
    let back = Embeddings::read_batch(&h.store, ["rt_batch"])
        .await
        .unwrap();
    same(back[0].as_ref().unwrap(), &row);
    let vector = EmbeddingInputs::vector(&h.store, "rt").await.unwrap();
    assert_eq!(bits(&vector.packed), bits(&row.packed));
    let dynamic_row = store.read("embeddings", "rt", None).await.unwrap().unwrap();
    assert_eq!(
        bits(dynamic_row["text"].as_f32_slice().unwrap()),
        bits(&row.text)
    );
    assert_eq!(
        bits(dynamic_row["packed"].as_f32_slice().unwrap()),
        bits(&row.packed)
    );
    assert_eq!(dynamic_row["any"], Value::FloatList(vec![]));
    // A NaN keeps only its NaN-ness in JSON text: the payload and sign are not kept.
    let nan = Embeddings {
        text: vec![f32::from_bits(0xffc0_1234); 8],
        ..row
    };
    nan.write(&h.store, "nan").await.unwrap();
    let back = Embeddings::read(&h.store, "nan").await.unwrap().unwrap();
    assert!(back.text.iter().all(|x| x.is_nan()));
}
both!(round_trip, both_encodings_round_trip);

async fn writes_of_the_wrong_length_write_nothing(h: Harness) {
    let store = dynamic(&h);
    let good = Embeddings {
        text: HALVES.to_vec(),
        packed: HALVES.to_vec(),
        any: None,
    };
    let assert_refused = |err: Error, view: &str, feature: &str, found: &str| match &err {
        Error::InvalidValue {
            view: v,
            feature: f,
            found: x,
            ..
        } => {
            assert_eq!(
                (v.as_str(), f.as_str(), x.as_str()),
                (view, feature, found),
                "{err}"
            );
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    };
    let short_text = Embeddings {
        text: vec![0.5; 3],
        ..good.clone()
    };
    let long_packed = Embeddings {
        packed: vec![0.5; 9],
        ..good.clone()
    };
    let three = "3 floats; the feature is declared `len = 8`";
    let nine = "9 floats; the feature is declared `len = 8`";
    assert_refused(
        short_text.write(&h.store, "t").await.unwrap_err(),
        "embeddings",
        "text",
        three,
    );
    assert_refused(
        long_packed.write(&h.store, "p").await.unwrap_err(),
        "embeddings",
        "packed",
        nine,
    );
    // One bad row refuses the whole batch, before anything is sent.
    let err = Embeddings::write_batch(&h.store, [("ok", &good), ("bad", &short_text)])
        .await
        .unwrap_err();
    assert_refused(err, "embeddings", "text", three);

    // The dynamic API: the registry's `len`.
    let err = store
        .write(
            "embeddings",
            "d",
            &[("packed", Value::FloatList(vec![1.0; 3]))],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot write feature `packed` of view `embeddings`: expected a `float_list` of 8 \
         elements (`Value::FloatList`), found a float_list of 3 elements"
    );
    let rows = [
        ("ok", vec![("text", Value::FloatList(HALVES.to_vec()))]),
        ("bad", vec![("text", Value::FloatList(vec![1.0; 12]))]),
    ];
    let err = store.write_batch("embeddings", rows).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidValue { feature, .. } if feature == "text"),
        "{err:?}"
    );

    // A struct generated from the registry (the issue's case: 3 floats into `len = 8`), and a
    // hand-written one checked against it.
    let profile = features::UserProfile {
        age: 1,
        lifetime_value: 2.0,
        segment: "basic".to_owned(),
        is_premium: false,
        country: None,
        days_since_signup: 3,
        embedding: vec![0.5; 3],
    };
    assert_refused(
        profile.write(&h.store, "g").await.unwrap_err(),
        "user_profile",
        "embedding",
        three,
    );
    assert_refused(
        features::UserProfile::write_batch(&h.store, [("g", &profile)])
            .await
            .unwrap_err(),
        "user_profile",
        "embedding",
        three,
    );
    let taste = Taste {
        embedding: vec![0.5; 9],
    };
    assert_refused(
        taste.write(&h.store, "h").await.unwrap_err(),
        "user_profile",
        "embedding",
        nine,
    );

    // f32 bytes that would read as JSON text (`[12, 34]`) cannot be stored as f32le.
    let text_bytes: Vec<f32> = b"[12, 34]"
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let lookalike = Embeddings {
        any: Some(text_bytes.clone()),
        ..good.clone()
    };
    let err = lookalike.write(&h.store, "l").await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidValue { feature, found, .. }
            if feature == "any" && found.contains("\"[12, 34]\"")),
        "{err:?}"
    );
    let err = store
        .write("embeddings", "l", &[("any", Value::FloatList(text_bytes))])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidValue { feature, .. } if feature == "any"),
        "{err:?}"
    );

    assert!(h.keys().await.is_empty(), "{:?}", h.keys().await);
    // The right length is written.
    good.write(&h.store, "ok").await.unwrap();
    assert_eq!(Embeddings::read(&h.store, "ok").await.unwrap(), Some(good));
}
both!(
    wrong_length_writes,
    writes_of_the_wrong_length_write_nothing
);

/// A hand-written struct checked against features.toml: the registry's `len = 8` applies.
#[derive(fstore::FeatureView, Debug, Clone, PartialEq)]
#[feature_view(registry = "features.toml", name = "user_profile")]
struct Taste {
    embedding: Vec<f32>,
}

async fn registry_lists_are_checked_on_read(h: Harness) {
    let key = key_of::<Taste>("r");
    h.hset(&key, &[("embedding", b"[0.5, 1.5, 2.5]")]).await;
    let err = Taste::read(&h.store, "r").await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { key: k, field, expected: "Vec<f32> (float_list, len 8, json)", reason, .. }
            if *k == key && field == "embedding" && reason == "3 floats, expected 8 (the declared `len`)"),
        "{err:?}"
    );
    let generated = features::UserProfile::read(&h.store, "r")
        .await
        .unwrap_err();
    assert!(matches!(
        generated,
        Error::Decode { .. } | Error::MissingField { .. }
    ));
    h.hset(&key, &[("embedding", HALVES_JSON)]).await;
    assert_eq!(
        Taste::read(&h.store, "r").await.unwrap(),
        Some(Taste {
            embedding: HALVES.to_vec()
        })
    );
}
both!(registry_reads, registry_lists_are_checked_on_read);
