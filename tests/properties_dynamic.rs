//! Property: the dynamic `Value` API round-trips the same types as the typed views, reads what
//! typed views write and the reverse, and rejects a value of the wrong type or length without
//! writing anything. Run on the embedded backend and on a throwaway `valkey-server`; the shared
//! harness is `tests/properties/`.

mod behaviour;
mod properties;
mod support;

use fstore::registry::Registry;
use fstore::{Error, Features, Store, Value};
use properties::compare::{bits, f64c, features_c, floats, vc, Float, V};
use properties::harness::{check, on_both, Backend, Env, Reached, CASES};
use properties::model::f32le_refused;
use properties::strategies::{any_f32, any_f64, any_i64, list, text};
use properties::views::{DynTyped, DYNAMIC_REGISTRY};
use proptest::collection::vec;
use proptest::prelude::*;

/// `(feature, registry type, declared len)` of `prop_dynamic`, in registry order.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    Int,
    Float,
    Str,
    Bool,
    /// A `json` list.
    List(Option<usize>),
    /// An `f32le` list.
    Packed(usize),
}

const DYNAMIC_FEATURES: [(&str, Ty); 9] = [
    ("i", Ty::Int),
    ("f", Ty::Float),
    ("s", Ty::Str),
    ("b", Ty::Bool),
    ("e", Ty::List(None)),
    ("e4", Ty::List(Some(4))),
    ("p3", Ty::Packed(3)),
    ("d", Ty::Int),
    ("o", Ty::Str),
];

fn value_of(ty: Ty) -> BoxedStrategy<Value> {
    match ty {
        Ty::Int => any_i64().prop_map(Value::Int).boxed(),
        Ty::Float => prop_oneof![
            4 => any_f64().prop_map(Value::Float),
            1 => any_i64().prop_map(Value::Int),
        ]
        .boxed(),
        Ty::Str => text().prop_map(Value::String).boxed(),
        Ty::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Ty::List(None) => list().prop_map(Value::FloatList).boxed(),
        Ty::List(Some(len)) | Ty::Packed(len) => prop_oneof![
            4 => vec(any_f32(), len..=len).prop_map(Value::FloatList),
            1 => vec(any_f32(), 0..len + 3).prop_map(Value::FloatList),
        ]
        .boxed(),
    }
}

fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        value_of(Ty::Int),
        any_f64().prop_map(Value::Float),
        value_of(Ty::Str),
        value_of(Ty::Bool),
        value_of(Ty::List(None)),
        Just(Value::Null),
    ]
    .boxed()
}

/// Per feature: not given, or a value (mostly of the right type, sometimes `Null` or any type).
fn dynamic_write() -> impl Strategy<Value = Vec<Option<Value>>> {
    DYNAMIC_FEATURES
        .iter()
        .map(|&(_, ty)| {
            prop::option::weighted(
                0.85,
                prop_oneof![
                    24 => value_of(ty),
                    1 => Just(Value::Null),
                    1 => any_value(),
                ],
            )
        })
        .collect::<Vec<_>>()
}

/// What a feature of type `ty` reads as after `value` was written (`Null`: absent), or `None`
/// when the write must refuse `value` (documented in `Store::write`: an int is a valid float).
fn written_as(ty: Ty, value: &Value) -> Option<Value> {
    match (ty, value) {
        (_, Value::Null) => Some(Value::Null),
        (Ty::Int, Value::Int(_))
        | (Ty::Float, Value::Float(_))
        | (Ty::Str, Value::String(_))
        | (Ty::Bool, Value::Bool(_)) => Some(value.clone()),
        (Ty::Float, Value::Int(i)) => Some(Value::Float(*i as f64)),
        (Ty::List(len), Value::FloatList(v)) if len.is_none_or(|n| n == v.len()) => {
            Some(value.clone())
        }
        // f32 bytes that would read as JSON text are refused too.
        (Ty::Packed(len), Value::FloatList(v)) if len == v.len() && !f32le_refused(v) => {
            Some(value.clone())
        }
        _ => None,
    }
}

fn typed_twin(f: &Features) -> DynTyped {
    let float_list = |n: &str| f[n].as_f32_slice().map(<[f32]>::to_vec);
    DynTyped {
        i: f["i"].as_i64(),
        f: match f["f"] {
            Value::Float(x) => Some(x),
            _ => None,
        },
        s: f["s"].as_str().map(str::to_owned),
        b: f["b"].as_bool(),
        e: float_list("e"),
        e4: float_list("e4"),
        p3: float_list("p3"),
        d: f["d"].as_i64().expect("`d` has a default"),
        o: f["o"].as_str().map(str::to_owned),
    }
}

