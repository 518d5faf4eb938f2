#![allow(dead_code)]
//! The seed's Python library (`feature_store.py` beside this file), run through its driver
//! (`interop.py`) against a test server: what the interop tests compare fstore with.
//!
//! The interpreter is `FSTORE_TEST_PYTHON` (which `scripts/test` sets to the venv it makes, with
//! `valkey` from PyPI), else `target/python-venv/bin/python`. Neither is a loud failure that says
//! to run `scripts/test`, never a skip.
//!
//! Values cross as tagged JSON (see `interop.py`), integers and floats as text, so that
//! `i64::MIN`, NaN, the infinities and `-0.0` arrive exactly; [`Py`] compares floats bit for bit
//! (any NaN equals any NaN), so `-0.0` and `0.0` differ.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value as Json};

/// One feature value as the Python library takes or gives it: `None` is an absent feature.
#[derive(Debug, Clone)]
pub enum Py {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    FloatList(Vec<f64>),
    None,
}

/// `a` and `b` are the same float: the same bits, or both NaN.
pub fn same_float(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

impl PartialEq for Py {
    fn eq(&self, other: &Py) -> bool {
        match (self, other) {
            (Py::Int(a), Py::Int(b)) => a == b,
            (Py::Float(a), Py::Float(b)) => same_float(*a, *b),
            (Py::Str(a), Py::Str(b)) => a == b,
            (Py::Bool(a), Py::Bool(b)) => a == b,
            (Py::FloatList(a), Py::FloatList(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_float(*x, *y))
            }
            (Py::None, Py::None) => true,
            _ => false,
        }
    }
}

impl From<i64> for Py {
    fn from(v: i64) -> Py {
        Py::Int(v)
    }
}

impl From<f64> for Py {
    fn from(v: f64) -> Py {
        Py::Float(v)
    }
}

impl From<bool> for Py {
    fn from(v: bool) -> Py {
        Py::Bool(v)
    }
}

impl From<&str> for Py {
    fn from(v: &str) -> Py {
        Py::Str(v.to_owned())
    }
}

impl From<&String> for Py {
    fn from(v: &String) -> Py {
        Py::Str(v.clone())
    }
}

impl From<&[f32]> for Py {
    fn from(v: &[f32]) -> Py {
        Py::FloatList(v.iter().map(|&x| f64::from(x)).collect())
    }
}

impl<T: Into<Py>> From<Option<T>> for Py {
    fn from(v: Option<T>) -> Py {
        v.map_or(Py::None, Into::into)
    }
}

impl From<&fstore::Value> for Py {
    fn from(v: &fstore::Value) -> Py {
        match v {
            fstore::Value::Int(i) => Py::Int(*i),
            fstore::Value::Float(x) => Py::Float(*x),
            fstore::Value::String(s) => Py::Str(s.clone()),
            fstore::Value::Bool(b) => Py::Bool(*b),
            fstore::Value::FloatList(l) => Py::from(&l[..]),
            fstore::Value::Null => Py::None,
            other => panic!("no Python value for {other:?}"),
        }
    }
}

impl Py {
    /// The tagged JSON that `interop.py` reads: numbers as text that Python's `int()`/`float()`
    /// read back exactly (Rust's `{:?}` of a float is its shortest round-trip form, `NaN`, `inf`).
    fn to_json(&self) -> Json {
        match self {
            Py::Int(i) => json!({ "int": i.to_string() }),
            Py::Float(x) => json!({ "float": format!("{x:?}") }),
            Py::Str(s) => json!({ "string": s }),
            Py::Bool(b) => json!({ "bool": b }),
            Py::FloatList(l) => {
                json!({ "float_list": l.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>() })
            }
            Py::None => Json::Null,
        }
    }

    /// The dynamic API's value of the same feature (a float list narrowed to `f32`).
    pub fn to_value(&self) -> fstore::Value {
        match self {
            Py::Int(i) => fstore::Value::Int(*i),
            Py::Float(x) => fstore::Value::Float(*x),
            Py::Str(s) => fstore::Value::String(s.clone()),
            Py::Bool(b) => fstore::Value::Bool(*b),
            Py::FloatList(l) => fstore::Value::FloatList(l.iter().map(|&x| x as f32).collect()),
            Py::None => fstore::Value::Null,
        }
    }

    /// A value that `interop.py` printed.
    fn from_json(j: &Json) -> Py {
        let float = |t: &Json| -> f64 {
            let text = t
                .as_str()
                .unwrap_or_else(|| panic!("float as text, got {t}"));
            text.parse()
                .unwrap_or_else(|e| panic!("Python's float {text:?} does not parse: {e}"))
        };
        let Some(obj) = j.as_object() else {
            assert!(j.is_null(), "not a tagged value: {j}");
            return Py::None;
        };
        let mut entries = obj.iter();
        let (Some((tag, inner)), None) = (entries.next(), entries.next()) else {
            panic!("not a tagged value: {j}");
        };
        match tag.as_str() {
            "int" => {
                let text = inner.as_str().unwrap();
                Py::Int(
                    text.parse()
                        .unwrap_or_else(|e| panic!("Python's int {text} is not an i64: {e}")),
                )
            }
            "float" => Py::Float(float(inner)),
            "string" => Py::Str(inner.as_str().unwrap().to_owned()),
            "bool" => Py::Bool(inner.as_bool().unwrap()),
            "float_list" => Py::FloatList(inner.as_array().unwrap().iter().map(float).collect()),
            other => panic!("unknown tag {other:?} in {j}"),
        }
    }
}

/// Features by name, in order.
pub type Row = Vec<(String, Py)>;

/// A row from `(name, value)` pairs.
pub fn row<const N: usize>(pairs: [(&str, Py); N]) -> Row {
    pairs.into_iter().map(|(n, v)| (n.to_owned(), v)).collect()
}

/// `row` without its absent (`None`) features: what a writer stores, and what `HGETALL` gives.
pub fn present(row: &Row) -> Row {
    row.iter()
        .filter(|(_, v)| *v != Py::None)
        .cloned()
        .collect()
}

/// `row` sorted by name, for comparing where the order is the server's (`HGETALL`).
pub fn sorted(mut row: Row) -> Row {
    row.sort_by(|a, b| a.0.cmp(&b.0));
    row
}

fn row_from_json(j: &Json) -> Row {
    j.as_array()
        .unwrap_or_else(|| panic!("a list of [name, value] pairs, got {j}"))
        .iter()
        .map(|pair| {
            let name = pair[0].as_str().unwrap().to_owned();
            (name, Py::from_json(&pair[1]))
        })
        .collect()
}

fn row_to_json(row: &Row) -> Json {
    Json::Object(
        row.iter()
            .map(|(name, v)| (name.clone(), v.to_json()))
            .collect(),
    )
}

/// The interpreter that runs the Python side: see the module docs.
pub fn interpreter() -> PathBuf {
    if let Some(python) = std::env::var_os("FSTORE_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python-venv/bin/python");
    if venv.exists() {
        return venv;
    }
    panic!(
        "\n\nfstore: NO PYTHON FOR THE INTEROP TESTS\n\n\
         These tests run the seed's Python library (tests/python/) against the test server, on \
         `valkey` from PyPI in a venv. FSTORE_TEST_PYTHON is unset and {} does not exist.\n\
         Run scripts/test, which makes the venv (python3 -m venv, pip install valkey) and sets \
         FSTORE_TEST_PYTHON; or set FSTORE_TEST_PYTHON to a Python 3.11+ that has `valkey`.\n\
         Tests are never skipped for lack of Python.\n",
        venv.display()
    );
}

/// The Python library, pointed at the server on 127.0.0.1:`port`, with the repository's
/// `features.toml` as its registry.
pub struct Python {
    interpreter: PathBuf,
    port: u16,
}

impl Python {
    pub fn new(port: u16) -> Python {
        Python {
            interpreter: interpreter(),
            port,
        }
    }

    /// Runs one driver command and returns its JSON result; panics with Python's stderr (a
    /// traceback) when the driver fails.
    pub fn run(&self, command: &Json) -> Json {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(&self.interpreter)
            .arg(dir.join("tests/python/interop.py"))
            .args(["--port", &self.port.to_string(), "--registry"])
            .arg(dir.join("features.toml"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}); run scripts/test, which makes the venv",
                    self.interpreter.display()
                )
            });
        child
            .stdin
            .take()
            .unwrap()
            .write_all(command.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "the Python library failed ({}) on {command}, run by {} (scripts/test makes a venv \
             with `valkey`):\n{stderr}",
            out.status,
            self.interpreter.display()
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "the Python driver printed no JSON ({e}): {}\n{stderr}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// `store.write(view, id, features)` per row, stamped now; absent (`None`) features are not
    /// passed (the tutorial's `str(value)` would store `None` as the text `None`).
    pub fn write(&self, view: &str, rows: &[(&str, Row)]) {
        self.write_aged(view, rows, 0.0);
    }

    /// As [`write`](Self::write), the `_updated_at` stamp `age_seconds` in the past.
    pub fn write_aged(&self, view: &str, rows: &[(&str, Row)], age_seconds: f64) {
        let rows: Vec<Json> = rows
            .iter()
            .map(|(id, r)| json!([id, row_to_json(&present(r))]))
            .collect();
        self.run(&json!({ "op": "write", "view": view, "rows": rows, "age_seconds": age_seconds }));
    }

    /// `store.read(view, id, features)` for each id: `HGETALL`, or `HMGET` of `features`.
    pub fn read(&self, view: &str, ids: &[&str], features: Option<&[&str]>) -> Vec<Option<Row>> {
        let out =
            self.run(&json!({ "op": "read", "view": view, "ids": ids, "features": features }));
        out["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (!r.is_null()).then(|| row_from_json(r)))
            .collect()
    }

    /// `store.read_batch(view, ids)`: the entities found, in the order Python gives them.
    pub fn read_batch(&self, view: &str, ids: &[&str]) -> Vec<(String, Row)> {
        let out = self.run(&json!({ "op": "read_batch", "view": view, "ids": ids }));
        out["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().unwrap().to_owned(),
                    row_from_json(&pair[1]),
                )
            })
            .collect()
    }

    /// `store.get_feature_vector(id, references)` for each id: `view__feature` names.
    pub fn get_feature_vector(&self, ids: &[&str], references: &[&str]) -> Vec<Row> {
        let out =
            self.run(&json!({ "op": "get_feature_vector", "ids": ids, "references": references }));
        out["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(row_from_json)
            .collect()
    }

    /// The raw `_updated_at` of the entity's row and Python's `float()` of it.
    pub fn stamp(&self, view: &str, id: &str) -> (String, f64) {
        let out = self.run(&json!({ "op": "stamp", "view": view, "id": id }));
        let raw = out["raw"]
            .as_str()
            .unwrap_or_else(|| panic!("no _updated_at in {view} {id}: {out}"))
            .to_owned();
        let Py::Float(seconds) = Py::from_json(&json!({ "float": out["seconds"] })) else {
            unreachable!()
        };
        (raw, seconds)
    }
}
