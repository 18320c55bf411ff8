//! Hungarian algorithm: minimum-cost one-to-one assignment of rows to columns.
//!
//! Shortest-augmenting-path Kuhn–Munkres with row/column potentials
//! (Jonker–Volgenant style), O(r² · c) for r ≤ c; wider-than-tall is solved on
//! the transpose. Entries that cannot be priced (NaN, ±∞, or missing from a
//! short row of a ragged matrix) are *forbidden*: the solver first minimises
//! how many forbidden pairs it must use, then the finite cost, and finally
//! reports rows that landed on a forbidden pair as unassigned.

use std::cmp::Ordering;

/// A cost in the lexicographic group (forbidden pairs used, finite sum).
///
/// Potentials and reduced costs stay exact in the first component, so
/// forbidden entries never need a numerically fragile "big M".
#[derive(Clone, Copy, Debug, PartialEq)]
struct Cost {
    forbidden: i64,
    value: f64,
}

impl Cost {
    const ZERO: Cost = Cost {
        forbidden: 0,
        value: 0.0,
    };

    fn of(entry: Option<f64>) -> Cost {
        match entry {
            Some(v) if v.is_finite() => Cost {
                forbidden: 0,
                value: v,
            },
            _ => Cost {
                forbidden: 1,
                value: 0.0,
            },
        }
    }

    fn add(self, o: Cost) -> Cost {
        Cost {
            forbidden: self.forbidden + o.forbidden,
            value: self.value + o.value,
        }
    }

    fn sub(self, o: Cost) -> Cost {
        Cost {
            forbidden: self.forbidden - o.forbidden,
            value: self.value - o.value,
        }
    }

    /// Total order; `value` is always finite here, so `total_cmp` equals `<`.
    fn cmp(self, o: Cost) -> Ordering {
        self.forbidden
            .cmp(&o.forbidden)
            .then(self.value.total_cmp(&o.value))
    }

    fn lt(self, o: Cost) -> bool {
        self.cmp(o) == Ordering::Less
    }
}

/// Minimum-cost assignment of rows to columns of a (possibly rectangular) matrix.
///
/// Returns one entry per row: `Some(column)` or `None`. Every column is used at
/// most once. With more rows than columns, surplus rows get `None`; with more
/// columns than rows, every row is assigned. Rows whose only affordable
/// columns are forbidden (NaN/±∞/missing entry) also get `None`.
///
/// Ties: the result is a deterministic function of the matrix. Rows are
/// inserted in index order, and among equal reduced costs the lowest column
/// index wins (strict `<` comparisons), so equal-cost optima resolve the same
/// way on every run and platform.
pub fn hungarian(cost: &[Vec<f64>]) -> Vec<Option<usize>> {
    let rows = cost.len();
    let cols = cost.iter().map(Vec::len).max().unwrap_or(0);
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    let at = |r: usize, c: usize| Cost::of(cost.get(r).and_then(|row| row.get(c)).copied());

    let result = if rows <= cols {
        solve(rows, cols, at)
    } else {
        // Solve columns-to-rows, then invert the matching.
        let col_to_row = solve(cols, rows, |c, r| at(r, c));
        let mut row_to_col = vec![None; rows];
        for (c, r) in col_to_row.iter().enumerate() {
            if let Some(slot) = r.and_then(|r| row_to_col.get_mut(r)) {
                *slot = Some(c);
            }
        }
        row_to_col
    };

    // A forbidden pair is not a real match.
    result
        .into_iter()
        .enumerate()
        .map(|(r, c)| c.filter(|&c| at(r, c).forbidden == 0))
        .collect()
}

