use super::*;

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} vs {b}");
}

#[test]
fn chi_square_matches_the_closed_forms() {
    // df 1: p = erfc(sqrt(x / 2)); df 2: p = exp(-x / 2) (values from Python's math module).
    let t = chi_square(&[vec![10, 20], vec![30, 40]]).unwrap();
    close(t.chi_square, 0.7936507936507936);
    close(t.p_value, 0.37299848361348714);
    close(t.cramers_v, 0.0890870806374748);
    assert_eq!(
        (t.df, t.n, t.cells, t.cells_expected_under_5),
        (1, 100, 4, 0)
    );
    let t = chi_square(&[vec![5, 1], vec![2, 8], vec![3, 3]]).unwrap();
    close(t.chi_square, 6.135555555555557);
    close(t.p_value, 0.046524427684423074);
    assert_eq!(t.df, 2);
    assert_eq!(t.cells_expected_under_5, 5);
    close(t.min_expected, 2.727272727272727);
}

#[test]
fn empty_rows_and_columns_leave_the_test_and_too_few_give_none() {
    let with = chi_square(&[vec![10, 0, 20], vec![0, 0, 0], vec![30, 0, 40]]).unwrap();
    close(with.chi_square, 0.7936507936507936);
    assert_eq!(with.df, 1);
    assert!(chi_square(&[vec![3, 4]]).is_none());
    assert!(chi_square(&[vec![3], vec![4]]).is_none());
}

fn cat(name: &str, in_base: bool) -> Category {
    Category {
        name: name.into(),
        kind: if in_base { "code" } else { "status" },
        in_base,
    }
}

fn unit(categories: &[usize], by: Option<&str>, weight: f64) -> Unit {
    Unit {
        categories: categories.to_vec(),
        by: by.map(str::to_string),
        weight,
    }
}

#[test]
fn columns_are_in_natural_order_with_missing_last_and_shares_of_respondents() {
    let cats = [cat("a", true), cat("b", true), cat("empty", false)];
    let units = [
        unit(&[0], Some("10"), 1.0),
        unit(&[1], Some("9"), 1.0),
        unit(&[0], Some("9"), 1.0),
        unit(&[2], Some("10"), 1.0),
        unit(&[1], None, 1.0),
    ];
    let x = crosstab("size", &cats, &units, None);
    assert_eq!(x.columns, vec!["9", "10", MISSING, "Total"]);
    assert_eq!(x.respondents, vec![2, 1, 1, 4]);
    let a = &x.rows[0];
    assert_eq!(a.counts, vec![1, 1, 0, 2]);
    assert_eq!(a.shares, vec![Some(0.5), Some(1.0), Some(0.0), Some(0.5)]);
    let empty = &x.rows[2];
    assert_eq!(empty.counts, vec![0, 1, 0, 1]);
    assert!(empty.shares.iter().all(Option::is_none));
    assert!(x.notes.iter().any(|n| n.contains(MISSING)));
    assert!(!x.several_codes);
}

#[test]
fn several_codes_give_two_bases_and_no_test() {
    let cats = [cat("a", true), cat("b", true)];
    let units = [
        unit(&[0, 1], Some("DE"), 2.0),
        unit(&[0], Some("FR"), 1.0),
        unit(&[1], Some("FR"), 1.0),
    ];
    let x = crosstab("country", &cats, &units, Some("w"));
    assert!(x.several_codes);
    assert!(x.test.is_none());
    assert_eq!(x.respondents, vec![1, 2, 3]);
    assert_eq!(x.mentions, vec![2, 2, 4]);
    assert_eq!(x.rows[0].shares[2], Some(2.0 / 3.0));
    let w = x.rows[0].weighted.as_ref().unwrap();
    assert_eq!(w, &vec![2.0, 1.0, 3.0]);
    assert_eq!(
        x.weighted_respondents.as_ref().unwrap(),
        &vec![2.0, 2.0, 4.0]
    );
    close(x.effective_n.as_ref().unwrap()[2], 16.0 / 6.0);
    close(
        x.rows[0].weighted_shares.as_ref().unwrap()[2].unwrap(),
        0.75,
    );
}
