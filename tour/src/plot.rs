//! SVG plots (plotters): line charts, labelled scatter plots over a decision map, heat maps and
//! image grids. Every function writes one file and returns its name for the gallery.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

type Res = crate::Result<()>;

const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of series or class `i`.
pub fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// Writes a finished file of the output folder atomically (temporary file, sync, rename): a
/// run killed mid-write leaves the previous file or none, never a torn one.
pub fn write_file(path: &Path, bytes: &[u8]) -> Res {
    optim::checkpoint::write_atomically(path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()).into())
}

fn err(path: &Path, e: impl std::fmt::Display) -> crate::Error {
    format!("cannot draw {}: {e}", path.display()).into()
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.03 * (hi - lo);
    (lo - pad, hi + pad)
}

/// Draws each named series as a coloured line with a legend entry, on a chart with a linear or a
/// logarithmic y axis.
fn draw_named_lines<'a, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    path: &Path,
    series: &[(String, Vec<(f64, f64)>)],
    keep: impl Fn(&&(f64, f64)) -> bool + Copy,
) -> Res {
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(
                pts.iter().filter(keep).copied(),
                c.stroke_width(2),
            ))
            .map_err(|e| err(path, e))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(path, e))?;
    Ok(())
}

/// A line chart of named series; `log_y` draws the y axis on a log scale (non-positive values
/// are dropped there).
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    log_y: bool,
) -> Res {
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (720, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let keep = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0);
    let (x0, x1) = bounds(
        series
            .iter()
            .flat_map(|s| s.1.iter().filter(keep).map(|p| p.0)),
    );
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70);
    if log_y {
        let ys = series
            .iter()
            .flat_map(|s| s.1.iter().filter(keep).map(|p| p.1));
        let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
        for y in ys {
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !y0.is_finite() {
            (y0, y1) = (1e-3, 1.0);
        }
        if y1 <= y0 {
            y1 = y0 * 10.0;
        }
        let mut chart = builder
            .build_cartesian_2d(x0..x1, (y0 * 0.8..y1 * 1.25).log_scale())
            .map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(|e| err(path, e))?;
        draw_named_lines(&mut chart, path, series, keep)?;
    } else {
        let (y0, y1) = bounds(
            series
                .iter()
                .flat_map(|s| s.1.iter().filter(keep).map(|p| p.1)),
        );
        let mut chart = builder
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .draw()
            .map_err(|e| err(path, e))?;
        draw_named_lines(&mut chart, path, series, keep)?;
    }
    root.present().map_err(|e| err(path, e))?;
    drop(root);
    write_file(path, svg.as_bytes())
}

/// Points coloured by class over an optional decision map: `region(x, y)` gives the predicted
/// class at a point and is drawn as a light background on a `resolution x resolution` grid.
/// `paths` are drawn as polylines on top (e.g. optimizer trajectories).
pub fn scatter(
    path: &Path,
    title: &str,
    points: &[(f64, f64, usize)],
    region: Option<&dyn Fn(f64, f64) -> usize>,
    paths: &[(String, Vec<(f64, f64)>)],
    extent: Option<((f64, f64), (f64, f64))>,
) -> Res {
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (560, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let ((x0, x1), (y0, y1)) = extent.unwrap_or_else(|| {
        (
            bounds(points.iter().map(|p| p.0)),
            bounds(points.iter().map(|p| p.1)),
        )
    });
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(path, e))?;
    chart.configure_mesh().draw().map_err(|e| err(path, e))?;
    if let Some(region) = region {
        let n = 60;
        let (dx, dy) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
        let cells = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| {
                let (x, y) = (x0 + i as f64 * dx, y0 + j as f64 * dy);
                let c = color(region(x + dx / 2.0, y + dy / 2.0));
                Rectangle::new([(x, y), (x + dx, y + dy)], c.mix(0.18).filled())
            });
        chart.draw_series(cells).map_err(|e| err(path, e))?;
    }
    chart
        .draw_series(
            points
                .iter()
                .map(|&(x, y, c)| Circle::new((x, y), 3, color(c).filled())),
        )
        .map_err(|e| err(path, e))?;
    for (i, (name, pts)) in paths.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(|e| err(path, e))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    if !paths.is_empty() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(path, e))?;
    }
    drop(chart);
    root.present().map_err(|e| err(path, e))?;
    drop(root);
    write_file(path, svg.as_bytes())
}

fn gray(v: f64, lo: f64, hi: f64) -> RGBColor {
    let t = if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.5
    };
    let g = (255.0 * (1.0 - t)) as u8;
    RGBColor(g, g, g)
}

/// A heat map of `values[row][col]` (dark = large), e.g. a U-matrix.
pub fn heatmap(path: &Path, title: &str, values: &[Vec<f64>]) -> Res {
    let rows = values.len();
    let cols = values.first().map_or(0, Vec::len);
    let cell = (480 / rows.max(cols).max(1)).max(4) as i32;
    let w = cell * cols as i32 + 40;
    let h = cell * rows as i32 + 70;
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (w as u32, h as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    root.draw(&Text::new(title.to_string(), (20, 10), ("sans-serif", 18)))
        .map_err(|e| err(path, e))?;
    let (lo, hi) = bounds(values.iter().flatten().copied());
    for (r, row) in values.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let (x, y) = (20 + c as i32 * cell, 45 + r as i32 * cell);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                gray(v, lo, hi).filled(),
            ))
            .map_err(|e| err(path, e))?;
        }
    }
    root.present().map_err(|e| err(path, e))?;
    drop(root);
    write_file(path, svg.as_bytes())
}

/// A grid of small gray images (each `height x width`, row-major values), `columns` per row,
/// each scaled to its own range; e.g. learned filters or digits beside their reconstructions.
pub fn image_grid(
    path: &Path,
    title: &str,
    images: &[Vec<f64>],
    height: usize,
    width: usize,
    columns: usize,
) -> Res {
    let columns = columns.max(1);
    let rows = images.len().div_ceil(columns);
    let px = (12usize).max(64 / height.max(width).max(1)) as i32 / 2 * 2;
    let px = px.clamp(3, 12);
    let gap = 4;
    let tile_w = width as i32 * px + gap;
    let tile_h = height as i32 * px + gap;
    let w = (columns as i32 * tile_w + 20).max(300);
    let h = rows as i32 * tile_h + 55;
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (w as u32, h as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    root.draw(&Text::new(title.to_string(), (10, 10), ("sans-serif", 16)))
        .map_err(|e| err(path, e))?;
    for (k, img) in images.iter().enumerate() {
        let (lo, hi) = bounds(img.iter().copied());
        let (ox, oy) = (
            10 + (k % columns) as i32 * tile_w,
            40 + (k / columns) as i32 * tile_h,
        );
        for i in 0..height {
            for j in 0..width {
                let v = img.get(i * width + j).copied().unwrap_or(0.0);
                let (x, y) = (ox + j as i32 * px, oy + i as i32 * px);
                root.draw(&Rectangle::new(
                    [(x, y), (x + px, y + px)],
                    gray(v, lo, hi).filled(),
                ))
                .map_err(|e| err(path, e))?;
            }
        }
    }
    root.present().map_err(|e| err(path, e))?;
    drop(root);
    write_file(path, svg.as_bytes())
}
