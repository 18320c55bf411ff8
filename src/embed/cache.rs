//! Embedding cache: vectors on disk keyed by model checksum, precision and exact text, so a
//! rerun or an overlapping wave embeds only texts never seen before.
//!
//! Layout: `DIR/<namespace>/<first byte of SHA-256(text) in hex>.bin`, 256 shards. A shard is
//! `CFCACHE1`, the dimension (u32 LE), then records of SHA-256 (32 bytes), a truncated flag
//! (1 byte) and the vector (f32 LE). Shards are rewritten whole through a rename, so a
//! crash never leaves a torn file; an unreadable shard counts as empty.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::fsio;

const MAGIC: &[u8; 8] = b"CFCACHE1";

type Shard = HashMap<[u8; 32], (Vec<f32>, bool)>;

/// An open cache folder.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    shards: HashMap<(String, u8), Shard>,
}

impl Cache {
    /// Opens (creating) a cache folder.
    pub fn open(dir: &Path) -> Result<Self> {
        fsio::create_dir_all(dir)?;
        Ok(Cache {
            dir: dir.to_path_buf(),
            shards: HashMap::new(),
        })
    }

    /// The default folder: `$XDG_CACHE_HOME/codeframe` or `~/.cache/codeframe`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
            return Some(PathBuf::from(x).join("codeframe"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("codeframe"))
    }

    /// The vector and truncated flag stored for `text` under `namespace`.
    pub fn get(&mut self, namespace: &str, text: &str) -> Result<Option<(Vec<f32>, bool)>> {
        let h = hash(text);
        let shard = self.shard(namespace, h[0])?;
        Ok(shard.get(&h).cloned())
    }

    /// Stores vectors for texts under `namespace`.
    pub fn put(&mut self, namespace: &str, entries: &[(&str, &[f32], bool)]) -> Result<()> {
        let mut touched: Vec<u8> = Vec::new();
        for (text, vector, cut) in entries {
            let h = hash(text);
            let shard = self.shard(namespace, h[0])?;
            shard.insert(h, (vector.to_vec(), *cut));
            if !touched.contains(&h[0]) {
                touched.push(h[0]);
            }
        }
        touched.sort_unstable();
        for id in touched {
            let path = self.shard_path(namespace, id);
            if let Some(shard) = self.shards.get(&(namespace.to_string(), id)) {
                if let Some(parent) = path.parent() {
                    fsio::create_dir_all(parent)?;
                }
                fsio::write_atomic(&path, &encode(shard))?;
            }
        }
        Ok(())
    }

    fn shard_path(&self, namespace: &str, id: u8) -> PathBuf {
        self.dir.join(namespace).join(format!("{id:02x}.bin"))
    }

    fn shard(&mut self, namespace: &str, id: u8) -> Result<&mut Shard> {
        let key = (namespace.to_string(), id);
        if !self.shards.contains_key(&key) {
            let path = self.shard_path(namespace, id);
            let shard = if path.is_file() {
                decode(&fsio::read(&path)?).unwrap_or_default()
            } else {
                Shard::new()
            };
            self.shards.insert(key.clone(), shard);
        }
        Ok(self.shards.entry(key).or_default())
    }
}

fn hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn encode(shard: &Shard) -> Vec<u8> {
    let dim = shard.values().next().map(|(v, _)| v.len()).unwrap_or(0);
    let mut keys: Vec<&[u8; 32]> = shard.keys().collect();
    keys.sort();
    let mut out = Vec::with_capacity(12 + keys.len() * (33 + 4 * dim));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(dim as u32).to_le_bytes());
    for k in keys {
        if let Some((v, cut)) = shard.get(k) {
            out.extend_from_slice(k);
            out.push(u8::from(*cut));
            for x in v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    out
}

fn decode(bytes: &[u8]) -> Option<Shard> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let dim = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let rest = &rest[4..];
    let record = 33 + 4 * dim;
    if dim == 0 || rest.len() % record != 0 {
        return None;
    }
    let mut shard = Shard::new();
    for r in rest.chunks_exact(record) {
        let key: [u8; 32] = r[..32].try_into().ok()?;
        let v = r[33..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        shard.insert(key, (v, r[32] != 0));
    }
    Some(shard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_namespaces_are_separate() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::open(dir.path()).unwrap();
        c.put(
            "a",
            &[("hello", &[0.6, 0.8], false), ("long", &[1.0, 0.0], true)],
        )
        .unwrap();
        let mut c = Cache::open(dir.path()).unwrap();
        assert_eq!(c.get("a", "hello").unwrap(), Some((vec![0.6, 0.8], false)));
        assert_eq!(c.get("a", "long").unwrap(), Some((vec![1.0, 0.0], true)));
        assert_eq!(c.get("b", "hello").unwrap(), None);
        assert_eq!(c.get("a", "Hello").unwrap(), None);
    }

    #[test]
    fn corrupt_shard_counts_as_empty() {
        assert!(decode(b"CFCACHE1\x02\0\0\0short").is_none());
        assert!(decode(b"garbage").is_none());
    }
}
