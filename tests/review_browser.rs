//! The review workspace in a real browser: Debian's chromium driven through chromium-driver
//! (WebDriver). Journeys: build the frame (rename, merge, split, move) and find it all after a
//! reload; a hostile answer shows as text; a blind second coder's sample and the agreement the
//! page shows, equal to `codeframe agree` on the export; two coders at once; export → apply.
//! Screenshots of every screen land in target/review-screens/. Skips with a message when
//! chromium or chromedriver is missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::server::{agree, export, Server};
use common::{codeframe, model_dir, rows, stderr};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HOSTILE: [&str; 3] = [
    "<img src=x onerror=\"window.__pwned=1\">",
    "</script><script>window.__pwned=2</script>",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
];

struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tools() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .flat_map(|d| names.iter().map(move |n| d.join(n)))
            .find(|p| p.is_file())
    };
    Some((
        find(&["chromium", "chromium-browser"])?,
        find(&["chromedriver"])?,
    ))
}

fn driver(chromedriver: &Path) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver(child, port)
}

async fn browser(d: &Driver, chromium: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1440,900", "--lang=en-GB"]
        }),
    );
    caps.insert("unhandledPromptBehavior".into(), json!("accept"));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.1))
        .await
        .expect("a WebDriver session")
}

/// Runs `js` (a function body returning a value) until it returns true.
async fn until(c: &Client, what: &str, js: &str) {
    let start = Instant::now();
    loop {
        let v = c.execute(js, vec![]).await.unwrap();
        if v == json!(true) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open(c: &Client, s: &Server) {
    c.goto(&s.url()).await.unwrap();
    until(
        c,
        "the page",
        "return document.documentElement.dataset.ready === '1';",
    )
    .await;
}

async fn shot(c: &Client, name: &str) {
    let dir = common::root().join("target/review-screens");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn tab(c: &Client, name: &str) {
    c.find(Locator::Css(&format!("#tabs button[data-tab='{name}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Presses keys on the page (not in a field).
async fn keys(c: &Client, k: &str) {
    c.execute(
        "document.activeElement && document.activeElement.blur();",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys(k)
        .await
        .unwrap();
}

/// A CSV of the bundled Q7 answers with hostile ones appended.
fn answers_with_hostile(dir: &Path) -> PathBuf {
    let mut text =
        std::fs::read_to_string(common::root().join("data/eccp-2020/q7_topics.csv")).unwrap();
    for (i, h) in HOSTILE.iter().enumerate() {
        text.push_str(&format!("h{i},R9{i},\"{}\",,\n", h.replace('"', "\"\"")));
    }
    let p = dir.join("q7_topics.csv");
    std::fs::write(&p, text).unwrap();
    p
}

fn start(dir: &Path, coder: &str, input: &Path) -> Server {
    let frame = common::root().join("data/eccp-2020/frame.toml");
    Server::start(
        dir,
        coder,
        &[
            "--input",
            input.to_str().unwrap(),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--frame",
            frame.to_str().unwrap(),
        ],
    )
}

fn label_of(s: &Server, code: i64) -> String {
    s.codes().into_iter().find(|c| c.1 == code).unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_workspace_in_a_real_browser() {
    let Some((chromium, chromedriver)) = tools() else {
        eprintln!("skipped: chromium and chromedriver are needed (scripts/test.sh installs them)");
        return;
    };
    let d = driver(&chromedriver);
    let dir = tempfile::tempdir().unwrap();
    let input = answers_with_hostile(dir.path());
    let store = dir.path().join("review");
    let ann = start(&store, "ann", &input);
    let c = browser(&d, &chromium).await;
    build_the_frame(&c, &ann).await;
    second_coder(&c, &d, &chromium, &ann, &store).await;
    two_coders_at_once(&c, &d, &chromium, &ann, &store).await;
    c.close().await.unwrap();
    ann.stop();
    export_then_apply(&store, dir.path());
}

/// Rename + merge + split + move, then a reload: everything is still there. Hostile answers are
/// text.
async fn build_the_frame(c: &Client, ann: &Server) {
    open(c, ann).await;
    shot(c, "1-code-answers").await;
    // Hostile answers: present as text, nothing ran, no element made of them.
    let html_free: bool = c
        .execute(
            "return !document.querySelector('#answers img, #answers script') && !window.__pwned;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(html_free, "an answer became markup");
    for h in HOSTILE {
        let shown: bool = c
            .execute(
                "return [...document.querySelectorAll('#answers .text')].some(e => e.textContent === arguments[0]);",
                vec![json!(h)],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap();
        assert!(shown, "{h} shows as text");
    }
    let codes = ann.codes();
    // Move: answer q7-001 (cursor on the first answer) to the second code with the key "2".
    keys(c, "2").await;
    until(
        c,
        "the move",
        "return document.querySelectorAll('#answers .chip.mine').length === 1;",
    )
    .await;
    assert_eq!(
        ann.answers("all")[0]["final_code"].as_i64(),
        Some(codes[1].1)
    );
    // Split: two answers selected with j / Space, into a new code.
    keys(c, "jj ").await;
    keys(c, "j ").await;
    until(
        c,
        "two selected",
        "return document.getElementById('nsel').textContent === '2 selected';",
    )
    .await;
    let label = c.find(Locator::Id("split-label")).await.unwrap();
    label
        .send_keys("Digital tools for cluster offices")
        .await
        .unwrap();
    c.find(Locator::Id("b-split"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        c,
        "the split",
        "return [...document.querySelectorAll('#codes .label')].some(e => e.textContent === 'Digital tools for cluster offices');",
    )
    .await;
    // Rename and merge on the frame screen.
    tab(c, "frame").await;
    let first = c
        .find(Locator::Css("#frame-rows tr:first-child input.label"))
        .await
        .unwrap();
    // Select the label and type over it, as a person does.
    c.execute(
        "const e = document.querySelector('#frame-rows tr:first-child input.label'); e.focus(); e.select();",
        vec![],
    )
    .await
    .unwrap();
    first
        .send_keys("Funding, grants and finance\n")
        .await
        .unwrap();
    until(
        c,
        "the rename",
        "return [...document.querySelectorAll('#codes .label')].some(e => e.textContent === 'Funding, grants and finance');",
    )
    .await;
    // Merge the third code into the fourth.
    let (from, into) = (codes[2].clone(), codes[3].clone());
    c.execute(
        "const s = document.querySelectorAll('#frame-rows tr')[2].querySelectorAll('select')[1];
         s.value = String(arguments[0]); s.dispatchEvent(new Event('change'));",
        vec![json!(into.1)],
    )
    .await
    .unwrap();
    until(
        c,
        "the merge",
        "return ![...document.querySelectorAll('#codes .label')].some(e => e.textContent === arguments[0]);"
            .replace("arguments[0]", &serde_json::to_string(&from.0).unwrap())
            .as_str(),
    )
    .await;
    shot(c, "2-frame").await;
    // Reload: all of it is still there, in the store and on the page.
    open(c, ann).await;
    let labels: Vec<String> = ann.codes().into_iter().map(|c| c.0).collect();
    assert!(labels.contains(&"Funding, grants and finance".to_string()));
    assert!(labels.contains(&"Digital tools for cluster offices".to_string()));
    assert!(!labels.contains(&from.0));
    let all = ann.answers("all");
    assert_eq!(all.len(), 79 + HOSTILE.len(), "every answer is listed");
    for row in [3, 4] {
        let code = all[row]["final_code"].as_i64().unwrap();
        assert_eq!(label_of(ann, code), "Digital tools for cluster offices");
    }
    let page_labels: Vec<String> = c
        .execute(
            "return [...document.querySelectorAll('#codes .label')].map(e => e.textContent);",
            vec![],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(page_labels, labels, "the page shows the store's frame");
}

/// Ann codes the rest as the report's coder_a did, draws a blind sample for Bob in the page; Bob
/// codes it in his own browser; the agreement the page shows equals `codeframe agree` on the
/// export; Ann adjudicates a disagreement.
async fn second_coder(c: &Client, d: &Driver, chromium: &Path, ann: &Server, store: &Path) {
    let codes = ann.codes();
    let human = rows(&common::root().join("data/eccp-2020/q7_topics.csv"));
    let by_label = |l: &str| {
        codes
            .iter()
            .find(|c| c.0 == l)
            .map(|c| c.1)
            .unwrap_or(codes[0].1)
    };
    for a in ann.answers("all") {
        let row = a["row"].as_u64().unwrap() as usize;
        if a["final_source"] == "person" || row >= human.len() {
            continue;
        }
        let r = ann.post(
            "/api/code",
            &json!({"writes": [[row, a["base"]]], "code": by_label(&human[row][3])}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    open(c, ann).await;
    tab(c, "second").await;
    c.find(Locator::Id("s-coder"))
        .await
        .unwrap()
        .send_keys("bob")
        .await
        .unwrap();
    c.find(Locator::Id("s-suggest"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        c,
        "a suggested size",
        "return document.getElementById('s-note').textContent.includes('kappa interval');",
    )
    .await;
    let size = c.find(Locator::Id("s-size")).await.unwrap();
    size.clear().await.unwrap();
    size.send_keys("30").await.unwrap();
    c.find(Locator::Id("s-draw"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        c,
        "the sample",
        "return document.getElementById('s-note').textContent.startsWith('Sample');",
    )
    .await;
    shot(c, "3-second-coding").await;
    // Bob, in his own browser, sees 30 answers and nobody's codes.
    let bob = Server::start(store, "bob", &[]);
    let b = browser(d, chromium).await;
    open(&b, &bob).await;
    let (n, chips): (u64, u64) = {
        let v = b
            .execute(
                "return [document.querySelectorAll('#answers li').length, document.querySelectorAll('#answers .chip').length];",
                vec![],
            )
            .await
            .unwrap();
        (v[0].as_u64().unwrap(), v[1].as_u64().unwrap())
    };
    assert_eq!(
        (n, chips),
        (30, 0),
        "blind: the sample only, no codes shown"
    );
    shot(&b, "4-second-coder-blind").await;
    // He codes with the keyboard: coder_b's code where it is among the first nine, else 1.
    let sample = bob.answers("sample");
    for (i, a) in sample.iter().enumerate() {
        let row = a["row"].as_u64().unwrap() as usize;
        let want = human
            .get(row)
            .map(|h| by_label(&h[4]))
            .unwrap_or(codes[0].1);
        match codes.iter().take(9).position(|c| c.1 == want) {
            Some(k) => keys(&b, &(k + 1).to_string()).await,
            None => {
                // Beyond the nine number keys: type-ahead, then Enter.
                let label = codes.iter().find(|c| c.1 == want).unwrap().0.clone();
                let t = b.find(Locator::Id("typeahead")).await.unwrap();
                t.send_keys(&format!("{label}\n")).await.unwrap();
            }
        }
        let js = format!(
            "return document.querySelectorAll('#answers .chip.mine').length === {};",
            i + 1
        );
        until(&b, "Bob's code", &js).await;
    }
    b.close().await.unwrap();
    bob.stop();
    // The agreement screen, Ann against Bob.
    open(c, ann).await;
    tab(c, "agreement").await;
    c.execute(
        "const a = document.getElementById('a-a'), b = document.getElementById('a-b');
         a.value = 'ann'; b.value = 'bob';",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Id("a-go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        c,
        "the figures",
        "return document.querySelectorAll('#a-rows tr').length === 4;",
    )
    .await;
    shot(c, "5-agreement").await;
    let kappa_text = c
        .execute(
            "return document.querySelectorAll('#a-rows tr')[2].querySelector('td').textContent;",
            vec![],
        )
        .await
        .unwrap();
    let shown: f64 = kappa_text
        .as_str()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let out = store.join("export-1");
    let cache = store.join("cache");
    export(store.to_str().unwrap(), out.to_str().unwrap(), &cache);
    let json_out = store.join("agreement.json");
    let agree = agree(
        out.join("codings.csv").to_str().unwrap(),
        "ann,bob",
        json_out.to_str().unwrap(),
        &cache,
    );
    let theirs = agree["pairs"][0]["cohen_kappa"]["value"].as_f64().unwrap();
    assert_eq!(
        format!("{theirs:.3}"),
        format!("{shown:.3}"),
        "the page shows agree's kappa"
    );
    // Adjudication: the disagreements queue, Ann decides with a key; one fewer to decide.
    tab(c, "code").await;
    c.execute(
        "const v = document.getElementById('view'); v.value = 'disagreements'; v.dispatchEvent(new Event('change'));",
        vec![],
    )
    .await
    .unwrap();
    until(c, "the queue", "return document.getElementById('count').textContent !== '' && document.getElementById('view').value === 'disagreements';").await;
    let before = ann.answers("disagreements").len();
    if before > 0 {
        until(
            c,
            "the queue's answers",
            "return document.querySelectorAll('#answers li').length > 0;",
        )
        .await;
        shot(c, "6-adjudication").await;
        keys(c, "1").await;
        let js = format!(
            "return document.querySelectorAll('#answers li').length === {};",
            before - 1
        );
        until(c, "the decision", &js).await;
        let coded = rows(&{
            let o2 = store.join("export-2");
            export(store.to_str().unwrap(), o2.to_str().unwrap(), &cache);
            o2.join("coded.csv")
        });
        assert_eq!(coded.iter().filter(|r| &r[6] == "adjudicated").count(), 1);
    }
}

/// Two coders at once on one store: the second to write an answer gets a conflict banner and
/// the current state, not a silent overwrite.
async fn two_coders_at_once(c: &Client, d: &Driver, chromium: &Path, ann: &Server, store: &Path) {
    let cleo = Server::start(store, "cleo", &[]);
    let b = browser(d, chromium).await;
    open(c, ann).await;
    open(&b, &cleo).await;
    // Both pages show answer 5 as it is now; Ann codes it first with "3".
    let codes = ann.codes();
    keys(c, "jjjjj").await;
    keys(c, "3").await;
    let js = format!(
        "const m = document.querySelectorAll('#answers li')[5].querySelector('.chip.mine'); return !!m && m.textContent === {};",
        serde_json::to_string(&format!("you: {}", codes[2].0)).unwrap()
    );
    until(c, "Ann's code", &js).await;
    keys(&b, "jjjjj").await;
    keys(&b, "4").await;
    until(&b, "the conflict", "return !document.getElementById('banner').hidden && document.getElementById('banner').textContent.includes('since your page showed it');").await;
    shot(&b, "7-conflict").await;
    assert_eq!(
        cleo.answers("all")[5]["final_code"].as_i64(),
        Some(codes[2].1),
        "Ann's code stands"
    );
    b.close().await.unwrap();
    cleo.stop();
}

/// The edited frame, exported, codes a new wave with `apply`.
fn export_then_apply(store: &Path, dir: &Path) {
    if !model_dir().join("model.safetensors").is_file() {
        eprintln!("skipped export → apply: the model is not installed (run scripts/setup.sh)");
        return;
    }
    let out = dir.join("export");
    let cache = dir.join("cache");
    export(store.to_str().unwrap(), out.to_str().unwrap(), &cache);
    let wave = dir.join("wave2");
    let o = codeframe(
        &[
            "apply",
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--out",
            wave.to_str().unwrap(),
            out.join("frame.toml").to_str().unwrap(),
            common::root()
                .join("data/eccp-2020/q7_topics.csv")
                .to_str()
                .unwrap(),
        ],
        &cache,
    );
    assert!(
        o.status.success(),
        "apply with the exported frame: {}",
        stderr(&o)
    );
    let freq = std::fs::read_to_string(wave.join("frequencies.csv")).unwrap();
    assert!(freq.contains("Funding, grants and finance"), "{freq}");
    assert!(freq.contains("Digital tools for cluster offices"), "{freq}");
}
