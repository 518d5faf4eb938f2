//! Property: every value of every feature type (all of `codec.rs`, `Option`s and `Vec<f32>` in
//! both list encodings included) round-trips through `write`/`write_batch` and
//! `read`/`read_batch`, is stored in the documented format, and overwrites (a `None` removes an
//! earlier value). Run on the embedded backend and on a throwaway `valkey-server`; the shared
//! harness is `tests/properties/`.

mod behaviour;
mod properties;
mod support;

use std::collections::HashMap;

use behaviour::key_of;
use properties::compare::{canon, canon_opt, f32c, f64c, Bytes, Float};
use properties::harness::{check, on_both, Backend, Env, CASES};
use properties::model::{f32le_bytes, json_text};
use properties::strategies::every_type;
use properties::views::EveryType;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// The hash fields a write of `row` must store, in the codec's documented format (codec.rs):
/// decimal integers, `true`/`false`, raw UTF-8, lists as the JSON text Python's `json.dumps`
/// writes (the default encoding) or little-endian `f32` bytes (`encoding = "f32le"`); `None`
/// stores nothing. Floats are checked separately (their text is the shortest round-trip form).
fn expected_exact_fields(row: &EveryType) -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> = vec![
        ("a_i64", row.a_i64.to_string().into_bytes()),
        ("a_i32", row.a_i32.to_string().into_bytes()),
        ("a_u32", row.a_u32.to_string().into_bytes()),
        ("a_u64", row.a_u64.to_string().into_bytes()),
        (
            "a_bool",
            if row.a_bool {
                b"true".to_vec()
            } else {
                b"false".to_vec()
            },
        ),
        ("a_string", row.a_string.clone().into_bytes()),
        ("embedding", json_text(&row.embedding)),
        ("packed", f32le_bytes(&row.packed)),
    ];
    let optional: [(&'static str, Option<Vec<u8>>); 8] = [
        ("o_i64", row.o_i64.map(|v| v.to_string().into_bytes())),
        ("o_i32", row.o_i32.map(|v| v.to_string().into_bytes())),
        ("o_u32", row.o_u32.map(|v| v.to_string().into_bytes())),
        ("o_u64", row.o_u64.map(|v| v.to_string().into_bytes())),
        (
            "o_bool",
            row.o_bool.map(|b| {
                if b {
                    b"true".to_vec()
                } else {
                    b"false".to_vec()
                }
            }),
        ),
        ("o_string", row.o_string.clone().map(String::into_bytes)),
        ("o_embedding", row.o_embedding.as_deref().map(json_text)),
        ("o_packed", row.o_packed.as_deref().map(f32le_bytes)),
    ];
    out.extend(optional.into_iter().filter_map(|(f, v)| Some((f, v?))));
    out
}

/// Checks the stored text of one float: `nan`, `inf`, `-inf`, or a plain decimal (digits, `.`,
/// `e`, `-`, as Python reads) that parses back to the same bits.
fn check_float_text(
    field: &str,
    stored: &[u8],
    bits_back: impl Fn(&str) -> Option<Float>,
    want: Float,
    infinite: Option<bool>,
) -> Result<(), TestCaseError> {
    let text = std::str::from_utf8(stored)
        .map_err(|_| TestCaseError::fail(format!("`{field}` is not UTF-8: {stored:?}")))?;
    match (&want, infinite) {
        (Float::NaN, _) => prop_assert_eq!(text, "nan", "`{}`", field),
        (_, Some(true)) => prop_assert_eq!(text, "inf", "`{}`", field),
        (_, Some(false)) => prop_assert_eq!(text, "-inf", "`{}`", field),
        _ => {
            prop_assert!(
                !text.is_empty()
                    && text
                        .chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '-')),
                "`{}` is stored as {:?}, not a plain decimal",
                field,
                text
            );
            prop_assert_eq!(bits_back(text), Some(want), "`{}` = {:?}", field, text);
        }
    }
    Ok(())
}

