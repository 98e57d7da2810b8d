//! The built-in schemas: User (RFC 7643 §4.1, §8.7.1), the enterprise User extension (§4.3) and
//! Group (§4.2), plus the common attributes every resource has (§3.1) but no schema lists.

use scim_proto::schema::{
    AttributeRepr, AttributeType as T, Mutability, Returned, SchemaRepr, Uniqueness,
};
use scim_proto::{DYNAMIC_GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// An attribute with the RFC 7643 §7 defaults.
fn attr(name: &str, ty: T, description: &str) -> AttributeRepr {
    AttributeRepr {
        name: name.to_owned(),
        ty,
        multi_valued: false,
        description: Some(description.to_owned()),
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        sub_attributes: Vec::new(),
        canonical_values: Vec::new(),
        reference_types: Vec::new(),
    }
}

fn string(name: &str, description: &str) -> AttributeRepr {
    attr(name, T::String, description)
}

/// Builder steps for the tables below.
trait Def: Sized {
    fn multi(self) -> Self;
    fn required(self) -> Self;
    fn case_exact(self) -> Self;
    fn mutability(self, m: Mutability) -> Self;
    fn returned(self, r: Returned) -> Self;
    fn uniqueness(self, u: Uniqueness) -> Self;
    fn subs(self, subs: Vec<AttributeRepr>) -> Self;
    fn canonical(self, values: &[&str]) -> Self;
    fn refs(self, types: &[&str]) -> Self;
}

impl Def for AttributeRepr {
    fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    fn subs(mut self, subs: Vec<AttributeRepr>) -> Self {
        self.sub_attributes = subs;
        self
    }
    fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }
    fn refs(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|v| (*v).to_owned()).collect();
        self
    }
}

/// The `value`/`display`/`type`/`primary` shape most multi-valued attributes share.
fn multi_valued(
    name: &str,
    description: &str,
    value: AttributeRepr,
    types: &[&str],
) -> AttributeRepr {
    attr(name, T::Complex, description).multi().subs(vec![
        value,
        string(
            "display",
            "A human-readable name, primarily used for display purposes.",
        ),
        string("type", "A label indicating the attribute's function.").canonical(types),
        attr(
            "primary",
            T::Boolean,
            "Indicates the 'primary' or preferred attribute value for this attribute.",
        ),
    ])
}

/// `id`, `externalId` and `meta` (RFC 7643 §3.1): on every resource, in no schema.
pub(crate) fn common_attributes() -> Vec<AttributeRepr> {
    let read_only = |a: AttributeRepr| a.mutability(Mutability::ReadOnly);
    vec![
        string(
            "id",
            "Unique identifier for the SCIM resource as defined by the service provider.",
        )
        .case_exact()
        .mutability(Mutability::ReadOnly)
        .returned(Returned::Always)
        .uniqueness(Uniqueness::Server),
        string(
            "externalId",
            "An identifier for the resource as defined by the provisioning client.",
        )
        .case_exact(),
        read_only(attr("meta", T::Complex, "Resource metadata.").subs(vec![
                read_only(
                    string(
                        "resourceType",
                        "The name of the resource type of the resource.",
                    )
                    .case_exact(),
                ),
                read_only(attr("created", T::DateTime, "When the resource was added.")),
                read_only(attr(
                    "lastModified",
                    T::DateTime,
                    "When the resource was last updated.",
                )),
                read_only(
                    attr("location", T::Reference, "The URI of the resource.")
                        .case_exact()
                        .refs(&["uri"]),
                ),
                read_only(string("version", "The version (ETag) of the resource.").case_exact()),
            ])),
    ]
}

