//! CSV: a header line naming the columns, then one row per record (the `csv` crate: RFC 4180
//! quoting, `\n` or `\r\n`, a UTF-8 byte order mark skipped).

use std::path::Path;

use fstore_registry::{Feature, View};

use super::{columns, text_cell, Error, Place, Reject, Row, Source};

pub(crate) struct CsvSource<'v> {
    reader: csv::Reader<std::fs::File>,
    record: csv::StringRecord,
    file: String,
    /// The index of the id column.
    id: usize,
    /// Each column's feature (`None`: the id column).
    columns: Vec<Option<&'v Feature>>,
    size: Option<u64>,
}

impl<'v> CsvSource<'v> {
    /// Opens `path` and checks its header against `view`.
    pub(crate) fn open(
        path: &Path,
        file: &str,
        view: &'v View,
        id_column: &str,
    ) -> Result<CsvSource<'v>, Error> {
        let mut reader = csv::ReaderBuilder::new()
            .buffer_capacity(1 << 16)
            .from_path(path)
            .map_err(|e| csv_error(file, &e))?;
        let header = reader.headers().map_err(|e| csv_error(file, &e))?.clone();
        if header.is_empty() {
            return Err(Error::File {
                file: file.to_owned(),
                place: None,
                message: "empty file: expected a header line naming the columns".to_owned(),
            });
        }
        let names: Vec<&str> = header.iter().collect();
        let (id, columns) = columns(file, &names, view, id_column)?;
        Ok(CsvSource {
            reader,
            record: csv::StringRecord::new(),
            file: file.to_owned(),
            id,
            columns,
            size: std::fs::metadata(path).ok().map(|m| m.len()),
        })
    }
}

impl<'v> Source<'v> for CsvSource<'v> {
    fn next_row(&mut self) -> Result<Option<Result<Row<'v>, Reject>>, Error> {
        if !self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| csv_error(&self.file, &e))?
        {
            return Ok(None);
        }
        let place = Place::Line(self.record.position().map_or(0, csv::Position::line));
        let mut features = Vec::with_capacity(self.columns.len());
        for (cell, column) in self.record.iter().zip(&self.columns) {
            let Some(feature) = column else { continue };
            if cell.is_empty() {
                continue;
            }
            match text_cell(feature, cell) {
                Ok(value) => features.push((feature.name.as_str(), value)),
                Err(reason) => return Ok(Some(Err(Reject { place, reason }))),
            }
        }
        let id = self.record.get(self.id).unwrap_or_default().to_owned();
        Ok(Some(Ok(Row {
            place,
            id,
            features,
        })))
    }

    fn position(&self) -> u64 {
        self.reader.position().byte()
    }

    fn total(&self) -> Option<u64> {
        self.size
    }
}

/// A CSV error as [`Error::File`], at its line when it has one.
fn csv_error(file: &str, e: &csv::Error) -> Error {
    let (place, message) = match e.kind() {
        csv::ErrorKind::Io(io) => (None, format!("cannot read: {io}")),
        csv::ErrorKind::Utf8 { pos, err } => (
            pos.as_ref().map(|p| Place::Line(p.line())),
            format!(
                "field {} is not valid UTF-8 (at byte {} of the field)",
                err.field() + 1,
                err.valid_up_to()
            ),
        ),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => (
            pos.as_ref().map(|p| Place::Line(p.line())),
            format!(
                "malformed CSV: {len} fields where the header has {expected_len} (a stray \
                 comma or quote?)"
            ),
        ),
        _ => (
            e.position().map(|p| Place::Line(p.line())),
            format!("malformed CSV: {e}"),
        ),
    };
    Error::File {
        file: file.to_owned(),
        place,
        message,
    }
}