fn check_stored_format(stored: &[(String, Vec<u8>)], row: &EveryType) -> Result<(), TestCaseError> {
    let stored: HashMap<&str, &[u8]> = stored
        .iter()
        .map(|(f, v)| (f.as_str(), v.as_slice()))
        .collect();
    let exact = expected_exact_fields(row);
    for (field, want) in &exact {
        prop_assert_eq!(
            stored.get(field).map(|v| Bytes(v.to_vec())),
            Some(Bytes(want.clone())),
            "stored `{}`",
            field
        );
    }
    // The JSON text is JSON: Python's `json.loads` (here serde_json, which reads finite numbers
    // only) reads each element's shortest round-trip text as the number it spells (serde_json's
    // default parser may be an ulp off, Python's is not: hence the tolerance).
    for (field, list) in [
        ("embedding", Some(&row.embedding)),
        ("o_embedding", row.o_embedding.as_ref()),
    ] {
        let Some(list) = list.filter(|l| l.iter().all(|x| x.is_finite())) else {
            continue;
        };
        let raw = stored.get(field).copied().unwrap_or_default();
        let parsed: Result<Vec<f64>, _> = serde_json::from_slice(raw);
        prop_assert!(
            parsed.is_ok(),
            "`{}` = {:?} is not JSON",
            field,
            Bytes(raw.to_vec())
        );
        let spelled: Vec<f64> = list
            .iter()
            .map(|x| format!("{x:?}").parse::<f64>().unwrap())
            .collect();
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.len(), spelled.len(), "`{}`", field);
        for (p, s) in parsed.iter().zip(&spelled) {
            prop_assert!(
                (p - s).abs() <= s.abs() * 1e-15,
                "`{}`: {} for {}",
                field,
                p,
                s
            );
        }
    }
    let f64_back = |t: &str| t.parse::<f64>().ok().map(f64c);
    let f32_back = |t: &str| t.parse::<f32>().ok().map(f32c);
    let inf64 = |x: f64| x.is_infinite().then_some(x > 0.0);
    let inf32 = |x: f32| x.is_infinite().then_some(x > 0.0);
    let mut floats = 0;
    for (field, value) in [("a_f64", Some(row.a_f64)), ("o_f64", row.o_f64)] {
        if let Some(x) = value {
            let raw = stored.get(field).copied().unwrap_or_default();
            check_float_text(field, raw, f64_back, f64c(x), inf64(x))?;
            floats += 1;
        }
    }
    for (field, value) in [("a_f32", Some(row.a_f32)), ("o_f32", row.o_f32)] {
        if let Some(x) = value {
            let raw = stored.get(field).copied().unwrap_or_default();
            check_float_text(field, raw, f32_back, f32c(x), inf32(x))?;
            floats += 1;
        }
    }
    // Nothing else: absent options leave no field, and `_updated_at` is the write's stamp.
    let updated_at = stored.get("_updated_at").copied().unwrap_or_default();
    prop_assert!(
        std::str::from_utf8(updated_at)
            .ok()
            .and_then(|t| t.split_once('.'))
            .is_some_and(|(s, ms)| s.parse::<u64>().is_ok()
                && ms.len() == 3
                && ms.parse::<u16>().is_ok()),
        "`_updated_at` is {:?}",
        Bytes(updated_at.to_vec())
    );
    prop_assert_eq!(
        stored.len(),
        exact.len() + floats + 1,
        "{:?}",
        stored.keys()
    );
    Ok(())
}

fn every_type_round_trips(backend: Backend) {
    let env = Env::new(backend);
    let strategy = (vec(every_type(), 1..4), vec(every_type(), 0..4));
    check(CASES, strategy, |(versions, batch)| {
        env.rt.block_on(async {
            let h = &env.h;
            let n = env.next_case();
            // Successive writes to one entity: the read is the last, field for field (a `None`
            // removes what an earlier write stored).
            let id = format!("rt{n}");
            for row in &versions {
                row.write(&h.store, &id).await.unwrap();
            }
            let last = versions.last().unwrap();
            let back = EveryType::read(&h.store, &id).await.unwrap();
            prop_assert_eq!(canon_opt(&back), Some(canon(last)));
            check_stored_format(&h.hgetall(&key_of::<EveryType>(&id)).await, last)?;

            // A batch written at once, read one by one and as a batch (on a server, through
            // the raw RESP decoder), with a missing entity in the middle.
            let ids: Vec<String> = (0..batch.len()).map(|i| format!("rt{n}_{i}")).collect();
            let rows: Vec<(&String, &EveryType)> = ids.iter().zip(&batch).collect();
            EveryType::write_batch(&h.store, rows).await.unwrap();
            let mut asked: Vec<String> = ids.clone();
            asked.insert(asked.len() / 2, format!("rt{n}_missing"));
            asked.push(id.clone());
            let got = EveryType::read_batch(&h.store, &asked).await.unwrap();
            prop_assert_eq!(got.len(), asked.len());
            let mut want: Vec<Option<&EveryType>> = batch.iter().map(Some).collect();
            want.insert(want.len() / 2, None);
            want.push(Some(last));
            for ((asked, got), want) in asked.iter().zip(&got).zip(&want) {
                prop_assert_eq!(canon_opt(got), want.map(canon), "read_batch of {}", asked);
            }
            for (id, row) in ids.iter().zip(&batch) {
                let one = EveryType::read(&h.store, id).await.unwrap();
                prop_assert_eq!(canon_opt(&one), Some(canon(row)), "read of {}", id);
            }
            Ok(())
        })
    });
}
on_both!(every_type_round_trip, every_type_round_trips);
