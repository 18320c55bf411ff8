//! The store's schema, versioned by SQLite's `user_version`: each migration runs once, in its
//! own transaction, so a store made by an older codeframe opens in a newer one.

use rusqlite::Connection;

use super::StoreError;

/// Migrations in order; migration `i` takes the store from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: answers, the frame (codes and topic groups), every coding as a row, the current
    // coding of each coder and the final code of each answer kept beside them, frame edits
    // (for undo), frame versions, second coders' samples.
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE answers (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    suggestion INTEGER,
    confidence REAL,
    candidate INTEGER,
    language TEXT
);
CREATE TABLE topic_groups (
    grp INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE codes (
    code INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    grp INTEGER REFERENCES topic_groups(grp),
    nonanswers INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    merged_into INTEGER REFERENCES codes(code)
);
CREATE TABLE candidates (
    candidate INTEGER PRIMARY KEY,
    keywords TEXT NOT NULL,
    typical TEXT NOT NULL,
    size INTEGER NOT NULL,
    nearest TEXT NOT NULL,
    accepted_as INTEGER REFERENCES codes(code)
);
CREATE TABLE coders (name TEXT PRIMARY KEY, role TEXT NOT NULL);
CREATE TABLE codings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    row INTEGER NOT NULL REFERENCES answers(row),
    coder TEXT NOT NULL,
    actor TEXT NOT NULL,
    code INTEGER REFERENCES codes(code),
    source TEXT NOT NULL,
    previous INTEGER,
    op INTEGER,
    at_ms INTEGER NOT NULL
);
CREATE INDEX codings_by_row ON codings(row, seq);
CREATE TABLE current (
    row INTEGER NOT NULL,
    coder TEXT NOT NULL,
    code INTEGER,
    source TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (row, coder)
);
CREATE INDEX current_by_coder ON current(coder, code);
CREATE TABLE finals (
    row INTEGER PRIMARY KEY,
    code INTEGER,
    coder TEXT,
    source TEXT,
    seq INTEGER
);
CREATE INDEX finals_by_code ON finals(code);
CREATE TABLE ops (
    op INTEGER PRIMARY KEY AUTOINCREMENT,
    coder TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    undo TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0,
    at_ms INTEGER NOT NULL
);
CREATE TABLE frames (version INTEGER PRIMARY KEY, op INTEGER, toml TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE TABLE samples (
    sample INTEGER PRIMARY KEY AUTOINCREMENT,
    coder TEXT NOT NULL,
    seed INTEGER NOT NULL,
    size INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TABLE sample_rows (
    sample INTEGER NOT NULL REFERENCES samples(sample),
    row INTEGER NOT NULL REFERENCES answers(row),
    position INTEGER NOT NULL,
    PRIMARY KEY (sample, row)
);
"#,
    // 2: each code's threshold for automatic coding (apply runs), shown beside the machine's
    // score of an answer below it.
    "ALTER TABLE codes ADD COLUMN threshold REAL;",
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings a store to [`VERSION`]; refuses one written by a newer codeframe.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let at: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if at > VERSION {
        return Err(StoreError::Newer {
            found: at,
            known: VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(at as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_of_the_first_version_gains_the_thresholds_and_keeps_its_codes() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO codes(key, label) VALUES ('funding', 'Funding')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let at: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(at, VERSION);
        let (label, threshold): (String, Option<f64>) = conn
            .query_row("SELECT label, threshold FROM codes", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((label.as_str(), threshold), ("Funding", None));
        migrate(&mut conn).unwrap();
    }
}
