//! Second coding: a seeded sample stratified by code for a second coder (blind), the sample
//! size that gives a kappa interval of a chosen width, and agreement between any two coding
//! streams computed by the same code as `codeframe agree`.

use std::collections::BTreeMap;

use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rusqlite::params;
use serde::Serialize;

use super::store::{now_ms, Store};
use super::StoreError;
use crate::agree::{agree, AgreeOptions, Agreement, Codings};

/// A sample made for a second coder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Its number.
    pub sample: i64,
    /// The second coder.
    pub coder: String,
    /// Answers in it.
    pub size: usize,
    /// The seed that drew it.
    pub seed: u64,
}

impl Store {
    /// Draws a sample of `size` answers for `coder`, stratified by final code (each code's share
    /// kept, every code with answers at least once when the size allows), seeded, and makes
    /// `coder` a second coder: their pages then show the sample only, blind.
    pub fn draw_sample(
        &mut self,
        coder: &str,
        size: usize,
        seed: u64,
    ) -> Result<Sample, StoreError> {
        if coder.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a sample needs the second coder's name".into(),
            ));
        }
        let mut strata: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        {
            let mut st = self.conn.prepare(
                "SELECT a.row, COALESCE(f.code, -1) FROM answers a LEFT JOIN finals f ON f.row = a.row
                 WHERE a.status NOT IN ('empty', 'no answer') ORDER BY a.row",
            )?;
            for r in st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
                let (row, code) = r?;
                strata.entry(code).or_default().push(row);
            }
        }
        let n: usize = strata.values().map(Vec::len).sum();
        if size == 0 || size > n {
            return Err(StoreError::Invalid(format!(
                "a sample needs between 1 and {n} answers (asked for {size})"
            )));
        }
        let rows = stratified(&strata, size, seed);
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO coders(name, role) VALUES (?1, 'second')
             ON CONFLICT(name) DO UPDATE SET role = 'second'",
            [coder],
        )?;
        tx.execute(
            "INSERT INTO samples(coder, seed, size, at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![coder, seed as i64, rows.len() as i64, now_ms()],
        )?;
        let sample = tx.last_insert_rowid();
        for (i, row) in rows.iter().enumerate() {
            tx.execute(
                "INSERT INTO sample_rows(sample, row, position) VALUES (?1, ?2, ?3)",
                params![sample, row, i as i64],
            )?;
        }
        // The second coder's codes must not decide final codes: recompute those they touched.
        let mut st = tx.prepare("SELECT row FROM current WHERE coder = ?1")?;
        let touched = st
            .query_map([coder], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        drop(st);
        for row in touched {
            super::store::refresh_final(&tx, row)?;
        }
        tx.commit()?;
        Ok(Sample {
            sample,
            coder: coder.to_string(),
            size: rows.len(),
            seed,
        })
    }

    /// Agreement between two coding streams on the answers both coded (`codeframe agree`'s
    /// figures: percent agreement, Cohen's kappa, Krippendorff's alpha, bootstrap intervals).
    pub fn agreement(&self, a: &str, b: &str) -> Result<Agreement, StoreError> {
        if a == b {
            return Err(StoreError::Invalid("choose two different coders".into()));
        }
        let mut st = self.conn.prepare(
            "SELECT a.id,
               (SELECT c.label FROM current x JOIN codes c ON c.code = x.code
                  WHERE x.row = a.row AND x.coder = ?1),
               (SELECT c.label FROM current x JOIN codes c ON c.code = x.code
                  WHERE x.row = a.row AND x.coder = ?2)
             FROM answers a ORDER BY a.row",
        )?;
        let mut ids = Vec::new();
        let mut cells = Vec::new();
        for r in st.query_map(params![a, b], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })? {
            let (id, x, y) = r?;
            ids.push(id);
            cells.push(vec![x.unwrap_or_default(), y.unwrap_or_default()]);
        }
        let codings = Codings::from_columns(ids, vec![a.to_string(), b.to_string()], cells)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        agree(&codings, &AgreeOptions::default()).map_err(|e| StoreError::Invalid(e.to_string()))
    }

    /// The sample size whose kappa interval (95%) is about `width` wide, for the current codes'
    /// shares and an expected agreement `p_o` (the machine's agreement with people so far, or
    /// 0.8): n = (2 · 1.96)² p_o (1 − p_o) / ((1 − p_e)² width²), at least 30, at most every
    /// answer.
    pub fn suggest_sample_size(&self, width: f64) -> Result<SampleSize, StoreError> {
        if !(width > 0.0 && width < 2.0) {
            return Err(StoreError::Invalid(
                "the interval width must be between 0 and 2".into(),
            ));
        }
        let mut st = self
            .conn
            .prepare("SELECT COUNT(*) FROM finals WHERE code IS NOT NULL GROUP BY code")?;
        let counts = st
            .query_map([], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let n: i64 = counts.iter().sum();
        let p_e: f64 = counts
            .iter()
            .map(|&c| (c as f64 / n.max(1) as f64).powi(2))
            .sum();
        // The machine's agreement with people, once there are enough answers both coded.
        let (both, same): (i64, i64) = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(m.code IS p.code), 0) FROM current m
             JOIN current p ON p.row = m.row AND p.source = 'person'
             JOIN coders k ON k.name = p.coder AND k.role = 'primary'
             WHERE m.coder = ?1",
            [super::store::MACHINE],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let p_o: f64 = if both >= 30 {
            (same as f64 / both as f64).clamp(0.5, 0.99)
        } else {
            0.8
        };
        let z: f64 = 1.959_963_984_540_054;
        let raw = (2.0 * z).powi(2) * p_o * (1.0 - p_o) / ((1.0 - p_e).powi(2) * width.powi(2));
        let rows: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM answers WHERE status NOT IN ('empty', 'no answer')",
            [],
            |r| r.get(0),
        )?;
        Ok(SampleSize {
            size: (raw.ceil() as i64).max(30).min(rows),
            width,
            expected_agreement: p_o,
            chance_agreement: p_e,
        })
    }
}

