//! The 2-D map of answers: an SVG of one mark per answer, coloured and shaped by its group,
//! with its legend.

use super::*;

/// Scatter plot: points grouped into one `<g>` per group so the colour is
/// written once; each mark carries its answer in a `<title>` (no-JS tooltip).
pub(super) fn render_map(out: &mut String, r: &RunReport) {
    const W: f64 = 960.0;
    const H: f64 = 560.0;
    const PAD: f64 = 18.0;
    const MAX_TIP: usize = 280; // long answers would bloat a 5000-point page

    let pts: Vec<(f64, f64, Option<usize>, &str)> = r
        .points
        .iter()
        .filter_map(|p| {
            finite_point(p).map(|(x, y)| {
                let g = p.group.filter(|&g| g < r.groups.len());
                (x, y, g, p.text.as_str())
            })
        })
        .collect();

    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y, _, _) in &pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    // One scale for both axes keeps the embedding's shape; zero spans (one
    // point, identical points) collapse to the centre instead of dividing by 0.
    let sx = if x1 > x0 {
        (W - 2.0 * PAD) / (x1 - x0)
    } else {
        f64::INFINITY
    };
    let sy = if y1 > y0 {
        (H - 2.0 * PAD) / (y1 - y0)
    } else {
        f64::INFINITY
    };
    let s = if sx.min(sy).is_finite() {
        sx.min(sy)
    } else {
        0.0
    };
    let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let radius = if pts.len() > 2000 { 2.5 } else { 3.5 };

    put!(
        out,
        "<section id=\"map\">\n<h2>Map of answers</h2>\n<figure class=\"chart\">\n\
         <svg id=\"cf-map\" viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" \
         aria-label=\"Map of {} answers coloured by group\">\n\
         <rect class=\"plot\" x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\"/>\n",
        pts.len(),
        W - 1.0,
        H - 1.0
    );

    // Ungrouped first so the coloured groups sit on top of them; then groups
    // in the given (largest-first) order so small groups stay visible.
    let mut order: Vec<Option<usize>> = vec![None];
    order.extend((0..r.groups.len()).map(Some));
    let mut counts = vec![0usize; r.groups.len() + 1];
    for key in order {
        let members: Vec<_> = pts.iter().filter(|p| p.2 == key).collect();
        if members.is_empty() {
            continue;
        }
        counts[key.map_or(0, |g| g + 1)] = members.len();
        let gid = key.map_or(-1, |g| g as i64);
        put!(out, "<g data-g=\"{gid}\" fill=\"{}\">", colour(key));
        let shape = key.map_or(0, |g| (g / PALETTE.len()) % 3);
        for &&(x, y, _, text) in &members {
            let px = W / 2.0 + (x - mx) * s;
            let py = H / 2.0 - (y - my) * s; // SVG y grows downwards
            let tip = esc(&truncate(text, MAX_TIP));
            mark(out, shape, px, py, radius);
            put!(out, "<title>{tip}</title>{}\n", close_tag(shape));
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n<ul class=\"legend\" aria-label=\"Legend\">");
    for (i, g) in r.groups.iter().enumerate() {
        legend_item(out, Some(i), &g.name, counts[i + 1]);
    }
    if counts[0] > 0 {
        legend_item(out, None, "no group", counts[0]);
    }
    out.push_str(
        "</ul>\n<figcaption>Each mark is one answer; nearby answers are similar. \
         Hover a mark to read the answer.</figcaption>\n</figure>\n</section>\n",
    );
}

fn mark(out: &mut String, shape: usize, x: f64, y: f64, r: f64) {
    match shape {
        1 => put!(
            out,
            "<path d=\"M{} {}h{d}v{d}h-{d}z\">",
            f1(x - r),
            f1(y - r),
            d = f1(2.0 * r)
        ),
        2 => put!(
            out,
            "<path d=\"M{} {}l{} {}h-{}z\">",
            f1(x),
            f1(y - r * 1.2),
            f1(r * 1.2),
            f1(r * 2.1),
            f1(r * 2.4)
        ),
        _ => put!(out, "<circle cx=\"{}\" cy=\"{}\" r=\"{r}\">", f1(x), f1(y)),
    }
}

fn close_tag(shape: usize) -> &'static str {
    if shape == 0 {
        "</circle>"
    } else {
        "</path>"
    }
}

fn legend_item(out: &mut String, g: Option<usize>, name: &str, n: usize) {
    let shape = g.map_or(0, |g| (g / PALETTE.len()) % 3);
    put!(
        out,
        "<li><svg class=\"sw\" viewBox=\"0 0 12 12\" width=\"12\" height=\"12\" aria-hidden=\"true\"><g fill=\"{}\">",
        colour(g)
    );
    mark(out, shape, 6.0, 6.5, 5.0);
    put!(
        out,
        "{}</g></svg>{} <small>({n})</small></li>",
        close_tag(shape),
        esc(or_dash(name))
    );
}
