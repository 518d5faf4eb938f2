//! Interop with the seed's Python library for `float_list` features (embeddings): the Python
//! library stores a list as JSON text (`json.dumps([0.5, 1.5])`, read back with `json.loads`).
//! Python writes → fstore's typed view, vector and dynamic reads give the same floats (as `f32`);
//! fstore writes → Python's whole-entity `read()` (`HGETALL`, which decodes every field of the
//! hash as UTF-8), `read(view, id, ["embedding"])` and `get_feature_vector` give the floats back.
//!
//! fstore writes each element as the shortest text that reads back as the same `f32`
//! (`3.4028235e38`), so Python's `float()` gives a double that is not the `f32`'s exact double
//! but narrows to it: Python's reads are compared as `f32`s ([`as_f32`]).

mod behaviour;
mod python;
mod support;

use behaviour::Harness;
use python::{row, Py, Python, Row};

mod features {
    #![allow(dead_code)]
    fstore::registry!("features.toml");
}

use features::{ItemStats, UserProfile};

/// A fresh server, a store on it, and the Python library on the same server.
async fn setup() -> (Harness, Python) {
    let mut h = Harness::valkey().await;
    let python = Python::new(h.server().port());
    (h, python)
}

/// Embeddings of the declared `len = 8`, each value an `f32` (so exact both ways): all equal
/// (JSON text of 40 bytes, a whole number of 4-byte `f32`s), mixed signs with `-0.0`, and the
/// `f32` range (largest finite, smallest subnormal).
fn embeddings() -> Vec<(&'static str, Vec<f32>)> {
    vec![
        ("halves", vec![0.5; 8]),
        (
            "mixed",
            vec![0.5, -1.5, 0.0, 2.25, -0.0, 1024.0, 0.125, -3.75],
        ),
        (
            "range",
            vec![
                f32::MAX,
                f32::from_bits(1),
                -2.5,
                1.0,
                f32::MIN,
                65504.0,
                0.25,
                3.0,
            ],
        ),
    ]
}

fn list(v: &[f32]) -> Py {
    Py::from(v)
}

fn profile(i: i64, embedding: Vec<f32>) -> UserProfile {
    UserProfile {
        age: 30 + i,
        lifetime_value: 10.5 * i as f64,
        segment: "vip".to_owned(),
        is_premium: i % 2 == 0,
        country: None,
        days_since_signup: i,
        embedding,
    }
}

fn profile_row(p: &UserProfile) -> Row {
    row([
        ("age", p.age.into()),
        ("lifetime_value", p.lifetime_value.into()),
        ("segment", (&p.segment).into()),
        ("is_premium", p.is_premium.into()),
        ("country", p.country.as_ref().into()),
        ("days_since_signup", p.days_since_signup.into()),
        ("embedding", list(&p.embedding)),
    ])
}

fn item(i: i64, embedding: Vec<f32>) -> ItemStats {
    ItemStats {
        price: 9.5 + i as f64,
        ctr_7d: 0.25,
        category: "books".to_owned(),
        in_stock: i % 2 == 1,
        embedding,
    }
}

fn item_row(s: &ItemStats) -> Row {
    row([
        ("price", s.price.into()),
        ("ctr_7d", s.ctr_7d.into()),
        ("category", (&s.category).into()),
        ("in_stock", s.in_stock.into()),
        ("embedding", list(&s.embedding)),
    ])
}

/// `row` with every float list narrowed to `f32` (as a model reading Python's floats into an
/// `f32` tensor would): what fstore's text must give back exactly.
fn as_f32(row: Row) -> Row {
    row.into_iter()
        .map(|(name, value)| match value {
            Py::FloatList(l) => (
                name,
                Py::FloatList(l.into_iter().map(|x| f64::from(x as f32)).collect()),
            ),
            other => (name, other),
        })
        .collect()
}

/// The embedding through a vector, whose `Vec<f32>` is checked against `len = 8`.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml")]
struct Taste {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_profile")]
    embedding: Vec<f32>,
}

