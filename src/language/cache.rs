//! Languages told once per text: kept in the embedding cache's folder under a namespace of
//! their own, so a second command over the same answers (apply after discover) tells none
//! of them again.

use super::{known, MIN_DISTANCE, MIN_LETTERS};
use crate::manifest::sha256_hex;

/// Values kept per text. The cache holds unit vectors (with its locking, checksums and damage
/// handling); a point on the unit circle names a language exactly by its angle.
pub const DIM: usize = 2;

/// Angles a language can take: far more than the languages known, so decoding is exact.
const STEPS: usize = 256;

/// The namespace: detector version and settings, and the languages it tells apart, so a
/// change to any of them starts afresh.
pub fn namespace() -> String {
    let list = known().join(",");
    let sha = sha256_hex(list.as_bytes());
    format!(
        "languages-lingua1.8-d{MIN_DISTANCE}-m{MIN_LETTERS}-{}",
        &sha[..12]
    )
}

/// The point for entry `index` of [`known`]; `known().len()` stands for "undetermined".
pub fn encode(index: usize) -> [f32; DIM] {
    let angle = index as f64 * std::f64::consts::TAU / STEPS as f64;
    [angle.cos() as f32, angle.sin() as f32]
}

/// The entry a stored point names, `None` for a point no entry up to `undetermined` encodes.
pub fn decode(v: &[f32], undetermined: usize) -> Option<usize> {
    let (&[x, y], true) = (v, v.len() == DIM) else {
        return None;
    };
    let turns = f64::from(y).atan2(f64::from(x)) / std::f64::consts::TAU;
    let index = (turns * STEPS as f64).round().rem_euclid(STEPS as f64) as usize;
    let back = encode(index);
    let close = (back[0] - x).abs() < 1e-4 && (back[1] - y).abs() < 1e-4;
    (close && index <= undetermined).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_and_undetermined_round_trip() {
        let n = known().len();
        assert!(n < STEPS);
        for i in 0..=n {
            let v = encode(i);
            let norm = (v[0] * v[0] + v[1] * v[1]).sqrt();
            assert!((norm - 1.0).abs() < 1e-6);
            assert_eq!(decode(&v, n), Some(i));
        }
        assert_eq!(decode(&encode(n + 1), n), None);
        assert_eq!(decode(&[0.5, 0.5], n), None);
        assert_eq!(decode(&[1.0], n), None);
        assert!(namespace().starts_with("languages-"));
    }
}
