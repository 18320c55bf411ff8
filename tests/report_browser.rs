//! Browser check: renders a sample report, opens it from disk in headless
//! Chromium and inspects the screenshot, the console log and the live DOM.
//! Skips (passes) when Chromium is not installed, so CI without it stays green.

use codeframe::report::html::{
    render, AgreementRow, Confusion, DriftRow, MapPoint, Metric, ReportGroup, RunReport,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const XSS: [&str; 3] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
];

fn find_chromium() -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

fn sample() -> RunReport {
    let names = [
        "AI and machine learning",
        "Survey methodology",
        "Data visualisation",
        XSS[0],
        "Careers & skills",
        "Open science",
    ];
    let sizes = [92usize, 71, 55, 38, 26, 18];
    let total = 320usize;
    let groups: Vec<ReportGroup> = names
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(i, (n, s))| ReportGroup {
            name: (*n).to_string(),
            topic_group: Some(if i % 2 == 0 { "Methods" } else { XSS[1] }.to_string()),
            size: s,
            share: s as f64 / total as f64,
            keywords: vec!["webinar".into(), format!("kw{i}"), XSS[2].into()],
            typical: vec![
                format!("I'd like a session about topic {i}"),
                XSS[i % 3].to_string(),
            ],
            set_aside: 0,
            suggested: Some(i % 3),
            caution: (i == 1).then(|| {
                "only 13% of the answers are closest to it: the group mixes topics".into()
            }),
        })
        .collect();
    // Six blobs laid out on a circle, plus a few unassigned answers.
    let points = (0..300)
        .map(|i| {
            let g = i % 7;
            let (cx, cy) = ((g as f32 * 0.9).cos() * 6.0, (g as f32 * 0.9).sin() * 4.0);
            let jitter = |k: u32| {
                // Cheap deterministic hash → [-1, 1); no rand dependency needed.
                let mut h = (i as u32).wrapping_mul(2_654_435_761) ^ k.wrapping_mul(0x9E37_79B9);
                h ^= h >> 15;
                h = h.wrapping_mul(0x85EB_CA6B);
                h ^= h >> 13;
                (h % 1000) as f32 / 500.0 - 1.0
            };
            MapPoint {
                x: cx + jitter(1) * 1.4,
                y: cy + jitter(7) * 1.4,
                group: (g < 6).then_some(g),
                text: if i % 50 == 0 {
                    XSS[(i / 50) % 3].to_string()
                } else {
                    format!("answer number {i}")
                },
            }
        })
        .collect();
    RunReport {
        title: "Q7 — Please suggest topics for future webinars".into(),
        command: "discover".into(),
        source: XSS[1].into(),
        generated_by: "codeframe 0.1.0".into(),
        rows_total: total,
        status_counts: vec![("clustered".into(), 300), ("non-substantive".into(), 20)],
        languages: vec![
            ("en".into(), 290),
            (XSS[2].into(), 10),
            ("undetermined".into(), 20),
        ],
        groups,
        points,
        evaluation: vec![
            Metric {
                name: "ACC".into(),
                value: Some(0.8123),
                note: "Hungarian-matched".into(),
            },
            Metric {
                name: "NMI".into(),
                value: Some(0.64),
                note: XSS[0].into(),
            },
            Metric {
                name: "ARI".into(),
                value: None,
                note: "no gold labels".into(),
            },
        ],
        agreement: vec![
            AgreementRow {
                name: "Krippendorff's alpha".into(),
                value: Some(0.72),
                ci_low: Some(0.66),
                ci_high: Some(0.78),
                reading: "tentative".into(),
            },
            AgreementRow {
                name: "coder_a / codeframe: Cohen's kappa".into(),
                value: Some(0.81),
                ci_low: None,
                ci_high: None,
                reading: XSS[2].into(),
            },
        ],
        confusion: Some(Confusion {
            title: "Gold (rows) × codeframe (columns)".into(),
            rows: vec!["AI".into(), "Methods".into(), XSS[0].into()],
            cols: vec!["AI".into(), "Methods".into(), XSS[1].into()],
            counts: vec![vec![40, 3, 1], vec![5, 30, 2], vec![0, 4, 12]],
        }),
        drift: vec![
            DriftRow {
                code: "AI and machine learning".into(),
                baseline_share: Some(0.18),
                wave_share: Some(0.29),
                change_pp: Some(11.0),
                p_value: Some(0.0002),
                flag: "rising".into(),
            },
            DriftRow {
                code: XSS[1].into(),
                baseline_share: Some(0.2),
                wave_share: Some(0.16),
                change_pp: Some(-4.0),
                p_value: Some(0.21),
                flag: String::new(),
            },
            DriftRow {
                code: "New code".into(),
                wave_share: Some(0.05),
                ..DriftRow::default()
            },
        ],
        candidates: vec![ReportGroup {
            name: XSS[2].into(),
            topic_group: None,
            size: 9,
            share: 9.0 / total as f64,
            keywords: vec!["ethics".into(), XSS[0].into()],
            typical: vec!["responsible AI".into()],
            ..ReportGroup::default()
        }],
        base: format!("all {total} answers"),
        notes: vec![XSS[0].into()],
    }
}

