//! Tests of the page: structure, escaping of hostile text, the script's hash.

use super::*;

const XSS1: &str = "<script>alert(1)</script>";
const XSS2: &str = "\"><img src=x onerror=alert(1)>";
const XSS3: &str = "</script><script>alert(2)</script>";
const ESC1: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";
const ESC2: &str = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";
const ESC3: &str = "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;";

fn group(name: &str, size: usize, share: f64) -> ReportGroup {
    ReportGroup {
        name: name.into(),
        topic_group: Some("Content".into()),
        size,
        share,
        keywords: vec!["ai".into(), "data".into()],
        typical: vec![format!("typical answer for {name}")],
        ..ReportGroup::default()
    }
}

fn small() -> RunReport {
    RunReport {
        title: "Q7 — Please suggest topics for future webinars".into(),
        command: "discover".into(),
        source: "webinar.csv".into(),
        generated_by: "codeframe 0.1.0".into(),
        rows_total: 10,
        status_counts: vec![("clustered".into(), 8), ("non-substantive".into(), 2)],
        languages: vec![
            ("en".into(), 7),
            ("de".into(), 1),
            ("undetermined".into(), 2),
        ],
        groups: vec![group("AI tools", 5, 0.5), group("Statistics", 3, 0.3)],
        points: vec![
            MapPoint {
                x: 0.0,
                y: 0.0,
                group: Some(0),
                text: "chatgpt".into(),
            },
            MapPoint {
                x: 1.0,
                y: 2.0,
                group: Some(1),
                text: "regression".into(),
            },
            MapPoint {
                x: 2.0,
                y: 1.0,
                group: None,
                text: "n/a".into(),
            },
        ],
        evaluation: vec![Metric {
            name: "NMI".into(),
            value: Some(0.61234),
            note: "vs gold".into(),
        }],
        agreement: vec![AgreementRow {
            name: "Krippendorff's alpha".into(),
            value: Some(0.7),
            ci_low: Some(0.6),
            ci_high: Some(0.8),
            reading: "acceptable".into(),
        }],
        confusion: Some(Confusion {
            title: "gold × predicted".into(),
            rows: vec!["a".into(), "b".into()],
            cols: vec!["a".into(), "b".into()],
            counts: vec![vec![5, 1], vec![0, 4]],
        }),
        drift: vec![DriftRow {
            code: "AI tools".into(),
            baseline_share: Some(0.2),
            wave_share: Some(0.35),
            change_pp: Some(15.0),
            p_value: Some(0.0004),
            flag: "up".into(),
        }],
        candidates: vec![group("Careers", 2, 0.2)],
        base: "all 10 answers".into(),
        notes: vec![],
    }
}

fn hostile() -> RunReport {
    let mut r = small();
    r.title = XSS1.into();
    r.source = XSS2.into();
    r.status_counts.push((XSS3.into(), 1));
    r.groups[0].name = XSS1.into();
    r.groups[0].topic_group = Some(XSS2.into());
    r.groups[0].caution = Some(XSS3.into());
    r.groups[1].keywords.push(XSS2.into());
    r.groups[1].typical.push(XSS3.into());
    r.points[0].text = XSS1.into();
    r.points[1].text = XSS2.into();
    r.points[2].text = XSS3.into();
    r.evaluation[0].note = XSS3.into();
    r.agreement[0].name = XSS2.into();
    if let Some(c) = r.confusion.as_mut() {
        c.title = XSS3.into();
        c.rows[0] = XSS1.into();
        c.cols[1] = XSS2.into();
    }
    r.drift[0].code = XSS2.into();
    r.drift[0].flag = XSS1.into();
    r.base = XSS1.into();
    r.notes.push(XSS3.into());
    r.candidates[0].name = XSS3.into();
    r.candidates[0].keywords.push(XSS1.into());
    r
}

#[test]
fn hostile_strings_never_appear_raw() {
    let html = render(&hostile());
    for raw in [
        XSS1,
        XSS2,
        XSS3,
        "<img",
        "alert(1)</script>",
        "onerror=alert(1)>",
    ] {
        assert!(!html.contains(raw), "raw {raw:?} leaked");
    }
    for escaped in [ESC1, ESC2, ESC3] {
        assert!(html.contains(escaped), "escaped {escaped:?} missing");
    }
    // Only our own two script elements may open or close.
    assert_eq!(html.matches("<script").count(), 2);
    assert_eq!(html.matches("</script").count(), 2);
}

