//! `codeframe discover`: answers in; groups with names, keywords and typical answers, and every
//! row's group or reason, out.

use super::{read_answers, BuildEmbedder};
use crate::cluster::{self, Clustering, KChoice, STABLE};
use crate::config::{cluster_error, DiscoverSettings};
use crate::describe::{self, Discovery, Names};
use crate::embed::align;
use crate::error::{InputError, Result};
use crate::frame::Frame;
use crate::ingest::substantive::substantive_rows;
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::report::console;
use crate::rundir;

/// Reads, sets aside non-answers, embeds, clusters (from the frame's codes with `--k frame`),
/// names and describes the groups, writes the folder.
pub fn run(s: &DiscoverSettings, build: BuildEmbedder, progress: &Progress) -> Result<Discovery> {
    let frame = match &s.frame {
        Some(path) => Some(Frame::read_for(path, s.question.as_deref(), &s.input)?),
        None => None,
    };
    let frame_ref = frame.as_ref().map(|(f, q)| (f, q.as_deref()));
    let mut answers = read_answers(&s.input, &s.columns, progress)?;
    let embedding = super::tell_languages(&mut answers, &s.embedding, "discover", progress);
    let texts = answers.texts();
    let (keep, distinct) = substantive_rows(&texts);
    let seeded = s.cluster.k == KChoice::FromFrame;
    // Seeded groups take their codes' names; otherwise groups are named at the chosen level.
    let label_groups = !seeded && s.topic_groups;
    if let Some((f, q)) = frame_ref {
        check_labels(f, q, label_groups, seeded, distinct)?;
    }
    let params = match keep.is_empty() {
        true => None,
        false => Some(s.cluster.check(distinct, keep.len()).map_err(|e| {
            let mut e = cluster_error(e);
            e.problem = format!(
                "{} ({} of {} rows are substantive)",
                e.problem,
                keep.len(),
                texts.len()
            );
            e
        })?),
    };

    let mut clock = Clock::start();
    let mut loaded = build(&embedding)?;
    let mut manifest = Manifest::new("discover");
    loaded.record(&mut manifest);
    let kept: Vec<&str> = keep.iter().map(|&i| texts[i]).collect();
    let (vectors, summary) = loaded.embed(&kept, progress)?;
    progress.say(format!("discover: embedded {summary}"));
    // Groups seeded from the codes' vectors stay in the model's own space.
    let mut params = params;
    let aligned = match loaded.model.is_some() && !seeded && params.is_some() {
        true => {
            let langs: Vec<Option<&str>> = keep
                .iter()
                .map(|&i| answers.rows[i].language.as_deref())
                .collect();
            let aligned = align::align_languages(&vectors.data, vectors.dim, &langs)?;
            if let Some(a) = &aligned {
                progress.say(aligned_note(a));
                if let Some(kmeans) = aligned_params(s, a, (distinct, keep.len()), &mut manifest)? {
                    progress.say(ALIGNED_KMEANS);
                    params = Some(kmeans);
                }
            }
            aligned
        }
        false => None,
    };
    let (group_data, group_dim) = match &aligned {
        Some(a) => (a.data.as_slice(), a.dim),
        None => (vectors.data.as_slice(), vectors.dim),
    };
    let embed_secs = clock.lap();
    let labels = match frame_ref {
        Some((f, q)) if params.is_some() => Some(describe::frame_labels(
            f,
            q,
            label_groups,
            loaded.embedder.as_mut(),
        )?),
        _ => None,
    };
    let spin = progress.spinner(&format!("clustering {} answers", keep.len()));
    let clustering = match (&params, &labels) {
        (None, _) => Clustering::empty(),
        (Some(p), Some(l)) if seeded => p.fit_seeded(&vectors.data, vectors.dim, &l.vectors)?,
        (Some(p), _) => p.fit(group_data, group_dim)?,
    };
    drop(aligned);
    spin.finish_and_clear();
    let cluster_secs = clock.lap();
    if !clustering.curve.is_empty() {
        progress.say(console::k_curve(&clustering.curve, clustering.k, STABLE));
    }
    let namings = labels
        .as_ref()
        .map(|l| describe::frame_names(&clustering, (&vectors.data, vectors.dim), l, seeded));
    if let Some(l) = &labels {
        progress.say(format!(
            "discover: named groups from {} frame labels",
            l.labels.len()
        ));
    }
    let mut discovery = describe::discovery(
        &answers,
        &keep,
        (&vectors.data, vectors.dim),
        &clustering,
        Names {
            namings,
            frame: frame_ref,
            rollup: seeded && s.topic_groups,
        },
    );
    mark_uncovered(&mut discovery, &loaded);
    if s.blanks_not_answered {
        discovery.blanks_not_answered();
    }
    let describe_secs = clock.lap();
    let map: Vec<(usize, [f32; 2])> = keep
        .iter()
        .copied()
        .zip(cluster::map_2d(&vectors.data, vectors.dim)?)
        .collect();
    // The tables are built from here on: the matrix is not needed, and is the largest thing held.
    drop(vectors);
    let map_secs = clock.lap();
    record(
        &mut manifest,
        s,
        &answers.sha256,
        &clustering,
        frame.as_ref(),
    )?;
    super::record_respondents(&mut manifest, &answers);
    let written = rundir::write_discover(&s.out, manifest, &discovery, &map, &answers.respondents)?;
    super::warn_cut_cells(&written, progress);
    progress.say(console::discover_summary(&discovery));
    super::say_weighted(&written, "discover", progress);
    progress.say(format!(
        "discover: seconds — embedding {embed_secs:.2}, clustering {cluster_secs:.2}, describing \
         {describe_secs:.2}, map {map_secs:.2}, writing {:.2}",
        clock.lap()
    ));
    progress.say(format!(
        "discover: wrote {}",
        rundir::published(&s.out).display()
    ));
    Ok(discovery)
}

