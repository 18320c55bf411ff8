//! Embedding cache: vectors on disk keyed by namespace (model checksum, precision, window) and
//! the exact text, so a rerun or an overlapping wave embeds only texts never seen before.
//!
//! Layout: `DIR/<namespace>/<first byte of SHA-256(text) in hex>.v2.bin`, 256 shards per
//! namespace. A shard is `CFCACHE2` followed by records, each appended whole:
//!
//! ```text
//! record  = "CFr2" | payload length (u32 LE) | CRC-32 of length and payload (u32 LE) | payload
//! payload = SHA-256(text) (32 bytes) | truncated flag (0 or 1) | vector (f32 LE)
//! ```
//!
//! Several processes may share a folder, and any of them may be killed at any moment:
//! - records are only ever appended, by a writer holding an exclusive lock on the shard
//!   (`File::lock`, released by the system when a process dies); readers hold a shared lock,
//!   so they never see a record half-written by a live writer;
//! - a writer killed mid-record leaves a torn tail, which readers skip (records check
//!   themselves) and the next writer cuts off under the lock before appending; nothing valid
//!   can follow it, so the cut never removes a record;
//! - a vector counts as stored only once its shard is synced (`sync_data`), and records are
//!   never rewritten or moved afterwards;
//! - a writer first reads what others appended since it last looked, skipping texts already
//!   there, so concurrent runs keep the union of their vectors.
//!
//! Every record read is checked: the dimension the caller expects, finite values, unit length.
//! A bad record, a damaged header or unreadable bytes make those texts misses, with one warning
//! per shard; the shard's good records are still used (the record marker lets reading resume
//! after damaged bytes). Shards of the first format (`*.bin`, `CFCACHE1`, rewritten whole by
//! older versions) have other names: they are not read and not touched.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fsio;
use crate::progress::Progress;

const MAGIC: &[u8; 8] = b"CFCACHE2";
const MARK: &[u8; 4] = b"CFr2";
/// Marker, length and checksum before each payload.
const HEAD: usize = 12;
const KEY: usize = 32;
/// Largest distance of a cached vector's norm from 1.
pub const UNIT_TOLERANCE: f64 = 1e-3;
/// Widest vector stored (keeps a record's length within its u32 field).
const MAX_DIM: usize = 1 << 24;
/// Shards synced at once: syncs of different files overlap well, one by one they add up.
const SYNC_THREADS: usize = 16;

type Key = [u8; 32];
/// A vector to store: its text's key, the values, the truncated flag.
type Item<'a> = (Key, &'a [f32], bool);

/// What this handle knows of one shard file.
#[derive(Debug, Default)]
struct Shard {
    /// The dimension its records were checked against.
    dim: usize,
    entries: HashMap<Key, (Vec<f32>, bool)>,
    /// End of the last valid record read: a record boundary, since records are only appended.
    end: u64,
    /// Whether its problems have been reported.
    warned: bool,
}

/// An open cache folder.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    shards: HashMap<(String, u8), Shard>,
    stored: usize,
    warnings: Vec<String>,
}

impl Cache {
    /// Opens (creating) a cache folder.
    pub fn open(dir: &Path) -> Result<Self> {
        fsio::create_dir_all(dir)?;
        Ok(Cache {
            dir: dir.to_path_buf(),
            shards: HashMap::new(),
            stored: 0,
            warnings: Vec::new(),
        })
    }

