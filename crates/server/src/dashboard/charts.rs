//! The infrastructure page's charts, drawn on the server as inline SVG: no chart library,
//! no script, nothing from a CDN. Colours come from the stylesheet's custom properties (so
//! they follow light and dark), and each chart carries a text summary for screen readers.

use super::pages::esc;
use crate::routes::infrastructure::InfrastructureHistory;
use chrono::{DateTime, Utc};

const W: f64 = 600.0;
const H: f64 = 220.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// One line: its name, its colour (a stylesheet class: `accent`, `ok`, `warn`, `danger`,
/// `muted` — no inline styles, the CSP forbids them), and a value per x position (None = a gap).
struct Series<'a> {
    name: &'a str,
    colour: &'a str,
    values: Vec<Option<f64>>,
}

/// The y axis: a fixed top (or one fitted to the data), whole numbers only, and how a
/// value reads.
struct Scale {
    fixed_max: Option<f64>,
    integers: bool,
    unit: fn(f64) -> String,
}

/// A round number ≥ `max` for the top of the y axis (1, 2, 5 × 10ⁿ).
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * magnitude)
}

/// A line chart over `times` (shared x positions). `unit` formats y labels.
fn line_chart(
    id: &str,
    title: &str,
    summary: &str,
    times: &[DateTime<Utc>],
    series: &[Series<'_>],
    scale: Scale,
) -> String {
    let highest = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0, |a: f64, b| a.max(*b));
    let max = scale.fixed_max.unwrap_or_else(|| {
        if scale.integers {
            // Whole numbers on every one of the five grid lines.
            (highest.max(4.0) / 4.0).ceil() * 4.0
        } else {
            nice_ceiling(highest)
        }
    });
    let unit = scale.unit;
    let n = times.len().max(2);
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1) as f64;
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (v / max).clamp(0.0, 1.0));
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-t {id}-d" preserveAspectRatio="xMidYMid meet"><title id="{id}-t">{title}</title><desc id="{id}-d">{summary}</desc>"#,
        title = esc(title),
        summary = esc(summary),
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let yy = y(v);
        svg.push_str(&format!(
            r#"<line class="grid" x1="{LEFT}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{label}</text>"#,
            x2 = W - RIGHT,
            tx = LEFT - 6.0,
            ty = yy + 4.0,
            label = esc(&unit(v)),
        ));
    }
    // Time labels every 6 hours (UTC: the server renders them).
    for (i, t) in times.iter().enumerate() {
        if i % (times.len() / 4).max(1) == 0 || i + 1 == times.len() {
            let anchor = if i == 0 {
                "start"
            } else if i + 1 == times.len() {
                "end"
            } else {
                "middle"
            };
            svg.push_str(&format!(
                r#"<text x="{xx:.1}" y="{yy}" text-anchor="{anchor}">{label}</text>"#,
                xx = x(i),
                yy = H - 8.0,
                label = t.format("%H:%M"),
            ));
        }
    }
    svg.push_str(&format!(
        r#"<line class="axis" x1="{LEFT}" x2="{x2}" y1="{yy}" y2="{yy}"/>"#,
        x2 = W - RIGHT,
        yy = H - BOTTOM
    ));
    for s in series {
        let mut d = String::new();
        let mut pen_down = false;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    d.push_str(&format!(
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x(i),
                        y(*v)
                    ));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !d.is_empty() {
            svg.push_str(&format!(
                r#"<path class="line c-{c}" d="{d}"><title>{name}</title></path>"#,
                d = d.trim_end(),
                c = s.colour,
                name = esc(s.name),
            ));
            // A lone value (no neighbour to draw a line to) is shown as a dot.
            for (i, v) in s.values.iter().enumerate() {
                let alone = v.is_some()
                    && (i == 0 || s.values[i - 1].is_none())
                    && s.values.get(i + 1).is_none_or(|n| n.is_none());
                if let (true, Some(v)) = (alone, v) {
                    svg.push_str(&format!(
                        r#"<circle class="dot c-{}" cx="{:.1}" cy="{:.1}" r="3"/>"#,
                        s.colour,
                        x(i),
                        y(*v)
                    ));
                }
            }
        }
    }
    svg.push_str("</svg>");
    let legend: String = series
        .iter()
        .map(|s| format!(r#"<li><i class="c-{}"></i>{}</li>"#, s.colour, esc(s.name)))
        .collect();
    format!(
        r#"<figure class="card"><figcaption><h2>{}</h2></figcaption>{svg}<ul class="legend" aria-hidden="true">{legend}</ul></figure>"#,
        esc(title)
    )
}

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1} s", v / 1000.0)
    } else {
        format!("{v:.0} ms")
    }
}

fn count(v: f64) -> String {
    format!("{v:.0}")
}

fn percent(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}

