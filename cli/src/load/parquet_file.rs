//! Parquet, through the `parquet` crate's Arrow reader: the top-level columns, each of a type
//! that fits its feature (checked before any row is read): integers for `int`; floats or
//! integers for `float`; booleans for `bool`; strings (also dictionary-encoded, as pandas writes
//! categoricals) for `string`; lists of `float` or `double` for `float_list`. The id column
//! holds strings or integers. Nulls are absent.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray as _;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use fstore_registry::{Feature, FeatureType, View};
use fstore_runtime::Value;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::{
    columns, f32_element, int_from_u64, type_name, Error, Place, Reject, Row, Source,
    DEFAULT_BATCH_SIZE,
};

pub(crate) struct ParquetSource<'v> {
    reader: ParquetRecordBatchReader,
    file: String,
    id: usize,
    columns: Vec<Option<&'v Feature>>,
    /// The record batch being read, its dictionary columns decoded.
    batch: Vec<ArrayRef>,
    /// The next row of `batch`, and its length.
    next: usize,
    len: usize,
    /// Rows read so far (the row number of the last one).
    rows: u64,
    total: Option<u64>,
}

impl<'v> ParquetSource<'v> {
    pub(crate) fn open(
        path: &Path,
        file: &str,
        view: &'v View,
        id_column: &str,
    ) -> Result<ParquetSource<'v>, Error> {
        let error = |message: String| Error::File {
            file: file.to_owned(),
            place: None,
            message,
        };
        let handle = File::open(path).map_err(|e| error(format!("cannot open: {e}")))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(handle)
            .map_err(|e| error(format!("not a readable Parquet file: {e}")))?;
        let total = u64::try_from(builder.metadata().file_metadata().num_rows()).ok();
        let schema = builder.schema().clone();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let (id, columns) = columns(file, &names, view, id_column)?;
        let mut problems = Vec::new();
        for (field, column) in schema.fields().iter().zip(&columns) {
            let (fits, wanted) = match column {
                Some(feature) => (fits(feature.ty, field.data_type()), expected(feature.ty)),
                None => (is_id(field.data_type()), "a string or integer column"),
            };
            if !fits {
                let of = match column {
                    Some(feature) => {
                        format!("feature `{}` is {}", feature.name, type_name(feature))
                    }
                    None => "the id column".to_owned(),
                };
                problems.push(format!(
                    "column `{}` is {}, but {of}: expected {wanted}",
                    field.name(),
                    field.data_type()
                ));
            }
        }
        if !problems.is_empty() {
            return Err(error(problems.join("\n  ")));
        }
        let reader = builder
            .with_batch_size(DEFAULT_BATCH_SIZE)
            .build()
            .map_err(|e| error(format!("not a readable Parquet file: {e}")))?;
        Ok(ParquetSource {
            reader,
            file: file.to_owned(),
            id,
            columns,
            batch: Vec::new(),
            next: 0,
            len: 0,
            rows: 0,
            total,
        })
    }

    /// Reads the next record batch; `false` at the end of the file.
    fn next_batch(&mut self) -> Result<bool, Error> {
        let error = |message: String, row: u64| Error::File {
            file: self.file.clone(),
            place: Some(Place::Row(row)),
            message,
        };
        let batch: RecordBatch = match self.reader.next() {
            None => return Ok(false),
            Some(Ok(batch)) => batch,
            Some(Err(e)) => return Err(error(format!("cannot read: {e}"), self.rows + 1)),
        };
        self.batch = batch
            .columns()
            .iter()
            .map(|column| match column.as_any_dictionary_opt() {
                Some(dictionary) => {
                    arrow_select::take::take(dictionary.values().as_ref(), dictionary.keys(), None)
                }
                None => Ok(column.clone()),
            })
            .collect::<Result<_, _>>()
            .map_err(|e| {
                error(
                    format!("cannot decode a dictionary column: {e}"),
                    self.rows + 1,
                )
            })?;
        self.next = 0;
        self.len = batch.num_rows();
        Ok(true)
    }
}

impl<'v> Source<'v> for ParquetSource<'v> {
    fn next_row(&mut self) -> Result<Option<Result<Row<'v>, Reject>>, Error> {
        while self.next >= self.len {
            if !self.next_batch()? {
                return Ok(None);
            }
        }
        let i = self.next;
        self.next += 1;
        self.rows += 1;
        let place = Place::Row(self.rows);
        let reject = |reason: String| Ok(Some(Err(Reject { place, reason })));
        let mut features = Vec::with_capacity(self.columns.len());
        for (array, column) in self.batch.iter().zip(&self.columns) {
            let Some(feature) = column else { continue };
            if array.is_null(i) {
                continue;
            }
            match cell(feature.ty, array.as_ref(), i) {
                Some(Ok(value)) => features.push((feature.name.as_str(), value)),
                Some(Err(why)) => return reject(format!("`{}`: {why}", feature.name)),
                None => return reject(format!("`{}`: unreadable cell", feature.name)),
            }
        }
        let Some(id_array) = self.batch.get(self.id) else {
            return reject("no id column".to_owned());
        };
        if id_array.is_null(i) {
            return reject("no entity id (null)".to_owned());
        }
        let id = match string(id_array.as_ref(), i) {
            Some(s) => s.to_owned(),
            None => match integer(id_array.as_ref(), i) {
                Some(Ok(n)) => n.to_string(),
                _ => return reject("unreadable entity id".to_owned()),
            },
        };
        Ok(Some(Ok(Row {
            place,
            id,
            features,
        })))
    }

    fn position(&self) -> u64 {
        self.rows
    }

    fn total(&self) -> Option<u64> {
        self.total
    }
}

