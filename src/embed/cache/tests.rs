//! Tests of the embedding cache: formats, damage, concurrent writers, kills.

use super::*;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

const NS: &str = "test-ns";
const DIM: usize = 8;

/// Wide enough that each record spans several pages, so a kill can tear one.
const KILL_DIM: usize = 16384;

/// A unit vector that depends only on the text, so any writer produces the same one.
fn vector_for(text: &str) -> Vec<f32> {
    vector_of(text, DIM)
}

fn vector_of(text: &str, dim: usize) -> Vec<f32> {
    let h = hash(text);
    let mut v: Vec<f32> = (0..dim).map(|i| f32::from(h[i % KEY]) + 1.0).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn texts(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("answer number {i}")).collect()
}

fn put_all(c: &mut Cache, texts: &[String]) -> usize {
    put_wide(c, texts, DIM)
}

fn put_wide(c: &mut Cache, texts: &[String], dim: usize) -> usize {
    let vecs: Vec<Vec<f32>> = texts.iter().map(|t| vector_of(t, dim)).collect();
    let entries: Vec<(&str, &[f32], bool)> = texts
        .iter()
        .zip(&vecs)
        .map(|(t, v)| (t.as_str(), v.as_slice(), t.len() % 2 == 0))
        .collect();
    c.put(NS, dim, &entries, &Progress::silent()).unwrap()
}

fn count_found(dir: &Path, texts: &[String]) -> usize {
    count_wide(&mut Cache::open(dir).unwrap(), texts, DIM)
}

fn count_wide(c: &mut Cache, texts: &[String], dim: usize) -> usize {
    texts
        .iter()
        .filter(|t| {
            let hit = c.get(NS, dim, t, &Progress::silent()).unwrap();
            hit == Some((vector_of(t, dim), t.len() % 2 == 0))
        })
        .count()
}

fn shard_of(dir: &Path, text: &str) -> PathBuf {
    dir.join(NS).join(format!("{:02x}.v2.bin", hash(text)[0]))
}

#[test]
fn round_trip_and_namespaces_are_separate() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cache::open(dir.path()).unwrap();
    let quiet = Progress::silent();
    c.put(
        "a",
        2,
        &[("hello", &[0.6, 0.8], false), ("long", &[1.0, 0.0], true)],
        &quiet,
    )
    .unwrap();
    let mut c = Cache::open(dir.path()).unwrap();
    assert_eq!(
        c.get("a", 2, "hello", &quiet).unwrap(),
        Some((vec![0.6, 0.8], false))
    );
    assert_eq!(
        c.get("a", 2, "long", &quiet).unwrap(),
        Some((vec![1.0, 0.0], true))
    );
    assert_eq!(c.get("b", 2, "hello", &quiet).unwrap(), None);
    assert_eq!(c.get("a", 2, "Hello", &quiet).unwrap(), None);
    assert!(c.warnings().is_empty());
}

#[test]
fn first_format_shards_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir
        .path()
        .join(NS)
        .join(format!("{:02x}.bin", hash("hello")[0]));
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    let mut v1 = b"CFCACHE1\x02\0\0\0".to_vec();
    v1.extend_from_slice(&hash("hello"));
    v1.push(0);
    v1.extend([0.6f32, 0.8].iter().flat_map(|x| x.to_le_bytes()));
    std::fs::write(&old, &v1).unwrap();
    let mut c = Cache::open(dir.path()).unwrap();
    assert_eq!(c.get(NS, 2, "hello", &Progress::silent()).unwrap(), None);
    assert!(c.warnings().is_empty());
    let (hello, v) = ("hello", [0.6f32, 0.8]);
    c.put(NS, 2, &[(hello, &v, false)], &Progress::silent())
        .unwrap();
    assert_eq!(std::fs::read(&old).unwrap(), v1);
}

#[test]
fn a_shard_of_another_dimension_is_a_miss_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cache::open(dir.path()).unwrap();
    let many = texts(0..600);
    assert_eq!(put_all(&mut c, &many), 600);
    let mut c = Cache::open(dir.path()).unwrap();
    for t in &many {
        assert_eq!(c.get(NS, 4, t, &Progress::silent()).unwrap(), None);
    }
    // One warning per shard, however many records it holds.
    let shards = std::fs::read_dir(dir.path().join(NS)).unwrap().count();
    assert_eq!(c.warnings().len(), shards);
    assert!(
        c.warnings()[0].contains("of dimension 8, not 4"),
        "{:?}",
        c.warnings()
    );
    assert!(c.warnings()[0].contains(".v2.bin"));
}

