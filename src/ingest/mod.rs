//! Ingest: reads survey answers (CSV or TSV, columns by header name) into rows, rejecting bad
//! files with a message that names the file, the line and the fix.

pub mod respondent;
pub mod substantive;

pub mod xlsx;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{InputError, Result};
use crate::fsio;
use crate::manifest::sha256_hex;
pub use respondent::{Dropped, Duplicates, Respondents};

/// Which columns to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Header name of the answer text.
    pub text_column: String,
    /// Header name of the respondent/answer id; row numbers (1-based) when absent.
    pub id_column: Option<String>,
    /// What to do with a repeated id.
    pub duplicates: Duplicates,
    /// Respondent columns carried into every output.
    pub keep_columns: Vec<String>,
    /// Column of survey weights.
    pub weight_column: Option<String>,
}

impl ReadOptions {
    /// The text and id columns, nothing kept, repeated ids refused.
    pub fn new(text_column: impl Into<String>, id_column: Option<String>) -> Self {
        ReadOptions {
            text_column: text_column.into(),
            id_column,
            duplicates: Duplicates::Error,
            keep_columns: Vec::new(),
            weight_column: None,
        }
    }
}

/// One input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// 0-based position among the data rows.
    pub row: usize,
    /// 1-based line where the record starts in the file.
    pub line: u64,
    /// The id from the id column, or the 1-based row number.
    pub id: String,
    /// The answer text, as written.
    pub text: String,
    /// Its language (ISO 639-1), once told ([`crate::language`]); `None` when undetermined.
    pub language: Option<String>,
}

/// All rows of one input file.
#[derive(Debug, Clone)]
pub struct Answers {
    /// The file they came from.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Every data row, in file order.
    pub rows: Vec<Answer>,
    /// What the reader had to assume (e.g. the encoding), for the user to see.
    pub warnings: Vec<String>,
    /// Kept columns and weights per row, and the rows left out as repeated ids.
    pub respondents: Respondents,
}

impl Answers {
    /// The texts in row order.
    pub fn texts(&self) -> Vec<&str> {
        self.rows.iter().map(|a| a.text.as_str()).collect()
    }
}

/// Reads and parses an answers file.
pub fn read_answers(path: &Path, opts: &ReadOptions) -> Result<Answers> {
    let bytes = fsio::read(path)?;
    Ok(parse_answers(path, &bytes, opts)?)
}

const SAVE_AS_UTF8: &str =
    "save the file as UTF-8 (in Excel: File > Save As > \"CSV UTF-8\"; in LibreOffice: character set \"Unicode (UTF-8)\")";

/// A parsed delimited file: header names and every record with the line it starts on.
#[derive(Debug, Clone)]
pub struct Table {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Header names, trimmed.
    pub headers: Vec<String>,
    /// Records in file order.
    pub records: Vec<Record>,
    /// What the reader had to assume (e.g. the encoding), for the user to see.
    pub warnings: Vec<String>,
}

/// One record of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line where the record starts.
    pub line: u64,
    /// Fields, as many as the header has.
    pub fields: Vec<String>,
}

impl Table {
    /// Index of the column named `wanted`; `flag` is the option that named it, for the fix.
    pub fn column(&self, wanted: &str, flag: &str) -> Result<usize, InputError> {
        column_index(&self.path, &self.headers, wanted, flag)
    }
}

/// Reads and parses a delimited file.
pub fn read_table(path: &Path) -> Result<Table> {
    let bytes = fsio::read(path)?;
    Ok(parse_table(path, &bytes)?)
}

/// Parses the bytes of a delimited file; `path` names it in messages and picks the delimiter
/// (`.tsv`/`.tab` are tab-separated, anything else comma-separated). Refuses an empty file, a
/// header without rows, bytes that are not UTF-8 and rows whose field count differs.
pub fn parse_table(path: &Path, bytes: &[u8]) -> Result<Table, InputError> {
    let t = parse_table_or_empty(path, bytes)?;
    if t.records.is_empty() {
        return Err(InputError::file(
            path,
            Some(1),
            "the file has a header but no rows below it",
            "export the answers too, one row per answer under the header",
        ));
    }
    Ok(t)
}

