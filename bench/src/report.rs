//! The results: one [`Row`] per workload and flavour, the medians of each runtime, and the
//! ratio Spindle / best peer of the same flavour, as a markdown table.

use std::fmt::Write;

use crate::field::Contender;
use crate::rt::Flavor;
use crate::workloads::{Sample, Sizes, Unit, Workload};

/// The ratio Spindle aims for: at least 10 % better than the best peer.
pub const GOAL: f64 = 0.90;

/// One workload on one flavour: the median of each runtime over the rounds.
#[derive(Debug)]
pub struct Row {
    /// What ran.
    pub workload: &'static Workload,
    /// On which flavour of the three runtimes.
    pub flavor: Flavor,
    /// Indexed by [`Contender::index`].
    pub medians: [Sample; 3],
}

impl Row {
    /// The peer with the lowest (best) median, and that median; `None` when no peer has a
    /// number.
    pub fn best_peer(&self) -> Option<(Contender, f64)> {
        Contender::PEERS
            .into_iter()
            .map(|peer| (peer, self.medians[peer.index()].value))
            .filter(|(_, value)| value.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Spindle's median over the best peer's: below 1.0, Spindle is better. NaN without
    /// numbers.
    pub fn ratio(&self) -> f64 {
        let spindle = self.medians[Contender::Spindle.index()].value;
        self.best_peer()
            .map_or(f64::NAN, |(_, best)| spindle / best)
    }

    /// Whether the row meets [`GOAL`].
    pub fn meets_goal(&self) -> bool {
        self.ratio() <= GOAL
    }

    /// The row's label in narrow places: `spawn_inside MT`.
    pub fn label(&self) -> String {
        format!("{} {}", self.workload.name, self.flavor.tag())
    }

    /// The row as a markdown table line, for the header of [`header`].
    pub fn markdown(&self, sizes: &Sizes) -> String {
        let w = self.workload;
        let mut line = format!("| {} | {} | {} |", w.name, self.flavor, (w.size)(sizes));
        for sample in &self.medians {
            let _ = write!(line, " {} |", cell(w, sizes, sample));
        }
        match self.best_peer() {
            Some((peer, _)) => {
                let _ = write!(line, " {} | {:.2} |", peer.name(), self.ratio());
            }
            None => line += " n/a | n/a |",
        }
        line
    }
}

/// The table's header and alignment lines.
pub fn header() -> String {
    let mut head = "| workload | flavour | size |".to_string();
    for who in Contender::ALL {
        let _ = write!(head, " {} (median) |", who.name());
    }
    head += " best peer | spindle / best peer |\n|---|---|---|";
    head += &"---:|".repeat(Contender::ALL.len());
    head += "---|---:|";
    head
}

/// The closing line: how many rows meet the goal.
pub fn count_line(rows: &[Row]) -> String {
    let met = rows.iter().filter(|row| row.meets_goal()).count();
    format!("{met} of {} rows at or below {GOAL:.2}", rows.len())
}

/// The whole table in markdown, with the count line after it.
pub fn markdown(rows: &[Row], sizes: &Sizes) -> String {
    let mut out = header() + "\n";
    for row in rows {
        out += &row.markdown(sizes);
        out += "\n";
    }
    out += "\n";
    out += &count_line(rows);
    out += "\n";
    out
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    }
}

/// The median of each metric over the rounds.
pub fn median_sample(samples: &[Sample]) -> Sample {
    let extra = samples[0]
        .extra
        .iter()
        .enumerate()
        .map(|(i, &(name, _))| (name, median(samples.iter().map(|s| s.extra[i].1).collect())))
        .collect();
    Sample {
        value: median(samples.iter().map(|s| s.value).collect()),
        extra,
    }
}

fn time(seconds: f64) -> String {
    if seconds < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else {
        format!("{:.2} ms", seconds * 1e3)
    }
}

fn bytes(value: f64) -> String {
    if value.is_nan() {
        "n/a".to_string()
    } else {
        format!("{value:.0} B")
    }
}

/// One runtime's median, in the workload's unit.
fn cell(w: &Workload, sizes: &Sizes, sample: &Sample) -> String {
    let value = sample.value;
    if value.is_nan() {
        // Not run (`compare --only`), or no number on this platform.
        return "n/a".to_string();
    }
    match w.unit {
        Unit::BytesPerTask => {
            let mut out = format!("{}/task", bytes(value));
            for (name, extra) in &sample.extra {
                let _ = write!(out, " ({name} {})", bytes(*extra));
            }
            out
        }
        Unit::Lateness => {
            let mut out = format!("mean {}", time(value));
            for (name, extra) in &sample.extra {
                let _ = write!(out, ", {name} {}", time(*extra));
            }
            out
        }
        Unit::Seconds => {
            let time = time(value);
            match w.per_run {
                Some(per_run) => {
                    let (items, label) = per_run(sizes);
                    format!("{time} ({:.0} {label})", items / value)
                }
                None => time,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::find;

    fn row(values: [f64; 3]) -> Row {
        Row {
            workload: find("spawn_inside").unwrap(),
            flavor: Flavor::MultiThread,
            medians: values.map(Sample::from),
        }
    }

    #[test]
    fn the_ratio_is_against_the_best_peer() {
        let r = row([1.0, 4.0, 2.0]);
        assert_eq!(r.best_peer(), Some((Contender::Smol, 2.0)));
        assert_eq!(r.ratio(), 0.5);
        assert!(row([1.0, f64::NAN, 1.0 / 0.85]).meets_goal());
        assert!(!row([1.0, 1.0, 1.05]).meets_goal());
        assert!(row([1.0, f64::NAN, f64::NAN]).ratio().is_nan());
    }

    #[test]
    fn the_count_line_counts_rows_at_or_below_the_goal() {
        let rows = [
            row([1.0, 2.0, 3.0]),
            row([1.0, 1.0, 1.0]),
            row([9.0, 10.0, 10.0]),
        ];
        assert_eq!(count_line(&rows), "2 of 3 rows at or below 0.90");
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let samples = [4.0, 1.0, 3.0, 2.0].map(Sample::from);
        assert_eq!(median_sample(&samples).value, 2.5);
    }
}