#[allow(clippy::type_complexity)]
fn dyn_typed_c(
    t: &DynTyped,
) -> (
    Option<i64>,
    Option<Float>,
    Option<&str>,
    Option<bool>,
    Option<Vec<Float>>,
    Option<Vec<Float>>,
    Option<Vec<u32>>,
    i64,
    Option<&str>,
) {
    (
        t.i,
        t.f.map(f64c),
        t.s.as_deref(),
        t.b,
        t.e.as_deref().map(floats),
        t.e4.as_deref().map(floats),
        t.p3.as_deref().map(bits),
        t.d,
        t.o.as_deref(),
    )
}

fn dynamic_round_trips(backend: Backend) {
    let env = Env::new(backend);
    let registry = Registry::parse(DYNAMIC_REGISTRY, "prop.toml").unwrap();
    let store: Store = env.h.store.with_registry(registry);
    let reached = Reached::default();
    check(CASES, dynamic_write(), |given| {
        env.rt.block_on(async {
            let n = env.next_case();
            let id = format!("dyn{n}");
            let features: Vec<(&str, Value)> = DYNAMIC_FEATURES
                .iter()
                .zip(&given)
                .filter_map(|(&(name, _), v)| Some((name, v.clone()?)))
                .collect();
            let refused: Vec<&str> = DYNAMIC_FEATURES
                .iter()
                .zip(&given)
                .filter(|((_, ty), v)| v.as_ref().is_some_and(|v| written_as(*ty, v).is_none()))
                .map(|((name, _), _)| *name)
                .collect();
            let result = store.write("prop_dynamic", &id, &features).await;
            if !refused.is_empty() {
                reached.hit("refused");
                match result {
                    Err(Error::InvalidValue { view, feature, .. }) => {
                        prop_assert_eq!(view, "prop_dynamic");
                        prop_assert!(refused.contains(&feature.as_str()), "{}", feature);
                    }
                    other => prop_assert!(false, "expected InvalidValue, got {:?}", other),
                }
                // Nothing is written when a write reports it.
                prop_assert_eq!(store.read("prop_dynamic", &id, None).await.unwrap(), None);
                return Ok(());
            }
            result.unwrap();
            reached.hit("written");

            // What a read gives: the value written, an int widened for a float feature; an
            // absent feature reads as its default (`d` = 7) or `Null`.
            let want: Vec<(String, V)> = DYNAMIC_FEATURES
                .iter()
                .zip(&given)
                .map(|(&(name, ty), v)| {
                    let read = v
                        .as_ref()
                        .and_then(|v| written_as(ty, v))
                        .unwrap_or(Value::Null);
                    let read = match (name, read) {
                        ("d", Value::Null) => Value::Int(7),
                        (_, read) => read,
                    };
                    (name.to_owned(), vc(&read))
                })
                .collect();
            let got = store
                .read("prop_dynamic", &id, None)
                .await
                .unwrap()
                .unwrap();
            prop_assert_eq!(features_c(&got), want.clone());
            let batch = store
                .read_batch("prop_dynamic", [id.as_str(), "dyn_missing", id.as_str()])
                .await
                .unwrap();
            prop_assert_eq!(batch.len(), 3);
            prop_assert!(batch[1].is_none());
            for row in [&batch[0], &batch[2]] {
                prop_assert_eq!(features_c(row.as_ref().unwrap()), want.clone());
            }

            // Typed views read what the dynamic API wrote, and the reverse.
            let twin = typed_twin(&got);
            let typed = DynTyped::read(&env.h.store, &id).await.unwrap().unwrap();
            prop_assert_eq!(dyn_typed_c(&typed), dyn_typed_c(&twin));
            let typed_id = format!("dyn{n}_typed");
            twin.write(&env.h.store, &typed_id).await.unwrap();
            let back = store
                .read("prop_dynamic", &typed_id, None)
                .await
                .unwrap()
                .unwrap();
            prop_assert_eq!(features_c(&back), want);
            Ok(())
        })
    });
    reached.assert_all(&["refused", "written"]);
}
on_both!(dynamic_round_trip, dynamic_round_trips);