#[test]
fn bad_vectors_are_misses_and_the_good_records_of_their_shard_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(NS)).unwrap();
    // Records written by hand into one shard: good, NaN, zero, not unit, good.
    let names = ["good 1", "nan", "zero", "long", "good 2"];
    let mut bytes = MAGIC.to_vec();
    for name in names {
        let mut v = vector_for(name);
        match name {
            "nan" => v[3] = f32::NAN,
            "zero" => v.iter_mut().for_each(|x| *x = 0.0),
            "long" => v[0] += 0.1,
            _ => {}
        }
        push_record(&mut bytes, &hash(name), &v, false);
    }
    let path = shard_of(dir.path(), "good 1");
    std::fs::write(&path, &bytes).unwrap();
    let mut c = Cache::open(dir.path()).unwrap();
    let quiet = Progress::silent();
    for name in names {
        // Each lookup reads the file as if it were that text's shard.
        c.shards.clear();
        std::fs::write(shard_of(dir.path(), name), &bytes).unwrap();
        let hit = c.get(NS, DIM, name, &quiet).unwrap();
        assert_eq!(hit.is_some(), name.starts_with("good"), "{name}");
    }
    let w = c.warnings().last().unwrap();
    assert!(w.contains("1 vector with NaN"), "{w}");
    assert!(w.contains("2 vectors not of unit length"), "{w}");
}

#[test]
fn truncated_shards_garbage_and_flipped_bytes_never_give_a_wrong_vector() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["one", "two", "three"];
    let mut bytes = MAGIC.to_vec();
    for name in names {
        push_record(&mut bytes, &hash(name), &vector_for(name), false);
    }
    let quiet = Progress::silent();
    let check = |content: &[u8]| -> usize {
        let mut c = Cache::open(dir.path()).unwrap();
        let mut found = 0;
        for name in names {
            std::fs::create_dir_all(dir.path().join(NS)).unwrap();
            std::fs::write(shard_of(dir.path(), name), content).unwrap();
            c.shards.clear();
            if let Some(hit) = c.get(NS, DIM, name, &quiet).unwrap() {
                assert_eq!(hit, (vector_for(name), false));
                found += 1;
            }
        }
        found
    };
    assert_eq!(check(&bytes), 3);
    // Cut anywhere: the records before the cut are still found.
    let record = HEAD + KEY + 1 + 4 * DIM;
    for cut in 0..bytes.len() {
        let whole = cut.saturating_sub(MAGIC.len()) / record;
        assert_eq!(check(&bytes[..cut]), whole, "cut at {cut}");
    }
    // Any one byte flipped: the record it hits is lost, the others are still found.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        assert!(check(&b) >= 2, "flip at {i}");
    }
    // Random garbage, including some that looks like a header or a marker.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for n in [0, 1, 7, 8, 12, 100, 4000] {
        let mut g: Vec<u8> = (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        assert_eq!(check(&g), 0);
        g.splice(0..0, MAGIC.iter().chain(MARK.iter()).copied());
        assert_eq!(check(&g), 0);
    }
    // A shard holding no valid record is started afresh by the next write.
    let mut c = Cache::open(dir.path()).unwrap();
    let garbage = shard_of(dir.path(), "one");
    std::fs::write(&garbage, b"CFCACHE1 not this format").unwrap();
    let one = vec!["one".to_string()];
    assert_eq!(put_all(&mut c, &one), 1);
    assert_eq!(std::fs::read(&garbage).unwrap().len(), MAGIC.len() + record);
    assert_eq!(count_found(dir.path(), &one), 1);
}