/// Said when `--method auto` groups aligned answers by k-means.
const ALIGNED_KMEANS: &str = "discover: --method auto groups aligned answers by k-means";

/// What the console says of answers aligned across languages.
fn aligned_note(a: &align::Aligned) -> String {
    format!(
        "discover: answers in several languages ({}): each language centred on its own mean and \
         the vectors whitened, so groups form by topic rather than language",
        languages_list(a)
    )
}

/// `en 120, de 14` for the aligned languages.
fn languages_list(a: &align::Aligned) -> String {
    a.languages
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records the alignment in the manifest, and under `--method auto` returns k-means parameters:
/// on whitened vectors the neighbour layout separates topics less well than k-means on the
/// vectors themselves (BENCHMARKS.md, sib200_eu).
fn aligned_params(
    s: &DiscoverSettings,
    a: &align::Aligned,
    (distinct, rows): (usize, usize),
    manifest: &mut Manifest,
) -> Result<Option<cluster::ValidClusterParams>> {
    manifest.param("aligned_languages", languages_list(a));
    if s.cluster.method != cluster::Method::Auto {
        return Ok(None);
    }
    let kmeans = cluster::ClusterParams {
        method: cluster::Method::KMeans,
        ..s.cluster
    };
    manifest.param("method_used", cluster::Method::KMeans.name());
    Ok(Some(kmeans.check(distinct, rows).map_err(cluster_error)?))
}

/// Grouped answers in a language the model does not cover keep their group as a suggestion,
/// under a status of their own.
fn mark_uncovered(d: &mut Discovery, loaded: &crate::embed::spec::Loaded) {
    for a in &mut d.assignments {
        if a.status == crate::status::Status::Clustered && !loaded.covers(a.language.as_deref()) {
            a.status = crate::status::Status::UnsupportedLanguage;
        }
    }
}

/// The run's inputs, parameters and seed.
fn record(
    manifest: &mut Manifest,
    s: &DiscoverSettings,
    input_sha: &str,
    clustering: &Clustering,
    frame: Option<&(Frame, Option<String>)>,
) -> Result<()> {
    manifest.input(&s.input, input_sha);
    if let Some(path) = &s.frame {
        manifest.input_file(path)?;
    }
    manifest.seed = Some(s.cluster.seed);
    manifest
        .param("input", s.input.display().to_string())
        .param("text_column", s.columns.text_column.as_str())
        .param("id_column", s.columns.id_column.clone())
        .param("k", format!("{:?}", s.cluster.k))
        .param("k_chosen", clustering.k)
        .param("restarts", s.cluster.n_runs)
        .param("method", s.cluster.method.name())
        .param("max_iter", s.cluster.max_iter)
        .param("question", frame.and_then(|(_, q)| q.clone()))
        .param("level", if s.topic_groups { "groups" } else { "codes" });
    Ok(())
}

/// Refuses a frame without labels at the level asked, or more seeds than distinct answers —
/// before anything is embedded.
fn check_labels(
    frame: &Frame,
    question: Option<&str>,
    topic_groups: bool,
    seeded: bool,
    distinct: usize,
) -> Result<(), InputError> {
    let n = frame.candidates(question, topic_groups).len();
    if n == 0 {
        return Err(InputError::flag(
            format!(
                "the frame has no {} for question {}",
                if topic_groups {
                    "topic groups"
                } else {
                    "codes"
                },
                question.unwrap_or("(none)")
            ),
            "use --level codes, or add the groups to the frame",
        ));
    }
    if seeded && distinct > 0 && n > distinct {
        return Err(InputError::flag(
            format!("--k frame asks for {n} groups but there are {distinct} distinct answers"),
            "pass a smaller numeric --k",
        ));
    }
    Ok(())
}

/// Seconds between the phases of a run, for its summary.
struct Clock(std::time::Instant);

impl Clock {
    fn start() -> Self {
        Clock(std::time::Instant::now())
    }

    /// Seconds since the last lap (or the start).
    fn lap(&mut self) -> f64 {
        let now = std::time::Instant::now();
        let secs = now.duration_since(self.0).as_secs_f64();
        self.0 = now;
        secs
    }
}
