//! Records → directory users: the spec §5 payload, matching, manager resolution, partial
//! records, `active: false`, failures, the provisioning log, and resuming after a restart.

use domain::inbound::{log_app_id, Outcome, StagedRequest};
use domain::{Clock, LogQuery, LogStatus};
use inbound::{Inbound, InboundConfig, SourceSpec, Sources};
use serde_json::{json, Value};

use crate::support::*;

/// The request of spec §5 ("Request shape [doc BULK]"), as documented.
pub fn spec5_payload() -> Value {
    serde_json::from_str(
        r#"{ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
  "Operations": [
    { "method": "POST", "bulkId": "701984", "path": "/Users",
      "data": { "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "701984", "userName": "bjensen@example.com",
                "name": {"formatted": "...", "familyName": "Jensen", "givenName": "Barbara",
                         "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
                "displayName": "Babs Jensen", "nickName": "Babs",
                "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
                "addresses": [{"type": "work", "streetAddress": "...", "locality": "Hollywood",
                               "region": "CA", "postalCode": "91608", "country": "USA",
                               "formatted": "...", "primary": true}],
                "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
                "userType": "Employee", "title": "Tour Guide", "preferredLanguage": "en-US",
                "locale": "en-US", "timezone": "America/Los_Angeles", "active": true,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
                    "division": "Theme Park", "department": "Tour Operations",
                    "manager": {"value": "89607", "displayName": "John Smith"} } } } ],
  "failOnErrors": null }"#,
    )
    .unwrap()
}

fn manager_record() -> Value {
    json!({
        "externalId": "89607",
        "userName": "jsmith@example.com",
        "displayName": "John Smith",
        "active": true,
    })
}

#[tokio::test]
async fn the_spec_section_5_payload_creates_the_user_and_resolves_the_manager() {
    let w = world(vec![]).await;
    // The manager first, so that the spec §5 record's manager (externalId 89607) resolves.
    let first = w
        .upload("default", bulk(vec![op("m", manager_record())]))
        .await;
    assert_eq!(outcomes(&first), [Outcome::Created]);
    let manager = w.by_employee_number("89607").await.unwrap();

    let results = w.upload("default", spec5_payload()).await;
    assert_eq!(outcomes(&results), [Outcome::Created], "{results:?}");
    assert_eq!(results[0].bulk_id.as_deref(), Some("701984"));
    assert_eq!(results[0].external_id.as_deref(), Some("701984"));
    let user = w.by_employee_number("701984").await.unwrap();
    assert_eq!(results[0].user_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(user.body["userName"], "bjensen@example.com");
    assert_eq!(user.body["name"]["givenName"], "Barbara");
    assert_eq!(user.body["active"], true);
    let ext = &user.body[ENTERPRISE];
    assert_eq!(ext["department"], "Tour Operations");
    assert_eq!(ext["manager"]["value"], manager.id.as_str());

    // Sent again: nothing changes.
    let again = w.upload("default", spec5_payload()).await;
    assert_eq!(outcomes(&again), [Outcome::Unchanged]);
}

#[tokio::test]
async fn an_unknown_manager_is_left_out_with_a_note() {
    let w = world(vec![]).await;
    let results = w.upload("default", spec5_payload()).await;
    assert_eq!(outcomes(&results), [Outcome::Created]);
    assert!(results[0].error.as_deref().unwrap().contains("89607"));
    let user = w.by_employee_number("701984").await.unwrap();
    assert!(user.body[ENTERPRISE].get("manager").is_none());
}

#[tokio::test]
async fn a_partial_record_updates_only_what_it_carries_and_active_false_disables() {
    let w = world(vec![]).await;
    w.upload("default", spec5_payload()).await;
    // Spec §5's update example.
    let update = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "701984",
        "active": false,
        ENTERPRISE: {"department": "Tour Ops"},
    });
    let results = w.upload("default", bulk(vec![op("7172023", update)])).await;
    assert_eq!(outcomes(&results), [Outcome::Disabled]);
    let user = w.by_employee_number("701984").await.unwrap();
    assert_eq!(user.body["active"], false);
    assert_eq!(user.body[ENTERPRISE]["department"], "Tour Ops");
    // What the record did not carry is as it was.
    assert_eq!(user.body[ENTERPRISE]["costCenter"], "4130");
    assert_eq!(user.body["title"], "Tour Guide");
    assert_eq!(user.body["name"]["familyName"], "Jensen");

    let title = json!({"externalId": "701984", "title": "Senior Tour Guide"});
    let results = w.upload("default", bulk(vec![op("t", title)])).await;
    assert_eq!(outcomes(&results), [Outcome::Updated]);
    let enable = json!({"externalId": "701984", "active": true});
    let results = w.upload("default", bulk(vec![op("e", enable)])).await;
    assert_eq!(outcomes(&results), [Outcome::Enabled]);
}

