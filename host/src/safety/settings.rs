//! A tenant's kill switches: the tenant-wide pause, paused runbooks and
//! silences (Alertmanager's maintenance windows). Kept as one document per
//! tenant, changed read-modify-write under the store's lock.

use super::suppression::{Reason, Suppression};
use crate::rules::criteria::{CompiledCriterion, Criterion};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Silences one tenant may keep.
pub const MAX_SILENCES: usize = 1_000;
/// Matchers one silence may have.
pub const MAX_MATCHERS: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SafetySettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paused_runbooks: BTreeMap<String, Pause>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub silences: BTreeMap<String, Silence>,
}

/// Who paused, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pause {
    pub at: String,
    pub by: String,
}

/// Events matching every matcher between `starts_at` and `ends_at` are
/// suppressed as `silenced`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    pub starts_at: String,
    pub ends_at: String,
    pub matchers: Vec<Criterion>,
    #[serde(default)]
    pub comment: String,
    /// The token that created it: filled in by the server, whatever a
    /// request says. Read back like every other field — the stored
    /// settings carry it, and `deny_unknown_fields` would refuse them.
    #[serde(default)]
    pub created_by: String,
}

impl Silence {
    /// Checks times and matchers; errors name the field.
    pub fn validate(&self) -> Result<(), String> {
        let starts = parse_time("starts_at", &self.starts_at)?;
        let ends = parse_time("ends_at", &self.ends_at)?;
        if ends <= starts {
            return Err("ends_at: must be after starts_at".into());
        }
        if self.matchers.is_empty() {
            return Err("matchers: a silence needs at least one matcher (pause the tenant to hold everything)".into());
        }
        if self.matchers.len() > MAX_MATCHERS {
            return Err(format!("matchers: at most {MAX_MATCHERS}"));
        }
        // Stored silences are compiled again as they are read
        // (`ActiveSilences::of`); only new ones are held to `check_can_match`.
        CompiledCriterion::compile_all(&self.matchers)
            .and_then(|_| crate::rules::criteria::check_can_match(&self.matchers))
            .map_err(|e| e.replacen("criteria", "matchers", 1))?;
        Ok(())
    }

    /// Whether the silence is in force at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        match (
            OffsetDateTime::parse(&self.starts_at, &Rfc3339),
            OffsetDateTime::parse(&self.ends_at, &Rfc3339),
        ) {
            (Ok(s), Ok(e)) => s <= now && now < e,
            _ => false,
        }
    }

    /// Whether it has ended.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        OffsetDateTime::parse(&self.ends_at, &Rfc3339).is_ok_and(|e| e <= now)
    }
}

fn parse_time(field: &str, value: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map_err(|e| format!("{field}: not an RFC 3339 time ({e}): {value:?}"))
}

/// The silences in force now, compiled once per request.
pub struct ActiveSilences {
    silences: Vec<(String, Vec<CompiledCriterion>)>,
}

impl ActiveSilences {
    pub fn of(settings: &SafetySettings) -> Self {
        let now = OffsetDateTime::now_utc();
        let silences = settings
            .silences
            .iter()
            .filter(|(_, s)| s.is_active(now))
            .filter_map(|(name, s)| {
                let compiled = CompiledCriterion::compile_all(&s.matchers).ok()?;
                Some((name.clone(), compiled))
            })
            .collect();
        Self { silences }
    }

    /// The first silence matching the event envelope.
    pub fn matching(&self, envelope: &Value) -> Option<&str> {
        self.silences
            .iter()
            .find(|(_, matchers)| matchers.iter().all(|m| m.matches(envelope)))
            .map(|(name, _)| name.as_str())
    }
}

impl SafetySettings {
    /// Why an execution of `runbook` must not start now, if it must not:
    /// the tenant or the runbook is paused.
    pub fn pause_of(&self, runbook: &str) -> Option<Suppression> {
        let (policy, pause) = match (&self.paused, self.paused_runbooks.get(runbook)) {
            (Some(p), _) => ("pause:tenant", p),
            (None, Some(p)) => ("pause:runbook", p),
            (None, None) => return None,
        };
        let what = if policy == "pause:tenant" {
            "the tenant".to_string()
        } else {
            format!("runbook {runbook}")
        };
        Some(Suppression {
            reason: Reason::Paused,
            policy: policy.into(),
            key: None,
            detail: format!("{what} was paused at {} by {}", pause.at, pause.by),
            folded_into: None,
        })
    }
}