/// [`parse_table`], accepting a header without rows (a table codeframe wrote may have none).
pub fn parse_table_or_empty(path: &Path, bytes: &[u8]) -> Result<Table, InputError> {
    let is_xlsx = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if is_xlsx {
        return xlsx::parse_xlsx(path, bytes);
    }
    let sha256 = sha256_hex(bytes);
    let (text, warning) = decode(path, bytes)?;
    if text.trim().is_empty() {
        return Err(InputError::file(
            path,
            None,
            "the file is empty",
            "export the data with a header row naming the columns, then one row per answer",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter_for(path))
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(path, &e, &text, &LineIndex::new(&text)))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let lines = LineIndex::new(&text);
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, &e, &text, &lines))?;
        records.push(Record {
            line: record
                .position()
                .map(|p| lines.line(start_of_record(&text, p.byte())))
                .unwrap_or(0),
            fields: record.iter().map(str::to_string).collect(),
        });
    }
    if let Some(line) = unclosed_quote(&text, delimiter_for(path)) {
        return Err(InputError::file(
            path,
            Some(line),
            "a quoted field that starts on this line is never closed",
            "close the quote, and write a quote inside a quoted field as two (\"\")",
        ));
    }
    Ok(Table {
        path: path.to_path_buf(),
        sha256,
        headers,
        records,
        warnings: warning.into_iter().collect(),
    })
}

/// Parses the bytes of an answers file (see [`parse_table`]) into answers with unique ids.
pub fn parse_answers(path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Answers, InputError> {
    answers_from_table(parse_table(path, bytes)?, opts)
}

/// The answers of an already parsed table (see [`parse_answers`]): one per record, or per id
/// with `--duplicates first|last`, with the kept columns and weights beside them.
pub fn answers_from_table(table: Table, opts: &ReadOptions) -> Result<Answers, InputError> {
    let text_idx = table.column(&opts.text_column, "--text-column")?;
    let id_idx = match &opts.id_column {
        Some(c) => Some(table.column(c, "--id-column")?),
        None => None,
    };
    let (kept, dropped) = match id_idx {
        Some(i) => respondent::dedup(&table, i, text_idx, opts.duplicates)?,
        None => ((0..table.records.len()).collect(), Vec::new()),
    };
    let mut respondents = respondent::respondents(
        &table,
        &kept,
        &opts.keep_columns,
        opts.weight_column.as_deref(),
    )?;
    respondents.dropped = dropped;
    respondents.duplicates = opts.duplicates;
    let rows = kept
        .iter()
        .enumerate()
        .map(|(row, &i)| {
            let r = &table.records[i];
            Answer {
                row,
                line: r.line,
                id: match id_idx {
                    Some(c) => r.fields.get(c).map(|s| s.trim()).unwrap_or("").to_string(),
                    None => (i + 1).to_string(),
                },
                text: r.fields.get(text_idx).cloned().unwrap_or_default(),
                language: None,
            }
        })
        .collect();
    Ok(Answers {
        path: table.path,
        sha256: table.sha256,
        rows,
        warnings: table.warnings,
        respondents,
    })
}

/// The ids in column `idx`, refusing empty and repeated ones.
pub fn unique_ids(table: &Table, idx: usize) -> Result<Vec<String>, InputError> {
    let mut seen: HashMap<&str, u64> = HashMap::new();
    let mut ids = Vec::with_capacity(table.records.len());
    for r in &table.records {
        let id = record_id(table, r, idx)?;
        if let Some(first) = seen.insert(id, r.line) {
            return Err(InputError::file(
                &table.path,
                Some(r.line),
                format!("id \"{id}\" is used again (first on line {first})"),
                "make the ids unique, or leave out the id column to use row numbers",
            ));
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

/// The trimmed id of record `r` in column `idx`; an empty id is an error naming its line.
pub(crate) fn record_id<'t>(
    table: &Table,
    r: &'t Record,
    idx: usize,
) -> Result<&'t str, InputError> {
    let id = r.fields.get(idx).map(|s| s.trim()).unwrap_or("");
    if id.is_empty() {
        let name = table.headers.get(idx).map(String::as_str).unwrap_or("");
        return Err(InputError::file(
            &table.path,
            Some(r.line),
            format!("the id column \"{name}\" is empty"),
            "give every row an id, or leave out the id column to use row numbers",
        ));
    }
    Ok(id)
}

fn delimiter_for(path: &Path) -> u8 {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("tsv") | Some("tab") => b'\t',
        _ => b',',
    }
}

/// Windows-1252 characters for bytes 0x80–0x9F (`None`: undefined there); other bytes above
/// 0x7F are the Latin-1 code points.
const CP1252_HIGH: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    Some('Ÿ'),
];

