//! `codeframe crosstab`: a discover or apply run and a respondent variable in (a kept column of
//! the run, or a column of a joined respondent file); the groups or codes by that variable,
//! with bases, weighted shares and a chi-square test, out.

use std::collections::HashMap;
use std::path::Path;

use crate::config::CrosstabSettings;
use crate::crosstab::{self, sheet, Category, Crosstab, Unit};
use crate::error::{InputError, Result};
use crate::fsio;
use crate::ingest::respondent::read_weight;
use crate::ingest::{unique_ids, Table};
use crate::manifest::Manifest;
use crate::progress::{terminal_safe, Progress};
use crate::report::{self, survey, tables};
use crate::rundir::{self, Run};
use crate::status::Status;

/// Reads the run and the variable, tabulates, writes crosstab-COL.csv/.xlsx/.json and prints
/// the table on stdout.
pub fn run(s: &CrosstabSettings, progress: &Progress) -> Result<Crosstab> {
    let run = rundir::read_run(&s.run)?;
    let assignments_path = s.run.join(rundir::ASSIGNMENTS);
    let assignments = rundir::read_table(&assignments_path)?;
    let (categories, units) = units_of(&run);
    let params = &run.manifest().parameters;
    let run_weight = params
        .get("weight_column")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let weight_column = s.weight_column.clone().or(run_weight);
    let ids: Vec<&str> = ids_of(&run);
    let mut manifest = Manifest::new("crosstab");
    manifest.input(&assignments_path, &assignments.sha256);
    let own = Source::run(assignments);
    let joined = match &s.join {
        Some((path, id)) => {
            let table = rundir::read_table(path)?;
            for w in &table.warnings {
                progress.warn(w);
            }
            manifest.input(path, &table.sha256);
            let id = id.clone().unwrap_or_else(|| {
                params
                    .get("id_column")
                    .and_then(|v| v.as_str())
                    .unwrap_or("id")
                    .to_string()
            });
            // A kept column of that name (a respondent id) is the key; else the answer ids.
            let keys: Vec<&str> = match own.table.headers.iter().position(|h| h.trim() == id) {
                Some(c) => (0..own.table.records.len())
                    .map(|i| own.value(c, i).unwrap_or(""))
                    .collect(),
                None => ids.clone(),
            };
            Some(Source::joined(table, &id, &keys, progress)?)
        }
        None => None,
    };
    let source = joined.as_ref().unwrap_or(&own);
    let by = source.column(&s.by, "--by", &s.run)?;
    let weights = match &weight_column {
        Some(w) => Some(source.column(w, "--weight-column", &s.run)?),
        None => None,
    };
    let units: Vec<Unit> = units
        .into_iter()
        .enumerate()
        .map(|(i, categories)| {
            let weight = match &weights {
                Some(w) => source.weight(*w, i)?,
                None => 1.0,
            };
            Ok(Unit {
                categories,
                by: source.value(by, i).map(str::to_string),
                weight,
            })
        })
        .collect::<Result<_, InputError>>()?;
    let units = match &s.respondent_column {
        Some(col) => {
            // The run's own column first: respondent ids are kept with the answers.
            let from = if own.table.headers.iter().any(|h| h.trim() == col) {
                &own
            } else {
                source
            };
            let c = from.column(col, "--respondent-column", &s.run)?;
            per_respondent(units, |i| from.value(c, i))
        }
        None => units,
    };
    let x = crosstab::crosstab(&s.by, &categories, &units, weight_column.as_deref());
    manifest
        .param("run", s.run.display().to_string())
        .param("by", s.by.as_str())
        .param("weight_column", weight_column.clone())
        .param("respondent_column", s.respondent_column.clone());
    let stem = format!("crosstab-{}", file_safe(&s.by));
    let table = sheet::sheet(&x);
    let csv = s.out.join(format!("{stem}.csv"));
    let xlsx = s.out.join(format!("{stem}.xlsx"));
    let json = s.out.join(format!("{stem}.json"));
    for p in [&csv, &xlsx, &json] {
        manifest.outputs.push(p.display().to_string());
    }
    let book = table.xlsx()?;
    fsio::write_atomic(&csv, &table.csv())?;
    fsio::write_atomic(&xlsx, &book.bytes)?;
    fsio::write_atomic(
        &json,
        &report::json(
            "crosstab",
            &serde_json::json!({ "manifest": manifest, "crosstab": &x }),
        )?,
    )?;
    let mut text = terminal_safe(&sheet::text(&x)).into_owned();
    text.push('\n');
    fsio::write_stdout(text.as_bytes())?;
    progress.say(format!(
        "crosstab: wrote {}, {} and {}",
        csv.display(),
        xlsx.display(),
        json.display()
    ));
    Ok(x)
}

/// One unit per respondent: the codes of all their answers (each once), the variable and
/// weight of their first answer. Answers without a respondent id stay units of their own.
fn per_respondent<'a>(
    units: Vec<Unit>,
    respondent: impl Fn(usize) -> Option<&'a str>,
) -> Vec<Unit> {
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Unit> = Vec::new();
    for (i, u) in units.into_iter().enumerate() {
        match respondent(i) {
            Some(r) => match at.get(r) {
                Some(&j) => {
                    for c in u.categories {
                        if !out[j].categories.contains(&c) {
                            out[j].categories.push(c);
                        }
                    }
                }
                None => {
                    at.insert(r, out.len());
                    out.push(u);
                }
            },
            None => out.push(u),
        }
    }
    out
}

