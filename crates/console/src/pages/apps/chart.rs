//! The chart of provisioning actions over time: the last 24 hours in hourly bars, successes
//! stacked under failures, drawn as SVG by the server (no script), with the same numbers as a
//! table for screen readers and text browsers.

use domain::{LogEntry, LogStatus};
use jiff::{SignedDuration, Timestamp};

/// Width and height of the drawing area, in SVG units.
const WIDTH: u32 = 720;
const HEIGHT: u32 = 160;
const HOURS: i64 = 24;
/// Most log entries read for the chart.
pub const MAX_ENTRIES: usize = 20_000;

#[derive(Debug, Clone)]
pub struct Bar {
    pub x: u32,
    pub w: u32,
    pub success_y: u32,
    pub success_h: u32,
    pub failure_y: u32,
    pub failure_h: u32,
    pub hour: String,
    pub successes: u64,
    pub failures: u64,
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub bars: Vec<Bar>,
    pub max: u64,
    pub successes: u64,
    pub failures: u64,
    /// Whether the window held more entries than were read.
    pub truncated: bool,
}

/// The window the chart covers, ending at `now`.
pub fn since(now: Timestamp) -> Timestamp {
    now.checked_sub(SignedDuration::from_hours(HOURS))
        .unwrap_or(now)
}

/// Buckets `entries` (any order) into the hours before `now` and lays the bars out.
pub fn build(entries: &[LogEntry], now: Timestamp, truncated: bool) -> Chart {
    let start = since(now);
    let mut counts = vec![(0u64, 0u64); HOURS as usize];
    for e in entries {
        let offset = e.at.duration_since(start).as_secs();
        if offset < 0 {
            continue;
        }
        let slot = usize::try_from(offset / 3600)
            .unwrap_or(usize::MAX)
            .min(HOURS as usize - 1);
        if let Some(c) = counts.get_mut(slot) {
            match e.status {
                LogStatus::Success | LogStatus::Warning => c.0 += 1,
                LogStatus::Failure => c.1 += 1,
                LogStatus::Skipped => {}
            }
        }
    }
    let max = counts.iter().map(|(s, f)| s + f).max().unwrap_or(0).max(1);
    let slot_w = WIDTH / HOURS as u32;
    let scale = |n: u64| -> u32 {
        u32::try_from(n.saturating_mul(u64::from(HEIGHT)) / max).unwrap_or(HEIGHT)
    };
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, &(successes, failures))| {
            // The bar's height is its total's; failures are what is left above successes.
            let total_h = scale(successes + failures).min(HEIGHT);
            let success_h = scale(successes).min(total_h);
            let failure_h = total_h - success_h;
            let hour = start
                .checked_add(SignedDuration::from_hours(i as i64))
                .unwrap_or(start)
                .strftime("%H:00")
                .to_string();
            Bar {
                x: i as u32 * slot_w + 2,
                w: slot_w - 4,
                success_y: HEIGHT - success_h,
                success_h,
                failure_y: HEIGHT - success_h - failure_h,
                failure_h,
                hour,
                successes,
                failures,
            }
        })
        .collect();
    Chart {
        width: WIDTH,
        height: HEIGHT,
        bars,
        max,
        successes: counts.iter().map(|c| c.0).sum(),
        failures: counts.iter().map(|c| c.1).sum(),
        truncated,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use domain::ResourceKind;

    fn entry(at: Timestamp, status: LogStatus) -> LogEntry {
        LogEntry {
            seq: 0,
            app_id: "a".into(),
            at,
            cycle_id: String::new(),
            change_id: String::new(),
            kind: ResourceKind::User,
            source_id: "u".into(),
            target_id: None,
            action: "Create".into(),
            status,
            reason: String::new(),
            error_code: None,
            duration_ms: 0,
            details: serde_json::Value::Null,
        }
    }

    #[test]
    fn entries_land_in_their_hour_and_the_tallest_bar_fills_the_height() {
        let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let hour = |h: i64| {
            now.checked_sub(SignedDuration::from_mins(h * 60 - 30))
                .unwrap()
        };
        let entries = vec![
            entry(hour(1), LogStatus::Success),
            entry(hour(1), LogStatus::Success),
            entry(hour(1), LogStatus::Failure),
            entry(hour(3), LogStatus::Warning),
            entry(hour(3), LogStatus::Skipped),
            // Outside the window: ignored.
            entry(hour(30), LogStatus::Failure),
        ];
        let chart = build(&entries, now, false);
        assert_eq!(chart.bars.len(), 24);
        let last = &chart.bars[23];
        assert_eq!((last.successes, last.failures), (2, 1));
        assert_eq!(last.success_h + last.failure_h, HEIGHT);
        assert_eq!(last.failure_y + last.failure_h, last.success_y);
        assert_eq!((chart.bars[21].successes, chart.bars[21].failures), (1, 0));
        assert_eq!((chart.successes, chart.failures), (3, 1));
        assert_eq!(chart.max, 3);
        assert_eq!(last.hour, "11:00");
    }

    #[test]
    fn an_empty_window_draws_no_bars_high() {
        let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let chart = build(&[], now, false);
        assert!(chart
            .bars
            .iter()
            .all(|b| b.success_h == 0 && b.failure_h == 0));
    }
}
