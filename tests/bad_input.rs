//! Bad input gets exit code 2 and one message naming the file, the line and the fix; never a panic.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{codeframe, stderr};

/// Runs `embed` on a file with the given bytes and returns (exit code, stderr).
fn embed_bytes(name: &str, bytes: &[u8], extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    let out = dir.path().join("out.npy");
    let mut args = vec![
        "embed",
        input.to_str().unwrap(),
        "--text-column",
        "text",
        "--embedder",
        "tfidf",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = codeframe(&args, dir.path());
    (o.status.code().unwrap_or(-1), stderr(&o))
}

fn assert_clear(code: i32, err: &str, file: &str, line: Option<u64>, fix: &str) {
    assert_eq!(code, 2, "exit code, stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one message: {err}");
    assert!(err.contains(file), "names the file: {err}");
    if let Some(l) = line {
        assert!(err.contains(&format!("line {l}")), "names line {l}: {err}");
    }
    assert!(
        err.contains("Fix:") && err.contains(fix),
        "says the fix: {err}"
    );
}

#[test]
fn missing_column() {
    let (c, e) = embed_bytes("a.csv", b"id,answer\n1,hello\n", &[]);
    assert_clear(c, &e, "a.csv", Some(1), "--text-column");
    assert!(e.contains("\"answer\""));
}

#[test]
fn empty_file() {
    let (c, e) = embed_bytes("empty.csv", b"", &[]);
    assert_clear(c, &e, "empty.csv", None, "header");
}

#[test]
fn header_only() {
    let (c, e) = embed_bytes("h.csv", b"id,text\n", &[]);
    assert_clear(c, &e, "h.csv", Some(1), "one row per answer");
}

#[test]
fn non_utf8_bytes() {
    let (c, e) = embed_bytes("bytes.csv", b"id,text\n1,ok\n2,bad \x81\x8d bytes\n", &[]);
    assert_clear(c, &e, "bytes.csv", Some(3), "UTF-8");
    let (c, e) = embed_bytes("nul.csv", b"id,text\n1,ok\n2,\0\n", &[]);
    assert_clear(c, &e, "nul.csv", Some(3), "UTF-8");
}

#[test]
fn windows_1252_is_read_with_a_warning() {
    let (c, e) = embed_bytes(
        "cp1252.csv",
        b"id,text\n1,ok\n2,caf\xe9 cr\xe8me\n",
        &["--quiet"],
    );
    assert_eq!(c, 0, "{e}");
    assert!(
        e.contains("warning") && e.contains("cp1252.csv") && e.contains("line 3"),
        "{e}"
    );
    assert!(e.contains("Windows-1252"), "{e}");
}

#[test]
fn utf16_bom() {
    let (c, e) = embed_bytes("u16.csv", b"\xff\xfei\0d\0", &[]);
    assert_clear(c, &e, "u16.csv", Some(1), "UTF-8");
}

#[test]
fn utf8_bom_is_read() {
    let (c, e) = embed_bytes("bom.csv", b"\xef\xbb\xbftext,id\nhello there,1\n", &[]);
    assert_eq!(c, 0, "{e}");
}

#[test]
fn ragged_rows() {
    let (c, e) = embed_bytes("r.csv", b"id,text\n1,fine\n2,one, two\n", &[]);
    assert_clear(c, &e, "r.csv", Some(3), "quote");
}

#[test]
fn duplicate_ids() {
    let (c, e) = embed_bytes("d.csv", b"id,text\n7,a\n7,b\n", &["--id-column", "id"]);
    assert_clear(c, &e, "d.csv", Some(3), "unique");
}

#[test]
fn missing_model_files() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    std::fs::write(model.join("config.json"), b"{}").unwrap();
    let (c, e) = embed_with_model(dir.path(), "--model-dir", &model);
    assert_clear(c, &e, "model", None, "scripts/setup.sh");
}

/// `codeframe embed` of the example answers with `flag` naming the folder `model`, in `dir`:
/// exit code and stderr, after checking that no output was written.
fn embed_with_model(dir: &Path, flag: &str, model: &Path) -> (i32, String) {
    let input = common::root().join("data/examples/answers.csv");
    let out = dir.join("o.npy");
    let o = codeframe(
        &[
            "embed",
            input.to_str().unwrap(),
            "--text-column",
            "text",
            flag,
            model.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        dir,
    );
    assert!(!out.exists());
    (o.status.code().unwrap_or(-1), stderr(&o))
}

#[test]
fn damaged_weights_in_a_folder_a_user_brings() {
    // The installed MiniLM's small files, beside a cut-off model.safetensors.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let src = common::model_dir();
    for rel in [
        "config.json",
        "config_sentence_transformers.json",
        "modules.json",
        "sentence_bert_config.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
        "1_Pooling/config.json",
    ] {
        let to = model.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), &to).unwrap();
    }
    std::fs::write(model.join("model.safetensors"), b"\x08\x00\x00").unwrap();
    let (c, e) = embed_with_model(dir.path(), "--model", &model);
    assert_clear(
        c,
        &e,
        "model.safetensors",
        None,
        "copy the model folder again",
    );
}

#[test]
fn missing_input_and_bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let o = codeframe(
        &[
            "embed",
            "/no/such.csv",
            "--text-column",
            "text",
            "--out",
            "x.npy",
        ],
        dir.path(),
    );
    assert_clear(
        o.status.code().unwrap_or(-1),
        &stderr(&o),
        "/no/such.csv",
        None,
        "path",
    );
    let input = common::root().join("data/examples/answers.csv");
    let o = codeframe(
        &[
            "embed",
            input.to_str().unwrap(),
            "--text-column",
            "text",
            "--out",
            "x.txt",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = codeframe(
        &[
            "embed",
            input.to_str().unwrap(),
            "--text-column",
            "text",
            "--precision",
            "f16",
            "--out",
            "x.npy",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