/// The run's rows as the table counts them: its frequency rows (the base's first) and, per
/// answer, the rows it is counted under (every passing code with `--multi`).
fn units_of(run: &Run) -> (Vec<Category>, Vec<Vec<usize>>) {
    let (freq, keys, several): (tables::Frequencies, Vec<String>, Vec<Vec<String>>) = match run {
        Run::Discover(d) => {
            let keys = survey::discover_keys(&d.discovery);
            (tables::discover_frequencies(&d.discovery), keys, Vec::new())
        }
        Run::Apply(a) => {
            let app = &a.application;
            let codes = &app.summary.codes;
            let several = app
                .rows
                .iter()
                .map(|r| match r.status {
                    Status::Coded if r.codes.len() > 1 => r
                        .codes
                        .iter()
                        .filter_map(|&c| codes.get(c).map(|c| c.label.clone()))
                        .collect(),
                    _ => Vec::new(),
                })
                .collect();
            (
                tables::apply_frequencies(app),
                survey::apply_keys(app),
                several,
            )
        }
    };
    let categories: Vec<Category> = freq
        .rows
        .iter()
        .map(|r| Category {
            name: r.name.clone(),
            kind: match r.kind {
                tables::RowKind::Group => "group",
                tables::RowKind::Code => "code",
                tables::RowKind::Status(_) => "status",
            },
            in_base: r.share.is_some(),
        })
        .collect();
    let at: HashMap<&str, usize> = categories
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let units = keys
        .iter()
        .enumerate()
        .map(|(i, k)| match several.get(i).filter(|l| !l.is_empty()) {
            Some(labels) => labels
                .iter()
                .filter_map(|l| at.get(l.as_str()).copied())
                .collect(),
            None => at.get(k.as_str()).copied().into_iter().collect(),
        })
        .collect();
    (categories, units)
}

fn ids_of(run: &Run) -> Vec<&str> {
    match run {
        Run::Discover(d) => d
            .discovery
            .assignments
            .iter()
            .map(|a| a.id.as_str())
            .collect(),
        Run::Apply(a) => a.application.rows.iter().map(|r| r.id.as_str()).collect(),
    }
}

/// Where the variable comes from: the run's assignments (kept columns), or a respondent file
/// matched by id.
struct Source {
    table: Table,
    /// Per answer row, its record in `table` (`None`: the file has no row for its id).
    records: Vec<Option<usize>>,
    /// Whether `table` is a joined respondent file.
    joined: bool,
}

impl Source {
    fn run(table: Table) -> Self {
        let records = (0..table.records.len()).map(Some).collect();
        Source {
            table,
            records,
            joined: false,
        }
    }

    fn joined(table: Table, id: &str, ids: &[&str], progress: &Progress) -> Result<Self> {
        let idx = table.column(id, "--join-id")?;
        let by_id: HashMap<String, usize> = unique_ids(&table, idx)?
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect();
        let records: Vec<Option<usize>> = ids.iter().map(|i| by_id.get(*i).copied()).collect();
        let unmatched = records.iter().filter(|r| r.is_none()).count();
        if unmatched > 0 {
            progress.warn(format!(
                "{unmatched} of {} answers have no row in {} (by {id}); they are counted under \
                 {}",
                ids.len(),
                table.path.display(),
                crosstab::MISSING
            ));
        }
        Ok(Source {
            table,
            records,
            joined: true,
        })
    }

    fn column(&self, name: &str, flag: &str, run: &Path) -> Result<usize, InputError> {
        self.table.column(name, flag).map_err(|mut e| {
            if !self.joined && flag == "--by" {
                e.fix = format!(
                    "{}; to tabulate by a respondent column, rerun with --keep-column {name}, or \
                     pass --join FILE with the respondents' variables (run: {})",
                    e.fix,
                    run.display()
                );
            }
            e
        })
    }

    /// The value of column `c` for answer row `i`; `None` when empty or not joined.
    fn value(&self, c: usize, i: usize) -> Option<&str> {
        let r = self.records.get(i).copied().flatten()?;
        let v = self.table.records[r].fields.get(c)?.trim();
        (!v.is_empty()).then_some(v)
    }

    fn weight(&self, c: usize, i: usize) -> Result<f64, InputError> {
        let Some(r) = self.records.get(i).copied().flatten() else {
            return Ok(0.0);
        };
        let raw = self.table.records[r].fields.get(c).map_or("", |v| v.trim());
        match read_weight(raw) {
            Some(w) => Ok(w),
            None => Err(InputError::file(
                &self.table.path,
                Some(self.table.records[r].line),
                format!("the weight \"{raw}\" is not a number ≥ 0"),
                "give every row a weight (a number such as 1 or 0.85)",
            )),
        }
    }
}

/// A column name as part of a file name.
fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "column".into()
    } else {
        s
    }
}
