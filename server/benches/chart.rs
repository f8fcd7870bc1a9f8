//! Draws `results/load.svg` from `results/load.csv` (written by
//! `load/run.sh`): each scenario's requests per second as a share of the
//! baseline measured in the same run, SQLite and PostgreSQL side by side.
//!
//!   cargo run --release -p latchkey-bench --bin latchkey-chart -- results/load.csv results/load.svg

use anyhow::{Context, bail};
use plotters::prelude::*;

struct Row {
    backend: String,
    scenario: String,
    ratio: f64,
}

fn read(path: &str) -> anyhow::Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let mut lines = text.lines();
    let header = lines.next().context("an empty CSV")?;
    if header != "backend,scenario,rps,p50_ms,p99_ms,ratio" {
        bail!("unexpected CSV header {header:?}");
    }
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != 6 {
                bail!("bad CSV line {line:?}");
            }
            Ok(Row {
                backend: cells[0].to_string(),
                scenario: cells[1].to_string(),
                ratio: cells[5].parse().with_context(|| format!("ratio in {line:?}"))?,
            })
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (input, output) = match args.as_slice() {
        [_, input, output] => (input.as_str(), output.as_str()),
        _ => bail!("usage: latchkey-chart <load.csv> <load.svg>"),
    };
    let rows = read(input)?;
    // Scenarios in the order they first appear; the baseline is the unit.
    let mut scenarios: Vec<String> = Vec::new();
    for row in &rows {
        if !scenarios.contains(&row.scenario) && row.scenario != "baseline" {
            scenarios.push(row.scenario.clone());
        }
    }
    let backends = [("sqlite", RGBColor(52, 81, 209)), ("postgres", RGBColor(29, 122, 70))];
    let n = scenarios.len();
    let height = 110 + 46 * n as u32;
    let root = SVGBackend::new(output, (960, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = rows.iter().map(|r| r.ratio).fold(1.0_f64, f64::max) * 1.12;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Requests per second as a share of the baseline (GET /.well-known/jwks.json, same run)",
            ("sans-serif", 17),
        )
        .margin(14)
        .x_label_area_size(34)
        .y_label_area_size(330)
        // One empty band on top for the target's label.
        .build_cartesian_2d(0.0..max, (0..n + 1).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n + 1)
        .y_label_formatter(&|value| match value {
            SegmentValue::CenterOf(i) if *i < n => scenarios[n - 1 - i].clone(),
            _ => String::new(),
        })
        .x_desc("× baseline")
        .label_style(("sans-serif", 13))
        .draw()?;

    // The target for /api/me with the revocation cache.
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.9, SegmentValue::Exact(0)), (0.9, SegmentValue::Exact(n))],
        RED.stroke_width(1),
    )))?;
    chart.draw_series(std::iter::once(Text::new(
        "0.90× target",
        (0.905, SegmentValue::CenterOf(n)),
        ("sans-serif", 12).into_font().color(&RED),
    )))?;
    for (index, scenario) in scenarios.iter().enumerate() {
        // The first scenario at the top: y grows upwards.
        let i = n - 1 - index;
        for (slot, (backend, color)) in backends.iter().enumerate() {
            let Some(row) = rows.iter().find(|r| &r.scenario == scenario && r.backend == *backend) else {
                continue;
            };
            // Upper half of the band for SQLite, lower half for PostgreSQL;
            // a label's anchor is its top-left corner.
            let (upper, lower) = if slot == 0 {
                (SegmentValue::Exact(i + 1), SegmentValue::CenterOf(i))
            } else {
                (SegmentValue::CenterOf(i), SegmentValue::Exact(i))
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, upper.clone()), (row.ratio, lower)],
                color.filled(),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("{:.2}×", row.ratio),
                (row.ratio + max * 0.01, upper),
                ("sans-serif", 12).into_font().color(&BLACK),
            )))?;
        }
    }
    for (slot, (backend, color)) in backends.iter().enumerate() {
        let x = 360 + slot as i32 * 140;
        root.draw(&Rectangle::new(
            [(x, height as i32 - 22), (x + 14, height as i32 - 8)],
            color.filled(),
        ))?;
        root.draw(&Text::new(
            backend.to_string(),
            (x + 20, height as i32 - 22),
            ("sans-serif", 13).into_font(),
        ))?;
    }
    root.present()?;
    println!("wrote {output}");
    Ok(())
}
