//! The SCIM operations themselves, shared by the single-resource endpoints and `/Bulk`:
//! validate → store → (caller renders). Handlers only translate HTTP to these calls.

use std::collections::HashSet;

use domain::dynamic;
use domain::patch::{apply_patch, needs_members, parse_patch};
use domain::schema::{Mode, Registry};
use domain::{
    Error, Load, MembersChange, Query, ResourceKind, Scope, StoredResource, Validated, Write,
};
use scim_filter::{AttrPath, CompValue, CompareOp, Filter, Span};
use scim_proto::schema::Uniqueness;
use serde_json::Value;

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::etag::Preconditions;
use crate::AppState;

/// How often a write without `If-Match` retries after losing a race to another writer.
const WRITE_RETRIES: usize = 5;

/// One request's view: who calls, and their tenant's schemas.
#[derive(Clone)]
pub struct Ctx {
    pub state: AppState,
    pub principal: Principal,
    pub registry: std::sync::Arc<Registry>,
}

impl Ctx {
    pub async fn new(state: &AppState, principal: Principal) -> ApiResult<Ctx> {
        let registry = state.registry(&principal.tenant_id).await?;
        Ok(Ctx {
            state: state.clone(),
            principal,
            registry,
        })
    }

    fn tenant(&self) -> &str {
        &self.principal.tenant_id
    }

    fn now(&self) -> jiff::Timestamp {
        self.state.clock.now()
    }

    pub async fn create(
        &self,
        kind: ResourceKind,
        body: Value,
        load: Load,
    ) -> ApiResult<StoredResource> {
        self.principal.require(Scope::ScimWrite)?;
        let validated = self.registry.validate(kind, body, Mode::Create)?;
        self.check_extension_uniqueness(&validated, None).await?;
        let write = dynamic_write(Write::whole(validated), None)?;
        let dynamic = dynamic::rule_text(write.body.body()).is_some();
        let mut created = self
            .state
            .store
            .create(self.tenant(), write, self.now())
            .await?;
        if dynamic {
            self.recompute(&created.id).await?;
            return self.get(kind, &created.id, load).await;
        }
        self.complete(&mut created, load).await?;
        Ok(created)
    }

    pub async fn get(&self, kind: ResourceKind, id: &str, load: Load) -> ApiResult<StoredResource> {
        self.principal.require(Scope::ScimRead)?;
        self.state
            .store
            .get(self.tenant(), kind, id, load)
            .await?
            .ok_or_else(|| not_found(kind, id).into())
    }

    pub async fn replace(
        &self,
        kind: ResourceKind,
        id: &str,
        body: Value,
        pre: &Preconditions,
        load: Load,
    ) -> ApiResult<StoredResource> {
        self.principal.require(Scope::ScimWrite)?;
        self.update(kind, id, pre, Load::NONE, load, |current| {
            let validated = self
                .registry
                .validate(kind, body.clone(), Mode::Replace(current))?;
            Ok(Some(dynamic_write(Write::whole(validated), None)?))
        })
        .await
    }

    pub async fn patch(
        &self,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        pre: &Preconditions,
        load: Load,
    ) -> ApiResult<StoredResource> {
        self.principal.require(Scope::ScimWrite)?;
        let ops = parse_patch(body)?;
        // A dynamic group's member ops are checked against its current members; a static
        // group's members are read only when a filter needs them (a 100,000-member group!).
        let dynamic_members = kind == ResourceKind::Group
            && touches_members(&ops)
            && self
                .state
                .store
                .dynamic_rule(self.tenant(), id)
                .await?
                .is_some();
        let current_load = Load {
            members: kind == ResourceKind::Group && (needs_members(&ops) || dynamic_members),
            groups: false,
        };
        self.update(kind, id, pre, current_load, load, |current| {
            let mut patched = current.body.clone();
            let members = apply_patch(
                kind,
                &mut patched,
                current.members.as_deref(),
                &ops,
                &self.registry.info(kind),
            )?;
            let validated =
                self.registry
                    .validate(kind, Value::Object(patched), Mode::Replace(current))?;
            if validated.body() == &current.body && members == MembersChange::Keep {
                return Ok(None);
            }
            Ok(Some(dynamic_write(
                Write {
                    body: validated,
                    members,
                },
                Some(current),
            )?))
        })
        .await
    }

