//! Effective dates: a future hire is created disabled and enabled at the start of the hire date,
//! a leaver is disabled at the end of the leave date, both in the source's time zone.
//!
//! [`decide`] is pure (a user's body, the source, now → disable now? and the actions to
//! schedule). [`Runner::step`] applies the actions that are due, on the injected clock, each
//! after checking the user still has the date that scheduled it, through
//! `Store::commit_inbound` (so the change log sees the enable/disable and apps follow).

use std::sync::Arc;

use domain::inbound::{
    DueAction, InboundCommit, LifecycleAction, Outcome, RecordResult, Scheduled, UserWrite,
};
use domain::schema::Mode;
use domain::{Clock, Error, Load, ResourceKind, Result, Store, Write};
use jiff::civil::Date;
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::process::{log_entry, Ctx};
use crate::spec::Source;
use crate::Sources;

/// Due actions applied per step.
const STEP: usize = 200;

/// What a user's dates say now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// Before the hire date or after the leave date: the user must be disabled.
    pub disable_now: bool,
    /// The actions still ahead.
    pub schedule: Vec<Scheduled>,
}

/// The date in the attribute at `path` of `body`, with its text as stored.
fn date_at(body: &Map<String, Value>, path: &str) -> Result<Option<(Date, String)>> {
    let attr = scim_filter::parse_attr_path(path)
        .map_err(|e| Error::InvalidValue(format!("date attribute `{path}`: {e}")))?;
    let get = |m: &Map<String, Value>, key: &str| -> Option<Value> {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let mut value = match &attr.uri {
        Some(uri) => {
            get(body, uri).and_then(|ext| ext.as_object().and_then(|e| get(e, &attr.name)))
        }
        None => get(body, &attr.name),
    };
    if let Some(sub) = &attr.sub {
        value = value.and_then(|v| v.as_object().and_then(|o| get(o, sub)));
    }
    let Some(Value::String(text)) = value else {
        return Ok(None);
    };
    let day = text.get(..10).unwrap_or(&text);
    let date: Date = day.parse().map_err(|e| {
        Error::InvalidValue(format!(
            "`{path}` is `{text}`, not a date (YYYY-MM-DD): {e}"
        ))
    })?;
    Ok(Some((date, day.to_owned())))
}

/// Local midnight at the start of `date` in the source's time zone.
fn start_of(date: Date, source: &Source) -> Result<Timestamp> {
    date.to_zoned(source.time_zone.clone())
        .map(|z| z.timestamp())
        .map_err(|e| Error::InvalidValue(format!("date {date}: {e}")))
}

/// What the user's dates decide at `now`. An enable is scheduled only for a user that is meant
/// to be active (`wants_active`: the record says so, or says nothing of a user that is active or
/// waiting for its hire date).
pub fn decide(
    body: &Map<String, Value>,
    source: &Source,
    now: Timestamp,
    wants_active: bool,
) -> Result<Decision> {
    let mut decision = Decision::default();
    if let Some(path) = &source.spec.hire_date {
        if let Some((date, text)) = date_at(body, path)? {
            let start = start_of(date, source)?;
            if now < start {
                decision.disable_now = true;
                if wants_active {
                    decision.schedule.push(Scheduled {
                        action: LifecycleAction::Enable,
                        due: start,
                        date: text,
                    });
                }
            }
        }
    }
    if let Some(path) = &source.spec.leave_date {
        if let Some((date, text)) = date_at(body, path)? {
            let next = date
                .tomorrow()
                .map_err(|e| Error::InvalidValue(format!("leave date {date}: {e}")))?;
            let end = start_of(next, source)?;
            if now >= end {
                decision.disable_now = true;
                decision
                    .schedule
                    .retain(|s| s.action != LifecycleAction::Enable);
            } else {
                decision.schedule.push(Scheduled {
                    action: LifecycleAction::Disable,
                    due: end,
                    date: text,
                });
            }
        }
    }
    Ok(decision)
}

/// Applies due effective-dated actions, one step at a time.
#[derive(Clone)]
pub struct Runner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    sources: Arc<Sources>,
}

