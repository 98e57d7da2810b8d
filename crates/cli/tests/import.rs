//! `scimitar import`: a 10,000-row CSV with bad rows, every good row in and every bad row named
//! by its row number; a re-run changes nothing; `--dry-run` writes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_scimitar");
const EMPLOYEE_NUMBER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber";
const DEPARTMENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";

fn scimitar(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("SCIMITAR_LOG", "warn")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Rows 2..=10_001 (the header is row 1); the bad ones and why.
fn csv(rows: usize, department: &str) -> (String, Vec<(usize, &'static str)>) {
    let mut out = format!("externalId,userName,name.givenName,name.familyName,{EMPLOYEE_NUMBER},active,{DEPARTMENT}\n");
    let mut bad = Vec::new();
    for i in 0..rows {
        let row = i + 2;
        let n = format!("E{i:05}");
        match i {
            // No userName: the user cannot be created.
            1_000 => {
                writeln!(out, "{n},,Given{i},Family{i},{n},true,{department}").unwrap();
                bad.push((row, "userName"));
            }
            // One field too few.
            2_000 => {
                writeln!(out, "{n},u{i}@example.com,Given{i},Family{i},{n},true").unwrap();
                bad.push((row, "fields"));
            }
            // No externalId to match on.
            3_000 => {
                writeln!(
                    out,
                    ",u{i}@example.com,Given{i},Family{i},,true,{department}"
                )
                .unwrap();
                bad.push((row, "externalId"));
            }
            // The userName of row 2 (user 0).
            4_000 => {
                writeln!(
                    out,
                    "{n},U0@example.com,Given{i},Family{i},{n},true,{department}"
                )
                .unwrap();
                bad.push((row, "already taken"));
            }
            // Not a boolean.
            5_000 => {
                writeln!(
                    out,
                    "{n},u{i}@example.com,Given{i},Family{i},{n},maybe,{department}"
                )
                .unwrap();
                bad.push((row, "active"));
            }
            _ => {
                // A quoted field with a comma, now and then.
                let family = if i % 7 == 0 {
                    format!("\"Family, {i}\"")
                } else {
                    format!("Family{i}")
                };
                writeln!(
                    out,
                    "{n},u{i}@example.com,Given{i},{family},{n},true,{department}"
                )
                .unwrap();
            }
        }
    }
    (out, bad)
}

#[test]
fn a_10000_row_csv_imports_every_good_row_names_every_bad_row_and_reruns_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = scimitar(&data, &["tenant", "create", "default"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let (body, bad) = csv(10_000, "Sales");
    let file = dir.path().join("people.csv");
    std::fs::write(&file, body).unwrap();
    let file = file.to_str().unwrap();

    let first = scimitar(&data, &["import", file, "--tenant", "default"]);
    let (out, err) = (text(&first.stdout), text(&first.stderr));
    assert!(
        !first.status.success(),
        "bad rows make the exit status non-zero"
    );
    assert!(
        out.contains("created: 9995, updated: 0, unchanged: 0, enabled: 0, disabled: 0, failed: 5 (from 10000 rows)"),
        "{out}\n{err}"
    );
    for (row, reason) in &bad {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("row {row}: ")))
            .unwrap_or_else(|| panic!("row {row} is not named in:\n{err}"));
        assert!(
            line.contains(reason),
            "row {row}: `{line}` does not say `{reason}`"
        );
    }
    assert_eq!(
        err.lines().filter(|l| l.starts_with("row ")).count(),
        bad.len(),
        "{err}"
    );

    // The same file again: nothing changes.
    let again = scimitar(&data, &["import", file, "--tenant", "default"]);
    let out = text(&again.stdout);
    assert!(
        out.contains("created: 0, updated: 0, unchanged: 9995, enabled: 0, disabled: 0, failed: 5"),
        "{out}\n{}",
        text(&again.stderr)
    );

    // A dry run of a changed file reports the updates and writes nothing.
    let (moved, _) = csv(10_000, "Marketing");
    let moved_file = dir.path().join("moved.csv");
    std::fs::write(&moved_file, moved).unwrap();
    let moved_file = moved_file.to_str().unwrap();
    let dry = scimitar(&data, &["import", moved_file, "--dry-run"]);
    let out = text(&dry.stdout);
    assert!(out.contains("dry run, nothing written"), "{out}");
    assert!(
        out.contains("updated: 9995"),
        "{out}\n{}",
        text(&dry.stderr)
    );
    let after = scimitar(&data, &["import", file]);
    assert!(
        text(&after.stdout).contains("unchanged: 9995"),
        "the dry run wrote something: {}",
        text(&after.stdout)
    );
}

#[test]
fn a_mapping_file_maps_columns_with_expressions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(scimitar(&data, &["tenant", "create", "default"])
        .status
        .success());
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        r#"
[[mappings]]
target = "userName"
expression = 'Join("@", ToLower([name.givenName]), "example.com")'

[[mappings]]
target = "displayName"
expression = 'Join(" ", [name.givenName], [name.familyName])'
"#,
    )
    .unwrap();
    let file = dir.path().join("p.csv");
    std::fs::write(
        &file,
        "externalId,name.givenName,name.familyName\n1,Ada,Lovelace\n,Bad,Row\n",
    )
    .unwrap();
    let out = scimitar(
        &data,
        &[
            "import",
            file.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("created: 1,"), "{stdout}\n{stderr}");
    assert!(stderr.contains("row 3: no `externalId`"), "{stderr}");
    let bad_header = dir.path().join("h.csv");
    std::fs::write(&bad_header, "externalId,name..given\n1,x\n").unwrap();
    let out = scimitar(&data, &["import", bad_header.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("column 2 of the header, `name..given`"),
        "{}",
        text(&out.stderr)
    );
}