/// A suggested sample size and what it assumes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleSize {
    /// Answers.
    pub size: i64,
    /// The interval width asked for.
    pub width: f64,
    /// The agreement assumed between the coders.
    pub expected_agreement: f64,
    /// The chance agreement of the current code shares.
    pub chance_agreement: f64,
}

/// `size` rows drawn from the strata: each stratum's share (largest remainders, ties by code),
/// at least one per stratum while the size allows, rows drawn within a stratum by a seeded
/// shuffle; sorted.
fn stratified(strata: &BTreeMap<i64, Vec<i64>>, size: usize, seed: u64) -> Vec<i64> {
    let n: usize = strata.values().map(Vec::len).sum();
    let mut alloc: Vec<(i64, usize, f64)> = strata
        .iter()
        .map(|(&code, rows)| {
            let exact = size as f64 * rows.len() as f64 / n as f64;
            (code, exact.floor() as usize, exact - exact.floor())
        })
        .collect();
    // Every code at least once, when there is room for it.
    if size >= alloc.len() {
        for a in &mut alloc {
            a.1 = a.1.max(1);
        }
    }
    let mut given: usize = alloc.iter().map(|a| a.1).sum();
    let mut order: Vec<usize> = (0..alloc.len()).collect();
    order.sort_by(|&x, &y| {
        alloc[y]
            .2
            .total_cmp(&alloc[x].2)
            .then(alloc[x].0.cmp(&alloc[y].0))
    });
    let mut i = 0;
    while given < size && !order.is_empty() {
        let k = order[i % order.len()];
        if alloc[k].1 < strata[&alloc[k].0].len() {
            alloc[k].1 += 1;
            given += 1;
        }
        i += 1;
    }
    while given > size {
        // Too many strata for a size this small: the largest allocations give back.
        if let Some(k) = (0..alloc.len()).max_by_key(|&k| (alloc[k].1, std::cmp::Reverse(k))) {
            alloc[k].1 -= 1;
            given -= 1;
        }
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut out = Vec::with_capacity(size);
    for (code, take, _) in alloc {
        let mut rows = strata[&code].clone();
        for j in 0..take.min(rows.len()) {
            let k = j + (rng.next_u64() % (rows.len() - j) as u64) as usize;
            rows.swap(j, k);
        }
        out.extend_from_slice(&rows[..take.min(rows.len())]);
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_shares_and_every_code() {
        let mut s = BTreeMap::new();
        s.insert(1, (0..60).collect::<Vec<i64>>());
        s.insert(2, (60..90).collect());
        s.insert(3, (90..100).collect());
        s.insert(4, vec![100]);
        let a = stratified(&s, 20, 7);
        assert_eq!(a.len(), 20);
        let count = |lo: i64, hi: i64| a.iter().filter(|&&r| r >= lo && r < hi).count();
        assert!(count(0, 60) >= 10 && count(60, 90) >= 5 && count(90, 100) >= 1);
        assert_eq!(count(100, 101), 1, "a rare code is in the sample");
        assert_eq!(a, stratified(&s, 20, 7), "the seed decides");
        assert_ne!(a, stratified(&s, 20, 8));
        assert_eq!(stratified(&s, 2, 1).len(), 2);
    }
}
