//! Dynamic groups: a group whose extension `urn:scimitar:params:scim:schemas:extension:dynamic:2.0:Group`
//! carries a `membershipRule` (Entra's rule syntax, the `group-rules` crate) has exactly the users
//! the rule matches as members.
//!
//! Who does what:
//! - validation ([`rule_of`]) refuses a rule that does not parse, naming the position;
//! - the store evaluates the tenant's rules ([`RuleSet`]) inside every user write's transaction,
//!   and keeps each group's rule with a cursor while its membership is recomputed;
//! - [`recompute`] drives that recomputation over all users in steps (other writes go on between
//!   them), reporting progress; [`preview`] and [`explain`] answer "what would this rule do" and
//!   "why is this user (not) a member" without writing.
//!
//! Invariant: the members of a dynamic group are only ever written by the store from its rule;
//! clients' member changes are refused (`mutability`).

use std::collections::HashSet;

use group_rules::Rule;
use jiff::Timestamp;
use serde_json::{Map, Value};

pub use scim_proto::DYNAMIC_GROUP_SCHEMA;

use crate::{Error, Load, Member, ResourceKind, Result, Store, StoredResource, Validated};

/// Users evaluated per store step of a recomputation.
pub const RECOMPUTE_STEP: usize = 2_000;

/// The rule text a group body carries, if any (blank counts as none).
pub fn rule_text(body: &Map<String, Value>) -> Option<&str> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(DYNAMIC_GROUP_SCHEMA))
        .and_then(|(_, ext)| ext.as_object())
        .and_then(|ext| {
            ext.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("membershipRule"))
                .and_then(|(_, v)| v.as_str())
        })
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Parses a rule; the error names the position and is a client's mistake (`invalidValue`).
pub fn parse_rule(text: &str) -> Result<Rule> {
    group_rules::parse(text).map_err(|e| {
        Error::InvalidValue(format!(
            "{DYNAMIC_GROUP_SCHEMA}:membershipRule is not a valid rule: {e}"
        ))
    })
}

/// The rule of a validated group body, checked; `None` for a static group.
pub fn rule_of(body: &Validated) -> Result<Option<Rule>> {
    if body.kind() != ResourceKind::Group {
        return Ok(None);
    }
    rule_text(body.body()).map(parse_rule).transpose()
}

/// Whether a rule reads the user's groups (`user.memberOf`), which evaluation must then load.
pub fn reads_groups(rule: &Rule) -> bool {
    rule.properties()
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case("memberOf"))
}

/// A user as rules read it: the stored body with its `id` and, when given, `groups`.
pub fn user_view(id: &str, body: &Map<String, Value>, groups: Option<&[Member]>) -> Value {
    let mut view = body.clone();
    view.insert("id".into(), Value::String(id.to_owned()));
    if let Some(groups) = groups {
        let refs = groups
            .iter()
            .map(|g| serde_json::json!({ "value": g.value, "display": g.display }))
            .collect();
        view.insert("groups".into(), Value::Array(refs));
    }
    Value::Object(view)
}

/// One group's rule, keyed by the store's row number for the group.
#[derive(Debug)]
pub struct DynamicRule {
    pub group_key: i64,
    pub group_id: String,
    pub rule: Rule,
}

/// Every rule of a tenant, compiled once and evaluated against each user write.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<DynamicRule>,
    keys: HashSet<i64>,
    reads_groups: bool,
}

impl RuleSet {
    /// Compiles `(group key, group id, rule text)` rows. A stored rule was checked when it was
    /// written; one that no longer parses (a grammar change) is skipped with an error log, so that
    /// it cannot stop user writes.
    pub fn compile(rows: impl IntoIterator<Item = (i64, String, String)>) -> RuleSet {
        let mut set = RuleSet::default();
        for (group_key, group_id, text) in rows {
            match group_rules::parse(&text) {
                Ok(rule) => {
                    set.reads_groups |= reads_groups(&rule);
                    set.keys.insert(group_key);
                    set.rules.push(DynamicRule {
                        group_key,
                        group_id,
                        rule,
                    });
                }
                Err(e) => {
                    tracing::error!(group = group_id, error = %e, "stored membership rule does not parse; skipped")
                }
            }
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether `key` is a dynamic group.
    pub fn contains(&self, key: i64) -> bool {
        self.keys.contains(&key)
    }

    /// Whether evaluation needs the user's groups in the view (some rule reads `memberOf`).
    pub fn reads_groups(&self) -> bool {
        self.reads_groups
    }

    /// The keys of the groups whose rule `user` (a [`user_view`]) matches.
    pub fn matching(&self, user: &Value, now: Timestamp) -> Vec<i64> {
        self.rules
            .iter()
            .filter(|r| r.rule.evaluate(user, now))
            .map(|r| r.group_key)
            .collect()
    }
}

/// What one store step of a recomputation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecomputeStep {
    pub evaluated: u64,
    pub added: u64,
    pub removed: u64,
    /// The membership is complete (or the group has no rule).
    pub done: bool,
}

/// A dynamic group's rule and, while its membership is being recomputed, how far that got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleState {
    pub rule: String,
    /// `(users evaluated, users in the tenant)` while a recomputation is under way.
    pub processing: Option<(u64, u64)>,
}

