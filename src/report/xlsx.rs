//! Excel output: a table as a one-sheet .xlsx workbook (pure: rows in, bytes out).
//!
//! Every cell is written as a string or a number, never as a formula, so an answer such as
//! `=HYPERLINK(...)` stays text when the file is opened.

use rust_xlsxwriter::{Format, Workbook};

use crate::error::{Error, Result};

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Report(format!("cannot write the workbook: {e}"))
}

/// One worksheet named `sheet` with a bold header row; cells that read as numbers are numbers.
pub fn table_xlsx<R, F>(sheet: &str, header: &[&str], rows: R) -> Result<Vec<u8>>
where
    R: IntoIterator<Item = Vec<F>>,
    F: AsRef<str>,
{
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(xlsx_error)?;
    let bold = Format::new().set_bold();
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
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
                    ws.write_string(r, c, v).map_err(xlsx_error)?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
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
        .unwrap();
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
}
