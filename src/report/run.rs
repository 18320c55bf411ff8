//! Run reports: gather a discover or apply output folder (and any evaluation.json or
//! agreement.json placed in it) into the page model, and write DIR/report.html.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::html::{
    render, AgreementRow, Confusion, DriftRow, MapPoint, Metric, ReportGroup, RunReport,
};
use crate::describe::keywords;
use crate::error::{InputError, Result};
use crate::fsio;
use crate::ingest::{self, Table};

fn bad(path: &Path, problem: impl Into<String>) -> InputError {
    InputError::file(
        path,
        None,
        problem,
        "pass the output folder of `codeframe discover` or `codeframe apply`",
    )
}

fn read_json(path: &Path) -> Result<Value> {
    serde_json::from_slice(&fsio::read(path)?)
        .map_err(|e| bad(path, format!("not valid JSON: {e}")).into())
}

/// Column `name` of every record.
fn column(t: &Table, name: &str) -> Result<Vec<String>> {
    let i = t.column(name, "report")?;
    Ok(t.records
        .iter()
        .map(|r| r.fields.get(i).cloned().unwrap_or_default())
        .collect())
}

fn f(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default()
}

/// Reads `dir` and builds the page model.
pub fn gather(dir: &Path) -> Result<RunReport> {
    if !dir.is_dir() {
        return Err(InputError::file(
            dir,
            None,
            "no such folder",
            "pass the output folder of `codeframe discover` or `codeframe apply`",
        )
        .into());
    }
    let manifest_path = dir.join("manifest.json");
    if !manifest_path.is_file() {
        return Err(bad(&manifest_path, "no manifest.json in the folder").into());
    }
    let manifest = read_json(&manifest_path)?;
    let command = s(&manifest["command"]);
    let source = manifest["parameters"]["input"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            manifest["inputs"]
                .as_object()
                .and_then(|m| m.keys().next().cloned())
        })
        .map(|p| {
            Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(p)
        })
        .unwrap_or_default();
    let assignments = ingest::read_table(&dir.join("assignments.csv"))?;
    let ids = column(&assignments, "id")?;
    let texts = column(&assignments, "text")?;
    let status = column(&assignments, "status")?;
    let mut status_counts: BTreeMap<String, usize> = BTreeMap::new();
    for st in &status {
        *status_counts.entry(st.clone()).or_insert(0) += 1;
    }
    // Each row's group index into `groups`, when it has one.
    let (groups, row_group, candidates, drift) = match command.as_str() {
        "discover" => discover_groups(dir, &assignments)?,
        "apply" => apply_groups(dir, &assignments, &texts)?,
        other => {
            return Err(bad(
                &manifest_path,
                format!("a `{other}` run has no report; reports are for discover and apply"),
            )
            .into())
        }
    };
    let by_id: BTreeMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut points = Vec::new();
    let map_path = dir.join("map.csv");
    if map_path.is_file() {
        let map = ingest::read_table(&map_path)?;
        let (mid, mx, my) = (column(&map, "id")?, column(&map, "x")?, column(&map, "y")?);
        for ((id, x), y) in mid.iter().zip(&mx).zip(&my) {
            if let (Some(&row), Ok(x), Ok(y)) = (by_id.get(id.as_str()), x.parse(), y.parse()) {
                points.push(MapPoint {
                    x,
                    y,
                    group: row_group[row],
                    text: texts[row].clone(),
                });
            }
        }
    }
    let mut report = RunReport {
        title: title(&manifest, &command, &source),
        command: command.clone(),
        source,
        generated_by: format!("codeframe {}", s(&manifest["version"])),
        rows_total: ids.len(),
        status_counts: status_counts.into_iter().collect(),
        groups,
        points,
        candidates,
        drift,
        ..RunReport::default()
    };
    let eval = dir.join("evaluation.json");
    if eval.is_file() {
        add_evaluation(&mut report, &read_json(&eval)?);
    }
    let agree = dir.join("agreement.json");
    if agree.is_file() {
        add_agreement(&mut report, &read_json(&agree)?);
    }
    Ok(report)
}

fn title(manifest: &Value, command: &str, source: &str) -> String {
    let question = manifest["parameters"]["question"].as_str().unwrap_or("");
    let what = if command == "apply" {
        "answers coded with a frame"
    } else {
        "topic groups found"
    };
    if question.is_empty() {
        format!("{source}: {what}")
    } else {
        format!("{source} ({question}): {what}")
    }
}

type Gathered = (
    Vec<ReportGroup>,
    Vec<Option<usize>>,
    Vec<ReportGroup>,
    Vec<DriftRow>,
);