fn line_of(bytes: &[u8], at: usize) -> u64 {
    1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64
}

/// Text of a file: UTF-8 with or without a byte-order mark (a few broken sequences replaced,
/// with a warning naming their lines); otherwise Windows-1252 (what Excel and older survey
/// tools write on Windows), converted with a warning; otherwise refused with the line it breaks
/// on.
fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<(Cow<'a, str>, Option<String>), InputError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(InputError::file(
            path,
            Some(1),
            "the file starts with a UTF-16 byte-order mark; codeframe reads UTF-8",
            SAVE_AS_UTF8,
        ));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(InputError::file(
            path,
            Some(line_of(bytes, at)),
            "the file holds NUL bytes: it is binary or UTF-16, not a text export",
            SAVE_AS_UTF8,
        ));
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let utf8_error = match std::str::from_utf8(bytes) {
        Ok(text) => return Ok((Cow::Borrowed(text), None)),
        Err(e) => e.valid_up_to(),
    };
    // The encoding is decided for the whole file: one that holds more valid UTF-8 characters
    // beyond ASCII than broken sequences is UTF-8 with a few bad bytes (replaced, each line
    // named); otherwise it is Windows-1252.
    let (mut multibyte, mut broken) = (0usize, Vec::new());
    let mut at = 0;
    for chunk in bytes.utf8_chunks() {
        multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        at += chunk.valid().len();
        if !chunk.invalid().is_empty() {
            broken.push(at);
        }
        at += chunk.invalid().len();
    }
    if multibyte > broken.len() {
        let mut lines: Vec<u64> = broken.iter().map(|&i| line_of(bytes, i)).collect();
        lines.dedup();
        let shown: Vec<String> = lines.iter().take(10).map(u64::to_string).collect();
        let more = lines.len().saturating_sub(shown.len());
        let warning = format!(
            "{} is UTF-8 with bytes that are not valid UTF-8 on line{} {}{}; they were replaced \
             by U+FFFD (�). To keep them, {SAVE_AS_UTF8}",
            path.display(),
            if lines.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
        return Ok((String::from_utf8_lossy(bytes), Some(warning)));
    }
    let mut text = String::with_capacity(bytes.len() + bytes.len() / 8);
    for (i, &b) in bytes.iter().enumerate() {
        let c = match b {
            0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)].ok_or_else(|| {
                InputError::file(
                    path,
                    Some(line_of(bytes, i)),
                    format!("byte 0x{b:02X} is neither UTF-8 nor Windows-1252 text"),
                    SAVE_AS_UTF8,
                )
            })?,
            _ => char::from(b),
        };
        text.push(c);
    }
    let warning = format!(
        "{} is not UTF-8 (first at line {}); read it as Windows-1252. If characters look wrong, {SAVE_AS_UTF8}",
        path.display(),
        line_of(bytes, utf8_error)
    );
    Ok((Cow::Owned(text), Some(warning)))
}

/// Refuses a table that lacks one of `columns` (named after `flag`), before any work on it.
pub fn require_columns(table: &Table, columns: &[&str], flag: &str) -> Result<(), InputError> {
    for c in columns {
        column_index(&table.path, &table.headers, c, flag)?;
    }
    Ok(())
}