#[test]
fn a_torn_tail_is_ignored_then_cut_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let first = texts(0..300);
    assert_eq!(put_all(&mut Cache::open(dir.path()).unwrap(), &first), 300);
    // Half a record at the end of a shard, as a writer killed mid-write leaves it.
    let path = shard_of(dir.path(), &first[0]);
    let whole = std::fs::read(&path).unwrap();
    let mut half = Vec::new();
    push_record(&mut half, &hash("torn"), &vector_for("torn"), false);
    let mut torn = whole.clone();
    torn.extend_from_slice(&half[..half.len() / 2]);
    std::fs::write(&path, &torn).unwrap();

    let mut c = Cache::open(dir.path()).unwrap();
    assert_eq!(count_found(dir.path(), &first), 300);
    // A new text of the same shard: the write cuts the torn tail and appends after it.
    let same_shard: Vec<String> = texts(300..3000)
        .into_iter()
        .filter(|t| hash(t)[0] == hash(&first[0])[0])
        .take(2)
        .collect();
    for t in &first {
        c.get(NS, DIM, t, &Progress::silent()).unwrap();
    }
    assert_eq!(c.warnings().len(), 1);
    assert!(c.warnings()[0].contains("not whole records"));
    assert_eq!(put_all(&mut c, &same_shard), 2);
    let record = HEAD + KEY + 1 + 4 * DIM;
    let repaired = std::fs::read(&path).unwrap();
    assert_eq!(repaired.len(), whole.len() + 2 * record);
    assert_eq!(&repaired[..whole.len()], &whole[..]);
    let mut fresh = Cache::open(dir.path()).unwrap();
    for t in first.iter().chain(&same_shard) {
        assert!(fresh
            .get(NS, DIM, t, &Progress::silent())
            .unwrap()
            .is_some());
    }
    assert!(fresh.warnings().is_empty(), "{:?}", fresh.warnings());
}

#[test]
fn two_handles_writing_interleaved_keep_every_vector() {
    // The reported case: two runs of 1,300 texts sharing 88 kept only 1,286 of 2,512.
    let dir = tempfile::tempdir().unwrap();
    let a = texts(0..1300);
    let b = texts(1212..2512);
    std::thread::scope(|s| {
        for mine in [&a, &b] {
            let dir = dir.path();
            s.spawn(move || {
                let mut c = Cache::open(dir).unwrap();
                for batch in mine.chunks(100) {
                    // Read first, as a run does, so each handle holds a stale view.
                    for t in batch {
                        c.get(NS, DIM, t, &Progress::silent()).unwrap();
                    }
                    assert_eq!(put_all(&mut c, batch), batch.len());
                }
            });
        }
    });
    let all = texts(0..2512);
    assert_eq!(count_found(dir.path(), &all), 2512);
    // Overlapping texts are stored once: no shard holds a text twice.
    let record = (HEAD + KEY + 1 + 4 * DIM) as u64;
    let bytes: u64 = std::fs::read_dir(dir.path().join(NS))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len() - MAGIC.len() as u64)
        .sum();
    assert_eq!(bytes, 2512 * record);
}

/// Run by `sigkill_never_loses_a_vector_reported_stored` in a child process: stores
/// batches of texts and prints each batch's number once `put` has returned.
#[test]
#[ignore = "run as a child process by the SIGKILL test"]
fn sigkill_child() {
    let (Some(dir), Some(from)) = (
        std::env::var_os("CODEFRAME_TEST_CACHE_DIR"),
        std::env::var("CODEFRAME_TEST_CACHE_FROM").ok(),
    ) else {
        return;
    };
    let from: usize = from.parse().unwrap();
    let mut c = Cache::open(Path::new(&dir)).unwrap();
    let mut out = std::io::stdout().lock();
    for k in 0..300 {
        let start = from + k * 25;
        assert_eq!(put_wide(&mut c, &texts(start..start + 25), KILL_DIM), 25);
        writeln!(out, "stored {start}").unwrap();
        out.flush().unwrap();
    }
}

