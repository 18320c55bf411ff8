//! Excel input: the first worksheet of an .xlsx file read as a table (header row, then one row
//! per answer), as survey tools (EUSurvey, LimeSurvey, Qualtrics) export it.

use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};

use super::{Record, Table};
use crate::error::InputError;
use crate::manifest::sha256_hex;

/// A cell as text: whole numbers without a decimal point, dates as Excel shows their serial.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(t) => t.as_f64().to_string(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Parses the bytes of an .xlsx file: its first worksheet, the first row naming the columns.
pub fn parse_xlsx(path: &Path, bytes: &[u8]) -> Result<Table, InputError> {
    let unreadable = |e: String| {
        InputError::file(
            path,
            None,
            format!("cannot read it as an Excel workbook: {e}"),
            "save it again as .xlsx from the spreadsheet, or export it as CSV (UTF-8)",
        )
    };
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| unreadable("it has no worksheet".into()))?
        .map_err(|e| unreadable(e.to_string()))?;
    let mut rows = range.rows();
    let headers: Vec<String> = match rows.next() {
        Some(r) => r.iter().map(|c| cell_text(c).trim().to_string()).collect(),
        None => return Err(InputError::file(
            path,
            None,
            "the first worksheet is empty",
            "put a header row naming the columns on the first worksheet, then one row per answer",
        )),
    };
    let first_row = range.start().map(|(r, _)| r as u64 + 1).unwrap_or(1);
    let records: Vec<Record> = rows
        .enumerate()
        .map(|(i, r)| Record {
            line: first_row + 1 + i as u64,
            fields: r.iter().map(cell_text).collect(),
        })
        .filter(|r| r.fields.iter().any(|f| !f.trim().is_empty()))
        .collect();
    if records.is_empty() {
        return Err(InputError::file(
            path,
            Some(first_row),
            "the first worksheet has a header but no rows below it",
            "put the answers under the header, one row per answer",
        ));
    }
    Ok(Table {
        path: path.to_path_buf(),
        sha256: sha256_hex(bytes),
        headers,
        records,
        warnings: Vec::new(),
    })
}
