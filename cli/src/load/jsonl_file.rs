//! JSON Lines: one JSON object per line (blank lines skipped), its keys the columns. Values must
//! be of their feature's JSON type: an integer for `int`, a number for `float`, `true`/`false`,
//! a string, an array of numbers for `float_list`; `null` or a missing key is absent. The id is
//! a string or an integer.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::Path;

use fstore_registry::{FeatureType, View};
use fstore_runtime::Value;
use serde_json::Value as Json;

use super::{
    excerpt, f32_element, int_from_u64, type_name, unknown_column, Error, Place, Reject, Row,
    Source,
};

pub(crate) struct JsonlSource<'v> {
    reader: BufReader<File>,
    buf: String,
    file: String,
    view: &'v View,
    id_column: String,
    line: u64,
    bytes: u64,
    size: Option<u64>,
}

impl<'v> JsonlSource<'v> {
    pub(crate) fn open(
        path: &Path,
        file: &str,
        view: &'v View,
        id_column: &str,
    ) -> Result<JsonlSource<'v>, Error> {
        let handle = File::open(path).map_err(|e| Error::File {
            file: file.to_owned(),
            place: None,
            message: format!("cannot open: {e}"),
        })?;
        Ok(JsonlSource {
            size: handle.metadata().ok().map(|m| m.len()),
            reader: BufReader::with_capacity(1 << 16, handle),
            buf: String::new(),
            file: file.to_owned(),
            view,
            id_column: id_column.to_owned(),
            line: 0,
            bytes: 0,
        })
    }

    fn error(&self, message: String) -> Error {
        Error::File {
            file: self.file.clone(),
            place: Some(Place::Line(self.line)),
            message,
        }
    }

    /// The row of one object. An unknown key stops the load (as an unknown CSV column does).
    fn row(&self, object: serde_json::Map<String, Json>) -> Result<Result<Row<'v>, Reject>, Error> {
        let place = Place::Line(self.line);
        let reject = |reason: String| Ok(Err(Reject { place, reason }));
        let mut id = None;
        let mut features = Vec::with_capacity(object.len());
        for (key, json) in object {
            if key == self.id_column {
                id = Some(json);
                continue;
            }
            let Some(feature) = self.view.feature(&key) else {
                return Err(self.error(unknown_column(&key, self.view, &self.id_column)));
            };
            if json.is_null() {
                continue;
            }
            match json_cell(feature.ty, &json) {
                Ok(value) => features.push((feature.name.as_str(), value)),
                Err(why) => {
                    return reject(format!(
                        "`{key}`: {} is not {}{why}",
                        describe(&json),
                        type_name(feature)
                    ))
                }
            }
        }
        let id = match id {
            Some(Json::String(s)) => s,
            Some(Json::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            None | Some(Json::Null) => {
                return reject(format!("no entity id (no key `{}`)", self.id_column))
            }
            Some(other) => {
                return reject(format!(
                    "the entity id `{}` is {}, not a string or an integer",
                    self.id_column,
                    describe(&other)
                ))
            }
        };
        Ok(Ok(Row {
            place,
            id,
            features,
        }))
    }
}

impl<'v> Source<'v> for JsonlSource<'v> {
    fn next_row(&mut self) -> Result<Option<Result<Row<'v>, Reject>>, Error> {
        loop {
            self.buf.clear();
            let n = match self.reader.read_line(&mut self.buf) {
                Ok(n) => n,
                Err(e) => {
                    self.line += 1;
                    return Err(self.error(if e.kind() == std::io::ErrorKind::InvalidData {
                        "not valid UTF-8".to_owned()
                    } else {
                        format!("cannot read: {e}")
                    }));
                }
            };
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.bytes += n as u64;
            if self.buf.trim().is_empty() {
                continue;
            }
            let object = match serde_json::from_str::<Json>(self.buf.trim_end()) {
                Ok(Json::Object(object)) => object,
                Ok(other) => {
                    return Err(self.error(format!(
                        "expected a JSON object, found {}",
                        describe(&other)
                    )))
                }
                Err(e) => return Err(self.error(json_error(&e))),
            };
            return self.row(object).map(Some);
        }
    }

    fn position(&self) -> u64 {
        self.bytes
    }

    fn total(&self) -> Option<u64> {
        self.size
    }
}

/// A JSON value as `ty`; `Err` adds to "`x`: 1.5 is not an int".
fn json_cell(ty: FeatureType, json: &Json) -> Result<Value, String> {
    let wrong = || Err(String::new());
    match (ty, json) {
        (FeatureType::Int, Json::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Ok(Value::Int(i)),
            (None, Some(u)) => int_from_u64(u)
                .map(Value::Int)
                .map_err(|e| format!(": {e}")),
            _ => wrong(),
        },
        (FeatureType::Float, Json::Number(n)) => match n.as_f64() {
            Some(x) => Ok(Value::Float(x)),
            None => wrong(),
        },
        (FeatureType::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (FeatureType::String, Json::String(s)) => Ok(Value::String(s.clone())),
        (FeatureType::FloatList, Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item.as_f64() {
                Some(x) => f32_element(x).map_err(|e| format!(": element {i}: {e}")),
                None => Err(format!(": element {i} is {}", describe(item))),
            })
            .collect::<Result<Vec<f32>, String>>()
            .map(Value::FloatList),
        _ => wrong(),
    }
}

/// `the string "28"`, `the number 1.5`, `an array of 3 elements`.
fn describe(json: &Json) -> String {
    match json {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => format!("the bool {b}"),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) => format!("the string {}", excerpt(s)),
        Json::Array(items) => format!("an array of {} elements", items.len()),
        Json::Object(_) => "an object".to_owned(),
    }
}

/// serde_json's message without its `at line 1 column 7` (the file's line is given), with the
/// column.
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text);
    format!("invalid JSON at column {}: {message}", e.column())
}