#[tokio::test]
async fn python_lists_read_by_fstore() {
    let (h, py) = setup().await;
    let store = h.store.with_registry(behaviour::root_registry());
    let rows: Vec<(&str, UserProfile)> = embeddings()
        .into_iter()
        .enumerate()
        .map(|(i, (id, e))| (id, profile(i as i64, e)))
        .collect();
    let written: Vec<(&str, Row)> = rows.iter().map(|(id, p)| (*id, profile_row(p))).collect();
    py.write("user_profile", &written);
    let items: Vec<(&str, ItemStats)> = embeddings()
        .into_iter()
        .enumerate()
        .map(|(i, (id, e))| (id, item(i as i64, e)))
        .collect();
    let written: Vec<(&str, Row)> = items.iter().map(|(id, s)| (*id, item_row(s))).collect();
    py.write("item_stats", &written);

    for (id, want) in &rows {
        let got = UserProfile::read(&h.store, *id).await.unwrap().unwrap();
        assert_eq!(profile_row(&got), profile_row(want), "typed read of {id}");
        let got = Taste::vector(&h.store, *id).await.unwrap();
        assert_eq!(
            list(&got.embedding),
            list(&want.embedding),
            "vector of {id}"
        );
        let got = store
            .read("user_profile", *id, Some(&["embedding"]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            Py::from(&got["embedding"]),
            list(&want.embedding),
            "dynamic read of {id}"
        );
    }
    for (id, want) in &items {
        let got = ItemStats::read(&h.store, *id).await.unwrap().unwrap();
        assert_eq!(item_row(&got), item_row(want), "typed read of item {id}");
    }
    let ids: Vec<&str> = rows.iter().map(|(id, _)| *id).collect();
    let got = UserProfile::read_batch(&h.store, &ids).await.unwrap();
    for ((id, want), got) in rows.iter().zip(got) {
        assert_eq!(
            got.as_ref().map(profile_row),
            Some(profile_row(want)),
            "read_batch of {id}"
        );
    }
}

#[tokio::test]
async fn fstore_lists_read_by_python() {
    let (h, py) = setup().await;
    let store = h.store.with_registry(behaviour::root_registry());
    let mut rows = Vec::new();
    for (i, (id, embedding)) in embeddings().into_iter().enumerate() {
        let p = profile(i as i64, embedding);
        p.write(&h.store, id).await.unwrap();
        rows.push((id, p));
    }
    let items: Vec<(&str, ItemStats)> = embeddings()
        .into_iter()
        .enumerate()
        .map(|(i, (id, e))| (id, item(i as i64, e)))
        .collect();
    ItemStats::write_batch(&h.store, &items).await.unwrap();
    let (id, embedding) = &embeddings()[1];
    let dynamic = format!("dynamic_{id}");
    store
        .write(
            "user_profile",
            dynamic.as_str(),
            &[("embedding", fstore::Value::FloatList(embedding.clone()))],
        )
        .await
        .unwrap();

    let ids: Vec<&str> = rows.iter().map(|(id, _)| *id).collect();
    // The tutorial's default read: HGETALL, every field decoded.
    let got = py.read("user_profile", &ids, None);
    for ((id, want), got) in rows.iter().zip(got) {
        let mut got = as_f32(got.unwrap_or_else(|| panic!("Python read no {id}")));
        let mut want = python::present(&profile_row(want));
        got.sort_by(|a, b| a.0.cmp(&b.0));
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, want, "Python read of {id}");
    }
    let got = py.read("item_stats", &ids, None);
    for ((id, want), got) in items.iter().zip(got) {
        let mut got = as_f32(got.unwrap_or_else(|| panic!("Python read no item {id}")));
        let mut want = item_row(want);
        got.sort_by(|a, b| a.0.cmp(&b.0));
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, want, "Python read of item {id}");
    }
    let got: Vec<Option<Row>> = py
        .read("user_profile", &[dynamic.as_str()], Some(&["embedding"]))
        .into_iter()
        .map(|r| r.map(as_f32))
        .collect();
    assert_eq!(
        got,
        [Some(row([("embedding", list(embedding))]))],
        "Python read of the dynamic write"
    );
    let got = py.get_feature_vector(&ids, &["user_profile:embedding", "user_profile:age"]);
    for ((id, want), got) in rows.iter().zip(got) {
        assert_eq!(
            as_f32(got),
            row([
                ("user_profile__embedding", list(&want.embedding)),
                ("user_profile__age", want.age.into()),
            ]),
            "Python get_feature_vector of {id}"
        );
    }
}