/// Runs Chromium with a hard time limit so a hung browser cannot hang CI.
fn run(chromium: &Path, profile: &Path, extra: &[&str], url: &str) -> Output {
    let mut child = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,1600",
            "--hide-scrollbars",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-dev-shm-usage",
            "--metrics-recording-only",
            // A proxy that goes nowhere: any accidental network use fails fast.
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chromium");
    let start = Instant::now();
    while child.try_wait().expect("poll chromium").is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium timed out");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("collect chromium output")
}

/// Console lines from the page. Current Chromium logs `console.error`,
/// uncaught exceptions and CSP violations all as `INFO:CONSOLE`, so matching
/// "ERROR" alone would miss them; the report never logs, so any console line
/// counts as a failure.
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect()
}

#[test]
fn sample_report_renders_in_chromium() {
    let Some(chromium) = find_chromium() else {
        eprintln!("SKIP browser test: chromium not found (/usr/bin/chromium or PATH)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");

    // 0. The console check must be able to fail: a broken page is caught.
    let broken = dir.path().join("broken.html");
    std::fs::write(
        &broken,
        "<script>console.error('boom'); missingFn();</script>",
    )
    .expect("write broken page");
    let out = run(
        &chromium,
        &dir.path().join("profile-broken"),
        &["--dump-dom"],
        &format!("file://{}", broken.display()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        console_errors(&stderr).len() >= 2,
        "console check is blind; chromium stderr was:\n{stderr}"
    );

    let page = dir.path().join("report.html");
    std::fs::write(&page, render(&sample())).expect("write html");
    let url = format!("file://{}", page.display());

    // 1. Screenshot.
    let shot = dir.path().join("report.png");
    let out = run(
        &chromium,
        &dir.path().join("profile-shot"),
        &[&format!("--screenshot={}", shot.display())],
        &url,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "chromium failed: {}\n{stderr}",
        out.status
    );
    let errors = console_errors(&stderr);
    assert!(errors.is_empty(), "console errors:\n{}", errors.join("\n"));
    assert!(shot.is_file(), "no screenshot written\n{stderr}");

    let decoder = png::Decoder::new(std::fs::File::open(&shot).expect("open png"));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!((info.width, info.height), (1280, 1600));
    let channels = info.color_type.samples();
    let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let non_white = px
        .iter()
        .filter(|p| p[..3].iter().any(|&c| c < 235))
        .count();
    let share = non_white as f64 / px.len() as f64;
    let mut colours: Vec<[u8; 3]> = px.iter().map(|p| [p[0], p[1], p[2]]).collect();
    colours.sort_unstable();
    colours.dedup();
    // The first three bars are drawn in these palette colours.
    let has = |c: [u8; 3]| px.iter().any(|p| p[..3] == c);
    assert!(share > 0.05, "page looks blank: {share:.3} non-white");
    assert!(colours.len() > 50, "only {} colours", colours.len());
    for c in [[0, 114, 178], [230, 159, 0], [0, 158, 115]] {
        assert!(has(c), "bar colour {c:?} not on screen");
    }
    if let Some(keep) = std::env::var_os("REPORT_SCREENSHOT_DIR") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).expect("screenshot dir");
        std::fs::copy(&shot, keep.join("sample-report.png")).expect("copy png");
        std::fs::copy(&page, keep.join("sample-report.html")).expect("copy html");
    }

    // 2. DOM after scripts ran.
    let out = run(
        &chromium,
        &dir.path().join("profile-dom"),
        &["--dump-dom"],
        &url,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium --dump-dom failed\n{stderr}");
    let errors = console_errors(&stderr);
    assert!(errors.is_empty(), "console errors:\n{}", errors.join("\n"));
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("data-cf-js=\"ok\""),
        "script did not run to the end (CSP?)"
    );
    assert_eq!(
        dom.matches("<g class=\"bar\">").count(),
        6,
        "one bar per group"
    );
    assert!(dom.contains("id=\"cf-map\""));
    assert_eq!(
        dom.matches("data-t=").count(),
        300,
        "every map point has its tooltip text"
    );
    assert_eq!(
        dom.matches("<table").count(),
        4,
        "evaluation, agreement, confusion, drift"
    );
    assert!(
        !dom.contains("<img"),
        "an <img> element exists: escaping failed"
    );
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_eq!(
        dom.matches("<script").count(),
        2,
        "no injected script elements"
    );
}

