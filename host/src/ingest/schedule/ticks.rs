//! When a schedule source ticks: its cron pattern or interval compiled
//! once, the ticks after a time, and which tick is due now — with how many
//! were missed — given the last one fired. Pure computation on UTC
//! instants; ticks fall on whole seconds.
//!
//! Cron patterns are parsed and evaluated by `croner`, in an IANA zone of
//! `chrono-tz` (the tz database compiled into the binary, so a tick does
//! not depend on the host's zoneinfo files). Across a DST change croner
//! does what its README documents (the Open Cron Pattern Specification,
//! as Vixie cron): a fixed time (`0 2 * * *`) that falls into the spring
//! gap fires once, at the first valid time after the gap (03:00 in
//! Europe/Amsterdam); a fixed time in the repeated autumn hour fires once,
//! at its first occurrence (02:00 summer time); wildcard and step fields
//! fire at every wall-clock match (none in the gap, twice in the repeated
//! hour). Intervals (`every_secs`) are UTC and know no DST.

use crate::store::model::source::{CatchUp, ScheduleSpec};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use std::str::FromStr;

/// Longest interval accepted: a year (a leap one), far beyond any
/// practical schedule and far from overflowing time arithmetic.
pub const MAX_EVERY_SECS: u64 = 366 * 24 * 3600;

/// A tick fired at most this long after its time is on time, whichever
/// host fires it: longer than a timer, a busy runtime or a store hiccup
/// delays it, shorter than a host takes to be noticed down and restarted.
/// Later, it counts as missed.
pub const ON_TIME: TimeDelta = TimeDelta::seconds(10);

/// Most missed ticks counted for one event: counting a cron pattern's
/// ticks walks them one by one, and a per-second pattern a day behind would
/// walk 86 400. `missed` stops at this number.
pub const MAX_MISSED_COUNTED: u64 = 10_000;

/// Why a schedule spec is refused; each message starts with the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("cron: give either cron or every_secs, not both")]
    Both,
    #[error("cron: required (a cron pattern such as \"0 3 * * *\"), or give every_secs")]
    Neither,
    #[error("cron: {pattern:?} is not a cron pattern: {reason}")]
    InvalidCron { pattern: String, reason: String },
    #[error("cron: {pattern:?} never matches a time")]
    NeverMatches { pattern: String },
    #[error("timezone: {zone:?} is not an IANA time zone (e.g. \"Europe/Amsterdam\")")]
    UnknownZone { zone: String },
    #[error("timezone: applies only to cron (every_secs counts UTC seconds)")]
    ZoneWithoutCron,
    #[error("every_secs: {secs} is outside 1..={MAX_EVERY_SECS}")]
    EveryOutOfRange { secs: u64 },
}

/// How often a schedule ticks.
#[derive(Debug, Clone)]
enum Cadence {
    Cron {
        cron: Box<croner::Cron>,
        zone: chrono_tz::Tz,
    },
    /// Seconds; ticks at its multiples since the Unix epoch.
    Every(i64),
}

/// A checked, compiled schedule spec.
#[derive(Debug, Clone)]
pub struct Schedule {
    cadence: Cadence,
    catch_up: CatchUp,
}

/// What a schedule should do now, given the ticks since the last one fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Fire one event for `tick`; `missed` ticks passed without their own
    /// event and this one stands for them (0 when on time).
    Fire { tick: DateTime<Utc>, missed: u64 },
    /// `catch_up: none` and every due tick is late: record `tick` as done
    /// without an event.
    Skip { tick: DateTime<Utc>, missed: u64 },
}