    /// The default folder: `$XDG_CACHE_HOME/codeframe` or `~/.cache/codeframe`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
            return Some(PathBuf::from(x).join("codeframe"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("codeframe"))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Vectors this handle has stored (or found already stored) and synced so far.
    pub fn stored(&self) -> usize {
        self.stored
    }

    /// The warnings this handle has given, one per damaged shard.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The vector and truncated flag stored for `text` under `namespace`, if there is a valid
    /// one of `dim` values. Each shard is read once per handle; a damaged one is reported
    /// through `progress.warn`.
    pub fn get(
        &mut self,
        namespace: &str,
        dim: usize,
        text: &str,
        progress: &Progress,
    ) -> Result<Option<(Vec<f32>, bool)>> {
        let h = hash(text);
        let key = (namespace.to_string(), h[0]);
        if !matches!(self.shards.get(&key), Some(s) if s.dim == dim) {
            let path = self.shard_path(namespace, h[0]);
            let bytes = read_shared(&path)?;
            let mut shard = Shard {
                dim,
                ..Shard::default()
            };
            let (end, problems) = shard.absorb(&bytes, 0);
            shard.end = end;
            if let Some(msg) = problems.message(dim) {
                shard.warned = true;
                warn(&mut self.warnings, progress, &path, &msg);
            }
            self.shards.insert(key.clone(), shard);
        }
        Ok(self
            .shards
            .get(&key)
            .and_then(|s| s.entries.get(&h))
            .cloned())
    }

    /// Stores vectors of `dim` values for texts under `namespace` and returns how many of
    /// them are now in the cache and synced (those another process stored first included).
    /// Vectors of another dimension, not finite or not of unit length are left out, with a
    /// warning. When this returns, a kill cannot lose what it counted.
    pub fn put(
        &mut self,
        namespace: &str,
        dim: usize,
        entries: &[(&str, &[f32], bool)],
        progress: &Progress,
    ) -> Result<usize> {
        let mut by_shard: BTreeMap<u8, Vec<Item>> = BTreeMap::new();
        let mut rejected = 0;
        for &(text, v, cut) in entries {
            if check_vector(v, dim).is_err() {
                rejected += 1;
                continue;
            }
            let h = hash(text);
            by_shard.entry(h[0]).or_default().push((h, v, cut));
        }
        if rejected > 0 {
            progress.warn(format!(
                "cache: {} left out of {namespace}: not {dim} finite values of unit length",
                vectors(rejected)
            ));
        }
        if by_shard.is_empty() {
            return Ok(0);
        }
        let ns_dir = self.dir.join(namespace);
        fsio::create_dir_all(&ns_dir)?;
        let mut files = Vec::with_capacity(by_shard.len());
        let (mut stored, mut created) = (0, false);
        for (id, items) in by_shard {
            let path = self.shard_path(namespace, id);
            let (file, n, new) = self.append(&path, (namespace, id), dim, &items, progress)?;
            files.push((path, file));
            stored += n;
            created |= new;
        }
        sync_files(&files)?;
        if created {
            // A new file is durable only once its folder entry is.
            sync_dir(&ns_dir)?;
            sync_dir(&self.dir)?;
        }
        self.stored += stored;
        progress.detail(format!(
            "cache: stored {} in {} ({} so far)",
            vectors(stored),
            ns_dir.display(),
            self.stored
        ));
        Ok(stored)
    }

    /// Appends the records of one shard under its lock: reads what others appended since this
    /// handle last looked, cuts a torn tail, writes the texts not there yet. Returns the file
    /// (still to be synced), how many of `items` it now holds, and whether it was new.
    fn append(
        &mut self,
        path: &Path,
        (namespace, id): (&str, u8),
        dim: usize,
        items: &[Item],
        progress: &Progress,
    ) -> Result<(File, usize, bool)> {
        let err = |action| move |e| Error::io(action, path, e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(err("open"))?;
        file.lock().map_err(err("lock"))?;
        let shard = self.shards.entry((namespace.to_string(), id)).or_default();
        let len = file.metadata().map_err(err("inspect"))?.len();
        if shard.dim != dim || len < shard.end {
            // Checked against another dimension, or cut behind our back: read it all again.
            *shard = Shard {
                dim,
                ..Shard::default()
            };
        }
        let tail = read_range(&mut file, shard.end, len).map_err(err("read"))?;
        let (end, problems) = shard.absorb(&tail, shard.end);
        if let Some(msg) = problems.message(dim).filter(|_| !shard.warned) {
            shard.warned = true;
            warn(&mut self.warnings, progress, path, &msg);
        }
        if end < len {
            file.set_len(end).map_err(err("repair"))?;
            progress.detail(format!(
                "cache: cut {} bytes of an interrupted write from {}",
                len - end,
                path.display()
            ));
        }
        let mut buf = Vec::new();
        if end == 0 {
            buf.extend_from_slice(MAGIC);
        }
        let mut seen = HashSet::new();
        let fresh: Vec<_> = items
            .iter()
            .filter(|(k, _, _)| seen.insert(*k) && !shard.entries.contains_key(k))
            .collect();
        for (k, v, cut) in &fresh {
            push_record(&mut buf, k, v, *cut);
        }
        if !buf.is_empty() {
            let written = file
                .seek(SeekFrom::Start(end))
                .and_then(|_| file.write_all(&buf));
            if let Err(e) = written {
                // Leave no torn tail behind when the write itself fails (e.g. a full disk).
                let _ = file.set_len(end);
                return Err(Error::io("write", path, e));
            }
        }
        for (k, v, cut) in fresh {
            shard.entries.insert(*k, (v.to_vec(), *cut));
        }
        shard.end = end + buf.len() as u64;
        file.unlock().map_err(err("unlock"))?;
        Ok((file, seen.len(), end == 0))
    }

    fn shard_path(&self, namespace: &str, id: u8) -> PathBuf {
        self.dir.join(namespace).join(format!("{id:02x}.v2.bin"))
    }
}

impl Shard {
    /// Adds the valid records of `bytes`, read from offset `start` of the file, checked
    /// against `self.dim`. Returns the end of the last valid record (or header) and what was
    /// wrong.
    fn absorb(&mut self, bytes: &[u8], start: u64) -> (u64, Problems) {
        let scan = scan(bytes, start == 0);
        let mut problems = scan.problems;
        for payload in scan.payloads {
            match decode(payload, self.dim) {
                Ok((key, v, cut)) => {
                    self.entries.insert(key, (v, cut));
                }
                Err(bad) => problems.record(bad),
            }
        }
        (start + scan.end as u64, problems)
    }
}

/// Why a record with a valid checksum is still not used.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bad {
    Dim(usize),
    Flag,
    NotFinite,
    NotUnit,
}

/// What was wrong in a shard, for its one warning.
#[derive(Debug, Default)]
struct Problems {
    header: bool,
    junk: usize,
    dims: BTreeMap<usize, usize>,
    flag: usize,
    not_finite: usize,
    not_unit: usize,
}

impl Problems {
    fn record(&mut self, bad: Bad) {
        match bad {
            Bad::Dim(d) => *self.dims.entry(d).or_default() += 1,
            Bad::Flag => self.flag += 1,
            Bad::NotFinite => self.not_finite += 1,
            Bad::NotUnit => self.not_unit += 1,
        }
    }