    /// Read, edit, write with the version read as the precondition. `edit` returns `None`
    /// when nothing changes (then nothing is written: no new version, nothing for apps to
    /// follow). Without `If-Match`, a lost race with another writer is retried.
    async fn update<F>(
        &self,
        kind: ResourceKind,
        id: &str,
        pre: &Preconditions,
        current_load: Load,
        load: Load,
        mut edit: F,
    ) -> ApiResult<StoredResource>
    where
        F: FnMut(&StoredResource) -> ApiResult<Option<Write>>,
    {
        let mut attempt = 0;
        loop {
            let current = self.get(kind, id, current_load).await?;
            pre.check_write(current.version)?;
            let Some(write) = edit(&current)? else {
                let mut unchanged = current;
                unchanged.members = None;
                self.complete(&mut unchanged, load).await?;
                return Ok(unchanged);
            };
            self.check_extension_uniqueness(&write.body, Some(id))
                .await?;
            let new_rule = dynamic::rule_text(write.body.body());
            let rule_changed = new_rule.is_some() && new_rule != dynamic::rule_text(&current.body);
            let result = self
                .state
                .store
                .replace(
                    self.tenant(),
                    kind,
                    id,
                    write,
                    Some(current.version),
                    self.now(),
                    load,
                )
                .await;
            match result {
                Err(Error::PreconditionFailed(_))
                    if pre.if_match.is_none() && attempt < WRITE_RETRIES =>
                {
                    attempt += 1;
                }
                Ok(_) if rule_changed => {
                    self.recompute(id).await?;
                    return self.get(kind, id, load).await;
                }
                other => return Ok(other?),
            }
        }
    }

    pub async fn delete(&self, kind: ResourceKind, id: &str, pre: &Preconditions) -> ApiResult<()> {
        self.principal.require(Scope::ScimWrite)?;
        let expected = if pre.if_match.is_some() || pre.if_none_match.is_some() {
            let current = self.get(kind, id, Load::NONE).await?;
            pre.check_write(current.version)?;
            Some(current.version)
        } else {
            None
        };
        self.state
            .store
            .delete(self.tenant(), kind, id, expected, self.now())
            .await?;
        Ok(())
    }

    /// Brings a dynamic group's membership up to date with its rule, over all users, before the
    /// write that changed the rule is answered (other writes go on between the steps).
    async fn recompute(&self, group_id: &str) -> ApiResult<()> {
        crate::groups::recompute(
            std::sync::Arc::clone(&self.state.store),
            self.tenant().to_owned(),
            group_id.to_owned(),
            self.now(),
        )
        .await?;
        Ok(())
    }