impl Schedule {
    pub fn new(spec: &ScheduleSpec) -> Result<Self, ScheduleError> {
        let cadence = match (&spec.cron, spec.every_secs) {
            (Some(_), Some(_)) => return Err(ScheduleError::Both),
            (None, None) => return Err(ScheduleError::Neither),
            (None, Some(_)) if spec.timezone.is_some() => {
                return Err(ScheduleError::ZoneWithoutCron);
            }
            (None, Some(secs)) => {
                if !(1..=MAX_EVERY_SECS).contains(&secs) {
                    return Err(ScheduleError::EveryOutOfRange { secs });
                }
                Cadence::Every(secs as i64)
            }
            (Some(pattern), None) => {
                let zone = match &spec.timezone {
                    None => chrono_tz::UTC,
                    Some(zone) => chrono_tz::Tz::from_str(zone)
                        .map_err(|_| ScheduleError::UnknownZone { zone: zone.clone() })?,
                };
                let cron =
                    croner::Cron::from_str(pattern).map_err(|e| ScheduleError::InvalidCron {
                        pattern: pattern.clone(),
                        reason: e.to_string(),
                    })?;
                Cadence::Cron {
                    cron: Box::new(cron),
                    zone,
                }
            }
        };
        let schedule = Self {
            cadence,
            catch_up: spec.catch_up,
        };
        // `0 0 30 2 *` parses but never comes: refuse it rather than keep a
        // source that is silent forever.
        if schedule.next_after(Utc::now()).is_none() {
            return Err(ScheduleError::NeverMatches {
                pattern: spec.cron.clone().unwrap_or_default(),
            });
        }
        Ok(schedule)
    }

    /// The first tick strictly after `t`; `None` when there is none (a
    /// pattern past its last year).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.cadence {
            Cadence::Every(p) => from_secs((t.timestamp().div_euclid(*p) + 1) * p),
            Cadence::Cron { cron, zone } => {
                // From the whole second: croner compares whole seconds, and
                // a tick is never a fraction past one.
                let t = whole_second(t).with_timezone(zone);
                cron.find_next_occurrence(&t, false)
                    .ok()
                    .map(|next| next.with_timezone(&Utc))
            }
        }
    }

    /// The latest tick at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.cadence {
            Cadence::Every(p) => from_secs(t.timestamp().div_euclid(*p) * p),
            Cadence::Cron { cron, zone } => {
                let t = whole_second(t).with_timezone(zone);
                cron.find_previous_occurrence(&t, true)
                    .ok()
                    .map(|prev| prev.with_timezone(&Utc))
            }
        }
    }

    /// The next `n` ticks after `t`.
    pub fn next_ticks(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        std::iter::successors(self.next_after(t), |tick| self.next_after(*tick))
            .take(n)
            .collect()
    }

    /// Ticks in `(after, until]`, counted up to [`MAX_MISSED_COUNTED`].
    pub fn count_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
        if until <= after {
            return 0;
        }
        let n = match &self.cadence {
            Cadence::Every(p) => {
                (until.timestamp().div_euclid(*p) - after.timestamp().div_euclid(*p)) as u64
            }
            Cadence::Cron { .. } => {
                std::iter::successors(self.next_after(after), |tick| self.next_after(*tick))
                    .take_while(|tick| *tick <= until)
                    .take(MAX_MISSED_COUNTED as usize)
                    .count() as u64
            }
        };
        n.min(MAX_MISSED_COUNTED)
    }

    /// What to do at `now` when every tick up to `baseline` is done (the
    /// last tick fired, or when the source was last set): `None` while no
    /// tick is due. Only the latest due tick can be on time (within
    /// [`ON_TIME`]); every earlier one was missed. `catch_up: one` fires
    /// the latest, standing for the missed ones; `none` fires it only when
    /// it is on time, as if nothing had been missed, and else skips it.
    pub fn due(&self, baseline: DateTime<Utc>, now: DateTime<Utc>) -> Option<Due> {
        let tick = self.latest_at_or_before(now).filter(|t| *t > baseline)?;
        let due = self.count_between(baseline, now).max(1);
        let on_time = now - tick <= ON_TIME;
        let missed = due - u64::from(on_time);
        Some(match (self.catch_up, on_time) {
            (CatchUp::One, _) => Due::Fire { tick, missed },
            (CatchUp::None, true) => Due::Fire { tick, missed: 0 },
            (CatchUp::None, false) => Due::Skip { tick, missed },
        })
    }
}