/// Core solver for `n <= m`; `a(i, j)` is 0-based. Returns row -> column.
fn solve(n: usize, m: usize, a: impl Fn(usize, usize) -> Cost) -> Vec<Option<usize>> {
    // 1-based arrays with index 0 as the virtual source, as in the classic
    // formulation; `p[j]` is the row matched to column j (0 = free).
    let mut u = vec![Cost::ZERO; n + 1];
    let mut v = vec![Cost::ZERO; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];

    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv: Vec<Option<Cost>> = vec![None; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta: Option<Cost> = None;
            let mut j1: Option<usize> = None;
            for j in 1..=m {
                if used[j] {
                    continue;
                }
                let cur = a(i0 - 1, j - 1).sub(u[i0]).sub(v[j]);
                if minv[j].is_none_or(|mv| cur.lt(mv)) {
                    minv[j] = Some(cur);
                    way[j] = j0;
                }
                if let Some(mv) = minv[j] {
                    if delta.is_none_or(|d| mv.lt(d)) {
                        delta = Some(mv);
                        j1 = Some(j);
                    }
                }
            }
            // n <= m guarantees a free column, so these are always Some; the
            // fallback only keeps the function total.
            let (Some(delta), Some(j1)) = (delta, j1) else {
                return vec![None; n];
            };
            for j in 0..=m {
                if used[j] {
                    u[p[j]] = u[p[j]].add(delta);
                    v[j] = v[j].sub(delta);
                } else if let Some(mv) = minv[j] {
                    minv[j] = Some(mv.sub(delta));
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        // Flip the augmenting path back to the source.
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }

    let mut assignment = vec![None; n];
    for (j, &row) in p.iter().enumerate().skip(1) {
        if row > 0 {
            assignment[row - 1] = Some(j - 1);
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tiny deterministic LCG (Knuth MMIX constants) so tests need no `rand`.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, k: u64) -> u64 {
            self.next() % k
        }
    }

    fn total(cost: &[Vec<f64>], asg: &[Option<usize>]) -> f64 {
        asg.iter()
            .enumerate()
            .filter_map(|(r, c)| c.map(|c| cost[r][c]))
            .sum()
    }

    /// Minimum over all injective maps of min(rows, cols) rows/cols.
    fn brute(cost: &[Vec<f64>]) -> f64 {
        fn rec(cost: &[Vec<f64>], r: usize, used: &mut Vec<bool>, skips: usize) -> f64 {
            if r == cost.len() {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            if skips > 0 {
                best = rec(cost, r + 1, used, skips - 1);
            }
            for c in 0..used.len() {
                if !used[c] {
                    used[c] = true;
                    best = best.min(cost[r][c] + rec(cost, r + 1, used, skips));
                    used[c] = false;
                }
            }
            best
        }
        let cols = cost[0].len();
        let skips = cost.len().saturating_sub(cols);
        rec(cost, 0, &mut vec![false; cols], skips)
    }

    fn check_valid(asg: &[Option<usize>], rows: usize, cols: usize) {
        assert_eq!(asg.len(), rows);
        let mut seen = vec![false; cols];
        for c in asg.iter().flatten() {
            assert!(!seen[*c], "column used twice");
            seen[*c] = true;
        }
        assert_eq!(asg.iter().flatten().count(), rows.min(cols));
    }

    #[test]
    fn known_square() {
        // Classic textbook instance; optimum 0->1, 1->0, 2->2 with cost 5.
        let cost = vec![
            vec![4.0, 1.0, 3.0],
            vec![2.0, 0.0, 5.0],
            vec![3.0, 2.0, 2.0],
        ];
        let asg = hungarian(&cost);
        assert_eq!(asg, vec![Some(1), Some(0), Some(2)]);
        assert_eq!(total(&cost, &asg), 5.0);
    }

    #[test]
    fn known_rectangular_wide_and_tall() {
        let wide = vec![vec![10.0, 3.0, 8.0, 9.0], vec![7.0, 5.0, 2.0, 6.0]];
        assert_eq!(hungarian(&wide), vec![Some(1), Some(2)]);

        let tall = vec![
            vec![10.0, 7.0],
            vec![3.0, 5.0],
            vec![8.0, 2.0],
            vec![9.0, 6.0],
        ];
        assert_eq!(hungarian(&tall), vec![None, Some(0), Some(1), None]);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(hungarian(&[]), Vec::<Option<usize>>::new());
        assert_eq!(hungarian(&[vec![], vec![]]), vec![None, None]);
        assert_eq!(hungarian(&[vec![-3.5]]), vec![Some(0)]);
    }

    #[test]
    fn forbidden_and_ragged_entries() {
        // Row 0 can only use column 1; NaN / inf are never reported as matches.
        let cost = vec![
            vec![f64::NAN, 5.0],
            vec![1.0, 0.0],
            vec![f64::INFINITY, f64::NEG_INFINITY],
        ];
        let asg = hungarian(&cost);
        assert_eq!(asg, vec![Some(1), Some(0), None]);
        // Ragged: row 1 has no entry for column 1.
        let ragged = vec![vec![0.0, 0.0], vec![1.0]];
        assert_eq!(hungarian(&ragged), vec![Some(1), Some(0)]);
    }

    #[test]
    fn ties_are_deterministic() {
        let cost = vec![vec![1.0; 3]; 3];
        let first = hungarian(&cost);
        check_valid(&first, 3, 3);
        for _ in 0..5 {
            assert_eq!(hungarian(&cost), first);
        }
    }

    #[test]
    fn brute_force_cross_check() {
        let mut rng = Lcg(0x5eed);
        for case in 0..600 {
            let rows = 1 + rng.below(6) as usize;
            let cols = 1 + rng.below(6) as usize;
            // Alternate between tie-heavy small integers and spread-out floats.
            let cost: Vec<Vec<f64>> = (0..rows)
                .map(|_| {
                    (0..cols)
                        .map(|_| {
                            if case % 2 == 0 {
                                rng.below(4) as f64
                            } else {
                                (rng.below(2001) as f64 - 1000.0) / 7.0
                            }
                        })
                        .collect()
                })
                .collect();
            let asg = hungarian(&cost);
            check_valid(&asg, rows, cols);
            let got = total(&cost, &asg);
            let want = brute(&cost);
            assert!(
                (got - want).abs() < 1e-9,
                "case {case}: {got} vs {want} for {cost:?}"
            );
        }
    }
}