/// The suppression for an event a silence matched.
pub fn silenced(name: &str, silence: Option<&Silence>) -> Suppression {
    Suppression {
        reason: Reason::Silenced,
        policy: format!("silence:{name}"),
        key: None,
        detail: match silence {
            Some(s) if !s.comment.is_empty() => {
                format!("silence {name} until {}: {}", s.ends_at, s.comment)
            }
            Some(s) => format!("silence {name} until {}", s.ends_at),
            None => format!("silence {name}"),
        },
        folded_into: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_silence_matches_only_inside_its_window_and_on_every_matcher() {
        let now = OffsetDateTime::now_utc();
        let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
        let silence: Silence = serde_json::from_value(json!({
            "starts_at": fmt(now - time::Duration::minutes(1)),
            "ends_at": fmt(now + time::Duration::minutes(1)),
            "matchers": [{"path": "data.labels.service", "op": "eq", "value": "checkout"},
                         {"path": "type", "op": "eq", "value": "alert"}],
            "comment": "maintenance"
        }))
        .unwrap();
        silence.validate().unwrap();
        let mut settings = SafetySettings::default();
        settings.silences.insert("m".into(), silence.clone());
        let active = ActiveSilences::of(&settings);
        let hit = json!({"type": "alert", "data": {"labels": {"service": "checkout"}}});
        let miss = json!({"type": "alert", "data": {"labels": {"service": "cart"}}});
        assert_eq!(active.matching(&hit), Some("m"));
        assert_eq!(active.matching(&miss), None);

        let mut later = silence.clone();
        later.starts_at = fmt(now + time::Duration::minutes(5));
        later.ends_at = fmt(now + time::Duration::minutes(6));
        settings.silences.insert("m".into(), later);
        assert_eq!(ActiveSilences::of(&settings).matching(&hit), None);
    }

    #[test]
    fn stored_settings_with_a_silence_read_back() {
        let mut silence: Silence = serde_json::from_value(json!({
            "starts_at": "2029-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z",
            "matchers": [{"path": "data.x", "op": "eq", "value": 1}],
        }))
        .unwrap();
        silence.created_by = "tok_1".into();
        let mut settings = SafetySettings::default();
        settings.silences.insert("m".into(), silence);
        let stored = serde_json::to_string(&settings).unwrap();
        let read: SafetySettings = serde_json::from_str(&stored).unwrap();
        assert_eq!(read, settings);
    }

    #[test]
    fn bad_silences_name_the_field() {
        let s = |v: Value| {
            serde_json::from_value::<Silence>(v)
                .unwrap()
                .validate()
                .unwrap_err()
        };
        let m = json!([{"path": "data.x", "op": "eq", "value": 1}]);
        assert!(
            s(json!({"starts_at": "soon", "ends_at": "2030-01-01T00:00:00Z", "matchers": m}))
                .starts_with("starts_at")
        );
        assert!(s(json!({"starts_at": "2030-01-01T00:00:00Z", "ends_at": "2029-01-01T00:00:00Z", "matchers": m})).starts_with("ends_at"));
        assert!(s(json!({"starts_at": "2029-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z", "matchers": []})).starts_with("matchers"));
        assert!(s(json!({"starts_at": "2029-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z", "matchers": [{"path": "data.x", "op": "matches", "value": "("}]})).starts_with("matchers[0]"));
    }

    #[test]
    fn a_silence_whose_matchers_could_never_resolve_is_refused() {
        let with = |matchers: Value| {
            serde_json::from_value::<Silence>(json!({
                "starts_at": "2029-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z",
                "matchers": matchers,
            }))
            .unwrap()
            .validate()
        };
        let refused = [
            // Never resolves, so `ne` would silence every event.
            (
                json!([{"path": "labels.env", "op": "ne", "value": "prod"}]),
                "matchers[0].path",
            ),
            (
                json!([{"path": "data.x", "op": "eq", "value": 1}, {"path": "event.data.y", "op": "exists", "value": false}]),
                "matchers[1].path",
            ),
            (
                json!([{"path": "data.alerts[-1]", "op": "exists"}]),
                "matchers[0]",
            ),
            (
                json!([{"path": "data.shard", "op": "in", "value": []}]),
                "matchers[0].value",
            ),
        ];
        for (matchers, field) in refused {
            let err = with(matchers.clone()).unwrap_err();
            assert!(err.starts_with(field), "{matchers}: {err}");
        }
        assert_eq!(
            with(json!([{"path": "data.labels.env", "op": "ne", "value": "prod"}])),
            Ok(())
        );
    }

    #[test]
    fn a_stored_silence_outside_the_envelope_still_compiles() {
        let now = OffsetDateTime::now_utc();
        let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
        let mut settings = SafetySettings::default();
        let silence: Silence = serde_json::from_value(json!({
            "starts_at": fmt(now - time::Duration::minutes(1)),
            "ends_at": fmt(now + time::Duration::minutes(1)),
            "matchers": [{"path": "labels.env", "op": "exists", "value": false}],
        }))
        .unwrap();
        settings.silences.insert("old".into(), silence);
        let active = ActiveSilences::of(&settings);
        assert_eq!(active.matching(&json!({"data": {}})), Some("old"));
    }

    #[test]
    fn a_tenant_pause_wins_over_a_runbook_pause() {
        let mut settings = SafetySettings::default();
        assert!(settings.pause_of("rb").is_none());
        let p = Pause {
            at: "t".into(),
            by: "tok".into(),
        };
        settings.paused_runbooks.insert("rb".into(), p.clone());
        assert_eq!(settings.pause_of("rb").unwrap().policy, "pause:runbook");
        assert!(settings.pause_of("other").is_none());
        settings.paused = Some(p);
        assert_eq!(settings.pause_of("other").unwrap().policy, "pause:tenant");
    }
}