    /// The warning's text, or `None` when all was well.
    fn message(&self, dim: usize) -> Option<String> {
        let mut parts = Vec::new();
        if self.header {
            parts.push("it does not start with CFCACHE2".to_string());
        }
        if self.junk > 0 {
            parts.push(format!(
                "{} bytes that are not whole records (an interrupted write, or damage)",
                self.junk
            ));
        }
        for (d, n) in &self.dims {
            parts.push(format!("{} of dimension {d}, not {dim}", vectors(*n)));
        }
        for (n, what) in [
            (self.not_finite, "with NaN or infinite values"),
            (self.not_unit, "not of unit length"),
            (self.flag, "with an unknown flag"),
        ] {
            if n > 0 {
                parts.push(format!("{} {what}", vectors(n)));
            }
        }
        (!parts.is_empty()).then(|| format!("{}; those texts count as misses", parts.join(", ")))
    }
}

fn vectors(n: usize) -> String {
    if n == 1 {
        "1 vector".to_string()
    } else {
        format!("{n} vectors")
    }
}

fn warn(list: &mut Vec<String>, progress: &Progress, path: &Path, msg: &str) {
    let text = format!("cache shard {}: {msg}", path.display());
    progress.warn(&text);
    list.push(text);
}

fn hash(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

/// Whether `v` may be stored or returned: `dim` finite values of unit length.
fn check_vector(v: &[f32], dim: usize) -> Result<(), Bad> {
    if v.len() != dim || dim > MAX_DIM {
        return Err(Bad::Dim(v.len()));
    }
    if !v.iter().all(|x| x.is_finite()) {
        return Err(Bad::NotFinite);
    }
    let norm = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    if (norm - 1.0).abs() > UNIT_TOLERANCE {
        return Err(Bad::NotUnit);
    }
    Ok(())
}

fn checksum(len: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(payload);
    h.finalize()
}

fn push_record(buf: &mut Vec<u8>, key: &Key, v: &[f32], cut: bool) {
    // check_vector bounds the dimension, so the length fits.
    let len = (KEY + 1 + 4 * v.len()) as u32;
    let start = buf.len();
    buf.extend_from_slice(MARK);
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(key);
    buf.push(u8::from(cut));
    for x in v {
        buf.extend_from_slice(&x.to_le_bytes());
    }
    let crc = checksum(&buf[start + 4..start + 8], &buf[start + HEAD..]);
    buf[start + 8..start + HEAD].copy_from_slice(&crc.to_le_bytes());
}

/// The payload of a whole, valid record starting at `p`.
fn record_at(bytes: &[u8], p: usize) -> Option<&[u8]> {
    let head = bytes.get(p..p.checked_add(HEAD)?)?;
    let (mark, rest) = head.split_first_chunk::<4>()?;
    let (len, crc) = rest.split_first_chunk::<4>()?;
    if mark != MARK {
        return None;
    }
    let start = p + HEAD;
    let n = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    let payload = bytes.get(start..start.checked_add(n)?)?;
    let crc = u32::from_le_bytes(crc.try_into().ok()?);
    (checksum(len, payload) == crc).then_some(payload)
}

/// The start of the next valid record at or after `from`, or the end of `bytes`.
fn next_record(bytes: &[u8], from: usize) -> usize {
    let mut q = from;
    while let Some(i) = bytes
        .get(q..)
        .and_then(|rest| rest.windows(MARK.len()).position(|w| w == MARK))
    {
        q += i;
        if record_at(bytes, q).is_some() {
            return q;
        }
        q += 1;
    }
    bytes.len()
}

/// The valid records of a shard's bytes (from its start when `at_start`).
struct Scan<'a> {
    payloads: Vec<&'a [u8]>,
    /// End of the last valid record, or of the header.
    end: usize,
    problems: Problems,
}

fn scan(bytes: &[u8], at_start: bool) -> Scan<'_> {
    let mut problems = Problems::default();
    let (mut p, mut end) = (0, 0);
    if at_start && !bytes.is_empty() {
        if bytes.starts_with(MAGIC) {
            (p, end) = (MAGIC.len(), MAGIC.len());
        } else {
            problems.header = true;
        }
    }
    let mut payloads = Vec::new();
    while p < bytes.len() {
        if let Some(payload) = record_at(bytes, p) {
            payloads.push(payload);
            p += HEAD + payload.len();
            end = p;
        } else {
            let next = next_record(bytes, p + 1);
            problems.junk += next - p;
            p = next;
        }
    }
    Scan {
        payloads,
        end,
        problems,
    }
}

