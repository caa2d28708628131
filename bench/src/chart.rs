//! `compare --svg`: the ratio table as a bar chart, one bar per workload and flavour, the
//! ratio Spindle / best peer on the y axis, with the 0.90 goal and the 1.0 parity lines.
//!
//! SVG only: plotters' SVG backend writes text as `<text>` elements, so no font files are
//! needed to draw it (the viewer picks a sans-serif font).

use std::path::Path;

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::{GOAL, Row};

const GREEN: RGBColor = RGBColor(46, 139, 87);
const AMBER: RGBColor = RGBColor(230, 160, 30);
const RED_BAR: RGBColor = RGBColor(200, 60, 50);
const GREY: RGBColor = RGBColor(90, 90, 90);

/// Bars taller than this are cut off just above it, with their real value written on top.
const Y_CAP: f64 = 3.0;

/// A bar's colour: green at or below the goal, amber up to parity, red above.
fn colour(ratio: f64) -> RGBColor {
    if ratio <= GOAL {
        GREEN
    } else if ratio <= 1.0 {
        AMBER
    } else {
        RED_BAR
    }
}

/// Writes the chart of `rows` to `path`; `title` goes on top.
pub fn write_svg(rows: &[Row], title: &str, path: &Path) -> Result<(), String> {
    draw(rows, title, path).map_err(|e| format!("draw {}: {e}", path.display()))
}

fn draw(rows: &[Row], title: &str, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let n = rows.len().max(1) as f64;
    let tallest = rows
        .iter()
        .map(Row::ratio)
        .filter(|r| r.is_finite())
        .fold(1.0, f64::max);
    let y_max = (tallest.min(Y_CAP) * 1.12).max(1.2);
    let width = (120 + 42 * rows.len()).max(640) as u32;

    let root = SVGBackend::new(path, (width, 580)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(150)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..n, 0.0..y_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("Spindle / best peer of the same flavour (lower is better)")
        .y_label_formatter(&|y| format!("{y:.1}"))
        .light_line_style(WHITE)
        .draw()?;

    for (i, row) in rows.iter().enumerate() {
        let (left, right, centre) = (i as f64 + 0.15, i as f64 + 0.85, i as f64 + 0.5);
        let ratio = row.ratio();
        let (top, value) = if ratio.is_finite() {
            let top = ratio.min(Y_CAP * 1.05);
            chart.draw_series([Rectangle::new(
                [(left, 0.0), (right, top)],
                colour(ratio).filled(),
            )])?;
            (top, format!("{ratio:.2}"))
        } else {
            (0.0, "n/a".to_string())
        };
        let above = Pos::new(HPos::Center, VPos::Bottom);
        chart.draw_series([Text::new(
            value,
            (centre, top),
            ("sans-serif", 12).into_font().color(&BLACK).pos(above),
        )])?;
        // The label under the axis, read bottom to top, ending at the bar.
        let (x, y) = chart.backend_coord(&(centre, 0.0));
        let label = ("sans-serif", 13)
            .into_font()
            .transform(FontTransform::Rotate270)
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new(row.label(), (x, y + 8), label))?;
    }

    let parity = [(0.0, 1.0), (n, 1.0)];
    chart.draw_series([PathElement::new(parity, GREY.stroke_width(2))])?;
    let goal = [(0.0, GOAL), (n, GOAL)];
    chart.draw_series([DashedPathElement::new(goal, 8, 5, GREEN.stroke_width(2))])?;
    // Parity's note above its line, the goal's below its own, so they do not collide.
    let (above, below) = (VPos::Bottom, VPos::Top);
    for (y, text, colour, v) in [
        (1.0, "parity 1.00", GREY, above),
        (GOAL, "goal 0.90", GREEN, below),
    ] {
        let style = ("sans-serif", 12)
            .into_font()
            .color(&colour)
            .pos(Pos::new(HPos::Right, v));
        chart.draw_series([Text::new(text, (n, y), style)])?;
    }
    root.present()?;
    Ok(())
}
