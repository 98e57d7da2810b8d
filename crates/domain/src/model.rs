//! The identity model the store keeps: tenants, tokens, resources, memberships, changes.

use jiff::Timestamp;
use serde_json::{Map, Value};

/// The resource types Scimitar serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// The resource type name: `User`, `Group`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The endpoint below the SCIM base: `Users`, `Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    /// The core schema URN.
    pub fn core_schema(self) -> &'static str {
        match self {
            ResourceKind::User => scim_proto::USER_SCHEMA,
            ResourceKind::Group => scim_proto::GROUP_SCHEMA,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("User") {
            Some(ResourceKind::User)
        } else if name.eq_ignore_ascii_case("Group") {
            Some(ResourceKind::Group)
        } else {
            None
        }
    }
}

/// A tenant: an isolated directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created: Timestamp,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    ScimRead,
    ScimWrite,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::ScimRead, Scope::ScimWrite, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ScimRead => "scim:read",
            Scope::ScimWrite => "scim:write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// A token as the store keeps it: its SHA-256 hash, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub hash: [u8; 32],
    pub scopes: Vec<Scope>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    pub revoked: bool,
}

/// One member of a group, as returned in `members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's id.
    pub value: String,
    pub kind: ResourceKind,
    /// The member's displayName (groups) or displayName/userName (users), when it has one.
    pub display: Option<String>,
}

/// A resource as stored. `body` is the SCIM JSON object without `id`, `meta`, `members`
/// (groups) and `groups` (users): those live in columns and membership rows.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    pub id: String,
    pub kind: ResourceKind,
    pub body: Map<String, Value>,
    pub created: Timestamp,
    pub last_modified: Timestamp,
    /// Increases by one on every write; the ETag is `W/"<version>"`.
    pub version: u64,
    /// For groups, when loaded (`Load::members`).
    pub members: Option<Vec<Member>>,
    /// For users, the groups they belong to directly, when loaded (`Load::groups`).
    pub groups: Option<Vec<Member>>,
}

/// Which computed parts of a resource a read should load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Load {
    pub members: bool,
    pub groups: bool,
}

impl Load {
    pub const ALL: Load = Load {
        members: true,
        groups: true,
    };
    pub const NONE: Load = Load {
        members: false,
        groups: false,
    };
}

/// A resource body that passed schema validation (`crate::schema::Registry::validate`). The store
/// accepts only this type, so nothing unvalidated is ever written.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub(crate) kind: ResourceKind,
    pub(crate) body: Map<String, Value>,
    /// For groups: the member ids given in `members`, if the body carried the attribute.
    pub(crate) members: Option<Vec<String>>,
}

impl Validated {
    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }

    pub fn members(&self) -> Option<&[String]> {
        self.members.as_deref()
    }

    fn str_attr(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }

    pub fn user_name(&self) -> Option<&str> {
        self.str_attr("userName")
    }

    pub fn external_id(&self) -> Option<&str> {
        self.str_attr("externalId")
    }

    pub fn display_name(&self) -> Option<&str> {
        self.str_attr("displayName")
    }

    /// The enterprise extension's `employeeNumber` (what inbound provisioning matches on).
    pub fn employee_number(&self) -> Option<&str> {
        self.body
            .get(scim_proto::ENTERPRISE_USER_SCHEMA)
            .and_then(|ext| ext.get("employeeNumber"))
            .and_then(Value::as_str)
    }

    /// Every `emails[].value`, for the email index.
    pub fn email_values(&self) -> Vec<&str> {
        match self.body.get("emails") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|e| e.get("value").and_then(Value::as_str))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// How a write changes a group's membership rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MembersChange {
    /// Leave memberships as they are (all user writes; group writes that do not touch members).
    #[default]
    Keep,
    /// Make the members exactly these ids (POST, PUT, PATCH replace of `members`).
    Set(Vec<String>),
    /// Add and remove these ids; adding a present member or removing an absent one is a no-op.
    Delta {
        add: Vec<String>,
        remove: Vec<String>,
    },
}

/// What a create or replace writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub body: Validated,
    pub members: MembersChange,
}

impl Write {
    /// A write whose memberships are the ones the validated body carried (POST, PUT).
    pub fn whole(body: Validated) -> Self {
        let members = match body.members() {
            Some(ids) => MembersChange::Set(ids.to_vec()),
            None if body.kind() == ResourceKind::Group => MembersChange::Set(Vec::new()),
            None => MembersChange::Keep,
        };
        Write { body, members }
    }
}

/// A list request after parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: Option<scim_filter::Filter>,
    pub sort_by: Option<scim_filter::AttrPath>,
    pub descending: bool,
    /// 1-based, as in SCIM.
    pub start_index: u64,
    pub count: u64,
    /// RFC 9865: `Some("")` asks for cursor paging from the start; `Some(c)` continues after `c`.
    pub cursor: Option<String>,
    pub load: Load,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub total: u64,
    pub resources: Vec<StoredResource>,
    /// With cursor paging: the cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
    /// With cursor paging: the cursor of the previous page, if there is one.
    pub previous_cursor: Option<String>,
}

/// What happened to a resource, as the change log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    Created,
    Updated,
    Deleted,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Created => "created",
            ChangeOp::Updated => "updated",
            ChangeOp::Deleted => "deleted",
        }
    }
}

/// One entry of the change log (the outbox the provisioning engine follows).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub seq: i64,
    pub tenant_id: String,
    pub kind: ResourceKind,
    pub resource_id: String,
    pub op: ChangeOp,
    pub version: u64,
    pub at: Timestamp,
}
