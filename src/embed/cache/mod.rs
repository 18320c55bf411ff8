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
    /// Every valid record's key; the vector too until a caller took it (vectors handed out
    /// are not kept twice in memory).
    entries: HashMap<Key, Option<(Vec<f32>, bool)>>,
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
        let taken = matches!(
            self.shards.get(&key).and_then(|s| s.entries.get(&h)),
            Some(None)
        );
        if taken {
            // Handed out earlier: read the shard again for it.
            self.shards.remove(&key);
            return self.get(namespace, dim, text, progress);
        }
        Ok(self
            .shards
            .get(&key)
            .and_then(|s| s.entries.get(&h))
            .cloned()
            .flatten())
    }

    /// Hands each stored vector of `texts` under `namespace` to `found` (with the text's index
    /// and truncated flag), reading one shard at a time and keeping only its keys afterwards:
    /// whatever the cache's size, at most one shard's vectors are in memory besides the
    /// caller's. Returns how many texts were found.
    pub fn take_each(
        &mut self,
        namespace: &str,
        dim: usize,
        texts: &[&str],
        progress: &Progress,
        mut found: impl FnMut(usize, &[f32], bool),
    ) -> Result<usize> {
        let mut by_shard: BTreeMap<u8, HashMap<Key, Vec<usize>>> = BTreeMap::new();
        for (i, t) in texts.iter().enumerate() {
            let h = hash(t);
            by_shard
                .entry(h[0])
                .or_default()
                .entry(h)
                .or_default()
                .push(i);
        }
        let mut hits = 0;
        for (id, wanted) in by_shard {
            let path = self.shard_path(namespace, id);
            let bytes = read_shared(&path)?;
            let mut shard = Shard {
                dim,
                ..Shard::default()
            };
            let (end, problems) = shard.absorb_with(&bytes, 0, |key, v, cut| {
                if let Some(rows) = wanted.get(key) {
                    hits += rows.len();
                    for &i in rows {
                        found(i, v, cut);
                    }
                }
            });
            shard.end = end;
            if let Some(msg) = problems.message(dim) {
                shard.warned = true;
                warn(&mut self.warnings, progress, &path, &msg);
            }
            self.shards.insert((namespace.to_string(), id), shard);
        }
        Ok(hits)
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
        // Only the keys stay: the caller has the vectors, and memory is for one matrix.
        for (k, _, _) in fresh {
            shard.entries.insert(*k, None);
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
                    self.entries.insert(key, Some((v, cut)));
                }
                Err(bad) => problems.record(bad),
            }
        }
        (start + scan.end as u64, problems)
    }

    /// [`Shard::absorb`] keeping only the keys, each valid record's vector shown to `seen`.
    fn absorb_with(
        &mut self,
        bytes: &[u8],
        start: u64,
        mut seen: impl FnMut(&Key, &[f32], bool),
    ) -> (u64, Problems) {
        let scan = scan(bytes, start == 0);
        let mut problems = scan.problems;
        for payload in scan.payloads {
            match decode(payload, self.dim) {
                Ok((key, v, cut)) => {
                    seen(&key, &v, cut);
                    self.entries.insert(key, None);
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
mod tests;