#[tokio::test]
async fn a_failed_record_fails_alone_and_every_result_is_in_the_provisioning_log() {
    let w = world(vec![]).await;
    let ops = vec![
        op(
            "1",
            json!({"externalId": "1", "userName": "one@example.com"}),
        ),
        // No userName: a create cannot be validated.
        op("2", json!({"externalId": "2", "displayName": "Nameless"})),
        // The userName of record 1: uniqueness.
        op(
            "3",
            json!({"externalId": "3", "userName": "ONE@example.com"}),
        ),
        op(
            "4",
            json!({"externalId": "4", "userName": "four@example.com"}),
        ),
    ];
    let results = w.upload("default", bulk(ops)).await;
    assert_eq!(
        outcomes(&results),
        [
            Outcome::Created,
            Outcome::Failed,
            Outcome::Failed,
            Outcome::Created
        ]
    );
    assert!(
        results[1].error.as_deref().unwrap().contains("userName"),
        "{results:?}"
    );
    assert!(
        results[2]
            .error
            .as_deref()
            .unwrap()
            .contains("already taken"),
        "{results:?}"
    );
    assert!(w.by_employee_number("2").await.is_none());
    assert!(w.by_employee_number("3").await.is_none());

    let logs = w
        .store
        .logs(&LogQuery {
            app_id: log_app_id(&w.tenant, "default"),
            limit: 100,
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(logs.len(), 4);
    let failures = logs
        .iter()
        .filter(|l| l.status == LogStatus::Failure)
        .count();
    assert_eq!(failures, 2);
    assert!(logs
        .iter()
        .any(|l| l.action == "create" && l.details["bulkId"] == "4"));
}

#[tokio::test]
async fn a_named_source_maps_with_expressions_and_matches_on_its_own_attribute() {
    let mut spec = SourceSpec::named("workday");
    spec.matching.incoming = "externalId".into();
    spec.matching.directory = "externalId".into();
    spec.mappings = Some(vec![
        serde_json::from_value(json!({"target": "externalId", "source": "externalId"})).unwrap(),
        serde_json::from_value(json!({
            "target": "userName",
            "expression": "Join(\"@\", ToLower([name.givenName]), \"example.com\")"
        }))
        .unwrap(),
        serde_json::from_value(json!({"target": "displayName", "expression": "Join(\" \", [name.givenName], [name.familyName])"})).unwrap(),
        serde_json::from_value(json!({"target": "userType", "constant": "Employee"})).unwrap(),
    ]);
    let w = world(vec![spec]).await;
    let data = json!({"externalId": "W-1", "name": {"givenName": "Ada", "familyName": "Lovelace"}});
    let results = w.upload("workday", bulk(vec![op("1", data.clone())])).await;
    assert_eq!(outcomes(&results), [Outcome::Created], "{results:?}");
    let user = w
        .store
        .get(
            &w.tenant,
            domain::ResourceKind::User,
            results[0].user_id.as_deref().unwrap(),
            domain::Load::NONE,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.body["userName"], "ada@example.com");
    assert_eq!(user.body["displayName"], "Ada Lovelace");
    assert_eq!(user.body["userType"], "Employee");
    assert_eq!(user.body["externalId"], "W-1");
    // Mapped attributes only: the incoming `name` did not pass through.
    assert!(user.body.get("name").is_none());
    let again = w.upload("workday", bulk(vec![op("1", data)])).await;
    assert_eq!(outcomes(&again), [Outcome::Unchanged]);
}

#[tokio::test]
async fn staged_requests_are_processed_after_a_restart() {
    let w = world(vec![]).await;
    let body = bulk(vec![
        op(
            "1",
            json!({"externalId": "1", "userName": "one@example.com"}),
        ),
        op(
            "2",
            json!({"externalId": "2", "userName": "two@example.com"}),
        ),
    ]);
    let source = w.inbound.sources().find("default").unwrap();
    let records = inbound::record::parse_bulk(body, &source, &|_| true).unwrap();
    let request = StagedRequest {
        id: "r1".into(),
        tenant_id: w.tenant.clone(),
        source: "default".into(),
        received: w.clock.now(),
        records,
    };
    w.inbound.stage(&request).await.unwrap();
    // The processor that staged it goes away before processing; a new one finds the work.
    let restarted = Inbound::new(
        std::sync::Arc::clone(&w.store),
        w.clock.clone(),
        Sources::new(vec![]),
        InboundConfig::default(),
    )
    .await
    .unwrap();
    assert_eq!(restarted.backlog(), 2);
    assert_eq!(restarted.step().await.unwrap(), 2);
    assert_eq!(restarted.backlog(), 0);
    assert_eq!(restarted.step().await.unwrap(), 0);
    let (summary, results) = w
        .store
        .inbound_request(&w.tenant, "r1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((summary.total, summary.processed), (2, 2));
    assert_eq!(outcomes(&results), [Outcome::Created, Outcome::Created]);
}

#[test]
fn bad_bulk_requests_are_refused_naming_the_operation() {
    let source = inbound::Source::default_source();
    let check = |body: Value| {
        inbound::record::parse_bulk(body, &source, &|uri| uri.starts_with("urn:ietf"))
            .unwrap_err()
            .to_string()
    };
    let too_many: Vec<Value> = (0..51)
        .map(|i| op(&i.to_string(), json!({"externalId": i.to_string()})))
        .collect();
    assert!(check(bulk(too_many)).contains("51 operations; at most 50"));
    let wrong_schema = json!({"schemas": ["urn:example:Bulk"], "Operations": []});
    assert!(check(wrong_schema).contains("unknown schema `urn:example:Bulk`"));
    let mut patch = op("b7", json!({"externalId": "7"}));
    patch["method"] = json!("PATCH");
    let msg = check(bulk(vec![op("ok", json!({"externalId": "1"})), patch]));
    assert!(
        msg.contains("operation 1 (bulkId `b7`): method `PATCH`"),
        "{msg}"
    );
    let mut groups = op("g", json!({"externalId": "7"}));
    groups["path"] = json!("/Groups");
    assert!(check(bulk(vec![groups])).contains("path `/Groups`"));
    let no_key = op("k", json!({"userName": "x"}));
    assert!(check(bulk(vec![no_key])).contains("has no `externalId`"));
    let odd_data_schema = op(
        "s",
        json!({"externalId": "1", "schemas": ["urn:contoso:x"]}),
    );
    assert!(check(bulk(vec![odd_data_schema])).contains("unknown schema \"urn:contoso:x\""));
}

#[tokio::test]
async fn records_of_one_request_that_depend_on_each_other_apply_in_order() {
    let w = world(vec![]).await;
    let results = w
        .upload(
            "default",
            bulk(vec![
                op(
                    "boss",
                    json!({"externalId": "B", "userName": "boss@example.com"}),
                ),
                op(
                    "report",
                    json!({"externalId": "R", "userName": "r@example.com",
                                    ENTERPRISE: {"manager": {"value": "B"}}}),
                ),
                op("again", json!({"externalId": "R", "title": "Engineer"})),
            ]),
        )
        .await;
    assert_eq!(
        outcomes(&results),
        [Outcome::Created, Outcome::Created, Outcome::Updated],
        "{results:?}"
    );
    let report = w.by_employee_number("R").await.unwrap();
    assert_eq!(
        report.body[ENTERPRISE]["manager"]["value"],
        results[0].user_id.clone().unwrap().as_str()
    );
    assert_eq!(report.body["title"], "Engineer");
}

#[tokio::test]
async fn two_requests_carrying_the_same_people_at_once_create_each_person_once() {
    let w = world(vec![]).await;
    let source = w.inbound.sources().find("default").unwrap();
    // Different userNames: a race would create two users with one employee number.
    for (id, name) in [("r1", "p"), ("r2", "q")] {
        let ops = (0..20)
            .map(|i| {
                op(
                    &i.to_string(),
                    json!({"externalId": format!("P{i}"), "userName": format!("{name}{i}@example.com")}),
                )
            })
            .collect();
        let records = inbound::record::parse_bulk(bulk(ops), &source, &|_| true).unwrap();
        let request = StagedRequest {
            id: id.into(),
            tenant_id: w.tenant.clone(),
            source: "default".into(),
            received: w.clock.now(),
            records,
        };
        w.inbound.stage(&request).await.unwrap();
    }
    // Both requests in one step, processed concurrently.
    assert_eq!(w.inbound.step().await.unwrap(), 40);
    for i in 0..20 {
        assert!(w.by_employee_number(&format!("P{i}")).await.is_some());
    }
    let mut all = Vec::new();
    for id in ["r1", "r2"] {
        let (_, results) = w
            .store
            .inbound_request(&w.tenant, id)
            .await
            .unwrap()
            .unwrap();
        all.extend(results.iter().map(|r| r.outcome));
    }
    let created = all.iter().filter(|o| **o == Outcome::Created).count();
    let updated = all.iter().filter(|o| **o == Outcome::Updated).count();
    assert_eq!((created, updated), (20, 20), "{all:?}");
}
