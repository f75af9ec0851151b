//! SVG charts drawn on the server: vertical bars and a line, sized by a `viewBox` so they scale
//! with the page, coloured through CSS classes (so the light and dark themes both apply), with
//! a `<title>` and `aria-label` for screen readers and a `<title>` per bar or point for
//! tooltips. Every chart on a page sits next to a table of the same numbers, its accessible
//! fallback. All text is escaped here, since templates insert the markup unescaped.

use std::fmt::Write as _;

use qapms_core::report::html::escape;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
const PAD_LEFT: f64 = 44.0;
const PAD_BOTTOM: f64 = 22.0;
const PAD_TOP: f64 = 10.0;

#[expect(
    clippy::cast_precision_loss,
    reason = "chart coordinates: values far below 2^52, drawn to a tenth of a pixel"
)]
fn scale(points: &[(String, i64)]) -> (f64, f64) {
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let step = (WIDTH - PAD_LEFT) / points.len().max(1) as f64;
    (max, step)
}

fn frame(out: &mut String, title: &str, id: &str, max_label: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" id="{id}" data-testid="{id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{t}" preserveAspectRatio="none"><title>{t}</title>"#,
        t = escape(title),
        id = escape(id),
    );
    let base = HEIGHT - PAD_BOTTOM;
    let _ = write!(
        out,
        r#"<line class="axis" x1="{PAD_LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}"/><line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{base}"/><text class="tick" x="{x}" y="{y}" text-anchor="end">{m}</text><text class="tick" x="{x}" y="{base}" text-anchor="end">0</text>"#,
        x = PAD_LEFT - 4.0,
        y = PAD_TOP + 8.0,
        m = escape(max_label),
    );
}

/// A bar per point; `label` formats a value for tooltips and the axis.
#[expect(
    clippy::cast_precision_loss,
    reason = "chart coordinates: values far below 2^52, drawn to a tenth of a pixel"
)]
pub(crate) fn bars(
    id: &str,
    title: &str,
    points: &[(String, i64)],
    label: impl Fn(i64) -> String,
) -> String {
    let (max, step) = scale(points);
    let mut out = String::new();
    frame(&mut out, title, id, &label(max as i64));
    let base = HEIGHT - PAD_BOTTOM;
    let every = (points.len() / 8).max(1);
    for (i, (name, value)) in points.iter().enumerate() {
        let h = (*value as f64 / max) * (base - PAD_TOP);
        let x = PAD_LEFT + step * i as f64 + step * 0.1;
        let _ = write!(
            out,
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"><title>{n}: {v}</title></rect>"#,
            y = base - h,
            w = step * 0.8,
            n = escape(name),
            v = escape(&label(*value)),
        );
        if i % every == 0 {
            let _ = write!(
                out,
                r#"<text class="tick" x="{x:.1}" y="{y:.1}">{n}</text>"#,
                y = HEIGHT - 6.0,
                n = escape(name),
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A line through the points (`None` values leave a gap).
#[expect(
    clippy::cast_precision_loss,
    reason = "chart coordinates: values far below 2^52, drawn to a tenth of a pixel"
)]
pub(crate) fn line(
    id: &str,
    title: &str,
    points: &[(String, Option<i64>)],
    label: impl Fn(i64) -> String,
) -> String {
    let flat: Vec<(String, i64)> = points
        .iter()
        .map(|(n, v)| (n.clone(), v.unwrap_or(0)))
        .collect();
    let (max, step) = scale(&flat);
    let mut out = String::new();
    frame(&mut out, title, id, &label(max as i64));
    let base = HEIGHT - PAD_BOTTOM;
    let mut path = String::new();
    let mut pen_up = true;
    let every = (points.len() / 8).max(1);
    for (i, (name, value)) in points.iter().enumerate() {
        let x = PAD_LEFT + step * i as f64 + step / 2.0;
        if let Some(v) = value {
            let y = base - (*v as f64 / max) * (base - PAD_TOP);
            let _ = write!(path, "{}{x:.1},{y:.1} ", if pen_up { "M" } else { "L" });
            pen_up = false;
            let _ = write!(
                out,
                r#"<circle class="point" cx="{x:.1}" cy="{y:.1}" r="3"><title>{n}: {l}</title></circle>"#,
                n = escape(name),
                l = escape(&label(*v)),
            );
        } else {
            pen_up = true;
        }
        if i % every == 0 {
            let _ = write!(
                out,
                r#"<text class="tick" x="{x:.1}" y="{y:.1}" text-anchor="middle">{n}</text>"#,
                y = HEIGHT - 6.0,
                n = escape(name),
            );
        }
    }
    if !path.is_empty() {
        let _ = write!(out, r#"<path class="line" d="{}"/>"#, path.trim_end());
    }
    out.push_str("</svg>");
    out
}

/// Seconds as `3h 05m` (or `12m`, `40s`).
pub(crate) fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_every_bar_has_a_title() {
        let svg = bars(
            "c",
            "a <b> & \"c\"",
            &[("x<".to_owned(), 3), ("y".to_owned(), 0)],
            |v| v.to_string(),
        );
        assert!(svg.contains("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>"));
        assert!(!svg.contains("x<"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains(r#"role="img""#));
    }

    #[test]
    fn lines_skip_missing_points() {
        let svg = line(
            "l",
            "t",
            &[
                ("a".into(), Some(1)),
                ("b".into(), None),
                ("c".into(), Some(2)),
            ],
            |v| v.to_string(),
        );
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(svg.matches('M').count(), 2, "{svg}");
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(duration(40), "40s");
        assert_eq!(duration(720), "12m");
        assert_eq!(duration(3600 * 3 + 300), "3h 05m");
        assert_eq!(duration(-5), "0s");
    }
}