fn card(v: &Value) -> ReportGroup {
    ReportGroup {
        name: s(&v["name"]),
        topic_group: v["topic_group"].as_str().map(str::to_string),
        size: v["size"].as_u64().unwrap_or(0) as usize,
        share: f(&v["share"]).unwrap_or(0.0),
        keywords: strings(&v["keywords"]),
        typical: strings(&v["typical"]),
    }
}

fn discover_groups(dir: &Path, assignments: &Table) -> Result<Gathered> {
    let groups_json = read_json(&dir.join("groups.json"))?;
    let groups: Vec<ReportGroup> = groups_json["groups"]
        .as_array()
        .map(|a| a.iter().map(card).collect())
        .unwrap_or_default();
    // Groups that share a name (e.g. codes reported under their topic group) are one bar and
    // one card, as in frequencies.csv: sizes added, keywords and typical answers interleaved
    // from the largest member down.
    let mut merged: Vec<ReportGroup> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut index_of = vec![0usize; groups.len()];
    for (i, g) in groups.iter().enumerate() {
        match merged.iter().position(|m| m.name == g.name) {
            Some(j) => {
                members[j].push(i);
                index_of[i] = j;
            }
            None => {
                index_of[i] = merged.len();
                members.push(vec![i]);
                merged.push(g.clone());
            }
        }
    }
    for (m, idx) in merged.iter_mut().zip(&members) {
        if idx.len() < 2 {
            continue;
        }
        m.size = idx.iter().map(|&i| groups[i].size).sum();
        m.share = idx.iter().map(|&i| groups[i].share).sum();
        m.topic_group = None;
        m.keywords = interleave(idx.iter().map(|&i| &groups[i].keywords), 8);
        m.typical = interleave(idx.iter().map(|&i| &groups[i].typical), 5);
    }
    let mut order: Vec<usize> = (0..merged.len()).collect();
    order.sort_by(|&a, &b| merged[b].size.cmp(&merged[a].size).then(a.cmp(&b)));
    let mut rank = vec![0usize; merged.len()];
    for (r, &j) in order.iter().enumerate() {
        rank[j] = r;
    }
    let merged_sorted: Vec<ReportGroup> = order.iter().map(|&j| merged[j].clone()).collect();
    let row_group = column(assignments, "group")?
        .iter()
        .map(|g| g.parse::<usize>().ok().and_then(|g| g.checked_sub(1)))
        .map(|g| g.filter(|&g| g < groups.len()).map(|g| rank[index_of[g]]))
        .collect();
    Ok((merged_sorted, row_group, Vec::new(), Vec::new()))
}

/// Up to `max` distinct items taken in turn from each list.
fn interleave<'a>(lists: impl Iterator<Item = &'a Vec<String>>, max: usize) -> Vec<String> {
    let lists: Vec<&Vec<String>> = lists.collect();
    let mut out: Vec<String> = Vec::new();
    let longest = lists.iter().map(|l| l.len()).max().unwrap_or(0);
    for i in 0..longest {
        for l in &lists {
            if let Some(v) = l.get(i) {
                if out.len() < max && !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
    }
    out
}

fn apply_groups(dir: &Path, assignments: &Table, texts: &[String]) -> Result<Gathered> {
    let summary = read_json(&dir.join("summary.json"))?;
    let freq = ingest::read_table(&dir.join("frequencies.csv"))?;
    let names = column(&freq, "response")?;
    let topic = column(&freq, "group")?;
    let counts = column(&freq, "count")?;
    let mut groups: Vec<ReportGroup> = names
        .iter()
        .zip(&topic)
        .zip(&counts)
        .filter(|((n, _), _)| !n.starts_with('('))
        .map(|((n, t), c)| ReportGroup {
            name: n.clone(),
            topic_group: (!t.is_empty()).then(|| t.clone()),
            size: c.parse().unwrap_or(0),
            ..ReportGroup::default()
        })
        .collect();
    let total: usize = groups.iter().map(|g| g.size).sum();
    let index: BTreeMap<String, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.clone(), i))
        .collect();
    let code = column(assignments, "code")?;
    let status = column(assignments, "status")?;
    let confidence = column(assignments, "confidence")?;
    let row_group: Vec<Option<usize>> = code
        .iter()
        .zip(&status)
        .map(|(c, st)| (st == "coded").then(|| index.get(c).copied()).flatten())
        .collect();
    // Keywords and the most confident answers of each code, from this wave's coded answers.
    let mut members: Vec<Vec<(f32, usize)>> = vec![Vec::new(); groups.len()];
    for (row, g) in row_group.iter().enumerate() {
        if let Some(g) = g {
            members[*g].push((confidence[row].parse().unwrap_or(0.0), row));
        }
    }
    let member_texts: Vec<Vec<&str>> = members
        .iter()
        .map(|m| m.iter().map(|&(_, r)| texts[r].as_str()).collect())
        .collect();
    let kw = keywords(&member_texts, 8);
    for ((g, m), k) in groups.iter_mut().zip(&mut members).zip(kw) {
        m.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        g.typical = m.iter().take(5).map(|&(_, r)| texts[r].clone()).collect();
        g.keywords = k;
        g.share = g.size as f64 / total.max(1) as f64;
    }
    let candidates = summary["candidates"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| ReportGroup {
                    name: format!(
                        "Candidate {} (nearest code: {})",
                        c["candidate"].as_u64().unwrap_or(0),
                        s(&c["nearest_code"])
                    ),
                    ..card(c)
                })
                .collect()
        })
        .unwrap_or_default();
    let drift_table = ingest::read_table(&dir.join("drift.csv"))?;
    let col = |n: &str| column(&drift_table, n);
    let (dc, bs, ws, ch, p, fl) = (
        col("code")?,
        col("baseline_share")?,
        col("wave_share")?,
        col("change_pp")?,
        col("p_value")?,
        col("flag")?,
    );
    let num = |v: &String| v.parse::<f64>().ok().filter(|x| x.is_finite());
    let drift = (0..dc.len())
        .map(|i| DriftRow {
            code: dc[i].clone(),
            baseline_share: num(&bs[i]),
            wave_share: num(&ws[i]),
            change_pp: num(&ch[i]),
            p_value: num(&p[i]),
            flag: fl[i].clone(),
        })
        .collect();
    Ok((groups, row_group, candidates, drift))
}