/// The four charts of the last 24 h.
pub fn infrastructure_charts(h: &InfrastructureHistory) -> String {
    let hours: Vec<DateTime<Utc>> = h.deploy_latency.iter().map(|b| b.start).collect();
    let pick = |f: fn(&crate::routes::infrastructure::LatencyBucket) -> Option<i64>| {
        h.deploy_latency
            .iter()
            .map(|b| f(b).map(|v| v as f64))
            .collect::<Vec<_>>()
    };
    let deployments: i64 = h.deploy_latency.iter().map(|b| b.deployments).sum();
    let mut all: Vec<i64> = h.deploy_latency.iter().filter_map(|b| b.p50_ms).collect();
    all.sort_unstable();
    let latency = line_chart(
        "chart-latency",
        "Deploy time, last 24 h",
        &format!(
            "{deployments} deployments in the last 24 hours; hourly median, 95th percentile and slowest deploy time{}.",
            all.last()
                .map(|m| format!(", highest hourly median {}", ms(*m as f64)))
                .unwrap_or_default()
        ),
        &hours,
        &[
            Series {
                name: "median",
                colour: "accent",
                values: pick(|b| b.p50_ms),
            },
            Series {
                name: "95th percentile",
                colour: "warn",
                values: pick(|b| b.p95_ms),
            },
            Series {
                name: "slowest",
                colour: "danger",
                values: pick(|b| b.max_ms),
            },
        ],
        Scale {
            fixed_max: None,
            integers: false,
            unit: ms,
        },
    );

    let times: Vec<DateTime<Utc>> = h.samples.iter().map(|s| s.at).collect();
    let status = |names: &[&str]| -> Vec<Option<f64>> {
        h.samples
            .iter()
            .map(|s| {
                Some(
                    names
                        .iter()
                        .map(|n| s.by_status.get(*n).copied().unwrap_or(0))
                        .sum::<i64>() as f64,
                )
            })
            .collect()
    };
    let now_in_call = h
        .samples
        .last()
        .map(|s| s.by_status.get("IN_CALL").copied().unwrap_or(0))
        .unwrap_or(0);
    let peak_in_call = h
        .samples
        .iter()
        .map(|s| s.by_status.get("IN_CALL").copied().unwrap_or(0))
        .max()
        .unwrap_or(0);
    let by_status = line_chart(
        "chart-status",
        "Bots by status, last 24 h",
        &format!("Bots in each state every 15 minutes: {now_in_call} in a call now, at most {peak_in_call} at once."),
        &times,
        &[
            Series {
                name: "in a call",
                colour: "ok",
                values: status(&["IN_CALL"]),
            },
            Series {
                name: "joining or waiting",
                colour: "warn",
                values: status(&["DEPLOYING", "JOINING_CALL", "IN_WAITING_ROOM"]),
            },
            Series {
                name: "queued",
                colour: "accent",
                values: status(&["QUEUED"]),
            },
            Series {
                name: "scheduled",
                colour: "muted",
                values: status(&["SCHEDULED"]),
            },
        ],
        Scale {
            fixed_max: None,
            integers: true,
            unit: count,
        },
    );

    let joined: i64 = h.joins.iter().map(|b| b.joined).sum();
    let failed: i64 = h.joins.iter().map(|b| b.failed).sum();
    let rate_text = if joined + failed > 0 {
        format!(
            "{joined} of {} bots got into their meeting ({})",
            joined + failed,
            percent(joined as f64 / (joined + failed) as f64)
        )
    } else {
        "No bot tried to join in the last 24 hours".to_string()
    };
    let joins = line_chart(
        "chart-joins",
        "Join success rate, last 24 h",
        &format!("{rate_text}; hourly share of bots that reached the call."),
        &hours,
        &[Series {
            name: "joined",
            colour: "ok",
            values: h.joins.iter().map(|b| b.success_rate).collect(),
        }],
        Scale {
            fixed_max: Some(1.0),
            integers: false,
            unit: percent,
        },
    );

    let queue_now = h
        .samples
        .last()
        .map(|s| s.by_status.get("QUEUED").copied().unwrap_or(0))
        .unwrap_or(0);
    let queue_peak = h
        .samples
        .iter()
        .map(|s| s.by_status.get("QUEUED").copied().unwrap_or(0))
        .max()
        .unwrap_or(0);
    let queue = line_chart(
        "chart-queue",
        "Queue length, last 24 h",
        &format!("Bots waiting for capacity every 15 minutes: {queue_now} now, at most {queue_peak}."),
        &times,
        &[Series {
            name: "waiting",
            colour: "accent",
            values: status(&["QUEUED"]),
        }],
        Scale {
            fixed_max: None,
            integers: true,
            unit: count,
        },
    );
    format!(
        r#"<section class="charts" aria-label="The last 24 hours (times in UTC)">{latency}{by_status}{joins}{queue}</section><p class="muted">Charts: the last 24 hours from the database, times in UTC; reload the page to redraw them.</p>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::infrastructure::build_history;

    #[test]
    fn the_charts_are_labelled_svg_with_the_numbers_in_words() {
        let until = DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let since = until - chrono::Duration::hours(24);
        let p = |bot: &str, status: &str, min: i64| meeboter_db::history::StatusPoint {
            bot_id: bot.into(),
            status: status.into(),
            sub_code: None,
            at: since + chrono::Duration::minutes(min),
        };
        let within = [p("a", "QUEUED", 1), p("a", "IN_CALL", 3), p("b", "QUEUED", 600)];
        let deployed = [(since + chrono::Duration::minutes(2), "local".to_string(), 1500)];
        let html = infrastructure_charts(&build_history(since, until, &[], &within, &deployed));
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 4);
        assert_eq!(html.matches("role=\"img\"").count(), 4);
        assert!(html.contains("1 deployments in the last 24 hours"), "{html}");
        assert!(html.contains("1 of 1 bots got into their meeting (100 %)"));
        assert!(html.contains("1 in a call now"));
        assert!(html.contains("1 now, at most 1"), "one bot still queued");
        assert!(html.contains("1.5 s"), "the y axis names seconds");
        assert!(!html.contains("NaN") && !html.contains("inf"));
    }

    #[test]
    fn an_idle_server_still_draws_axes() {
        let until = Utc::now();
        let html = infrastructure_charts(&build_history(
            until - chrono::Duration::hours(24),
            until,
            &[],
            &[],
            &[],
        ));
        assert!(html.contains("No bot tried to join"));
        assert!(!html.contains("NaN"));
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(1500.0), 2000.0);
    }
}