#[test]
fn hostile_strings_escaped_in_each_place() {
    let html = render(&hostile());
    // Group name in the card heading, the bar chart tooltip and the legend.
    assert!(html.contains(&format!("<h3>{ESC1}</h3>")));
    assert!(html.contains(&format!("<title>{ESC1}: 5 (50.0%)</title>")));
    assert!(html.contains(&format!("{ESC1} <small>(1)</small></li>")));
    // Keyword chip, typical answer, code name (candidate card), drift code.
    assert!(html.contains(&format!("<li>{ESC2}</li>")));
    assert!(html.contains(&format!("<li>{ESC3}</li>")));
    assert!(html.contains(&format!("<h3>{ESC3}</h3>")));
    assert!(html.contains(&format!("<p class=\"caution\">Check the name: {ESC3}</p>")));
    assert!(html.contains(&format!("<tr><th scope=\"row\">{ESC2}</th>")));
    // Confusion labels and caption.
    assert!(html.contains(&format!("<caption>{ESC3}</caption>")));
    assert!(html.contains(&format!("<th scope=\"row\">{ESC1}</th>")));
    assert!(html.contains(&format!("<th scope=\"col\">{ESC2}</th>")));
    // Map answer texts inside SVG <title>.
    for e in [ESC1, ESC2, ESC3] {
        assert!(html.contains(&format!("<title>{e}</title>")), "{e}");
    }
    // The page <title> and the JSON block (unicode-escaped, not entities).
    assert!(html.contains(&format!("<title>{ESC1}</title>\n<style>")));
    assert!(html.contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
}

#[test]
fn esc_covers_all_five_and_attributes_are_safe() {
    assert_eq!(esc("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;");
    assert_eq!(esc("a\u{0}b\r\n"), "a\u{FFFD}b\r\n");
    // Share is printed as a number, never from input, but names reach
    // `aria-label`/`title`: every `"` in the output must close our own attrs.
    let html = render(&hostile());
    let markup = html.split("<script").next().unwrap_or_default();
    assert!(!markup.contains("\"\""), "an attribute was broken open");
}

#[test]
fn json_for_script_escapes_breakout_chars() {
    let v = serde_json::json!({ "s": "</script>&\u{2028}\u{2029}" });
    let j = json_for_script(&v);
    assert_eq!(j, r#"{"s":"\u003c/script\u003e\u0026\u2028\u2029"}"#);
    let back: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(back, v);
}

#[test]
fn empty_report_renders_without_nan() {
    let html = render(&RunReport::default());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.ends_with("</html>\n"));
    assert!(html.contains("<h1>codeframe report</h1>"));
    assert!(html.contains("no groups, map or tables"));
    for absent in ["NaN", "inf", "id=\"map\"", "id=\"frequencies\"", "<nav"] {
        assert!(!html.contains(absent), "{absent}");
    }
}

#[test]
fn bad_numbers_print_as_dash() {
    let mut r = small();
    r.groups[0].share = f64::NAN;
    r.evaluation[0].value = Some(f64::INFINITY);
    r.agreement[0].value = None;
    r.agreement[0].ci_low = Some(f64::NAN);
    r.agreement[0].ci_high = None;
    r.drift[0] = DriftRow {
        code: "x".into(),
        ..DriftRow::default()
    };
    r.points = vec![
        MapPoint {
            x: f32::NAN,
            y: 1.0,
            group: Some(0),
            text: "skip-nan".into(),
        },
        MapPoint {
            x: f32::INFINITY,
            y: 1.0,
            group: Some(0),
            text: "skip-inf".into(),
        },
        MapPoint {
            x: 3.0,
            y: 3.0,
            group: Some(99),
            text: "kept".into(),
        },
    ];
    let html = render(&r);
    assert!(!html.contains("NaN") && !html.contains("inf<") && !html.contains("Infinity"));
    assert!(!html.contains("skip-nan") && !html.contains("skip-inf"));
    assert!(html.contains("<b>5</b> answers · –"));
    assert!(html.contains("<td class=\"num\">–</td><td>vs gold</td>"));
    // Out-of-range group index falls back to "no group" (grey).
    assert!(html.contains("<g data-g=\"-1\" fill=\"#9a9a9a\">"));
}

#[test]
fn map_handles_single_and_identical_points() {
    let mut r = small();
    r.points = vec![MapPoint {
        x: 5.0,
        y: 5.0,
        group: Some(0),
        text: "only".into(),
    }];
    let html = render(&r);
    assert!(html.contains("<circle cx=\"480\" cy=\"280\" r=\"3.5\"><title>only</title>"));
    r.points = vec![r.points[0].clone(); 3];
    let html = render(&r);
    assert_eq!(html.matches("<circle cx=\"480\" cy=\"280\"").count(), 3);
    r.points.clear();
    assert!(!render(&r).contains("id=\"map\""));
}

#[test]
fn large_map_is_complete_and_compact() {
    let mut r = small();
    r.points = (0..6000)
        .map(|i| MapPoint {
            x: (i as f32 * 0.37).sin() * 10.0,
            y: (i as f32 * 0.11).cos() * 7.0,
            group: Some(i % 2),
            text: format!("a{i}"),
        })
        .collect();
    let html = render(&r);
    assert_eq!(html.matches("<circle ").count(), 6000 + 2); // + 2 legend swatches
                                                            // Coordinates carry at most one decimal.
    let cx = html.split("cx=\"").skip(1).take(500);
    for c in cx {
        let v = &c[..c.find('"').unwrap()];
        assert!(v.split('.').nth(1).is_none_or(|d| d.len() == 1), "{v}");
    }
    assert!(html.len() < 6000 * 80, "{} bytes", html.len());
}

#[test]
fn many_groups_cycle_colours_and_shapes() {
    let mut r = small();
    r.groups = (0..16)
        .map(|i| group(&format!("g{i}"), 16 - i, 0.01))
        .collect();
    r.points = (0..16)
        .map(|i| MapPoint {
            x: i as f32,
            y: 0.0,
            group: Some(i),
            text: String::new(),
        })
        .collect();
    let html = render(&r);
    assert!(html.contains("<g data-g=\"7\" fill=\"#0072B2\"><path d=\"M"));
    assert!(html.contains("<g data-g=\"14\" fill=\"#0072B2\"><path d=\"M"));
    assert_eq!(html.matches("<g class=\"bar\">").count(), 16);
}

#[test]
fn snapshot_of_small_report() {
    let r = small();
    let html = render(&r);
    for frag in [
        "<h1>Q7 — Please suggest topics for future webinars</h1>",
        "<dt>Source</dt><dd>webinar.csv</dd>",
        "<dt>Rows</dt><dd>10</dd>",
        "<li><span>clustered</span> <b>8</b> <small>80.0%</small></li>",
        "<h2>Frequencies</h2>",
        "<h2>Groups</h2>",
        "<h2>Map of answers</h2>",
        "<h2>Evaluation</h2>",
        "<h2>Agreement</h2>",
        "<h2>Confusion matrix</h2>",
        "<h2>Drift</h2>",
        "<h2>Candidate new codes</h2>",
        ">AI tools</text>",
        ">5 <tspan>(50.0%)</tspan></text>",
        ">3 <tspan>(30.0%)</tspan></text>",
        "<ul class=\"legend\" aria-label=\"Legend\">",
        "AI tools <small>(1)</small></li>",
        "no group <small>(1)</small></li>",
        "<p class=\"topic\">Topic group: Content</p>",
        "<td class=\"num\">0.612</td><td>vs gold</td>",
        "<td class=\"num\">0.700</td><td class=\"num\">[0.600, 0.800]</td><td>acceptable</td>",
        "<td class=\"diag\" style=\"background:rgba(0,114,178,0.90);color:#fff\">5</td>",
        "<td class=\"num\">20.0%</td><td class=\"num\">35.0%</td><td class=\"num\">+15.0</td>",
        "<td class=\"num\">&lt;0.001</td><td class=\"flag\">up</td>",
        "<h3>Careers</h3>",
        "@media print",
    ] {
        assert!(html.contains(frag), "missing {frag:?}");
    }
    assert_eq!(html.matches("<g class=\"bar\">").count(), r.groups.len());
    assert_eq!(html, render(&r.clone()), "render must be deterministic");
    // "apply" runs call them codes.
    let mut a = r;
    a.command = "apply".into();
    assert!(render(&a).contains("<h2>Codes</h2>"));
}

#[test]
fn no_network_references() {
    let html = render(&small());
    for s in ["http://", "https://", "src=", "<link", "@import", "url("] {
        assert!(!html.contains(s), "{s}");
    }
    assert!(html.contains("default-src 'none'"));
}

#[test]
fn csp_hash_matches_script() {
    let digest = sha256(SCRIPT.as_bytes());
    assert_eq!(SCRIPT_HASH, format!("sha256-{}", base64(&digest)));
    assert!(render(&small()).contains(&format!("<script>{SCRIPT}</script>")));
    assert!(!SCRIPT.contains("NaN") && !SCRIPT.contains("innerHTML"));
}

#[test]
fn report_round_trips_through_json() {
    let r = small();
    let s = serde_json::to_string(&r).unwrap();
    let back: RunReport = serde_json::from_str(&s).unwrap();
    assert_eq!(back, r);
}

// Minimal SHA-256 + base64 so the CSP test needs no extra dependency.
fn sha256(msg: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut data = msg.to_vec();
    data.push(0x80);
    while data.len() % 64 != 56 {
        data.push(0);
    }
    data.extend_from_slice(&((msg.len() as u64) * 8).to_be_bytes());
    for block in data.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, v) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(T[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[test]
fn sha256_self_check() {
    assert_eq!(
        base64(&sha256(b"abc")),
        "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    );
}

#[test]
fn language_shares_are_of_the_answers_not_of_blank_cells() {
    // 10 rows, 2 of them blank cells of a survey question: the 8 answers' languages.
    let mut r = small();
    r.languages = vec![("en".into(), 6), ("undetermined".into(), 2)];
    let html = render(&r);
    let chips = html
        .split("aria-label=\"Answers by language\"")
        .nth(1)
        .and_then(|s| s.split("</ul>").next())
        .unwrap_or_default();
    assert!(chips.contains("<b>6</b> <small>75.0%</small>"), "{chips}");
    assert!(chips.contains("<b>2</b> <small>25.0%</small>"), "{chips}");
}
