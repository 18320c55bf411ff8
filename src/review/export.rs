//! What the workspace exports: the frame as TOML in the format discover, fit and apply read;
//! `coded.csv` with every answer's final code, who gave it and where it comes from (what `fit`
//! learns from as it is); every coding stream side by side (what `agree` measures); and a
//! second coder's sheet.

use std::collections::BTreeMap;

use super::store::{Store, ADJUDICATION, MACHINE};
use super::StoreError;
use crate::report::csv_table;

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

impl Store {
    /// The frame as TOML: `[frame]`, the question, `[[groups]]` and `[[codes]]` (live ones, in
    /// creation order).
    pub fn frame_toml(&self) -> Result<String, StoreError> {
        let name = self.meta("frame_name")?.unwrap_or_else(|| "review".into());
        let question = self.meta("question")?;
        let mut out = format!(
            "# Written by codeframe review.\n[frame]\nname = {}\nsource = {}\n",
            quoted(&name),
            quoted(&self.meta("source")?.unwrap_or_default())
        );
        if let Some(q) = &question {
            out.push_str(&format!("\n[[questions]]\nid = {}\n", quoted(q)));
            if let Some(t) = self.meta("question_text")? {
                out.push_str(&format!("text = {}\n", quoted(&t)));
            }
        }
        let qline = question
            .as_ref()
            .map(|q| format!("question = {}\n", quoted(q)))
            .unwrap_or_default();
        let mut keys: BTreeMap<i64, String> = BTreeMap::new();
        let mut st = self.conn.prepare(
            "SELECT grp, key, label, description FROM topic_groups WHERE deleted = 0 ORDER BY grp",
        )?;
        for g in st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })? {
            let (grp, key, label, description) = g?;
            out.push_str(&format!(
                "\n[[groups]]\nid = {}\n{qline}label = {}\ndescription = {}\n",
                quoted(&key),
                quoted(&label),
                quoted(&description)
            ));
            keys.insert(grp, key);
        }
        let mut st = self.conn.prepare(
            "SELECT key, label, description, grp, nonanswers FROM codes WHERE deleted = 0 ORDER BY code",
        )?;
        for c in st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })? {
            let (key, label, description, grp, nonanswers) = c?;
            out.push_str(&format!(
                "\n[[codes]]\nid = {}\n{qline}label = {}\n",
                quoted(&key),
                quoted(&label)
            ));
            if let Some(g) = grp.and_then(|g| keys.get(&g)) {
                out.push_str(&format!("group = {}\n", quoted(g)));
            }
            out.push_str(&format!("description = {}\n", quoted(&description)));
            if nonanswers {
                out.push_str("nonanswers = true\n");
            }
        }
        Ok(out)
    }

    /// `coded.csv`: every answer with its final code, the code's id and topic group, the coding
    /// stream it comes from and its source (machine, person, adjudicated; empty: uncoded).
    pub fn coded_csv(&self) -> Result<Vec<u8>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT a.id, a.text, c.label, c.key, g.label, f.coder, f.source, a.status
             FROM answers a LEFT JOIN finals f ON f.row = a.row
             LEFT JOIN codes c ON c.code = f.code
             LEFT JOIN topic_groups g ON g.grp = c.grp
             ORDER BY a.row",
        )?;
        let rows = st
            .query_map([], |r| {
                let cells: Vec<Option<String>> = (0..8)
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect::<Result<_, _>>()?;
                Ok(cells)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .map(|mut cells| {
                // A cleared final coding has a coder but no code: no source either.
                if cells[2].is_none() {
                    cells[5] = None;
                    cells[6] = None;
                }
                cells.into_iter().map(Option::unwrap_or_default).collect()
            })
            .collect();
        Ok(csv_table(
            &[
                "id", "text", "code", "code_id", "group", "coder", "source", "status",
            ],
            rows,
        ))
    }

    /// Every coding stream's current code side by side: `id, text, <people…>, adjudication,
    /// codeframe` (`codeframe agree` takes it as it is).
    pub fn codings_csv(&self) -> Result<Vec<u8>, StoreError> {
        let mut streams = self.coders()?;
        streams.sort_by_key(|s| (s == ADJUDICATION, s == MACHINE, s.clone()));
        let mut table: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
        let mut st = self.conn.prepare(
            "SELECT x.row, x.coder, c.label FROM current x JOIN codes c ON c.code = x.code",
        )?;
        for r in st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })? {
            let (row, coder, label) = r?;
            table.entry(row).or_default().insert(coder, label);
        }
        let mut st = self
            .conn
            .prepare("SELECT row, id, text FROM answers ORDER BY row")?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let header: Vec<&str> = ["id", "text"]
            .into_iter()
            .chain(streams.iter().map(String::as_str))
            .collect();
        let body = rows.into_iter().map(|(row, id, text)| {
            let codes = table.get(&row);
            let mut cells = vec![id, text];
            for s in &streams {
                cells.push(codes.and_then(|c| c.get(s)).cloned().unwrap_or_default());
            }
            cells
        });
        Ok(csv_table(&header, body))
    }

    /// A second coder's sheet: the answers of their latest sample (`id, text`) and their codes
    /// so far (`code`), in sample order.
    pub fn sample_csv(&self, coder: &str) -> Result<Vec<u8>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT a.id, a.text,
               (SELECT c.label FROM current x JOIN codes c ON c.code = x.code
                 WHERE x.row = a.row AND x.coder = ?1)
             FROM sample_rows s JOIN answers a ON a.row = s.row
             WHERE s.sample = (SELECT MAX(sample) FROM samples WHERE coder = ?1)
             ORDER BY s.position",
        )?;
        let rows = st
            .query_map([coder], |r| {
                Ok(vec![
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                ])
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(csv_table(&["id", "text", "code"], rows))
    }
}
