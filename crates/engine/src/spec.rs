//! An app's settings as users write them — in `[[apps]]` of the config file, in the admin API's
//! JSON, through the CLI — and their check into an [`App`]. One serde type for all three, so the
//! three ways cannot drift apart. Secrets are not part of it (they are sealed separately).

use mapping_lang::expr::mapping::{Apply, Mapping, MappingKind};
use mapping_lang::scoping::{parse_text, Scoping};
use serde::{Deserialize, Serialize};

use crate::app::{default_user_mappings, App, Deprovisioning, Dialect, Scope};

/// How the engine authenticates to the target; the secret itself (token or client secret) is
/// stored sealed beside the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthSpec {
    /// `Authorization: Bearer <secret>`.
    #[default]
    Bearer,
    /// OAuth 2.0 client credentials; the secret is the client secret.
    Oauth {
        token_url: String,
        client_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
}

/// One attribute mapping (spec §2.1): exactly one of `source`, `expression`, `constant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// The target attribute path, e.g. `emails[type eq "work"].value`.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<String>,
    /// Written on create when the source is null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// `always` (default) or `create` ("only during object creation").
    #[serde(default, skip_serializing_if = "is_default")]
    pub apply: ApplySpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ApplySpec {
    #[default]
    Always,
    Create,
}

/// Target quirks as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialectSpec {
    /// Send booleans in PATCH values as `"True"`/`"False"` as Entra does.
    pub booleans_as_strings: bool,
    /// Members per group PATCH operation.
    pub max_members_per_request: usize,
    /// Send the manager as `{"value": id}` (RFC 7643) instead of Entra's plain id string.
    pub manager_as_object: bool,
    /// Remove group members one `members[value eq "id"]` path at a time (RFC 7644), instead of
    /// Entra's `Remove` with a value list.
    pub remove_members_by_path: bool,
    /// Update groups with one `PUT` of the whole group (renames and members) instead of PATCH,
    /// for targets without group PATCH.
    pub groups_by_put: bool,
}

impl Default for DialectSpec {
    fn default() -> Self {
        let d = Dialect::default();
        DialectSpec {
            booleans_as_strings: d.booleans_as_strings,
            max_members_per_request: d.max_members_per_request,
            manager_as_object: d.manager_as_object,
            remove_members_by_path: d.remove_members_by_path,
            groups_by_put: d.groups_by_put,
        }
    }
}

/// When the engine quarantines an app (spec §4.3), counted per cycle window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuarantineSpec {
    /// Failures before the proportion is looked at (Entra: 5,000).
    pub min_failures: u64,
    /// Quarantine when more than this share of actions failed (Entra: 0.4).
    pub failure_proportion: f64,
    /// Quarantine at this many failures whatever the proportion (Entra: 40,000).
    pub max_failures: u64,
}

impl Default for QuarantineSpec {
    fn default() -> Self {
        QuarantineSpec {
            min_failures: 5_000,
            failure_proportion: 0.4,
            max_failures: 40_000,
        }
    }
}

/// An app's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// The target's SCIM base URL, e.g. `https://app.example.com/scim/v2`.
    pub url: String,
    #[serde(default)]
    pub auth: AuthSpec,
    /// `assigned` (default) or `all`.
    #[serde(default, with = "scope_serde")]
    pub scope: Scope,
    /// Provision groups and their memberships.
    #[serde(default = "yes")]
    pub provision_groups: bool,
    /// Target attributes to match existing accounts on, in precedence order.
    #[serde(default = "default_matching")]
    pub matching: Vec<String>,
    /// User mappings; absent: Entra's default SCIM mapping (spec §2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mappings: Option<Vec<MappingSpec>>,
    /// Scoping filters in their text form (`[department] EQUALS "Sales" OR …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoping: Option<String>,
    /// `disable` (default) or `delete`.
    #[serde(default, with = "deprovisioning_serde")]
    pub deprovisioning: Deprovisioning,
    #[serde(default)]
    pub skip_out_of_scope_deletions: bool,
    /// Deletes and disables allowed per cycle before they are held; 0 turns the guard off.
    #[serde(default = "default_threshold")]
    pub deletion_threshold: usize,
    /// Minutes between full reconciliations (and the length of a cycle window).
    #[serde(default = "default_interval")]
    pub reconcile_minutes: u64,
    /// Correct accounts changed by hand in the target when reconciliation finds them.
    #[serde(default)]
    pub correct_drift: bool,
    /// Requests in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Requests per second; absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
    #[serde(default)]
    pub dialect: DialectSpec,
    #[serde(default)]
    pub quarantine: QuarantineSpec,
}

fn yes() -> bool {
    true
}
fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}
fn default_matching() -> Vec<String> {
    vec!["userName".to_owned()]
}
fn default_threshold() -> usize {
    500
}
fn default_interval() -> u64 {
    40
}
fn default_concurrency() -> usize {
    8
}