fn column_index(
    path: &Path,
    headers: &[String],
    wanted: &str,
    flag: &str,
) -> Result<usize, InputError> {
    let matches: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| h.as_str() == wanted.trim())
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [i] => Ok(*i),
        [] => {
            let near = headers
                .iter()
                .find(|h| h.eq_ignore_ascii_case(wanted.trim()))
                .map(|h| format!(" (did you mean \"{h}\"?)"))
                .unwrap_or_default();
            Err(InputError::file(
                path,
                Some(1),
                format!("no column named \"{wanted}\"{near}"),
                format!(
                    "pass {flag} with one of the header's columns: {}",
                    headers
                        .iter()
                        .map(|h| format!("\"{h}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
        _ => Err(InputError::file(
            path,
            Some(1),
            format!(
                "the header names column \"{wanted}\" {} times",
                matches.len()
            ),
            "rename the duplicate columns so each header name is unique",
        )),
    }
}

/// Byte offsets of line starts, so a record's line is counted the same way whatever ends the
/// lines (`\n` or `\r\n`).
struct LineIndex(Vec<u64>);

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i as u64 + 1),
        );
        LineIndex(starts)
    }

    /// The 1-based line of a byte offset.
    fn line(&self, byte: u64) -> u64 {
        self.0.partition_point(|&s| s <= byte) as u64
    }
}

/// Where a record's text begins: the reader's position can sit on the line break before it.
fn start_of_record(text: &str, byte: u64) -> u64 {
    let skip = text
        .as_bytes()
        .iter()
        .skip(byte as usize)
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    byte + skip as u64
}

/// The line of a quoted field that the file never closes, if any (a quote opens a field only
/// at its start, as RFC 4180 reads it).
fn unclosed_quote(text: &str, delimiter: u8) -> Option<u64> {
    let bytes = text.as_bytes();
    let (mut i, mut field_start, mut open) = (0usize, true, None);
    while i < bytes.len() {
        let b = bytes[i];
        match open {
            Some(_) if b == b'"' && bytes.get(i + 1) == Some(&b'"') => i += 1,
            Some(_) if b == b'"' => open = None,
            Some(_) => {}
            None if field_start && b == b'"' => open = Some(i),
            None => {}
        }
        field_start = open.is_none() && (b == delimiter || b == b'\n' || b == b'\r');
        i += 1;
    }
    open.map(|at| LineIndex::new(text).line(at as u64))
}

