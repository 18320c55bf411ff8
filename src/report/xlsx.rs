//! Excel output: a table as a one-sheet .xlsx workbook (pure: rows in, bytes out).
//!
//! Every cell is written as a string or a number, never as a formula, so an answer such as
//! `=HYPERLINK(...)` stays text when the file is opened. A cell longer than Excel's limit is cut
//! (the CSV keeps it whole) and counted, and the document's dates are fixed, so the same table
//! gives the same bytes.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook as Book};

use crate::error::{Error, Result};

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Report(format!("cannot write the workbook: {e}"))
}

/// The most characters Excel keeps in one cell.
pub const MAX_CELL_CHARS: usize = 32_767;

/// A written workbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Workbook {
    /// The .xlsx bytes.
    pub bytes: Vec<u8>,
    /// Cells cut to [`MAX_CELL_CHARS`].
    pub cut_cells: usize,
}

/// The first [`MAX_CELL_CHARS`] characters of a cell, and whether it was cut.
fn fit_cell(v: &str) -> (&str, bool) {
    match v.char_indices().nth(MAX_CELL_CHARS) {
        Some((at, _)) => (&v[..at], true),
        None => (v, false),
    }
}

/// One worksheet named `sheet` with a bold header row; cells that read as numbers are numbers.
pub fn table_xlsx<H, R, F>(sheet: &str, header: &[H], rows: R) -> Result<Workbook>
where
    H: AsRef<str>,
    R: IntoIterator<Item = Vec<F>>,
    F: AsRef<str>,
{
    let mut book = Book::new();
    // A fixed date instead of the time of writing: reruns give identical files.
    let epoch = ExcelDateTime::from_ymd(2000, 1, 1).map_err(xlsx_error)?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&epoch));
    let mut cut_cells = 0;
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(xlsx_error)?;
    let bold = Format::new().set_bold();
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h.as_ref(), &bold)
            .map_err(xlsx_error)?;
    }
    for (r, row) in rows.into_iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let v = cell.as_ref();
            let c = c as u16;
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() && !v.trim().is_empty() && v.trim() == v => {
                    ws.write_number(r, c, x).map_err(xlsx_error)?;
                }
                _ => {
                    let (v, cut) = fit_cell(v);
                    cut_cells += usize::from(cut);
                    ws.write_string(r, c, v).map_err(xlsx_error)?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    Ok(Workbook {
        bytes: book.save_to_buffer().map_err(xlsx_error)?,
        cut_cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};
    use std::io::Cursor;

    #[test]
    fn formula_like_answers_stay_text() {
        let cells = [
            "=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "12", "-0.5",
        ];
        let b = table_xlsx(
            "answers",
            &["text"],
            cells.iter().map(|c| vec![c.to_string()]),
        )
        .unwrap()
        .bytes;
        let mut book = Xlsx::new(Cursor::new(b.clone())).unwrap();
        let range = book.worksheet_range("answers").unwrap();
        let got: Vec<Data> = range.rows().skip(1).map(|r| r[0].clone()).collect();
        // (calamine reads a carriage return back as Excel's `_x000D_` escape; still text.)
        for (c, d) in cells.iter().zip(&got).take(5) {
            assert_eq!(d, &Data::String(c.to_string()), "{c:?}");
        }
        assert!(matches!(&got[5], Data::String(s) if s.ends_with('x')));
        assert_eq!(got[6], Data::Float(12.0));
        assert_eq!(got[7], Data::Float(-0.5));
        // No formula anywhere in the workbook.
        let formulas = book.worksheet_formula("answers").unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
    }

    #[test]
    fn long_cells_are_cut_and_bytes_are_stable() {
        let long = "é".repeat(MAX_CELL_CHARS + 10);
        let rows = || vec![vec![long.clone()], vec!["short".to_string()]];
        let a = table_xlsx("t", &["text"], rows()).unwrap();
        assert_eq!(a.cut_cells, 1);
        let mut book = Xlsx::new(Cursor::new(a.bytes.clone())).unwrap();
        let range = book.worksheet_range("t").unwrap();
        let first: Vec<Data> = range.rows().skip(1).map(|r| r[0].clone()).collect();
        assert!(matches!(&first[0], Data::String(s) if s.chars().count() == MAX_CELL_CHARS));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = table_xlsx("t", &["text"], rows()).unwrap();
        assert_eq!(a.bytes, b.bytes, "no time of writing in the file");
    }
}
