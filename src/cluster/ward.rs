//! Agglomerative clustering: Ward linkage on Euclidean distances (kodama, the linkage engine of
//! linfa-hierarchical), cut where `k` groups remain.

use kodama::{linkage, Method};
use ndarray::ArrayView2;

/// Largest number of answers (repeats included) Ward clustering takes: its distance matrix holds
/// n(n−1)/2 values (about 800 MB at this size).
pub const MAX_POINTS: usize = 20_000;

/// Group of each point after Ward merging down to `k` groups (0-based, in order of first point).
pub fn ward(x: ArrayView2<f32>, k: usize) -> Vec<usize> {
    let n = x.nrows();
    if n == 0 {
        return Vec::new();
    }
    let gram = x.dot(&x.t());
    let sq: Vec<f32> = (0..n).map(|i| gram[[i, i]]).collect();
    let mut condensed = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            condensed.push((sq[i] + sq[j] - 2.0 * gram[[i, j]]).max(0.0).sqrt());
        }
    }
    drop(gram);
    let dendrogram = linkage(&mut condensed, n, Method::Ward);
    // Union-find over the first n − k merges; kodama numbers the cluster made at step s as n + s.
    let mut parent: Vec<usize> = (0..2 * n).collect();
    fn find(parent: &mut [usize], mut a: usize) -> usize {
        while parent[a] != a {
            parent[a] = parent[parent[a]];
            a = parent[a];
        }
        a
    }
    for (s, step) in dendrogram
        .steps()
        .iter()
        .take(n.saturating_sub(k))
        .enumerate()
    {
        let a = find(&mut parent, step.cluster1);
        let b = find(&mut parent, step.cluster2);
        parent[a] = n + s;
        parent[b] = n + s;
    }
    let mut id = std::collections::BTreeMap::new();
    (0..n)
        .map(|i| {
            let root = find(&mut parent, i);
            let next = id.len();
            *id.entry(root).or_insert(next)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn merges_down_to_k() {
        let x = Array2::from_shape_vec(
            (6, 2),
            vec![0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0, 9.0, 0.0, 9.1, 0.1],
        )
        .unwrap();
        assert_eq!(ward(x.view(), 3), vec![0, 0, 1, 1, 2, 2]);
        assert_eq!(ward(x.view(), 6), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(ward(x.view(), 1), vec![0; 6]);
    }
}