/// Whether a column of type `dt` can hold a feature of type `ty`.
fn fits(ty: FeatureType, dt: &DataType) -> bool {
    let dt = match dt {
        DataType::Dictionary(_, values) => values.as_ref(),
        other => other,
    };
    let int = matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    );
    match ty {
        FeatureType::Int => int,
        FeatureType::Float => int || matches!(dt, DataType::Float32 | DataType::Float64),
        FeatureType::Bool => matches!(dt, DataType::Boolean),
        FeatureType::String => {
            matches!(
                dt,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        FeatureType::FloatList => match dt {
            DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
                matches!(item.data_type(), DataType::Float32 | DataType::Float64)
            }
            _ => false,
        },
    }
}

fn is_id(dt: &DataType) -> bool {
    fits(FeatureType::String, dt) || fits(FeatureType::Int, dt)
}

/// The column types a feature type takes, for errors.
fn expected(ty: FeatureType) -> &'static str {
    match ty {
        FeatureType::Int => "an integer column",
        FeatureType::Float => "a float, double or integer column",
        FeatureType::Bool => "a boolean column",
        FeatureType::String => "a string column",
        FeatureType::FloatList => "a list of float or double",
    }
}

/// Cell `i` (not null) of `array` as `ty`; `None` when the column is of another type (which
/// [`fits`] has ruled out).
fn cell(ty: FeatureType, array: &dyn Array, i: usize) -> Option<Result<Value, String>> {
    match ty {
        FeatureType::Int => integer(array, i).map(|r| r.map(Value::Int)),
        FeatureType::Float => match array.data_type() {
            DataType::Float32 => primitive::<Float32Type>(array, i).map(|x| Ok(Value::from(x))),
            DataType::Float64 => primitive::<Float64Type>(array, i).map(|x| Ok(Value::Float(x))),
            _ => integer(array, i).map(|r| r.map(|n| Value::Float(n as f64))),
        },
        FeatureType::Bool => array.as_boolean_opt().map(|a| Ok(Value::Bool(a.value(i)))),
        FeatureType::String => string(array, i).map(|s| Ok(Value::from(s))),
        FeatureType::FloatList => list(array, i).map(|r| r.map(Value::FloatList)),
    }
}

fn primitive<T: arrow_array::ArrowPrimitiveType>(array: &dyn Array, i: usize) -> Option<T::Native> {
    array.as_primitive_opt::<T>().map(|a| a.value(i))
}

/// An integer cell as `i64`; a `uint64` above `i64::MAX` is an error.
fn integer(array: &dyn Array, i: usize) -> Option<Result<i64, String>> {
    Some(Ok(match array.data_type() {
        DataType::Int8 => primitive::<Int8Type>(array, i)?.into(),
        DataType::Int16 => primitive::<Int16Type>(array, i)?.into(),
        DataType::Int32 => primitive::<Int32Type>(array, i)?.into(),
        DataType::Int64 => primitive::<Int64Type>(array, i)?,
        DataType::UInt8 => primitive::<UInt8Type>(array, i)?.into(),
        DataType::UInt16 => primitive::<UInt16Type>(array, i)?.into(),
        DataType::UInt32 => primitive::<UInt32Type>(array, i)?.into(),
        DataType::UInt64 => return Some(int_from_u64(primitive::<UInt64Type>(array, i)?)),
        _ => return None,
    }))
}

fn string(array: &dyn Array, i: usize) -> Option<&str> {
    match array.data_type() {
        DataType::Utf8 => array.as_string_opt::<i32>().map(|a| a.value(i)),
        DataType::LargeUtf8 => array.as_string_opt::<i64>().map(|a| a.value(i)),
        DataType::Utf8View => array.as_string_view_opt().map(|a| a.value(i)),
        _ => None,
    }
}

/// A list cell of `float` (kept) or `double` (each element range-checked as an `f32`).
fn list(array: &dyn Array, i: usize) -> Option<Result<Vec<f32>, String>> {
    let items: ArrayRef = match array.data_type() {
        DataType::List(_) => array.as_list_opt::<i32>()?.value(i),
        DataType::LargeList(_) => array.as_list_opt::<i64>()?.value(i),
        DataType::FixedSizeList(..) => array.as_fixed_size_list_opt()?.value(i),
        _ => return None,
    };
    if let Some(null) = (0..items.len()).find(|&j| items.is_null(j)) {
        return Some(Err(format!("element {null} of the list is null")));
    }
    match items.data_type() {
        DataType::Float32 => Some(Ok(items
            .as_primitive_opt::<Float32Type>()?
            .values()
            .to_vec())),
        DataType::Float64 => Some(
            items
                .as_primitive_opt::<Float64Type>()?
                .values()
                .iter()
                .enumerate()
                .map(|(j, &x)| f32_element(x).map_err(|e| format!("element {j}: {e}")))
                .collect(),
        ),
        _ => None,
    }
}
