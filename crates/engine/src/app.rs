//! An app's provisioning configuration (spec §2.1, §3, §4.6) as plain, already-checked types.

use mapping_lang::expr::mapping::{prepare, Apply, Mapping, MappingKind, Prepared};
use mapping_lang::expr::{parse, ParseError};
use mapping_lang::scoping::Scoping;

/// The enterprise extension's schema URN.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Which users the app considers (spec §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// "Sync only assigned users and groups" (the recommended default).
    #[default]
    Assigned,
    /// "Sync all users and groups".
    All,
}

/// What happens to a user that leaves scope or is disabled in the source (spec §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deprovisioning {
    /// `PATCH active False`.
    #[default]
    Disable,
    /// `DELETE /Users/{id}`.
    Delete,
}

/// How the target wants to be spoken to: Entra's quirks as settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// Booleans in PATCH values as `"True"`/`"False"` strings, as Entra sends them (spec §1.3).
    pub booleans_as_strings: bool,
    /// Members per group PATCH operation.
    pub max_members_per_request: usize,
    /// Send the manager as `{"value": id}` (RFC 7643) instead of Entra's plain id.
    pub manager_as_object: bool,
    /// Remove members with `members[value eq "id"]` paths instead of a value list.
    pub remove_members_by_path: bool,
    /// Update groups (renames, members) with one `PUT` of the whole group instead of PATCH.
    pub groups_by_put: bool,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            booleans_as_strings: true,
            max_members_per_request: 1_000,
            manager_as_object: false,
            remove_members_by_path: false,
            groups_by_put: false,
        }
    }
}

/// One app's provisioning configuration.
#[derive(Debug, Clone)]
pub struct App {
    /// User attribute mappings, prepared once.
    pub user_mappings: Vec<Prepared>,
    /// Target attributes to match existing accounts on, in matching precedence order.
    pub matching: Vec<String>,
    pub scope: Scope,
    pub scoping: Scoping,
    pub deprovisioning: Deprovisioning,
    /// Leave users that leave scope untouched (spec §4.6 `SkipOutOfScopeDeletions`).
    pub skip_out_of_scope_deletions: bool,
    /// Send `Remove` for attributes whose mapped value became null. Entra does not provision
    /// nulls, so off by default.
    pub clear_nulls: bool,
    pub dialect: Dialect,
}

impl App {
    /// An app with `mappings`, matching on `userName`, and every other setting at Entra's
    /// default.
    pub fn new(mappings: Vec<Mapping>) -> App {
        App {
            user_mappings: mappings.into_iter().map(prepare).collect(),
            matching: vec!["userName".to_owned()],
            scope: Scope::default(),
            scoping: Scoping::default(),
            deprovisioning: Deprovisioning::default(),
            skip_out_of_scope_deletions: false,
            clear_nulls: false,
            dialect: Dialect::default(),
        }
    }

    /// An app with [`default_user_mappings`].
    pub fn with_default_mappings() -> Result<App, ParseError> {
        Ok(App::new(default_user_mappings()?))
    }
}

/// The expression Entra maps to `active` by default (spec §2.1).
pub const ACTIVE_EXPRESSION: &str =
    r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#;

fn direct(source: &str, target: &str) -> Mapping {
    Mapping {
        kind: MappingKind::Direct {
            source: source.to_owned(),
        },
        target: target.to_owned(),
        default_if_null: None,
        apply: Apply::Always,
    }
}

/// Entra's default user mapping to a SCIM app (spec §2.1, SCIM-TUT), in its documented order.
pub fn default_user_mappings() -> Result<Vec<Mapping>, ParseError> {
    let active = Mapping {
        kind: MappingKind::Expression {
            expr: parse(ACTIVE_EXPRESSION)?,
        },
        target: "active".to_owned(),
        default_if_null: None,
        apply: Apply::Always,
    };
    let ent = |attr: &str| format!("{ENTERPRISE}:{attr}");
    Ok(vec![
        direct("userPrincipalName", "userName"),
        direct("mailNickname", "externalId"),
        active,
        direct("displayName", "displayName"),
        direct("jobTitle", "title"),
        direct("mail", r#"emails[type eq "work"].value"#),
        direct("givenName", "name.givenName"),
        direct("surname", "name.familyName"),
        direct("telephoneNumber", r#"phoneNumbers[type eq "work"].value"#),
        direct("mobile", r#"phoneNumbers[type eq "mobile"].value"#),
        direct(
            "facsimileTelephoneNumber",
            r#"phoneNumbers[type eq "fax"].value"#,
        ),
        direct(
            "streetAddress",
            r#"addresses[type eq "work"].streetAddress"#,
        ),
        direct("postalCode", r#"addresses[type eq "work"].postalCode"#),
        direct(
            "physicalDeliveryOfficeName",
            r#"addresses[type eq "other"].formatted"#,
        ),
        direct("proxyAddresses", r#"emails[type eq "other"].value"#),
        direct("department", &ent("department")),
        direct("employeeId", &ent("employeeNumber")),
        direct("manager", &ent("manager")),
    ])
}