fn add_evaluation(r: &mut RunReport, e: &Value) {
    let rep = &e["report"];
    let metric = |name: &str, v: &Value, note: &str| Metric {
        name: name.into(),
        value: f(v),
        note: note.into(),
    };
    r.evaluation.push(metric("answers scored", &e["n"], ""));
    if rep["classification"].is_object() {
        let c = &rep["classification"];
        r.evaluation.extend([
            metric(
                "accuracy",
                &c["accuracy"],
                "codes as the human coders gave them",
            ),
            metric("macro-F1", &c["macro_f1"], "mean over codes"),
            metric("Cohen's kappa", &c["kappa"], "chance-corrected agreement"),
        ]);
    }
    let c = &rep["cluster"];
    r.evaluation.extend([
        metric("ACC", &c["acc"], "groups matched one-to-one to codes"),
        metric("NMI", &c["nmi"], "normalised mutual information"),
        metric("ARI", &c["ari"], "adjusted Rand index"),
        metric(
            "TVD of the frequency table",
            &rep["frequencies"]["tvd"],
            "0 = the same shares as the human coding",
        ),
    ]);
}

fn add_agreement(r: &mut RunReport, a: &Value) {
    let row = |name: String, c: &Value| AgreementRow {
        name,
        value: f(&c["value"]),
        ci_low: f(&c["ci_low"]),
        ci_high: f(&c["ci_high"]),
        reading: s(&c["reading"]),
    };
    let o = &a["overall"];
    for (key, name) in [
        ("percent_agreement", "Percent agreement"),
        ("krippendorff_alpha", "Krippendorff's alpha"),
        ("fleiss_kappa", "Fleiss' kappa"),
        ("gwet_ac1", "Gwet's AC1"),
        ("brennan_prediger", "Brennan–Prediger"),
    ] {
        r.agreement.push(row(name.into(), &o[key]));
    }
    let pairs = a["pairs"].as_array().cloned().unwrap_or_default();
    for p in &pairs {
        r.agreement.push(row(
            format!("{} / {}: Cohen's kappa", s(&p["coder_a"]), s(&p["coder_b"])),
            &p["cohen_kappa"],
        ));
    }
    // The heatmap shows the last pair: the coder joined last (usually codeframe) against the others.
    if let Some(p) = pairs.last() {
        let codes = strings(&a["codes"]);
        let counts = p["confusion"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        r.as_array()
                            .map(|c| c.iter().map(|v| v.as_u64().unwrap_or(0)).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        r.confusion = Some(Confusion {
            title: format!(
                "{} (rows) against {} (columns)",
                s(&p["coder_a"]),
                s(&p["coder_b"])
            ),
            rows: codes.clone(),
            cols: codes,
            counts,
        });
    }
}

/// Writes `DIR/report.html` (or `out`) and returns its path.
pub fn write_report(dir: &Path, out: Option<&Path>) -> Result<PathBuf> {
    let report = gather(dir)?;
    let path = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join("report.html"));
    fsio::write_atomic(&path, render(&report).as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_takes_in_turn_without_repeats() {
        let a = vec!["x".to_string(), "y".to_string(), "z".to_string()];
        let b = vec!["y".to_string(), "w".to_string()];
        assert_eq!(interleave([&a, &b].into_iter(), 3), vec!["x", "y", "w"]);
        assert_eq!(
            interleave([&a, &b].into_iter(), 9),
            vec!["x", "y", "w", "z"]
        );
    }
}
