//! An inbound source's settings: the one serde type admins write (`[[inbound]]` in the config
//! file, `scimitar import --mapping`), checked into a [`Source`].

use jiff::tz::TimeZone;
use mapping_lang::expr::mapping::{prepare, Apply, Mapping, MappingKind, Prepared};
use serde::{Deserialize, Serialize};

/// The enterprise extension's employee number: where the incoming `externalId` lands by default.
pub const EMPLOYEE_NUMBER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber";

/// The name of the source that always exists (`/api/v1/inbound/bulkUpload`).
pub const DEFAULT_SOURCE: &str = "default";

/// Settings of one inbound source, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// `[a-zA-Z0-9_-]+`; the URL is `/api/v1/inbound/{name}/bulkUpload`.
    pub name: String,
    #[serde(default)]
    pub matching: MatchingSpec,
    /// Directory attribute ← incoming record. Absent: the incoming SCIM attributes pass through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mappings: Option<Vec<InboundMappingSpec>>,
    /// The directory attribute holding the hire date (`YYYY-MM-DD`, or a date-time whose date
    /// counts), e.g. `urn:contoso:employee:HireDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hire_date: Option<String>,
    /// The directory attribute holding the last working day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave_date: Option<String>,
    /// IANA time zone the dates are in.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Most operations per bulkUpload request.
    #[serde(default = "default_max_operations")]
    pub max_operations: usize,
}

/// How an incoming record finds its directory user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchingSpec {
    /// The incoming record's attribute (a SCIM path).
    #[serde(default = "external_id")]
    pub incoming: String,
    /// The directory attribute it equals (a SCIM path, filterable with `eq`).
    #[serde(default = "employee_number")]
    pub directory: String,
}

impl Default for MatchingSpec {
    fn default() -> Self {
        MatchingSpec {
            incoming: external_id(),
            directory: employee_number(),
        }
    }
}

/// One mapping: a directory attribute and where its value comes from in the incoming record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundMappingSpec {
    /// The directory attribute path, e.g. `name.givenName`, `emails[type eq "work"].value`.
    pub target: String,
    /// An incoming attribute copied as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// An expression in Entra's language over the incoming record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<String>,
    /// Written on create when the source is null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

fn utc() -> String {
    "UTC".to_owned()
}
fn default_max_operations() -> usize {
    50
}
fn external_id() -> String {
    "externalId".to_owned()
}
fn employee_number() -> String {
    EMPLOYEE_NUMBER.to_owned()
}

impl SourceSpec {
    /// The default source's settings.
    pub fn default_source() -> SourceSpec {
        SourceSpec::named(DEFAULT_SOURCE)
    }

    /// A source with every setting at its default.
    pub fn named(name: &str) -> SourceSpec {
        SourceSpec {
            name: name.to_owned(),
            matching: MatchingSpec::default(),
            mappings: None,
            hire_date: None,
            leave_date: None,
            time_zone: utc(),
            max_operations: default_max_operations(),
        }
    }

    /// Checks the settings: name, paths, expressions, time zone. The message names the setting.
    pub fn check(&self) -> Result<Source, String> {
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok || self.name == "requests" {
            return Err(format!(
                "inbound source name `{}`: use letters, digits, `-` and `_` (and not `requests`)",
                self.name
            ));
        }
        let ctx = |what: &str, e: String| format!("inbound source `{}`: {what}: {e}", self.name);
        for (what, path) in [
            ("matching.incoming", Some(&self.matching.incoming)),
            ("matching.directory", Some(&self.matching.directory)),
            ("hire_date", self.hire_date.as_ref()),
            ("leave_date", self.leave_date.as_ref()),
        ] {
            if let Some(path) = path {
                scim_filter::parse_path(path)
                    .map_err(|e| ctx(what, format!("`{path}` is not an attribute path: {e}")))?;
            }
        }
        let time_zone = TimeZone::get(&self.time_zone)
            .map_err(|e| ctx("time_zone", format!("`{}`: {e}", self.time_zone)))?;
        if self.max_operations == 0 {
            return Err(ctx("max_operations", "must be at least 1".into()));
        }
        let mappings = match &self.mappings {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|m| {
                        m.build()
                            .map(prepare)
                            .map_err(|e| ctx(&format!("mapping `{}`", m.target), e))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(Source {
            spec: self.clone(),
            mappings,
            time_zone,
        })
    }
}

impl InboundMappingSpec {
    fn build(&self) -> Result<Mapping, String> {
        let kind = MappingKind::from_settings(
            self.source.as_deref(),
            self.expression.as_deref(),
            self.constant.as_deref(),
            self.default.is_some(),
        )?;
        scim_filter::parse_path(&self.target)
            .map_err(|e| format!("`{}` is not an attribute path: {e}", self.target))?;
        Ok(Mapping {
            kind,
            target: self.target.clone(),
            default_if_null: self.default.clone(),
            apply: Apply::Always,
        })
    }
}

/// A checked source.
#[derive(Debug, Clone)]
pub struct Source {
    pub spec: SourceSpec,
    pub mappings: Option<Vec<Prepared>>,
    pub time_zone: TimeZone,
}

impl Source {
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The default source.
    pub fn default_source() -> Source {
        Source {
            spec: SourceSpec::default_source(),
            mappings: None,
            time_zone: TimeZone::UTC,
        }
    }

    /// Whether this source decides effective dates.
    pub fn has_dates(&self) -> bool {
        self.spec.hire_date.is_some() || self.spec.leave_date.is_some()
    }
}
