//! Users and groups as every backend stores them: a row before its JSON is parsed, the view of
//! it a filter sees, the indexed columns a body derives, and the checks a write passes before
//! any statement runs.

use serde_json::{json, Map, Value};

use crate::model::{Load, Member, MembersChange, ResourceKind, StoredResource, Validated, Write};
use crate::storage::encode::{etag, fold, parse_body, ts_from_sql, version_from_sql};
use crate::{Error, Result};

/// A `resources` row before its JSON is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRow {
    pub seq: i64,
    pub id: String,
    pub body: String,
    pub created: i64,
    pub last_modified: i64,
    pub version: i64,
}

impl ResourceRow {
    /// The stored resource; `list` is its members (a group) or groups (a user), if loaded.
    pub fn into_resource(
        self,
        kind: ResourceKind,
        list: Option<Vec<Member>>,
    ) -> Result<StoredResource> {
        let (members, groups) = split_list(kind, list);
        Ok(StoredResource {
            body: parse_body(&self.id, &self.body)?,
            id: self.id,
            kind,
            created: ts_from_sql(self.created)?,
            last_modified: ts_from_sql(self.last_modified)?,
            version: version_from_sql(self.version)?,
            members,
            groups,
        })
    }

    /// The resource as a SCIM client sees it, as far as filters and sorting can look; `list`,
    /// its members or groups, when the query reads them (`lookup::reads_list`).
    pub fn view(&self, kind: ResourceKind, list: Option<Vec<Member>>) -> Result<Value> {
        let mut object: Map<String, Value> = parse_body(&self.id, &self.body)?;
        object.insert("id".into(), Value::String(self.id.clone()));
        object.insert(
            "meta".into(),
            json!({
                "resourceType": kind.name(),
                "created": ts_from_sql(self.created)?.to_string(),
                "lastModified": ts_from_sql(self.last_modified)?.to_string(),
                "version": format!("W/\"{}\"", self.version),
            }),
        );
        if let Some(list) = list {
            let values = list
                .into_iter()
                .map(|m| json!({"value": m.value, "type": m.kind.name(), "display": m.display}))
                .collect();
            object.insert(list_name(kind).into(), Value::Array(values));
        }
        Ok(Value::Object(object))
    }
}

/// The attribute of the references a resource carries beside its body: a group's `members`,
/// a user's `groups`.
pub fn list_name(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Group => "members",
        ResourceKind::User => "groups",
    }
}

/// Whether `load` asks for the list of a resource of `kind`.
pub fn loads_list(kind: ResourceKind, load: Load) -> bool {
    match kind {
        ResourceKind::Group => load.members,
        ResourceKind::User => load.groups,
    }
}

/// A resource's list as `StoredResource` holds it: (members, groups).
pub fn split_list(
    kind: ResourceKind,
    list: Option<Vec<Member>>,
) -> (Option<Vec<Member>>, Option<Vec<Member>>) {
    match kind {
        ResourceKind::Group => (list, None),
        ResourceKind::User => (None, list),
    }
}

/// The indexed columns derived from a validated body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKeys<'a> {
    pub user_name_lc: Option<String>,
    pub external_id: Option<&'a str>,
    pub display_name_lc: Option<String>,
    /// What a member reference shows: displayName, else userName.
    pub display: Option<&'a str>,
    /// Sorted, without duplicates.
    pub emails_lc: Vec<String>,
    pub employee_number_lc: Option<String>,
}

impl<'a> IndexKeys<'a> {
    pub fn of(body: &'a Validated) -> IndexKeys<'a> {
        let mut emails_lc: Vec<String> = body.email_values().into_iter().map(fold).collect();
        emails_lc.sort();
        emails_lc.dedup();
        IndexKeys {
            user_name_lc: body.user_name().map(fold),
            external_id: body.external_id(),
            display_name_lc: body.display_name().map(fold),
            display: body.display_name().or(body.user_name()),
            emails_lc,
            employee_number_lc: body.employee_number().map(fold),
        }
    }
}

/// A write stores a body of the kind it names, and changes members of groups only.
pub fn check_kind(kind: ResourceKind, write: &Write) -> Result<()> {
    if write.body.kind() != kind {
        return Err(Error::InvalidValue(format!(
            "a {} body cannot be stored as a {}",
            write.body.kind().name(),
            kind.name()
        )));
    }
    let touches_members = match &write.members {
        MembersChange::Keep => false,
        MembersChange::Set(ids) => !ids.is_empty(),
        MembersChange::Delta { add, remove } => !add.is_empty() || !remove.is_empty(),
    };
    if kind == ResourceKind::User && touches_members {
        return Err(Error::InvalidValue("a user has no members".into()));
    }
    Ok(())
}

/// The precondition of a replace or delete: the version the client read is still `current`.
pub fn check_version(expected: Option<u64>, current: u64) -> Result<()> {
    match expected {
        Some(expected) if expected != current => Err(Error::PreconditionFailed(format!(
            "version {} is not current (now {})",
            etag(expected),
            etag(current)
        ))),
        _ => Ok(()),
    }
}

/// The error for a resource that is not there.
pub fn not_found(kind: ResourceKind, id: &str) -> Error {
    Error::NotFound(format!("{} `{id}` not found", kind.name()))
}

/// The error for a write whose userName another user has (compared case-insensitively), once
/// the backend has recognised the violated index in its driver's error.
pub fn user_name_taken(body: &Validated) -> Error {
    Error::Uniqueness(format!(
        "userName `{}` is already taken",
        body.user_name().unwrap_or_default()
    ))
}

/// The error for a write whose displayName another group has, as [`user_name_taken`].
pub fn display_name_taken(body: &Validated) -> Error {
    Error::Uniqueness(format!(
        "displayName `{}` is already taken",
        body.display_name().unwrap_or_default()
    ))
}