fn csv_error(path: &Path, e: &csv::Error, text: &str, lines: &LineIndex) -> InputError {
    let line = e
        .position()
        .map(|p| lines.line(start_of_record(text, p.byte())));
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => InputError::file(
            path,
            line,
            format!("this row has {len} fields but the header has {expected_len}"),
            "quote fields that contain the delimiter or a line break (\"like, this\"), or make every row have as many fields as the header",
        ),
        _ => InputError::file(
            path,
            line,
            format!("the file is not valid CSV: {e}"),
            "export the answers again as CSV (RFC 4180) or TSV",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str, id: Option<&str>) -> ReadOptions {
        ReadOptions::new(text, id.map(Into::into))
    }

    fn parse(bytes: &[u8], o: &ReadOptions) -> Result<Answers, InputError> {
        parse_answers(Path::new("answers.csv"), bytes, o)
    }

    #[test]
    fn reads_columns_by_name_with_quoted_newlines() {
        let a = parse(
            b"id,text\nr1,\"two\nlines\"\nr2,plain\n",
            &opts("text", Some("id")),
        )
        .unwrap();
        assert_eq!(a.rows.len(), 2);
        assert_eq!(a.rows[0].text, "two\nlines");
        assert_eq!(a.rows[1].id, "r2");
        assert_eq!(a.rows[1].line, 4);
    }

    #[test]
    fn utf8_bom_is_accepted() {
        let a = parse(b"\xEF\xBB\xBFtext\nhello\n", &opts("text", None)).unwrap();
        assert_eq!(a.rows[0].text, "hello");
        assert_eq!(a.rows[0].id, "1");
    }

    #[test]
    fn utf16_bom_is_refused() {
        let e = parse(b"\xFF\xFEt\0", &opts("text", None)).unwrap_err();
        assert!(e.problem.contains("UTF-16"));
    }

    #[test]
    fn windows_1252_is_converted_with_a_warning() {
        let a = parse(
            b"text\nok\ncaf\xE9 \x93cr\xE8me\x94 \x80\n",
            &opts("text", None),
        )
        .unwrap();
        assert_eq!(a.rows[1].text, "café “crème” €");
        assert_eq!(a.warnings.len(), 1);
        assert!(a.warnings[0].contains("line 3") && a.warnings[0].contains("Windows-1252"));
        assert!(parse(b"text\nok\n", &opts("text", None))
            .unwrap()
            .warnings
            .is_empty());
    }

    #[test]
    fn a_few_bad_bytes_in_utf8_are_replaced_not_redecoded() {
        let bytes = [
            "text\ncafé crème\nüber\nΓειά σου\nbad ".as_bytes(),
            b"\xFF here\n",
        ]
        .concat();
        let a = parse(&bytes, &opts("text", None)).unwrap();
        assert_eq!(a.rows[0].text, "café crème", "not read as Windows-1252");
        assert_eq!(a.rows[2].text, "Γειά σου");
        assert_eq!(a.rows[3].text, "bad \u{FFFD} here");
        assert_eq!(a.warnings.len(), 1);
        assert!(a.warnings[0].contains("line 5"), "{}", a.warnings[0]);
        // Greek text with one bad byte is not refused on a valid line.
        let greek = [&b"text\n"[..], "Καλημέρα\n".as_bytes(), b"x\x81y\n"].concat();
        let a = parse(&greek, &opts("text", None)).unwrap();
        assert_eq!(a.rows[0].text, "Καλημέρα");
        assert!(a.warnings[0].contains("line 3"), "{}", a.warnings[0]);
    }

    #[test]
    fn crlf_files_give_the_right_lines() {
        let t = parse_table(
            Path::new("g.csv"),
            b"id,text\r\n1,a\r\n2,\"two\r\nlines\"\r\n3,c\r\n",
        )
        .unwrap();
        let lines: Vec<u64> = t.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3, 5]);
        let e = parse(b"id,text\r\n1,a\r\n2,b,c\r\n", &opts("text", None)).unwrap_err();
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn an_unclosed_quote_is_refused_with_its_line() {
        let e = parse(
            b"id,text\n1,fine\n2,\"never closed\n3,x\n",
            &opts("text", None),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.problem.contains("never closed"));
        // Quotes inside an unquoted field and doubled quotes inside a quoted one are fine.
        let a = parse(
            b"id,text\n1,a 5\" screen\n2,\"say \"\"hi\"\"\"\n",
            &opts("text", None),
        )
        .unwrap();
        assert_eq!(a.rows[1].text, "say \"hi\"");
    }

    #[test]
    fn bytes_that_are_not_text_name_the_line() {
        let e = parse(b"text\nok\nbad \x81 byte\n", &opts("text", None)).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.fix.contains("UTF-8"));
        let e = parse(b"text\nok\n\0\n", &opts("text", None)).unwrap_err();
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn missing_column_lists_the_header() {
        let e = parse(b"id,answer\n1,x\n", &opts("text", None)).unwrap_err();
        assert!(e.problem.contains("\"text\""));
        assert!(e.fix.contains("\"answer\""));
    }

    #[test]
    fn ragged_row_names_its_line() {
        let e = parse(b"id,text\n1,a\n2,b,c\n", &opts("text", None)).unwrap_err();
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn empty_and_header_only() {
        assert!(parse(b"", &opts("text", None))
            .unwrap_err()
            .problem
            .contains("empty"));
        assert!(parse(b"text\n", &opts("text", None))
            .unwrap_err()
            .problem
            .contains("no rows"));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let e = parse(b"id,text\na,x\na,y\n", &opts("text", Some("id"))).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.problem.contains("line 2"));
    }

    #[test]
    fn tsv_by_extension() {
        let a = parse_answers(
            Path::new("a.tsv"),
            b"id\ttext\n1\thi, there\n",
            &opts("text", None),
        )
        .unwrap();
        assert_eq!(a.rows[0].text, "hi, there");
    }
}
