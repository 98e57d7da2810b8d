//! `scimitar bench --languages`: the mapping and rule languages over 100,000 users, on one core.
//!
//! Targets (issue 3): the default SCIM mapping of spec §2.1 plus five expressions over every
//! user in under 1 s; a 20-rule set over every user in under 1 s. The ceiling, measured in the
//! same run, is reading every mapped source attribute of every user once (`source::values`):
//! the data access the mappings cannot avoid.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use mapping_lang::expr::{self, mapping};
use serde_json::{json, Value};

const TARGET: Duration = Duration::from_secs(1);

/// The default Entra → SCIM user mapping (spec §2.1) and five typical expressions.
const MAPPINGS: &[(&str, &str)] = &[
    ("userName", "[userPrincipalName]"),
    ("externalId", "[mailNickname]"),
    (
        "active",
        r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
    ),
    ("displayName", "[displayName]"),
    ("title", "[jobTitle]"),
    (r#"emails[type eq "work"].value"#, "[mail]"),
    ("name.givenName", "[givenName]"),
    ("name.familyName", "[surname]"),
    (r#"phoneNumbers[type eq "work"].value"#, "[telephoneNumber]"),
    (r#"phoneNumbers[type eq "mobile"].value"#, "[mobile]"),
    (
        r#"phoneNumbers[type eq "fax"].value"#,
        "[facsimileTelephoneNumber]",
    ),
    (
        r#"addresses[type eq "work"].streetAddress"#,
        "[streetAddress]",
    ),
    (r#"addresses[type eq "work"].postalCode"#, "[postalCode]"),
    (
        r#"addresses[type eq "other"].formatted"#,
        "[physicalDeliveryOfficeName]",
    ),
    (r#"emails[type eq "other"].value"#, "[proxyAddresses]"),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "[department]",
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "[employeeId]",
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "[manager]",
    ),
    ("nickName", r#"Join(".", [givenName], [surname])"#),
    ("userType", r#"IIF([department]="d1", "Sales", "Other")"#),
    (
        "preferredLanguage",
        r#"ToLower(NormalizeDiacritics(StripSpaces(Join(".", [givenName], [surname]))))"#,
    ),
    (
        "locale",
        r#"Replace([telephoneNumber], , "[()\s-]+", , "", , )"#,
    ),
    (
        "profileUrl",
        r#"Append(Left([surname], 3), Mid([givenName], 1, 2))"#,
    ),
];

const RULES: &[&str] = &[
    r#"user.department -eq "Sales""#,
    r#"(user.department -eq "Sales") -or (user.department -eq "Marketing")"#,
    r#"user.jobTitle -startsWith "SDE" -and user.accountEnabled -eq true"#,
    r#"user.mail -ne null"#,
    r#"user.objectId -ne null -and (user.userType -eq "Member")"#,
    r#"user.city -eq "Seattle""#,
    r#"user.displayName -match "^Da.*""#,
    r#"user.department -in ["d1", "d2", "d3", "d4"]"#,
    r#"user.proxyAddresses -any (_ -startsWith "u1")"#,
    r#"user.userPrincipalName -endsWith "@example.com""#,
    r#"user.jobTitle -contains "engineer""#,
    r#"user.employeeId -ge 50000"#,
    r#"user.extensionAttribute1 -eq "x""#,
    r#"-not (user.department -eq "Sales") -and user.country -eq "US""#,
    r#"user.givenName -notStartsWith "a" -or user.surname -notEndsWith "z""#,
    r#"user.mailNickname -eq "u42""#,
    r#"user.telephoneNumber -startsWith "+1""#,
    r#"user.department -ne "d3" -and user.accountEnabled -eq true"#,
    r#"user.surname -eq "F77" -or user.givenName -eq "Zoë""#,
    r#"Direct Reports for "m7""#,
];

fn user(i: usize) -> Value {
    json!({
        "id": format!("id{i}"),
        "userName": format!("u{i}@example.com"),
        "displayName": format!("David {i}"),
        "name": {"givenName": "Dávid", "familyName": format!("F{i}")},
        "title": if i.is_multiple_of(3) { "Software Engineer" } else { "SDE II" },
        "active": !i.is_multiple_of(50),
        "userType": "Member",
        "emails": [{"value": format!("u{i}@example.com"), "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "+1 (555) 010-0000", "type": "work"}],
        "addresses": [{"type": "work", "locality": "Seattle", "country": "US", "postalCode": "98101"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": format!("d{}", i % 10),
            "employeeNumber": format!("{i}"),
            "manager": {"value": format!("m{}", i % 10)}
        }
    })
}

/// One line of the report.
struct Line {
    name: &'static str,
    took: Duration,
    ceiling: Duration,
}

pub fn run(users: usize) -> anyhow::Result<()> {
    eprintln!("bench: building {users} users");
    let people: Vec<Value> = (0..users).map(user).collect();
    let now = jiff::Timestamp::now();

    let mappings = MAPPINGS
        .iter()
        .map(|(target, text)| {
            let parsed = expr::parse(text).map_err(|e| anyhow::anyhow!("{text}: {e}"))?;
            Ok(mapping::prepare(mapping::Mapping {
                kind: mapping::MappingKind::Expression { expr: parsed },
                target: (*target).to_owned(),
                default_if_null: None,
                apply: mapping::Apply::Always,
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sources = [
        "userPrincipalName",
        "mailNickname",
        "IsSoftDeleted",
        "displayName",
        "jobTitle",
        "mail",
        "givenName",
        "surname",
        "telephoneNumber",
        "mobile",
        "facsimileTelephoneNumber",
        "streetAddress",
        "postalCode",
        "physicalDeliveryOfficeName",
        "proxyAddresses",
        "department",
        "employeeId",
        "manager",
    ]
    .iter()
    .map(|s| mapping_lang::source::resolve(s, None))
    .collect::<Result<Vec<_>, _>>()?;
    let rules = RULES
        .iter()
        .map(|r| group_rules::parse(r).map_err(|e| anyhow::anyhow!("{r}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;

    // One core: everything below runs on this thread.
    let start = Instant::now();
    let mut read = 0usize;
    for u in &people {
        for s in &sources {
            read += mapping_lang::source::values(u, s).len();
        }
    }
    let ceiling = start.elapsed();

    let start = Instant::now();
    let mut written = 0usize;
    for u in &people {
        let ctx = expr::Context::new(u, now);
        for m in &mappings {
            if mapping::evaluate_prepared(m, &ctx, true)
                .map_err(|e| anyhow::anyhow!("{}: {}", m.mapping.target, e.message))?
                .is_some()
            {
                written += 1;
            }
        }
    }
    let mapped = start.elapsed();

    let start = Instant::now();
    let mut members = 0usize;
    for u in &people {
        for r in &rules {
            members += usize::from(r.evaluate(u, now));
        }
    }
    let ruled = start.elapsed();
    anyhow::ensure!(
        read > 0 && written > 0 && members > 0,
        "the benchmark computed nothing"
    );

    let lines = [
        Line {
            name: "mappings: default SCIM mapping + 5 expressions",
            took: mapped,
            ceiling,
        },
        Line {
            name: "rules: 20 membership rules",
            took: ruled,
            ceiling,
        },
    ];
    println!(
        "{:<48} {:>10} {:>22} {:>8} {:>10} result",
        "scenario", "time", "ceiling (read sources)", "ratio", "target"
    );
    let mut met = 0;
    for l in &lines {
        let pass = l.took < TARGET;
        met += usize::from(pass);
        println!(
            "{:<48} {:>8.3} s {:>20.3} s {:>8.2} {:>10} {}",
            l.name,
            l.took.as_secs_f64(),
            l.ceiling.as_secs_f64(),
            l.took.as_secs_f64() / l.ceiling.as_secs_f64().max(1e-9),
            "< 1 s",
            if pass { "PASS" } else { "FAIL" }
        );
    }
    println!(
        "bench: {met} of {} language targets met ({users} users, one core)",
        lines.len()
    );
    let _ = written.checked_add(members).context("overflow")?;
    Ok(())
}