/// The bundled ECCP Q8 run, discovered with the real model and `--report`, then an agreement file
/// added and the page rewritten by `codeframe report`: the page opens in Chromium without console
/// errors and shows a bar and a card per group, the map, and the agreement and confusion tables.
#[test]
fn eccp_run_page_has_its_charts_and_tables() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("q8");
    let bin = env!("CARGO_BIN_EXE_codeframe");
    let q8 = root.join("data/eccp-2020/q8_materials.csv");
    let run_cf = |args: &[&str]| {
        let o = Command::new(bin)
            .args(args)
            .env("XDG_CACHE_HOME", dir.path())
            .output()
            .expect("run codeframe");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run_cf(&[
        "--quiet",
        "discover",
        q8.to_str().unwrap(),
        "--text-column",
        "text",
        "--id-column",
        "id",
        "--k",
        "frame",
        "--frame",
        root.join("data/eccp-2020/frame.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--report",
    ]);
    let page = out.join("report.html");
    assert!(page.is_file());
    let join = format!(
        "{}:group_name=codeframe",
        out.join("assignments.csv").display()
    );
    run_cf(&[
        "--quiet",
        "agree",
        q8.to_str().unwrap(),
        "--coders",
        "coder_a",
        "--join",
        &join,
        "--bootstrap",
        "100",
        "--out",
        out.join("agreement.json").to_str().unwrap(),
    ]);
    run_cf(&["--quiet", "report", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(&page).expect("read page");
    assert!(html.contains("q8_materials.csv"));
    assert!(html.contains("Presentations"));
    let Some(chromium) = find_chromium() else {
        eprintln!(
            "SKIP browser check of the ECCP page: chromium not found (/usr/bin/chromium or PATH)"
        );
        return;
    };
    let url = format!("file://{}", page.display());
    let o = run(
        &chromium,
        &dir.path().join("profile"),
        &["--dump-dom"],
        &url,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "chromium failed\n{stderr}");
    let errors = console_errors(&stderr);
    assert!(errors.is_empty(), "console errors:\n{}", errors.join("\n"));
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(
        dom.contains("data-cf-js=\"ok\""),
        "the page's script did not run"
    );
    for section in [
        "Frequencies",
        "Groups",
        "Map of answers",
        "Agreement",
        "Confusion",
    ] {
        assert!(dom.contains(section), "no {section} section");
    }
    assert!(dom.contains("Krippendorff"));
    assert_eq!(dom.matches("class=\"bar\"").count(), 9, "one bar per code");
}