pub(crate) fn user() -> SchemaRepr {
    let sub = string;
    SchemaRepr {
        id: USER_SCHEMA.to_owned(),
        name: Some("User".to_owned()),
        description: Some("User Account".to_owned()),
        meta: None,
        attributes: vec![
            string("userName", "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.")
                .required()
                .uniqueness(Uniqueness::Server),
            attr("name", T::Complex, "The components of the user's real name.").subs(vec![
                sub("formatted", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
                sub("familyName", "The family name of the User, or last name in most Western languages."),
                sub("givenName", "The given name of the User, or first name in most Western languages."),
                sub("middleName", "The middle name(s) of the User."),
                sub("honorificPrefix", "The honorific prefix(es) of the User, or title in most Western languages."),
                sub("honorificSuffix", "The honorific suffix(es) of the User, or suffix in most Western languages."),
            ]),
            string("displayName", "The name of the User, suitable for display to end-users."),
            string("nickName", "The casual way to address the user in real life."),
            attr("profileUrl", T::Reference, "A fully qualified URL pointing to a page representing the User's online profile.")
                .refs(&["external"]),
            string("title", "The user's title, such as \"Vice President\"."),
            string("userType", "Used to identify the relationship between the organization and the user."),
            string("preferredLanguage", "Indicates the User's preferred written or spoken language."),
            string("locale", "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
            string("timezone", "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
            attr("active", T::Boolean, "A Boolean value indicating the User's administrative status."),
            string("password", "The User's cleartext password.")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
            multi_valued("emails", "Email addresses for the user.",
                string("value", "Email address for the user."), &["work", "home", "other"]),
            multi_valued("phoneNumbers", "Phone numbers for the User.",
                string("value", "Phone number of the User."),
                &["work", "home", "mobile", "fax", "pager", "other"]),
            multi_valued("ims", "Instant messaging addresses for the User.",
                string("value", "Instant messaging address for the User."),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
            multi_valued("photos", "URLs of photos of the User.",
                attr("value", T::Reference, "URL of a photo of the User.").refs(&["external"]),
                &["photo", "thumbnail"]),
            attr("addresses", T::Complex, "A physical mailing address for this User.").multi().subs(vec![
                sub("formatted", "The full mailing address, formatted for display or use with a mailing label."),
                sub("streetAddress", "The full street address component."),
                sub("locality", "The city or locality component."),
                sub("region", "The state or region component."),
                sub("postalCode", "The zip code or postal code component."),
                sub("country", "The country name component."),
                sub("type", "A label indicating the attribute's function.").canonical(&["work", "home", "other"]),
                attr("primary", T::Boolean, "Indicates the 'primary' or preferred attribute value for this attribute."),
            ]),
            attr("groups", T::Complex, "A list of groups to which the user belongs.")
                .multi()
                .mutability(Mutability::ReadOnly)
                .subs(vec![
                    sub("value", "The identifier of the User's group.").mutability(Mutability::ReadOnly),
                    attr("$ref", T::Reference, "The URI of the corresponding 'Group' resource.")
                        .refs(&["User", "Group"])
                        .mutability(Mutability::ReadOnly),
                    sub("display", "A human-readable name, primarily used for display purposes.")
                        .mutability(Mutability::ReadOnly),
                    sub("type", "A label indicating the attribute's function.")
                        .canonical(&["direct", "indirect"])
                        .mutability(Mutability::ReadOnly),
                ]),
            multi_valued("entitlements", "A list of entitlements for the User.",
                string("value", "The value of an entitlement."), &[]),
            multi_valued("roles", "A list of roles for the User.",
                string("value", "The value of a role."), &[]),
            multi_valued("x509Certificates", "A list of certificates issued to the User.",
                attr("value", T::Binary, "The value of an X.509 certificate."), &[]),
        ],
    }
}

pub(crate) fn enterprise_user() -> SchemaRepr {
    SchemaRepr {
        id: ENTERPRISE_USER_SCHEMA.to_owned(),
        name: Some("EnterpriseUser".to_owned()),
        description: Some("Enterprise User".to_owned()),
        meta: None,
        attributes: vec![
            string("employeeNumber", "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."),
            string("costCenter", "Identifies the name of a cost center."),
            string("organization", "Identifies the name of an organization."),
            string("division", "Identifies the name of a division."),
            string("department", "Identifies the name of a department."),
            attr("manager", T::Complex, "The User's manager.").subs(vec![
                string("value", "The id of the SCIM resource representing the User's manager."),
                attr("$ref", T::Reference, "The URI of the SCIM resource representing the User's manager.")
                    .refs(&["User"]),
                string("displayName", "The displayName of the User's manager.")
                    .mutability(Mutability::ReadOnly),
            ]),
        ],
    }
}

/// Dynamic groups: a group with a membership rule (Entra's rule syntax) has the users that match
/// it as members, computed by the directory; clients cannot change those members.
pub(crate) fn dynamic_group() -> SchemaRepr {
    SchemaRepr {
        id: DYNAMIC_GROUP_SCHEMA.to_owned(),
        name: Some("DynamicGroup".to_owned()),
        description: Some("Dynamic group membership".to_owned()),
        meta: None,
        attributes: vec![string(
            "membershipRule",
            "A membership rule in Entra ID's syntax, e.g. user.department -eq \"Sales\". When set, the group's members are exactly the users the rule matches, recomputed on every change, and members cannot be added or removed by hand.",
        )
        .case_exact()
        // Suggestions (RFC 7643 §7 "suggested canonical values"), not a closed set: Entra's
        // documented "all users without guests" rule, and all guests.
        .canonical(&[
            "user.objectId -ne null -and user.userType -eq \"Member\"",
            "user.userType -eq \"Guest\"",
        ])],
    }
}

pub(crate) fn group() -> SchemaRepr {
    SchemaRepr {
        id: GROUP_SCHEMA.to_owned(),
        name: Some("Group".to_owned()),
        description: Some("Group".to_owned()),
        meta: None,
        attributes: vec![
            // RFC 7643 makes displayName optional; Entra and Scimitar require it and keep it unique.
            string("displayName", "A human-readable name for the Group.")
                .required()
                .uniqueness(Uniqueness::Server),
            attr("members", T::Complex, "A list of members of the Group.")
                .multi()
                .subs(vec![
                    string("value", "Identifier of the member of this Group.")
                        .mutability(Mutability::Immutable),
                    attr(
                        "$ref",
                        T::Reference,
                        "The URI corresponding to a SCIM resource that is a member of this Group.",
                    )
                    .refs(&["User", "Group"])
                    .mutability(Mutability::Immutable),
                    string(
                        "display",
                        "A human-readable name, primarily used for display purposes.",
                    )
                    .mutability(Mutability::ReadOnly),
                    string(
                        "type",
                        "A label indicating the type of resource, e.g., 'User' or 'Group'.",
                    )
                    .canonical(&["User", "Group"])
                    .mutability(Mutability::Immutable),
                ]),
        ],
    }
}
