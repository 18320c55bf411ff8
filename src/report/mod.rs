//! Report writers: pure functions from results to bytes (npy, csv, json, xlsx, html); file I/O
//! happens in `fsio` (and, for a run report, in `run::write_report`).

pub mod html;
pub mod run;
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

/// A cell a spreadsheet would run as a formula (it begins with `=`, `+`, `-`, `@`, a tab or a
/// carriage return) gets a leading apostrophe; numbers such as `-0.25` are left as they are.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.trim().parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// A CSV from a header and rows of fields (quoted as needed, formula-like cells neutralised by
/// [`spreadsheet_safe`]: answers are untrusted input).
pub fn csv_table<R, F>(header: &[&str], rows: R) -> Vec<u8>
where
    R: IntoIterator<Item = Vec<F>>,
    F: AsRef<str>,
{
    let mut out = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut out);
        // Writing to a Vec cannot fail.
        let _ = w.write_record(header);
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
    pub header: Vec<&'static str>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

impl Sheet {
    /// As CSV ([`csv_table`]).
    pub fn csv(&self) -> Vec<u8> {
        csv_table(&self.header, self.rows.iter().cloned())
    }

    /// As .xlsx ([`xlsx::table_xlsx`]).
    pub fn xlsx(&self) -> Result<Vec<u8>> {
        xlsx::table_xlsx(self.name, &self.header, self.rows.iter().cloned())
    }
}

/// map.csv: each grouped answer's id and its place on the report's 2-D map.
pub fn map_csv<'a>(rows: impl IntoIterator<Item = (&'a str, [f32; 2])>) -> Vec<u8> {
    csv_table(
        &["id", "x", "y"],
        rows.into_iter()
            .map(|(id, [x, y])| vec![id.to_string(), format!("{x:.5}"), format!("{y:.5}")]),
    )
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
        ] {
            assert_eq!(spreadsheet_safe(cell), out, "{cell:?}");
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
