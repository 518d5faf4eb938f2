//! Property: arbitrary entity ids (unicode, `:`, `{`, `}`, spaces, control characters, integers)
//! round-trip, give the key `prefix + id` (`prefix + {id}` in the hash-tag layout), never collide
//! across views, versions or namespaces, and integer ids are their decimal text; the empty id is
//! `Error::InvalidEntityId` everywhere and writes nothing. Run on the embedded backend and on a
//! throwaway `valkey-server`; the shared harness is `tests/properties/`.

mod behaviour;
mod properties;
mod support;

use std::collections::HashMap;
use std::fmt;

use fstore::registry::Registry;
use fstore::{Error, FeatureView, KeyLayout, Store, Value};
use properties::harness::{check, on_both, Backend, Env, CASES, KEY_CASES};
use properties::views::{IdsA, IdsB, IdsC, IdsD, PropVector, DYNAMIC_REGISTRY};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::TestCaseError;

const ID_CHARS: &[char] = &[
    ':', '{', '}', ' ', '\t', '\n', '\r', '\0', '*', '?', '[', ']', '\\', '"', '.', 'v', '1', '2',
    'é', '日', '🦀', '\u{feff}', '\u{200b}',
];

/// A non-empty id: key syntax, unicode, controls, integer-looking text.
fn entity_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => vec(select(ID_CHARS), 1..12).prop_map(String::from_iter),
        3 => vec(any::<char>(), 1..12).prop_map(String::from_iter),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => select(&[":", "{", "}", "{}", "v:1", ":v2:prop_ids:", " ", "prop_ids.v:x"][..])
            .prop_map(str::to_owned),
    ]
}