impl AppSpec {
    /// A spec with every setting at its default, for `url`.
    pub fn new(url: &str) -> AppSpec {
        AppSpec {
            url: url.to_owned(),
            auth: AuthSpec::Bearer,
            scope: Scope::Assigned,
            provision_groups: true,
            matching: default_matching(),
            mappings: None,
            scoping: None,
            deprovisioning: Deprovisioning::Disable,
            skip_out_of_scope_deletions: false,
            deletion_threshold: default_threshold(),
            reconcile_minutes: default_interval(),
            correct_drift: false,
            concurrency: default_concurrency(),
            rate_limit: None,
            dialect: DialectSpec::default(),
            quarantine: QuarantineSpec::default(),
        }
    }

    /// Checks every part and builds the engine's [`App`]; the error names the part and what is
    /// wrong with it.
    pub fn build(&self) -> Result<App, String> {
        let url = self.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "url `{url}` is not an http(s) URL; give the target's SCIM base, e.g. \
                 https://app.example.com/scim/v2"
            ));
        }
        if self.matching.is_empty() {
            return Err("matching needs at least one target attribute, e.g. [\"userName\"]".into());
        }
        if self.concurrency == 0 {
            return Err("concurrency must be at least 1".into());
        }
        if self.rate_limit.is_some_and(|r| r.is_nan() || r <= 0.0) {
            return Err("rate_limit must be a positive number of requests per second".into());
        }
        if self.reconcile_minutes == 0 {
            return Err("reconcile_minutes must be at least 1".into());
        }
        let mappings = match &self.mappings {
            None => default_user_mappings()
                .map_err(|e| format!("the default mappings do not parse: {e}"))?,
            Some(specs) => specs
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    m.build()
                        .map_err(|e| format!("mapping {} (`{}`): {e}", i + 1, m.target))
                })
                .collect::<Result<_, _>>()?,
        };
        let mut app = App::new(mappings);
        for attr in &self.matching {
            if !app
                .user_mappings
                .iter()
                .any(|m| m.mapping.target.eq_ignore_ascii_case(attr))
            {
                return Err(format!(
                    "matching attribute `{attr}` is not the target of any mapping; map a source \
                     attribute to it"
                ));
            }
        }
        app.matching.clone_from(&self.matching);
        app.scope = self.scope;
        if let Some(text) = self.scoping.as_deref().filter(|t| !t.trim().is_empty()) {
            let filters = parse_text(text).map_err(|e| format!("scoping: {e}"))?;
            app.scoping = Scoping::new(&filters).map_err(|e| format!("scoping: {e}"))?;
        }
        app.deprovisioning = self.deprovisioning;
        app.skip_out_of_scope_deletions = self.skip_out_of_scope_deletions;
        app.dialect = Dialect {
            booleans_as_strings: self.dialect.booleans_as_strings,
            max_members_per_request: self.dialect.max_members_per_request.max(1),
            manager_as_object: self.dialect.manager_as_object,
            remove_members_by_path: self.dialect.remove_members_by_path,
            groups_by_put: self.dialect.groups_by_put,
        };
        Ok(app)
    }
}

impl MappingSpec {
    fn build(&self) -> Result<Mapping, String> {
        let kind = MappingKind::from_settings(
            self.source.as_deref(),
            self.expression.as_deref(),
            self.constant.as_deref(),
            self.default.is_some(),
        )?;
        if self.target.trim().is_empty() {
            return Err("the target attribute is empty".to_owned());
        }
        Ok(Mapping {
            kind,
            target: self.target.clone(),
            default_if_null: self.default.clone(),
            apply: match self.apply {
                ApplySpec::Always => Apply::Always,
                ApplySpec::Create => Apply::OnCreateOnly,
            },
        })
    }
}

mod scope_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::app::Scope;

    pub fn serialize<S: Serializer>(scope: &Scope, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match scope {
            Scope::Assigned => "assigned",
            Scope::All => "all",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Scope, D::Error> {
        let text = String::deserialize(d)?;
        match text.to_ascii_lowercase().as_str() {
            "assigned" => Ok(Scope::Assigned),
            "all" => Ok(Scope::All),
            other => Err(serde::de::Error::custom(format!(
                "scope `{other}` is neither `assigned` nor `all`"
            ))),
        }
    }
}

mod deprovisioning_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::app::Deprovisioning;

    pub fn serialize<S: Serializer>(d: &Deprovisioning, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match d {
            Deprovisioning::Disable => "disable",
            Deprovisioning::Delete => "delete",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Deprovisioning, D::Error> {
        let text = String::deserialize(d)?;
        match text.to_ascii_lowercase().as_str() {
            "disable" => Ok(Deprovisioning::Disable),
            "delete" => Ok(Deprovisioning::Delete),
            other => Err(serde::de::Error::custom(format!(
                "deprovisioning `{other}` is neither `disable` nor `delete`"
            ))),
        }
    }
}
