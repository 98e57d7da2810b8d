//! The benchmark's report: one line per target, as a table and as JSON.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

/// One measured target.
#[derive(Debug)]
pub struct Outcome {
    /// Stable key for the JSON report.
    pub name: &'static str,
    /// What was measured, for people.
    pub scenario: String,
    /// The headline figure, in `unit`.
    pub value: f64,
    pub unit: &'static str,
    /// Extra detail next to the value (p50, mean…).
    pub note: String,
    /// The ceiling or peer the value is compared with: its label, value and unit.
    pub peer: Option<(String, f64, &'static str)>,
    pub ratio: Option<f64>,
    pub target: &'static str,
    pub pass: bool,
    /// Further figures, for the JSON report only.
    pub details: Map<String, Value>,
}

impl Outcome {
    fn json(&self) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.name));
        o.insert("scenario".into(), json!(self.scenario));
        o.insert("value".into(), json!(round(self.value)));
        o.insert("unit".into(), json!(self.unit));
        if !self.note.is_empty() {
            o.insert("note".into(), json!(self.note));
        }
        if let Some((label, value, unit)) = &self.peer {
            o.insert(
                "peer".into(),
                json!({ "label": label, "value": round(*value), "unit": unit }),
            );
        }
        if let Some(ratio) = self.ratio {
            o.insert("ratio".into(), json!(round(ratio)));
        }
        o.insert("target".into(), json!(self.target));
        o.insert("pass".into(), json!(self.pass));
        for (k, v) in &self.details {
            o.insert(k.clone(), v.clone());
        }
        Value::Object(o)
    }
}

pub fn met(outcomes: &[Outcome]) -> usize {
    outcomes.iter().filter(|o| o.pass).count()
}

/// The final line, printed whatever the outcome.
pub fn summary(outcomes: &[Outcome]) -> String {
    format!("bench: {} of {} targets met", met(outcomes), outcomes.len())
}

pub fn to_json(config: Value, outcomes: &[Outcome]) -> Value {
    json!({
        "config": config,
        "scenarios": outcomes.iter().map(Outcome::json).collect::<Vec<_>>(),
        "targets": outcomes.len(),
        "targets_met": met(outcomes),
    })
}

/// The table, one line per target.
pub fn table(outcomes: &[Outcome]) -> String {
    let header = [
        "scenario",
        "measured",
        "ceiling / peer",
        "ratio",
        "target",
        "result",
    ]
    .map(String::from);
    let rows: Vec<[String; 6]> = outcomes
        .iter()
        .map(|o| {
            let measured = if o.note.is_empty() {
                format!("{} {}", figure(o.value), o.unit)
            } else {
                format!("{} {} ({})", figure(o.value), o.unit, o.note)
            };
            let peer = o.peer.as_ref().map_or_else(
                || "-".to_owned(),
                |(label, v, unit)| format!("{label} {} {unit}", figure(*v)),
            );
            let ratio = o
                .ratio
                .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"));
            let result = if o.pass { "PASS" } else { "FAIL" };
            [
                o.scenario.clone(),
                measured,
                peer,
                ratio,
                o.target.to_owned(),
                result.to_owned(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:<w$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Large figures without decimals, small ones with two or three.
fn figure(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(pass: bool) -> Outcome {
        Outcome {
            name: "get_user",
            scenario: "GET /Users/{id}".into(),
            value: 12345.678,
            unit: "req/s",
            note: String::new(),
            peer: Some(("bare".into(), 20000.0, "req/s")),
            ratio: Some(0.6172839),
            target: "ratio >= 0.5",
            pass,
            details: Map::new(),
        }
    }

    #[test]
    fn table_aligns_columns_and_json_rounds() {
        let outcomes = [outcome(true), outcome(false)];
        let table = table(&outcomes);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("GET /Users/{id}  12346 req/s  bare 20000 req/s  0.62"));
        assert!(lines[1].ends_with("PASS") && lines[2].ends_with("FAIL"));
        assert_eq!(summary(&outcomes), "bench: 1 of 2 targets met");
        let json = to_json(json!({}), &outcomes);
        assert_eq!(json["scenarios"][0]["ratio"], json!(0.617));
        assert_eq!(json["targets_met"], json!(1));
    }
}
