//! The dashboard's charts as server-rendered SVG (no script, nothing loaded from
//! elsewhere): this module turns numbers into coordinates, `templates/chart.html` draws
//! them. Bars for a few buckets, polylines for per-minute series; the y axis starts at 0
//! and ends at a "nice" round maximum, so that two refreshes of a flat line look alike.
//!
//! A charting crate (plotters) was weighed and left: its SVG backend measures text with a
//! font library, which is more code than these two shapes.

/// The drawing area, in SVG user units (the SVG scales to its box).
pub const WIDTH: f64 = 600.0;
pub const HEIGHT: f64 = 160.0;
/// Room for the y labels on the left and the x labels below.
pub const LEFT: f64 = 44.0;
pub const BOTTOM: f64 = 18.0;

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at least `max` (1 for nothing).
pub fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|step| step * magnitude)
        .find(|top| *top >= max)
        .unwrap_or(10.0 * magnitude)
}

/// A y-axis line and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub y: f64,
    pub label: String,
}

/// An x-axis label.
#[derive(Clone, Debug, PartialEq)]
pub struct XLabel {
    pub x: f64,
    pub label: String,
}

fn label(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.0}k", value / 1000.0)
    } else {
        // 0.25, 2.5, 100: as many decimals as the value has, at most two.
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn y_of(value: f64, top: f64) -> f64 {
    let plot = HEIGHT - BOTTOM;
    plot - (value / top).clamp(0.0, 1.0) * (plot - 4.0)
}

fn ticks(top: f64) -> Vec<Tick> {
    (0..=4)
        .map(|i| {
            let value = top * f64::from(i) / 4.0;
            Tick {
                y: y_of(value, top),
                label: label(value),
            }
        })
        .collect()
}

/// One bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// For the tooltip (`<title>`).
    pub title: String,
}

/// A bar chart of `(label, value)`, in order; every `label_every`-th label is shown.
#[derive(Clone, Debug, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub x_labels: Vec<XLabel>,
}

impl BarChart {
    pub fn new(title: &str, points: &[(String, f64)], label_every: usize) -> Self {
        let top = nice_max(points.iter().map(|p| p.1).fold(0.0, f64::max));
        let slot = (WIDTH - LEFT) / points.len().max(1) as f64;
        let bars = points
            .iter()
            .enumerate()
            .map(|(i, (name, value))| {
                let y = y_of(*value, top);
                Bar {
                    x: LEFT + i as f64 * slot + slot * 0.1,
                    y,
                    width: slot * 0.8,
                    height: (HEIGHT - BOTTOM) - y,
                    title: format!("{name}: {}", label(*value)),
                }
            })
            .collect();
        let x_labels = points
            .iter()
            .enumerate()
            .filter(|(i, _)| i % label_every.max(1) == 0)
            .map(|(i, (name, _))| XLabel {
                x: LEFT + i as f64 * slot + slot / 2.0,
                label: name.clone(),
            })
            .collect();
        Self {
            title: title.to_owned(),
            bars,
            ticks: ticks(top),
            x_labels,
        }
    }
}

/// One line: its name, a CSS class for its colour, and its polylines (a gap in the data
/// starts a new one), as SVG `points`.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub name: String,
    pub class: String,
    pub segments: Vec<String>,
    /// The last value, for the legend.
    pub last: String,
}

/// A line chart of series over the same x positions (`None`: no value there).
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub lines: Vec<Line>,
    pub ticks: Vec<Tick>,
    pub x_labels: Vec<XLabel>,
}

impl LineChart {
    pub fn new(
        title: &str,
        x_names: &[String],
        label_every: usize,
        series: Vec<(&str, &str, Vec<Option<f64>>)>,
    ) -> Self {
        let top = nice_max(
            series
                .iter()
                .flat_map(|(_, _, values)| values.iter().flatten())
                .fold(0.0, |a, b| a.max(*b)),
        );
        let n = x_names.len().max(2);
        let x_of = |i: usize| LEFT + (WIDTH - LEFT) * i as f64 / (n - 1) as f64;
        let lines = series
            .into_iter()
            .map(|(name, class, values)| {
                let mut segments = Vec::new();
                let mut current: Vec<String> = Vec::new();
                for (i, value) in values.iter().enumerate() {
                    match value {
                        Some(v) => current.push(format!("{:.1},{:.1}", x_of(i), y_of(*v, top))),
                        None if !current.is_empty() => {
                            segments.push(current.join(" "));
                            current.clear();
                        }
                        None => {}
                    }
                }
                if !current.is_empty() {
                    segments.push(current.join(" "));
                }
                let last = values
                    .iter()
                    .rev()
                    .flatten()
                    .next()
                    .map_or_else(|| "—".to_owned(), |v| label(*v));
                Line {
                    name: name.to_owned(),
                    class: class.to_owned(),
                    segments,
                    last,
                }
            })
            .collect();
        let x_labels = x_names
            .iter()
            .enumerate()
            .filter(|(i, _)| i % label_every.max(1) == 0)
            .map(|(i, name)| XLabel {
                x: x_of(i),
                label: name.clone(),
            })
            .collect();
        Self {
            title: title.to_owned(),
            lines,
            ticks: ticks(top),
            x_labels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_ends_at_a_round_number() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(0.7), 1.0);
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(nice_max(21.0), 25.0);
        assert_eq!(nice_max(100.0), 100.0);
        assert_eq!(nice_max(101.0), 200.0);
        assert_eq!(nice_max(6_543.0), 10_000.0);
    }

    #[test]
    fn bars_stand_on_the_axis_in_proportion() {
        let points: Vec<(String, f64)> =
            vec![("a".into(), 0.0), ("b".into(), 50.0), ("c".into(), 100.0)];
        let chart = BarChart::new("t", &points, 2);
        let base = HEIGHT - BOTTOM;
        assert_eq!(chart.bars[0].height, 0.0);
        assert!((chart.bars[2].height - 2.0 * chart.bars[1].height).abs() < 1e-9);
        for bar in &chart.bars {
            assert!((bar.y + bar.height - base).abs() < 1e-9);
            assert!(bar.x >= LEFT && bar.x + bar.width <= WIDTH);
        }
        assert_eq!(chart.ticks.last().map(|t| t.label.as_str()), Some("100"));
        let small = BarChart::new("t", &[("a".into(), 0.9)], 1);
        let labels: Vec<&str> = small.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, vec!["0", "0.25", "0.5", "0.75", "1"]);
        assert_eq!(chart.x_labels.len(), 2, "a and c");
    }

    #[test]
    fn a_gap_splits_a_line_and_the_legend_shows_the_last_value() {
        let names: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        let chart = LineChart::new(
            "t",
            &names,
            1,
            vec![(
                "queue",
                "s0",
                vec![Some(1.0), Some(2.0), None, Some(4.0), None],
            )],
        );
        let line = &chart.lines[0];
        assert_eq!(line.segments.len(), 2);
        assert_eq!(line.segments[0].split(' ').count(), 2);
        assert_eq!(line.last, "4");
        let empty = LineChart::new("t", &names, 1, vec![("q", "s0", vec![None; 5])]);
        assert!(empty.lines[0].segments.is_empty());
        assert_eq!(empty.lines[0].last, "—");
    }
}