/// The keys of `id` in the four id views, in `layout`.
fn keys_of(id: &str, layout: KeyLayout) -> [(&'static str, Result<String, Error>); 4] {
    [
        (IdsA::KEY_PREFIX, IdsA::key_in(id, layout)),
        (IdsB::KEY_PREFIX, IdsB::key_in(id, layout)),
        (IdsC::KEY_PREFIX, IdsC::key_in(id, layout)),
        (IdsD::KEY_PREFIX, IdsD::key_in(id, layout)),
    ]
}

#[test]
fn keys_are_prefix_and_id_and_never_collide() {
    let ids = vec(
        prop_oneof![9 => entity_id(), 1 => Just(String::new())],
        1..10,
    );
    check(
        KEY_CASES,
        (ids, any::<u64>(), any::<i64>(), any::<u32>(), any::<i32>()),
        |(ids, unsigned, signed, small, small_signed)| {
            // Keys of one layout share a store, so they must be distinct within a layout (a
            // plain key may equal a tagged one: `{x}` plain is `x` tagged).
            for layout in [KeyLayout::Plain, KeyLayout::HashTag] {
                let mut owner: HashMap<String, (&str, &str)> = HashMap::new();
                for id in &ids {
                    for (prefix, key) in keys_of(id, layout) {
                        if id.is_empty() {
                            match key {
                                Err(Error::InvalidEntityId { id, view, .. }) => {
                                    prop_assert_eq!(id, "");
                                    prop_assert!(prefix.contains(&format!(":{view}:")), "{}", view);
                                }
                                other => prop_assert!(false, "the empty id gave {:?}", other),
                            }
                            continue;
                        }
                        // The id is written verbatim after the view's prefix (entity.rs), or in
                        // a hash tag.
                        let key = key.unwrap();
                        let want = match layout {
                            KeyLayout::HashTag => format!("{prefix}{{{id}}}"),
                            _ => format!("{prefix}{id}"),
                        };
                        prop_assert_eq!(&key, &want, "{:?}", layout);
                        // Distinct (view, id) pairs have distinct keys.
                        if let Some(&(p, i)) = owner.get(&key) {
                            prop_assert!(
                                p == prefix && i == id.as_str(),
                                "`{}` is the key of ({}, {:?}) and of ({}, {:?})",
                                key,
                                p,
                                i,
                                prefix,
                                id
                            );
                        }
                        owner.insert(key, (prefix, id));
                    }
                }
            }
            // `key` is the plain layout.
            for id in &ids {
                prop_assert_eq!(IdsA::key(id).ok(), IdsA::key_in(id, KeyLayout::Plain).ok());
            }
            // Integer ids are their decimal text (entity.rs): `7u64` and `"7"` are one entity.
            prop_assert_eq!(
                IdsA::key(unsigned).unwrap(),
                IdsA::key(unsigned.to_string()).unwrap()
            );
            prop_assert_eq!(
                IdsB::key(signed).unwrap(),
                IdsB::key(signed.to_string()).unwrap()
            );
            prop_assert_eq!(
                IdsC::key(small).unwrap(),
                IdsC::key(small.to_string()).unwrap()
            );
            prop_assert_eq!(
                IdsD::key(Box::new(small_signed)).unwrap(),
                IdsD::key(small_signed.to_string().as_str()).unwrap()
            );
            Ok(())
        },
    );
}

fn entity_ids_round_trip(backend: Backend) {
    let env = Env::new(backend);
    let strategy = (vec(entity_id(), 1..6), any::<u64>(), any::<i64>());
    check(CASES, strategy, |(mut ids, unsigned, signed)| {
        ids.sort();
        ids.dedup();
        env.rt.block_on(async {
            let store = &env.h.store;
            let n = env.next_case();
            // A tag unique to this case, view and id: a collision or a lost write shows.
            let tag = |prefix: &str, id: &str| format!("{n}|{prefix}|{id}");
            for id in &ids {
                IdsA {
                    tag: tag(IdsA::KEY_PREFIX, id),
                }
                .write(store, id)
                .await
                .unwrap();
                IdsC {
                    tag: tag(IdsC::KEY_PREFIX, id),
                }
                .write(store, id.as_str())
                .await
                .unwrap();
            }
            let b: Vec<(&String, IdsB)> = ids
                .iter()
                .map(|id| {
                    (
                        id,
                        IdsB {
                            tag: tag(IdsB::KEY_PREFIX, id),
                        },
                    )
                })
                .collect();
            IdsB::write_batch(store, b).await.unwrap();
            let d: Vec<(String, IdsD)> = ids
                .iter()
                .map(|id| {
                    (
                        id.clone(),
                        IdsD {
                            tag: tag(IdsD::KEY_PREFIX, id),
                        },
                    )
                })
                .collect();
            IdsD::write_batch(store, d).await.unwrap();

            for id in &ids {
                let a = IdsA::read(store, id).await.unwrap().map(|r| r.tag);
                prop_assert_eq!(a, Some(tag(IdsA::KEY_PREFIX, id)));
                let b = IdsB::read(store, id).await.unwrap().map(|r| r.tag);
                prop_assert_eq!(b, Some(tag(IdsB::KEY_PREFIX, id)));
                let c = IdsC::read(store, id).await.unwrap().map(|r| r.tag);
                prop_assert_eq!(c, Some(tag(IdsC::KEY_PREFIX, id)));
                let d = IdsD::read(store, id).await.unwrap().map(|r| r.tag);
                prop_assert_eq!(d, Some(tag(IdsD::KEY_PREFIX, id)));
                // The raw hash at `prefix + id` holds this view's tag.
                let raw = env.h.hgetall(&format!("{}{id}", IdsB::KEY_PREFIX)).await;
                let stored = raw.iter().find(|(f, _)| f == "tag").map(|(_, v)| v.clone());
                prop_assert_eq!(stored, Some(tag(IdsB::KEY_PREFIX, id).into_bytes()));
            }
            let a = IdsA::read_batch(store, &ids).await.unwrap();
            let want: Vec<Option<String>> = ids
                .iter()
                .map(|id| Some(tag(IdsA::KEY_PREFIX, id)))
                .collect();
            prop_assert_eq!(
                a.into_iter().map(|r| r.map(|r| r.tag)).collect::<Vec<_>>(),
                want
            );
            let d = IdsD::read_batch(store, ids.iter().map(String::as_str))
                .await
                .unwrap();
            let want: Vec<Option<String>> = ids
                .iter()
                .map(|id| Some(tag(IdsD::KEY_PREFIX, id)))
                .collect();
            prop_assert_eq!(
                d.into_iter().map(|r| r.map(|r| r.tag)).collect::<Vec<_>>(),
                want
            );

            // Integer ids are their decimal text: written as an integer, read as text, and back.
            let int_tag = format!("{n}|u64");
            IdsA {
                tag: int_tag.clone(),
            }
            .write(store, unsigned)
            .await
            .unwrap();
            let back = IdsA::read(store, unsigned.to_string()).await.unwrap();
            prop_assert_eq!(back.map(|r| r.tag), Some(int_tag));
            let int_tag = format!("{n}|i64");
            IdsB {
                tag: int_tag.clone(),
            }
            .write(store, signed.to_string())
            .await
            .unwrap();
            let back = IdsB::read_batch(store, [signed]).await.unwrap();
            prop_assert_eq!(
                back.into_iter()
                    .map(|r| r.map(|r| r.tag))
                    .collect::<Vec<_>>(),
                [Some(int_tag)]
            );
            Ok(())
        })
    });
}
on_both!(entity_id_round_trip, entity_ids_round_trip);

fn is_empty_id_error(
    result: Result<impl fmt::Debug, Error>,
    view: &str,
) -> Result<(), TestCaseError> {
    match result {
        Err(err @ Error::InvalidEntityId { .. }) => {
            let message = err.to_string();
            match err {
                Error::InvalidEntityId { view: v, id, .. } => {
                    prop_assert_eq!(v, view);
                    prop_assert_eq!(id, "");
                }
                _ => unreachable!(),
            }
            prop_assert!(message.contains(&format!("`{view}`")), "{}", message);
            Ok(())
        }
        other => Err(TestCaseError::fail(format!(
            "expected InvalidEntityId for view `{view}`, got {other:?}"
        ))),
    }
}

fn empty_id_is_an_error(backend: Backend) {
    let env = Env::new(backend);
    let registry = Registry::parse(DYNAMIC_REGISTRY, "prop.toml").unwrap();
    let dynamic: Store = env.h.store.with_registry(registry);
    let strategy = (vec(entity_id(), 0..6), any::<Index>());
    check(CASES, strategy, |(others, at)| {
        env.rt.block_on(async {
            let store = &env.h.store;
            let n = env.next_case();
            let tag = format!("empty{n}");
            let mut ids: Vec<String> = others.clone();
            ids.insert(at.index(ids.len() + 1), String::new());

            is_empty_id_error(IdsA::read(store, "").await, "prop_ids")?;
            is_empty_id_error(IdsA::read(store, String::new()).await, "prop_ids")?;
            is_empty_id_error(IdsB::read_batch(store, &ids).await, "prop_ids.v")?;
            let row = IdsA { tag: tag.clone() };
            is_empty_id_error(row.write(store, "").await, "prop_ids")?;
            is_empty_id_error(
                IdsC::write_batch(store, ids.iter().map(|id| (id, IdsC { tag: tag.clone() })))
                    .await,
                "prop_ids",
            )?;
            // A vector names its first view.
            is_empty_id_error(PropVector::vector(store, "").await, "prop_vec_a")?;
            is_empty_id_error(PropVector::vector_batch(store, &ids).await, "prop_vec_a")?;
            is_empty_id_error(dynamic.read("prop_dynamic", "", None).await, "prop_dynamic")?;
            is_empty_id_error(
                dynamic.read_batch("prop_dynamic", &ids).await,
                "prop_dynamic",
            )?;
            is_empty_id_error(
                dynamic
                    .write("prop_dynamic", "", &[("i", Value::Int(1))])
                    .await,
                "prop_dynamic",
            )?;

            // Nothing was written: no key `prefix` (the empty id's would-be key), and the batch
            // with the empty id wrote none of its other rows (ids are checked before sending).
            prop_assert!(env.h.hgetall(IdsA::KEY_PREFIX).await.is_empty());
            prop_assert!(env.h.hgetall(IdsC::KEY_PREFIX).await.is_empty());
            for id in &others {
                let c = IdsC::read(store, id).await.unwrap();
                prop_assert!(c.is_none_or(|c| c.tag != tag), "{:?} was written", id);
            }
            Ok(())
        })
    });
}
on_both!(empty_id, empty_id_is_an_error);
