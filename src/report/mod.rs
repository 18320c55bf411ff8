//! Report writers: pure functions from typed results to bytes (npy, csv, json, xlsx, html) and
//! text; file I/O happens in `fsio`, reading a run back in `rundir`.

pub mod console;
pub mod html;
pub mod page;
pub mod questions;
pub mod survey;
pub mod tables;
pub mod xlsx;

use serde::Serialize;

use crate::error::{Error, Result};

/// A row-major `f32` matrix as a NumPy `.npy` (format 1.0, little-endian).
pub fn npy_f32(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
    debug_assert_eq!(rows * cols, data.len());
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Pretty JSON with a trailing newline.
pub fn json<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|source| Error::Json { what, source })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Whether a spreadsheet would run the cell as a formula: it begins with `=`, `+`, `-`, `@`, a
/// tab or a carriage return and is not a number such as `-0.25`.
fn formula_like(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.trim().parse::<f64>().is_err()
}

/// A formula-like cell gets a leading apostrophe, so a spreadsheet shows it as text; so does a
/// cell that already starts with apostrophes before one, which keeps the change reversible
/// ([`restore_cell`]).
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(cell.trim_start_matches('\'')) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// The cell as it was before [`spreadsheet_safe`]: how codeframe reads back its own CSV files.
pub fn restore_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest.trim_start_matches('\'')) => rest,
        _ => cell,
    }
}

/// A CSV from a header and rows of fields (quoted as needed, formula-like cells neutralised by
/// [`spreadsheet_safe`]: answers are untrusted input).
pub fn csv_table<H, R, F>(header: &[H], rows: R) -> Vec<u8>
where
    H: AsRef<str>,
    R: IntoIterator<Item = Vec<F>>,
    F: AsRef<str>,
{
    let mut out = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut out);
        // Writing to a Vec cannot fail.
        let _ = w.write_record(header.iter().map(AsRef::as_ref));
        for row in rows {
            let _ = w.write_record(
                row.iter()
                    .map(|f| spreadsheet_safe(f.as_ref()).into_owned()),
            );
        }
        let _ = w.flush();
    }
    out
}

/// A table written both as CSV and as a one-sheet Excel workbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// Worksheet name.
    pub name: &'static str,
    /// Column names.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

impl Sheet {
    /// A sheet with these column names.
    pub fn new(name: &'static str, header: &[&str], rows: Vec<Vec<String>>) -> Self {
        Sheet {
            name,
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        }
    }

    /// As CSV ([`csv_table`]).
    pub fn csv(&self) -> Vec<u8> {
        csv_table(&self.header, self.rows.iter().cloned())
    }

    /// As .xlsx ([`xlsx::table_xlsx`]), with the number of cells cut to Excel's limit.
    pub fn xlsx(&self) -> Result<xlsx::Workbook> {
        xlsx::table_xlsx(self.name, &self.header, self.rows.iter().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_readable() {
        let b = npy_f32(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert!(header.contains("'shape': (2, 3)"));
        assert!(header.ends_with('\n'));
        assert_eq!(b.len(), 10 + hlen + 24);
        assert_eq!(&b[10 + hlen..10 + hlen + 4], &1.0f32.to_le_bytes());
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for (cell, out) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+2", "'+1+2"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("-0.25", "-0.25"),
            ("+3", "+3"),
            ("plain", "plain"),
            ("'=already", "''=already"),
            ("'quoted", "'quoted"),
            ("'-0.5", "'-0.5"),
        ] {
            assert_eq!(spreadsheet_safe(cell), out, "{cell:?}");
            assert_eq!(restore_cell(&spreadsheet_safe(cell)), cell, "{cell:?}");
        }
        for cell in [
            "+ve staff",
            "-ve care",
            "=id",
            "''=x",
            "'",
            "''",
            "'+",
            "plain",
        ] {
            assert_eq!(restore_cell(&spreadsheet_safe(cell)), cell, "{cell:?}");
        }
        let b = csv_table(&["text"], vec![vec!["=1+1"]]);
        assert_eq!(String::from_utf8(b).unwrap(), "text\n'=1+1\n");
    }

    #[test]
    fn csv_quotes_fields() {
        let b = csv_table(&["a", "b"], vec![vec!["x,y", "z"]]);
        assert_eq!(String::from_utf8(b).unwrap(), "a,b\n\"x,y\",z\n");
    }
}