/// A tick as it appears in event ids and data: RFC 3339, UTC, whole
/// seconds (`2026-03-29T01:00:00Z`).
pub fn tick_rfc3339(tick: DateTime<Utc>) -> String {
    tick.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn from_secs(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// `t` without its fraction of a second. In UTC, where every local time
/// exists once (in a zone's repeated hour chrono cannot rebuild the time).
fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    from_secs(t.timestamp()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(cron: Option<&str>, zone: Option<&str>, every: Option<u64>) -> ScheduleSpec {
        ScheduleSpec {
            cron: cron.map(str::to_string),
            timezone: zone.map(str::to_string),
            every_secs: every,
            catch_up: CatchUp::One,
            enabled: true,
        }
    }

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn shown(ticks: &[DateTime<Utc>]) -> Vec<String> {
        ticks.iter().map(|t| tick_rfc3339(*t)).collect()
    }

    fn amsterdam_at_2() -> Schedule {
        Schedule::new(&spec(Some("0 2 * * *"), Some("Europe/Amsterdam"), None)).unwrap()
    }

    /// 2026-03-29, the last Sunday of March: at 02:00 CET the clocks go to
    /// 03:00 CEST, so 02:00 does not exist. croner fires at the first valid
    /// time after the gap, 03:00 CEST — 01:00 UTC, the same instant as the
    /// day before (02:00 CET) — and then 02:00 CEST (00:00 UTC).
    #[test]
    fn cron_in_the_spring_gap_fires_once_right_after_it() {
        let ticks = amsterdam_at_2().next_ticks(at("2026-03-27T12:00:00Z"), 4);
        assert_eq!(
            shown(&ticks),
            [
                "2026-03-28T01:00:00Z", // 02:00 CET
                "2026-03-29T01:00:00Z", // 03:00 CEST: 02:00 does not exist
                "2026-03-30T00:00:00Z", // 02:00 CEST
                "2026-03-31T00:00:00Z",
            ]
        );
    }

    /// 2026-10-25, the last Sunday of October: at 03:00 CEST the clocks go
    /// back to 02:00 CET, so 02:00 happens twice (00:00 and 01:00 UTC).
    /// croner fires once, at the first (summer time) occurrence.
    #[test]
    fn cron_in_the_repeated_autumn_hour_fires_once_at_its_first_occurrence() {
        let schedule = amsterdam_at_2();
        let ticks = schedule.next_ticks(at("2026-10-23T12:00:00Z"), 4);
        assert_eq!(
            shown(&ticks),
            [
                "2026-10-24T00:00:00Z", // 02:00 CEST
                "2026-10-25T00:00:00Z", // 02:00 CEST, the first of two
                "2026-10-26T01:00:00Z", // 02:00 CET
                "2026-10-27T01:00:00Z",
            ]
        );
        // The second 02:00 (CET) is no tick: searching from between the two
        // finds the next day's.
        assert_eq!(
            schedule.next_after(at("2026-10-25T00:30:00Z")),
            Some(at("2026-10-26T01:00:00Z"))
        );
        assert_eq!(
            schedule.latest_at_or_before(at("2026-10-25T01:30:00Z")),
            Some(at("2026-10-25T00:00:00Z"))
        );
    }

    #[test]
    fn intervals_are_aligned_to_the_epoch() {
        let five_min = Schedule::new(&spec(None, None, Some(300))).unwrap();
        assert_eq!(
            shown(&five_min.next_ticks(at("2026-05-01T10:03:17.5Z"), 3)),
            [
                "2026-05-01T10:05:00Z",
                "2026-05-01T10:10:00Z",
                "2026-05-01T10:15:00Z"
            ]
        );
        // A tick itself is not after itself.
        assert_eq!(
            five_min.next_after(at("2026-05-01T10:05:00Z")),
            Some(at("2026-05-01T10:10:00Z"))
        );
        assert_eq!(
            five_min.latest_at_or_before(at("2026-05-01T10:05:00Z")),
            Some(at("2026-05-01T10:05:00Z"))
        );
        // 7 s does not divide a minute: ticks are multiples of 7 since
        // 1970, whichever host computes them and whenever it started.
        let seven = Schedule::new(&spec(None, None, Some(7))).unwrap();
        let next = seven.next_after(at("2026-05-01T10:00:00Z")).unwrap();
        assert_eq!(next.timestamp() % 7, 0);
        assert!(next > at("2026-05-01T10:00:00Z") && next <= at("2026-05-01T10:00:07Z"));
    }

    #[test]
    fn due_ticks_and_missed_counts_with_catch_up_one() {
        let every_min = Schedule::new(&spec(None, None, Some(60))).unwrap();
        let last = at("2026-05-01T10:00:00Z");
        // Nothing due before the next tick.
        assert_eq!(every_min.due(last, at("2026-05-01T10:00:59Z")), None);
        // On time: the tick, nothing missed.
        assert_eq!(
            every_min.due(last, at("2026-05-01T10:01:00.2Z")),
            Some(Due::Fire {
                tick: at("2026-05-01T10:01:00Z"),
                missed: 0
            })
        );
        // Down from 10:00:30 to 10:05:03: 10:01-10:04 missed, 10:05 is on
        // time and stands for them.
        assert_eq!(
            every_min.due(last, at("2026-05-01T10:05:03Z")),
            Some(Due::Fire {
                tick: at("2026-05-01T10:05:00Z"),
                missed: 4
            })
        );
        // Back at 10:05:30: 10:05 is late too, five missed in all.
        assert_eq!(
            every_min.due(last, at("2026-05-01T10:05:30Z")),
            Some(Due::Fire {
                tick: at("2026-05-01T10:05:00Z"),
                missed: 5
            })
        );
        // A nightly cron missed by half an hour: one late tick.
        let nightly =
            Schedule::new(&spec(Some("0 3 * * *"), Some("Europe/Amsterdam"), None)).unwrap();
        assert_eq!(
            nightly.due(at("2026-05-01T01:00:00Z"), at("2026-05-02T01:30:00Z")),
            Some(Due::Fire {
                tick: at("2026-05-02T01:00:00Z"),
                missed: 1
            })
        );
        // Three nights: the latest fires once for all three.
        assert_eq!(
            nightly.due(at("2026-05-01T01:00:00Z"), at("2026-05-04T12:00:00Z")),
            Some(Due::Fire {
                tick: at("2026-05-04T01:00:00Z"),
                missed: 3
            })
        );
    }

    #[test]
    fn missed_ticks_are_skipped_with_catch_up_none() {
        let mut s = spec(None, None, Some(60));
        s.catch_up = CatchUp::None;
        let every_min = Schedule::new(&s).unwrap();
        let last = at("2026-05-01T10:00:00Z");
        assert_eq!(
            every_min.due(last, at("2026-05-01T10:01:00.2Z")),
            Some(Due::Fire {
                tick: at("2026-05-01T10:01:00Z"),
                missed: 0
            })
        );
        // The on-time tick fires as if nothing had been missed.
        assert_eq!(
            every_min.due(last, at("2026-05-01T10:05:03Z")),
            Some(Due::Fire {
                tick: at("2026-05-01T10:05:00Z"),
                missed: 0
            })
        );
        // All late: nothing fires; the latest is recorded as done.
        assert_eq!(
            every_min.due(last, at("2026-05-01T10:05:30Z")),
            Some(Due::Skip {
                tick: at("2026-05-01T10:05:00Z"),
                missed: 5
            })
        );
    }

    #[test]
    fn counting_stops_at_the_cap() {
        let every_sec = Schedule::new(&spec(Some("* * * * * *"), None, None)).unwrap();
        let from = at("2026-05-01T00:00:00Z");
        assert_eq!(
            every_sec.count_between(from, at("2026-05-01T00:00:10Z")),
            10
        );
        assert_eq!(
            every_sec.count_between(from, at("2026-05-02T00:00:00Z")),
            MAX_MISSED_COUNTED
        );
        let every_sec = Schedule::new(&spec(None, None, Some(1))).unwrap();
        assert_eq!(
            every_sec.count_between(from, at("2026-05-02T00:00:00Z")),
            MAX_MISSED_COUNTED
        );
    }

    #[test]
    fn bad_specs_name_their_field() {
        let refused = |s: ScheduleSpec| Schedule::new(&s).unwrap_err().to_string();
        let starts = |s: ScheduleSpec, field: &str| {
            let message = refused(s);
            assert!(message.starts_with(field), "{message}");
        };
        starts(spec(Some("0 3 * * *"), None, Some(60)), "cron:");
        starts(spec(None, None, None), "cron:");
        starts(spec(Some("61 * * * *"), None, None), "cron:");
        starts(spec(Some("not cron"), None, None), "cron:");
        starts(spec(Some("0 0 30 2 *"), None, None), "cron:");
        starts(
            spec(Some("0 3 * * *"), Some("Mars/Olympus"), None),
            "timezone:",
        );
        starts(spec(None, Some("UTC"), Some(60)), "timezone:");
        starts(spec(None, None, Some(0)), "every_secs:");
        starts(spec(None, None, Some(MAX_EVERY_SECS + 1)), "every_secs:");
    }
}
