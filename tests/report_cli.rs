//! Reports and spreadsheets end to end: hostile answers stay inert in report.html, CSV and XLSX
//! outputs; .xlsx input is read like CSV; a broken workbook is refused with exit code 2.

#![allow(clippy::unwrap_used)]

mod common;

use common::{codeframe, stderr};

const HOSTILE: [&str; 4] = [
    "<script>alert(1)</script> more webinars please",
    "\"><img src=x onerror=alert(1)> funding calls",
    "=HYPERLINK(\"http://evil.example\",\"click\") slides",
    "@SUM(1+1) recordings of the sessions",
];

#[test]
fn hostile_answers_stay_inert_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("answers.csv");
    let mut body = String::from("id,text\n");
    let plain = [
        "the slides of the speakers",
        "a recording of the webinar",
        "links to further reading",
        "funding opportunities for clusters",
        "good practice examples from other regions",
        "a summary report",
        "contact list of participants",
        "more on internationalisation",
    ];
    for (i, t) in HOSTILE.iter().chain(plain.iter()).enumerate() {
        body.push_str(&format!("{},\"{}\"\n", i + 1, t.replace('"', "\"\"")));
    }
    std::fs::write(&input, body).unwrap();
    let out = dir.path().join("run");
    let o = codeframe(
        &[
            "--quiet",
            "discover",
            input.to_str().unwrap(),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--k",
            "3",
            "--out",
            out.to_str().unwrap(),
            "--report",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for h in &HOSTILE[..2] {
        assert!(!html.contains(h), "raw {h:?} in the report");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<img"));
    let csv = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
    assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
    assert!(csv.contains(",'@SUM(1+1) recordings"), "{csv}");
    // The workbook keeps the answers as text cells: no formula anywhere.
    use calamine::{Data, Reader, Xlsx};
    let xlsx = std::fs::read(out.join("assignments.xlsx")).unwrap();
    let mut book = Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    let formulas = book.worksheet_formula("assignments").unwrap();
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
    let cells = book.worksheet_range("assignments").unwrap();
    assert!(cells
        .used_cells()
        .any(|(_, _, d)| *d == Data::String(HOSTILE[2].to_string())));
}

#[test]
fn xlsx_input_reads_like_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coders.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["id", "text", "a", "b"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let rows = [
        (1.0, "slides", "pres", "pres"),
        (2.0, "video", "rec", "rec"),
        (3.0, "links", "links", "pres"),
        (4.0, "report", "summary", "summary"),
    ];
    for (r, (id, t, a, b)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_number(r, 0, *id).unwrap();
        ws.write_string(r, 1, *t).unwrap();
        ws.write_string(r, 2, *a).unwrap();
        ws.write_string(r, 3, *b).unwrap();
    }
    book.save(&path).unwrap();
    let o = codeframe(
        &[
            "agree",
            path.to_str().unwrap(),
            "--coders",
            "a,b",
            "--bootstrap",
            "0",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["units_used"], 4);
    assert_eq!(v["disagreement_units"], 1);
    let dis = std::fs::read_to_string(dir.path().join("disagreements.csv"));
    assert!(dis.is_err(), "no --out, so no disagreements.csv");

    let broken = dir.path().join("broken.xlsx");
    std::fs::write(&broken, b"this is not a workbook").unwrap();
    let o = codeframe(
        &["agree", broken.to_str().unwrap(), "--coders", "a,b"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("Excel"), "{}", stderr(&o));
}