/// Starts a `sigkill_child` storing texts from `from` on; returns it and a thread that
/// collects the texts it reports stored, after signalling its first report on `first`.
fn spawn_writer(
    dir: &Path,
    from: usize,
    first: std::sync::mpsc::Sender<()>,
) -> (std::process::Child, std::thread::JoinHandle<Vec<String>>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "embed::cache::tests::sigkill_child"])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env("CODEFRAME_TEST_CACHE_DIR", dir)
        .env("CODEFRAME_TEST_CACHE_FROM", from.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut reported = Vec::new();
        for line in out.lines().map_while(std::result::Result::ok) {
            if let Some(start) = line.strip_prefix("stored ") {
                let start: usize = start.parse().unwrap();
                reported.extend(texts(start..start + 25));
                let _ = first.send(());
            }
        }
        reported
    });
    (child, reader)
}

#[test]
fn sigkill_never_loses_a_vector_reported_stored() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    for round in 0..4u32 {
        let dir = tempfile::tempdir().unwrap();
        // Two writers with overlapping texts, killed at a different moment each round,
        // once both have stored something.
        let (tx, rx) = std::sync::mpsc::channel();
        let writers: Vec<_> = [0usize, 2000]
            .into_iter()
            .map(|from| spawn_writer(dir.path(), from, tx.clone()))
            .collect();
        for _ in 0..2 {
            rx.recv_timeout(Duration::from_secs(60)).unwrap();
        }
        let wait = (seed / (round + 1)) % 30 + 10 * round;
        std::thread::sleep(Duration::from_millis(u64::from(wait)));
        let mut reported = Vec::new();
        for (mut child, reader) in writers {
            child.kill().unwrap();
            child.wait().unwrap();
            reported.extend(reader.join().unwrap());
        }
        let mut c = Cache::open(dir.path()).unwrap();
        assert_eq!(count_wide(&mut c, &reported, KILL_DIM), reported.len());
        // A kill mid-write leaves at most a torn tail, nothing else.
        for w in c.warnings() {
            assert!(
                w.contains("not whole records") && !w.contains("vectors"),
                "{w}"
            );
        }
        // Writing to every shard cuts the torn tails; all is found afterwards.
        let mut ids = HashSet::new();
        let more: Vec<String> = texts(90_000..100_000)
            .into_iter()
            .filter(|t| ids.insert(hash(t)[0]))
            .collect();
        assert_eq!(more.len(), 256);
        assert_eq!(put_wide(&mut c, &more, KILL_DIM), 256);
        let mut c = Cache::open(dir.path()).unwrap();
        assert_eq!(count_wide(&mut c, &more, KILL_DIM), 256);
        assert_eq!(count_wide(&mut c, &reported, KILL_DIM), reported.len());
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    }
}

#[test]
fn vectors_are_handed_over_one_shard_at_a_time_and_only_keys_stay() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cache::open(dir.path()).unwrap();
    let quiet = Progress::silent();
    let stored = texts(0..300);
    assert_eq!(put_all(&mut c, &stored), 300);
    let mut c = Cache::open(dir.path()).unwrap();
    // Asked twice for one text and once for one never stored.
    let asked: Vec<&str> = vec![&stored[7], "never stored", &stored[299], &stored[7]];
    let mut got = Vec::new();
    let hits = c
        .take_each(NS, DIM, &asked, &quiet, |i, v, cut| {
            got.push((i, v.to_vec(), cut))
        })
        .unwrap();
    got.sort_by_key(|g| g.0);
    assert_eq!(hits, 3);
    let want = |i: usize, t: &String| (i, vector_for(t), t.len().is_multiple_of(2));
    assert_eq!(
        got,
        vec![
            want(0, &stored[7]),
            want(2, &stored[299]),
            want(3, &stored[7])
        ]
    );
    assert!(c
        .shards
        .values()
        .all(|s| s.entries.values().all(Option::is_none)));
    // The keys still keep a second put from appending what is there.
    assert_eq!(put_all(&mut c, &stored[..10]), 10);
    let mut c = Cache::open(dir.path()).unwrap();
    assert_eq!(
        c.get(NS, DIM, &stored[7], &quiet).unwrap(),
        Some((vector_for(&stored[7]), stored[7].len().is_multiple_of(2)))
    );
    let bytes: u64 = std::fs::read_dir(dir.path().join(NS))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let record = (HEAD + KEY + 1 + DIM * 4) as u64;
    let shards = std::fs::read_dir(dir.path().join(NS)).unwrap().count() as u64;
    assert_eq!(bytes, 300 * record + shards * MAGIC.len() as u64);
}
