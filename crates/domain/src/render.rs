//! The full SCIM JSON of a stored resource: the body plus what lives outside it (`id`, `members`,
//! `groups`, `meta`). `project::Projection` then trims it to what the client asked for.

use scim_proto::ENTERPRISE_USER_SCHEMA;
use serde_json::{Map, Value};

use crate::{Member, ResourceKind, StoredResource};

/// Renders `res` with links under `base_url` (the SCIM base, e.g. `https://host/scim/v2`).
///
/// Order: `schemas`, `id`, the body's attributes, `members` / `groups` (when loaded and not
/// empty), `meta`.
///
/// Takes the resource by value: its body moves into the output instead of being copied.
pub fn render(mut res: StoredResource, base_url: &str) -> Map<String, Value> {
    let base = base_url.trim_end_matches('/');
    let mut out = Map::with_capacity(res.body.len() + 4);
    let schemas = match res.body.shift_remove("schemas") {
        Some(schemas @ Value::Array(_)) => schemas,
        _ => Value::Array(vec![Value::from(res.kind.core_schema())]),
    };
    out.insert("schemas".into(), schemas);
    out.insert("id".into(), Value::from(res.id.as_str()));
    for (key, value) in std::mem::take(&mut res.body) {
        if !matches!(
            key.as_str(),
            "schemas" | "id" | "meta" | "members" | "groups"
        ) {
            out.insert(key, value);
        }
    }
    add_manager_ref(&mut out, base);
    match (res.kind, &res.members, &res.groups) {
        (ResourceKind::Group, Some(members), _) if !members.is_empty() => {
            let list = members
                .iter()
                // `display` of a member is left out: clients compare members with what they
                // sent (scim2-tester does), and a name that changes with the user is not theirs.
                .map(|m| member(m, base, m.kind.name(), false))
                .collect();
            out.insert("members".into(), Value::Array(list));
        }
        (ResourceKind::User, _, Some(groups)) if !groups.is_empty() => {
            let list = groups
                .iter()
                .map(|g| member(g, base, "direct", true))
                .collect();
            out.insert("groups".into(), Value::Array(list));
        }
        _ => {}
    }
    let mut meta = Map::new();
    meta.insert("resourceType".into(), Value::from(res.kind.name()));
    meta.insert("created".into(), Value::from(res.created.to_string()));
    meta.insert(
        "lastModified".into(),
        Value::from(res.last_modified.to_string()),
    );
    meta.insert(
        "location".into(),
        Value::from(format!("{base}/{}/{}", res.kind.endpoint(), res.id)),
    );
    meta.insert(
        "version".into(),
        Value::from(format!("W/\"{}\"", res.version)),
    );
    out.insert("meta".into(), Value::Object(meta));
    out
}

fn member(m: &Member, base: &str, ty: &str, with_display: bool) -> Value {
    let mut obj = Map::new();
    obj.insert("value".into(), Value::from(m.value.as_str()));
    obj.insert(
        "$ref".into(),
        Value::from(format!("{base}/{}/{}", m.kind.endpoint(), m.value)),
    );
    if let Some(display) = m.display.as_ref().filter(|_| with_display) {
        obj.insert("display".into(), Value::from(display.as_str()));
    }
    obj.insert("type".into(), Value::from(ty));
    Value::Object(obj)
}

/// Entra wants the RFC's complex `manager` back, `$ref` included (spec §1.3).
fn add_manager_ref(out: &mut Map<String, Value>, base: &str) {
    let Some(Value::Object(manager)) = out
        .get_mut(ENTERPRISE_USER_SCHEMA)
        .and_then(Value::as_object_mut)
        .and_then(|ext| ext.get_mut("manager"))
    else {
        return;
    };
    if manager.contains_key("$ref") {
        return;
    }
    if let Some(Value::String(id)) = manager.get("value") {
        let link = format!("{base}/Users/{id}");
        manager.insert("$ref".into(), Value::from(link));
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use jiff::Timestamp;
    use serde_json::json;

    use super::*;

    fn stored(kind: ResourceKind, body: Value) -> StoredResource {
        StoredResource {
            id: "abc".into(),
            kind,
            body: body.as_object().unwrap().clone(),
            created: "2024-05-01T09:30:00Z".parse::<Timestamp>().unwrap(),
            last_modified: "2024-05-02T10:00:00.5Z".parse::<Timestamp>().unwrap(),
            version: 3,
            members: None,
            groups: None,
        }
    }

    fn show(res: &StoredResource) -> String {
        serde_json::to_string_pretty(&render(res.clone(), "https://h/scim/v2/")).unwrap()
    }

    #[test]
    fn user_with_groups_and_manager() {
        let mut res = stored(
            ResourceKind::User,
            json!({"schemas": [scim_proto::USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "userName": "bjensen",
                   ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "m1"}}}),
        );
        res.groups = Some(vec![Member {
            value: "g1".into(),
            kind: ResourceKind::Group,
            display: Some("Sales".into()),
        }]);
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
              ],
              "id": "abc",
              "userName": "bjensen",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Sales",
                "manager": {
                  "value": "m1",
                  "$ref": "https://h/scim/v2/Users/m1"
                }
              },
              "groups": [
                {
                  "value": "g1",
                  "$ref": "https://h/scim/v2/Groups/g1",
                  "display": "Sales",
                  "type": "direct"
                }
              ],
              "meta": {
                "resourceType": "User",
                "created": "2024-05-01T09:30:00Z",
                "lastModified": "2024-05-02T10:00:00.5Z",
                "location": "https://h/scim/v2/Users/abc",
                "version": "W/\"3\""
              }
            }"#]]
        .assert_eq(&show(&res));
    }

    #[test]
    fn group_with_members() {
        let mut res = stored(
            ResourceKind::Group,
            json!({"schemas": [scim_proto::GROUP_SCHEMA], "displayName": "Sales"}),
        );
        res.members = Some(vec![
            Member {
                value: "u1".into(),
                kind: ResourceKind::User,
                display: Some("Babs".into()),
            },
            Member {
                value: "g2".into(),
                kind: ResourceKind::Group,
                display: None,
            },
        ]);
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group"
              ],
              "id": "abc",
              "displayName": "Sales",
              "members": [
                {
                  "value": "u1",
                  "$ref": "https://h/scim/v2/Users/u1",
                  "type": "User"
                },
                {
                  "value": "g2",
                  "$ref": "https://h/scim/v2/Groups/g2",
                  "type": "Group"
                }
              ],
              "meta": {
                "resourceType": "Group",
                "created": "2024-05-01T09:30:00Z",
                "lastModified": "2024-05-02T10:00:00.5Z",
                "location": "https://h/scim/v2/Groups/abc",
                "version": "W/\"3\""
              }
            }"#]]
        .assert_eq(&show(&res));
        res.members = Some(Vec::new());
        res.body.remove("schemas");
        expect![[r#"
            {
              "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group"
              ],
              "id": "abc",
              "displayName": "Sales",
              "meta": {
                "resourceType": "Group",
                "created": "2024-05-01T09:30:00Z",
                "lastModified": "2024-05-02T10:00:00.5Z",
                "location": "https://h/scim/v2/Groups/abc",
                "version": "W/\"3\""
              }
            }"#]]
        .assert_eq(&show(&res));
    }
}
