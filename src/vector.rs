//! Vector kernels with a fixed summation order: dot products, cosines, lengths.
//!
//! Every dot product and cosine of the crate goes through these functions so that scoring one
//! answer gives bit-identical results whether it is scored alone, in a batch, or on any number
//! of threads (no BLAS, no batch-dependent blocking).

const LANES: usize = 8;

/// Dot product in `f32` with eight interleaved accumulators: fast enough to
/// vectorise, and the order of additions is fixed by the code, not the CPU.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((s, p), q) in acc.iter_mut().zip(x).zip(y) {
            *s += p * q;
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Dot product accumulated in `f64`, for logits where precision matters more
/// than speed.
pub fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    let mut acc = [0f64; 4];
    let ca = a.chunks_exact(4);
    let cb = b.chunks_exact(4);
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((s, &p), &q) in acc.iter_mut().zip(x).zip(y) {
            *s += f64::from(p) * f64::from(q);
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

/// Euclidean length, accumulated in `f64`.
pub fn norm(a: &[f32]) -> f64 {
    dot_f64(a, a).sqrt()
}

/// Cosine of two unit-length vectors: their dot product (the crate keeps every answer, centroid
/// and label vector at unit length, so this is the one cosine).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b)
}

/// Scales each row of a row-major matrix to unit length (zero rows stay zero).
pub fn l2_normalise(data: &mut [f32], dim: usize) {
    if dim == 0 {
        return;
    }
    for row in data.chunks_mut(dim) {
        let n = norm(row);
        if n > 0.0 {
            row.iter_mut().for_each(|v| *v = (f64::from(*v) / n) as f32);
        }
    }
}

/// Whether `v` has unit length within `tolerance` and only finite values.
pub fn is_unit(v: &[f32], tolerance: f64) -> bool {
    v.iter().all(|x| x.is_finite()) && (norm(v) - 1.0).abs() <= tolerance
}

/// Unit-length copy, or `None` for a zero or non-finite vector.
pub fn normalised(a: &[f32]) -> Option<Vec<f32>> {
    let n = norm(a);
    if !(n.is_finite() && n > 0.0) {
        return None;
    }
    Some(a.iter().map(|&v| (f64::from(v) / n) as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.25).collect();
        let naive: f64 = a
            .iter()
            .zip(&b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum();
        assert!((f64::from(dot(&a, &b)) - naive).abs() < 1e-4);
        assert!((dot_f64(&a, &b) - naive).abs() < 1e-12);
    }

    #[test]
    fn normalised_rejects_zero() {
        assert!(normalised(&[0.0, 0.0]).is_none());
        let v = normalised(&[3.0, 4.0]).unwrap();
        assert_eq!(v, vec![0.6, 0.8]);
    }
}
