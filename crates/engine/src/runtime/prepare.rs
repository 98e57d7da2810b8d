//! Loading a batch of source objects with what planning them needs (shadows, assignments,
//! manager links) and planning them — no request to the target, no write. The worker applies
//! the result; a dry run only reports it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use domain::{Load, ResourceKind, Result, Shadow as StoredShadow, ShadowState};
use jiff::Timestamp;
use serde_json::Value;

use crate::app::{Scope, ENTERPRISE};
use crate::groups::{plan_group, GroupPlan, GroupShadow};
use crate::plan::{plan_user, SourceUser, UserPlan};
use crate::shadow::Shadow;

use super::WorkerCtx;

/// Objects to look at, deduplicated. Users are processed before groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    /// Users already read (a page of a full cycle), as SCIM JSON: not read again.
    pub loaded: BTreeMap<String, Value>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }

    pub fn add(&mut self, kind: ResourceKind, id: &str) {
        match kind {
            ResourceKind::User => self.users.insert(id.to_owned()),
            ResourceKind::Group => self.groups.insert(id.to_owned()),
        };
    }
}

/// One user, loaded and planned.
#[derive(Debug, Clone)]
pub struct PreparedUser {
    pub source_id: String,
    /// The user as SCIM JSON; `None` when deleted in the source.
    pub source: Option<Value>,
    pub display: String,
    pub assigned: bool,
    pub shadow: Option<StoredShadow>,
    pub plan: UserPlan,
    /// The manager's source id when the plan defers the manager reference because the manager
    /// is not in the target yet.
    pub waits_for_manager: Option<String>,
    /// The user's groups (source ids), to refresh memberships once the user is linked.
    pub groups: Vec<String>,
}

/// One group, loaded and planned (its memberships are planned after users are applied).
#[derive(Debug, Clone)]
pub struct PreparedGroup {
    pub source_id: String,
    pub source: Option<Value>,
    pub display: String,
    /// Member users' source ids (nested groups are not provisioned as members).
    pub member_users: Vec<String>,
    /// Whether the app provisions this group (in scope and group provisioning on).
    pub provisioned: bool,
    /// Whether the group counts for user scope (assigned, or scope all).
    pub assigned: bool,
    pub shadow: Option<StoredShadow>,
    pub plan: GroupPlan,
}

/// Keys of a group shadow's bookkeeping.
pub const SOURCES: &str = "$sources";
pub const ASSIGNED: &str = "$assigned";
pub const MEMBERS: &str = "members";
/// Key of a user shadow's list of objects waiting for it to be linked (`User:id`, `Group:id`).
pub const WAITING: &str = "$waiting";