/// The totals of a whole recomputation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recomputed {
    pub evaluated: u64,
    pub added: u64,
    pub removed: u64,
}

/// Recomputes a dynamic group's membership over all users, step by step (each step is one
/// store transaction of [`RECOMPUTE_STEP`] users, so other writes go on in between), calling
/// `progress` with the running totals after each step. Resumes where a previous run stopped.
pub async fn recompute(
    store: &dyn Store,
    tenant_id: &str,
    group_id: &str,
    now: Timestamp,
    mut progress: impl FnMut(&Recomputed),
) -> Result<Recomputed> {
    let mut totals = Recomputed::default();
    loop {
        let step = store
            .recompute_dynamic_group(tenant_id, group_id, RECOMPUTE_STEP, now)
            .await?;
        totals.evaluated += step.evaluated;
        totals.added += step.added;
        totals.removed += step.removed;
        progress(&totals);
        if step.done {
            return Ok(totals);
        }
    }
}

/// A user named in a preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub id: String,
    pub user_name: Option<String>,
    pub display_name: Option<String>,
}

impl UserRef {
    fn of(res: &StoredResource) -> UserRef {
        let text = |name: &str| {
            res.body
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        UserRef {
            id: res.id.clone(),
            user_name: text("userName"),
            display_name: text("displayName"),
        }
    }
}

/// What saving a rule would do to a group's membership.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Preview {
    /// Users evaluated (every user of the tenant).
    pub evaluated: u64,
    /// Users the rule matches: the members it would have.
    pub matching: u64,
    pub added: u64,
    pub removed: u64,
    /// The first few users it would add and remove.
    pub added_examples: Vec<UserRef>,
    pub removed_examples: Vec<UserRef>,
}

/// Evaluates `rule` over every user (read-only, in pages) against the current members of
/// `group_id` (none for a group not yet created), keeping up to `examples` of each side.
pub async fn preview(
    store: &dyn Store,
    tenant_id: &str,
    rule: &Rule,
    group_id: Option<&str>,
    now: Timestamp,
    examples: usize,
) -> Result<Preview> {
    let mut current: HashSet<String> = HashSet::new();
    if let Some(group_id) = group_id {
        let group = store
            .get(tenant_id, ResourceKind::Group, group_id, Load::ALL)
            .await?
            .ok_or_else(|| Error::NotFound(format!("Group `{group_id}` not found")))?;
        current = group
            .members
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.kind == ResourceKind::User)
            .map(|m| m.value)
            .collect();
    }
    let load = Load {
        members: false,
        groups: reads_groups(rule),
    };
    let mut preview = Preview::default();
    let mut after = 0;
    loop {
        let page = store
            .walk(tenant_id, ResourceKind::User, after, 1_000, load)
            .await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, user) in &page {
            preview.evaluated += 1;
            let view = user_view(&user.id, &user.body, user.groups.as_deref());
            let matches = rule.evaluate(&view, now);
            let member = current.remove(&user.id);
            if matches {
                preview.matching += 1;
            }
            if matches && !member {
                preview.added += 1;
                if preview.added_examples.len() < examples {
                    preview.added_examples.push(UserRef::of(user));
                }
            } else if !matches && member {
                preview.removed += 1;
                if preview.removed_examples.len() < examples {
                    preview.removed_examples.push(UserRef::of(user));
                }
            }
        }
    }
    Ok(preview)
}

/// Why `user` is or is not matched by `rule`: the result and the indented explanation.
pub fn explain(rule: &Rule, user: &StoredResource, now: Timestamp) -> (bool, String) {
    let view = user_view(&user.id, &user.body, user.groups.as_deref());
    let explanation = rule.explain(&view, now);
    (explanation.result, explanation.to_string())
}