    /// Tenant extension attributes marked `uniqueness: server|global` are unique among the
    /// tenant's resources of the type (userName and group displayName are the store's own
    /// unique indexes). Checked by query before the write; the extension attributes are not
    /// indexed, so this costs a scan on tenants that declare such attributes.
    async fn check_extension_uniqueness(
        &self,
        v: &Validated,
        own_id: Option<&str>,
    ) -> ApiResult<()> {
        let kind = v.kind();
        for (uri, _) in self.registry.extensions_of(kind) {
            let Some(schema) = self.registry.schema(uri) else {
                continue;
            };
            for attr in &schema.attributes {
                if attr.uniqueness == Uniqueness::None || attr.multi_valued {
                    continue;
                }
                let value = v
                    .body()
                    .get(&schema.id)
                    .and_then(|ext| ext.get(&attr.name))
                    .filter(|x| !x.is_null());
                let Some(value) = value else { continue };
                let literal = match value {
                    Value::String(s) => CompValue::String(s.clone()),
                    Value::Number(n) => CompValue::Number(n.clone()),
                    Value::Bool(b) => CompValue::Bool(*b),
                    _ => continue,
                };
                let path = AttrPath {
                    uri: Some(schema.id.clone()),
                    name: attr.name.clone(),
                    sub: None,
                    span: Span::default(),
                };
                let query = Query {
                    filter: Some(Filter::Compare {
                        attr: path,
                        op: CompareOp::Eq,
                        value: literal,
                        span: Span::default(),
                    }),
                    sort_by: None,
                    descending: false,
                    start_index: 1,
                    count: 2,
                    cursor: None,
                    load: Load::NONE,
                };
                let info = self.registry.info(kind);
                let page = self
                    .state
                    .store
                    .query(self.tenant(), kind, &query, &info)
                    .await?;
                if page.resources.iter().any(|r| Some(r.id.as_str()) != own_id) {
                    return Err(Error::Uniqueness(format!(
                        "{}:{} `{}` is already taken",
                        schema.id, attr.name, value
                    ))
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Loads what a response needs that a write did not return (a new user has no groups).
    async fn complete(&self, res: &mut StoredResource, load: Load) -> ApiResult<()> {
        match res.kind {
            ResourceKind::User if load.groups && res.groups.is_none() => {
                if let Some(full) = self
                    .state
                    .store
                    .get(self.tenant(), res.kind, &res.id, load)
                    .await?
                {
                    res.groups = full.groups;
                }
            }
            ResourceKind::Group if load.members && res.members.is_none() => {
                if let Some(full) = self
                    .state
                    .store
                    .get(self.tenant(), res.kind, &res.id, load)
                    .await?
                {
                    res.members = full.members;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Checks a group write against dynamic membership: the rule must parse, and the members of a
/// dynamic group are the store's to write, read-only to clients. As RFC 7644 §3.5.1 says of
/// read-only values, members given in a POST or PUT body are ignored; a PATCH (`patched` is the
/// group it applies to, with its members loaded) that would change them is a `mutability`
/// error (§3.5.2), while one that changes nothing (removing a member that is not there) is not.
pub fn dynamic_write(write: Write, patched: Option<&StoredResource>) -> ApiResult<Write> {
    if dynamic::rule_of(&write.body)?.is_none() {
        return Ok(write);
    }
    if let Some(current) = patched {
        let now: HashSet<&str> = current
            .members
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|m| m.value.as_str())
            .collect();
        let changes = match &write.members {
            MembersChange::Keep => false,
            MembersChange::Set(ids) => {
                ids.iter().map(String::as_str).collect::<HashSet<_>>() != now
            }
            MembersChange::Delta { add, remove } => {
                add.iter().any(|id| !now.contains(id.as_str()))
                    || remove.iter().any(|id| now.contains(id.as_str()))
            }
        };
        if changes {
            return Err(Error::Mutability(format!(
                "the members of dynamic group `{}` are computed from its membershipRule \
                 ({}:membershipRule) and cannot be added or removed; change the rule instead",
                write.body.display_name().unwrap_or_default(),
                dynamic::DYNAMIC_GROUP_SCHEMA
            ))
            .into());
        }
    }
    Ok(Write {
        members: MembersChange::Keep,
        ..write
    })
}

/// Whether an operation names `members` (by path, or as a key of a path-less value).
fn touches_members(ops: &[domain::patch::PatchOp]) -> bool {
    ops.iter().any(|op| match &op.path {
        Some(p) => p.attr.name.eq_ignore_ascii_case("members"),
        None => op
            .value
            .as_ref()
            .and_then(Value::as_object)
            .is_some_and(|v| v.keys().any(|k| k.eq_ignore_ascii_case("members"))),
    })
}

pub fn not_found(kind: ResourceKind, id: &str) -> Error {
    Error::NotFound(format!("{} `{id}` not found", kind.name()))
}