pub fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn display_of(body: &Value) -> String {
    ["displayName", "userName"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned()
}

fn manager_of(user: &Value) -> Option<String> {
    user.get(ENTERPRISE)?
        .get("manager")?
        .get("value")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn linked(s: &StoredShadow) -> bool {
    s.target_id.is_some() && matches!(s.state, ShadowState::Active | ShadowState::Disabled)
}

impl WorkerCtx {
    async fn load(&self, kind: ResourceKind, id: &str, load: Load) -> Result<Option<Value>> {
        let found = self.store.get(&self.tenant_id, kind, id, load).await?;
        Ok(found.map(|r| Value::Object(domain::render::render(r, ""))))
    }

    pub(crate) async fn shadow_map(
        &self,
        kind: ResourceKind,
        ids: &[String],
    ) -> Result<HashMap<String, StoredShadow>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let shadows = self.store.shadows(&self.app_id, kind, ids).await?;
        Ok(shadows
            .into_iter()
            .map(|s| (s.source_id.clone(), s))
            .collect())
    }

    async fn assigned_set(&self, kind: ResourceKind, ids: &[String]) -> Result<BTreeSet<String>> {
        if ids.is_empty() {
            return Ok(BTreeSet::new());
        }
        Ok(self
            .store
            .assigned_among(&self.app_id, kind, ids)
            .await?
            .into_iter()
            .collect())
    }

    /// Groups first: a group whose assignment or members changed brings the users whose scope
    /// may have changed into the batch. Then every user is planned, then every group.
    pub(crate) async fn prepare(
        &self,
        batch: &mut Batch,
        now: Timestamp,
    ) -> Result<(Vec<PreparedUser>, Vec<PreparedGroup>)> {
        let group_ids: Vec<String> = batch.groups.iter().cloned().collect();
        let groups = self.prepare_groups(&group_ids, batch).await?;
        let user_ids: Vec<String> = batch.users.iter().cloned().collect();
        let loaded = std::mem::take(&mut batch.loaded);
        let users = self.prepare_loaded(&user_ids, loaded, now).await?;
        Ok((users, groups))
    }

    async fn prepare_groups(
        &self,
        ids: &[String],
        batch: &mut Batch,
    ) -> Result<Vec<PreparedGroup>> {
        let shadows = self.shadow_map(ResourceKind::Group, ids).await?;
        let assigned = match self.app.scope {
            Scope::All => ids.iter().cloned().collect(),
            Scope::Assigned => self.assigned_set(ResourceKind::Group, ids).await?,
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let source = self.load(ResourceKind::Group, id, Load::ALL).await?;
            let shadow = shadows.get(id).cloned();
            let member_users: Vec<String> = source
                .as_ref()
                .and_then(|g| g.get("members"))
                .and_then(Value::as_array)
                .map(|members| {
                    members
                        .iter()
                        .filter(|m| m.get("type").and_then(Value::as_str) != Some("Group"))
                        .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let is_assigned = source.is_some() && assigned.contains(id);
            if self.app.scope == Scope::Assigned {
                let before = shadow
                    .as_ref()
                    .map(|s| {
                        let was = s.last_sent.get(ASSIGNED).and_then(Value::as_bool) == Some(true);
                        (was, string_list(s.last_sent.get(SOURCES)))
                    })
                    .unwrap_or((false, Vec::new()));
                let affected: BTreeSet<&String> = match (before.0, is_assigned) {
                    (false, false) => BTreeSet::new(),
                    (false, true) => member_users.iter().collect(),
                    (true, false) => before.1.iter().collect(),
                    (true, true) => {
                        let old: BTreeSet<&String> = before.1.iter().collect();
                        let new: BTreeSet<&String> = member_users.iter().collect();
                        old.symmetric_difference(&new).copied().collect()
                    }
                };
                for user in affected {
                    batch.users.insert(user.clone());
                }
            }
            let provisioned = self.provision_groups && is_assigned;
            let group_shadow = shadow.as_ref().and_then(|s| {
                let target_id = s
                    .target_id
                    .clone()
                    .filter(|_| s.state == ShadowState::Active)?;
                Some(GroupShadow {
                    target_id,
                    display_name: s
                        .last_sent
                        .get("displayName")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                })
            });
            let plan = plan_group(source.as_ref(), provisioned, group_shadow.as_ref());
            out.push(PreparedGroup {
                source_id: id.clone(),
                display: source.as_ref().map(display_of).unwrap_or_default(),
                source,
                member_users,
                provisioned,
                assigned: is_assigned,
                shadow,
                plan,
            });
        }
        Ok(out)
    }

    pub(crate) async fn prepare_users(
        &self,
        ids: &[String],
        now: Timestamp,
    ) -> Result<Vec<PreparedUser>> {
        self.prepare_loaded(ids, BTreeMap::new(), now).await
    }

    /// As [`Self::prepare_users`], with some users already read.
    async fn prepare_loaded(
        &self,
        ids: &[String],
        mut loaded: BTreeMap<String, Value>,
        now: Timestamp,
    ) -> Result<Vec<PreparedUser>> {
        let shadows = self.shadow_map(ResourceKind::User, ids).await?;
        let mut sources = BTreeMap::new();
        for id in ids {
            let user = match loaded.remove(id) {
                Some(user) => Some(user),
                None => self.load(ResourceKind::User, id, Load::ALL).await?,
            };
            sources.insert(id.clone(), user);
        }
        let groups_of = |user: &Option<Value>| -> Vec<String> {
            string_list_of_values(user.as_ref().and_then(|u| u.get("groups")))
        };
        let (direct, via_group) = match self.app.scope {
            Scope::All => (BTreeSet::new(), BTreeSet::new()),
            Scope::Assigned => {
                let direct = self.assigned_set(ResourceKind::User, ids).await?;
                let all_groups: BTreeSet<String> = sources.values().flat_map(groups_of).collect();
                let all_groups: Vec<String> = all_groups.into_iter().collect();
                (
                    direct,
                    self.assigned_set(ResourceKind::Group, &all_groups).await?,
                )
            }
        };
        let managers: Vec<String> = sources
            .values()
            .flatten()
            .filter_map(manager_of)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let manager_shadows = self.shadow_map(ResourceKind::User, &managers).await?;
        let target_ids = |source_id: &str| -> Option<String> {
            manager_shadows
                .get(source_id)
                .or_else(|| shadows.get(source_id))
                .filter(|s| linked(s))
                .and_then(|s| s.target_id.clone())
        };
        let mut out = Vec::with_capacity(ids.len());
        for (id, source) in sources {
            let groups = groups_of(&source);
            let assigned = self.app.scope == Scope::All
                || direct.contains(&id)
                || groups.iter().any(|g| via_group.contains(g));
            let stored = shadows.get(&id).cloned();
            let view = stored.as_ref().map(Shadow::from);
            let subject = match &source {
                Some(user) => SourceUser::Present(user),
                None => SourceUser::Deleted,
            };
            let plan = plan_user(
                &self.app,
                subject,
                assigned,
                view.as_ref(),
                now,
                &target_ids,
            );
            let waits_for_manager = source
                .as_ref()
                .and_then(manager_of)
                .filter(|m| target_ids(m).is_none())
                .filter(|_| {
                    plan.deferred
                        .iter()
                        .any(|d| d.contains("not in the target yet"))
                });
            out.push(PreparedUser {
                display: source.as_ref().map(display_of).unwrap_or_default(),
                source_id: id,
                source,
                assigned,
                shadow: stored,
                plan,
                waits_for_manager,
                groups,
            });
        }
        Ok(out)
    }
}

/// The `value`s of a multi-valued reference attribute (`groups`, `members`).
fn string_list_of_values(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.get("value").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}