impl Runner {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, sources: Arc<Sources>) -> Runner {
        Runner {
            store,
            clock,
            sources,
        }
    }

    /// Applies the actions due now; returns how many it looked at.
    pub async fn step(&self) -> Result<usize> {
        let now = self.clock.now();
        let due = self.store.due_lifecycle(now, STEP).await?;
        let n = due.len();
        for action in due {
            if let Err(e) = self.apply(&action, now).await {
                tracing::warn!(error = %e, user = %action.user_id, "effective-dated action failed");
            }
        }
        Ok(n)
    }

    async fn apply(&self, due: &DueAction, now: Timestamp) -> Result<()> {
        let known = self.sources.find(&due.source);
        let configured = known.is_some();
        let source = known.unwrap_or_else(|| {
            // Keeps the source's name on what is written (its schedule, its log).
            std::sync::Arc::new(Source {
                spec: crate::spec::SourceSpec::named(&due.source),
                mappings: None,
                time_zone: jiff::tz::TimeZone::UTC,
            })
        });
        let registry = crate::registry(self.store.as_ref(), &due.tenant_id).await?;
        let ctx = Ctx {
            store: self.store.as_ref(),
            registry: &registry,
            source: &source,
            tenant_id: &due.tenant_id,
            now,
        };
        let user = self
            .store
            .get(&due.tenant_id, ResourceKind::User, &due.user_id, Load::NONE)
            .await?;
        let mut result = RecordResult {
            index: 0,
            bulk_id: None,
            external_id: None,
            outcome: Outcome::Unchanged,
            user_id: Some(due.user_id.clone()),
            error: None,
        };
        let Some(user) = user else {
            // Deleted since: forget its schedule.
            result.error = Some("the user no longer exists".into());
            return self.commit(ctx, UserWrite::None, Vec::new(), &result).await;
        };
        let active = !matches!(user.body.get("active"), Some(Value::Bool(false)));
        let (wanted, schedule) = if configured {
            let wants = active || due.scheduled.action == LifecycleAction::Enable;
            let decision = decide(&user.body, &source, now, wants)?;
            let path = match due.scheduled.action {
                LifecycleAction::Enable => &source.spec.hire_date,
                LifecycleAction::Disable => &source.spec.leave_date,
            };
            let still = match path {
                Some(p) => {
                    date_at(&user.body, p)?.map(|(_, t)| t) == Some(due.scheduled.date.clone())
                }
                None => false,
            };
            let wanted = match due.scheduled.action {
                LifecycleAction::Enable if still && !decision.disable_now && !active => Some(true),
                LifecycleAction::Disable if still && decision.disable_now && active => Some(false),
                _ => None,
            };
            (wanted, decision.schedule)
        } else {
            // Scheduled by a source this process does not know (a CSV import with its own
            // settings): its dates cannot be read again here, so the action stands as scheduled.
            let wanted = match due.scheduled.action {
                LifecycleAction::Enable => (!active).then_some(true),
                LifecycleAction::Disable => active.then_some(false),
            };
            let rest = self
                .store
                .lifecycle_of(&due.tenant_id, &due.user_id)
                .await?
                .into_iter()
                .filter(|s| s.action != due.scheduled.action)
                .collect();
            (wanted, rest)
        };
        let write = match wanted {
            None => UserWrite::None,
            Some(on) => {
                let mut body = user.body.clone();
                body.insert("active".into(), Value::Bool(on));
                let validated = registry.validate(
                    ResourceKind::User,
                    Value::Object(body),
                    Mode::Replace(&user),
                )?;
                result.outcome = if on {
                    Outcome::Enabled
                } else {
                    Outcome::Disabled
                };
                UserWrite::Replace {
                    id: user.id.clone(),
                    write: Write::whole(validated),
                    version: user.version,
                }
            }
        };
        self.commit(ctx, write, schedule, &result).await
    }

    async fn commit(
        &self,
        ctx: Ctx<'_>,
        write: UserWrite,
        schedule: Vec<Scheduled>,
        result: &RecordResult,
    ) -> Result<()> {
        self.store
            .commit_inbound(InboundCommit {
                tenant_id: ctx.tenant_id.to_owned(),
                source: ctx.source.name().to_owned(),
                write,
                schedule: Some(schedule),
                result: None,
                log: Some(log_entry(ctx, result, Some("lifecycle"))),
                now: ctx.now,
            })
            .await
            .map(|_| ())
    }
}