fn decode(payload: &[u8], dim: usize) -> Result<(Key, Vec<f32>, bool), Bad> {
    let (key, rest) = payload.split_first_chunk::<KEY>().ok_or(Bad::Dim(0))?;
    let (&flag, floats) = rest.split_first().ok_or(Bad::Dim(0))?;
    if floats.len() != 4 * dim {
        return Err(Bad::Dim(floats.len() / 4));
    }
    let cut = match flag {
        0 => false,
        1 => true,
        _ => return Err(Bad::Flag),
    };
    let v: Vec<f32> = floats
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    check_vector(&v, dim)?;
    Ok((*key, v, cut))
}

/// A whole shard read under a shared lock; a missing shard is empty.
fn read_shared(path: &Path) -> Result<Vec<u8>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("open", path, e)),
    };
    file.lock_shared().map_err(|e| Error::io("lock", path, e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    // Closing the file releases the lock.
    Ok(bytes)
}

fn read_range(file: &mut File, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if end > start {
        file.seek(SeekFrom::Start(start))?;
        file.take(end - start).read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

/// Syncs the files' data, several at a time.
fn sync_files(files: &[(PathBuf, File)]) -> Result<()> {
    let per = files.len().div_ceil(SYNC_THREADS).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = files
            .chunks(per)
            .map(|part| {
                s.spawn(move || {
                    part.iter().try_for_each(|(path, f)| {
                        f.sync_data().map_err(|e| Error::io("sync", path, e))
                    })
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync", dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
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
}
