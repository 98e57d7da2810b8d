//! End-to-end tests of the `scimitar` binary: real processes, real sockets, a real data directory.

// Tests are exempt from the no-panic lints (STYLE 8): a panic is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::zombie_processes
)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "cli/browser.rs"]
mod browser;
#[path = "cli/replicas.rs"]
mod replicas;
#[path = "cli/store_copy.rs"]
mod store_copy;

const BIN: &str = env!("CARGO_BIN_EXE_scimitar");

/// A running `scimitar serve` on a free port.
struct Server {
    child: Child,
    base: String,
    stderr: std::sync::mpsc::Receiver<String>,
    /// What it printed before it reported its address.
    startup: Vec<String>,
    reader: std::thread::JoinHandle<()>,
}

impl Server {
    fn start(data: &Path, bootstrap: Option<&str>) -> Server {
        Server::start_with(data, bootstrap, &[], &[])
    }

    /// With more `serve` arguments and environment variables.
    fn start_with(
        data: &Path,
        bootstrap: Option<&str>,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve");
        if !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        cmd.arg("--data-dir")
            .arg(data)
            .args(args)
            .envs(envs.iter().copied())
            .env("SCIMITAR_LOG", "info")
            .env_remove("SCIMITAR_BOOTSTRAP_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(t) = bootstrap {
            cmd.env("SCIMITAR_BOOTSTRAP_TOKEN", t);
        }
        let mut child = cmd.spawn().expect("scimitar serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                if let Some(rest) = line.split("SCIM base URL ").nth(1) {
                    let base = rest.split_whitespace().next().unwrap().to_owned();
                    seen.push(line.clone());
                    return Server {
                        child,
                        base,
                        stderr: rx,
                        startup: seen,
                        reader,
                    };
                }
                seen.push(line);
            }
        }
        panic!(
            "scimitar serve did not report its address; stderr:\n{}",
            seen.join("\n")
        );
    }

    /// SIGTERM, then the exit status and everything it printed.
    fn stop(self) -> (std::process::ExitStatus, String) {
        let Server {
            mut child,
            stderr,
            mut startup,
            reader,
            ..
        } = self;
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        // The reader ends at EOF, after the last line the process wrote.
        reader.join().unwrap();
        startup.extend(stderr.try_iter());
        (status, startup.join("\n"))
    }
}

fn cli(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("SCIMITAR_BOOTSTRAP_TOKEN")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn send(
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_loses_nothing_and_shutdown_is_graceful() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some("boot-token"));
    let (status, user) = send(
        reqwest::Method::POST,
        &format!("{}/Users", server.base),
        "boot-token",
        Some(json!({"userName": "kept@example.com", "emails": [{"value": "kept@example.com", "type": "work"}]})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let (status, group) = send(
        reqwest::Method::POST,
        &format!("{}/Groups", server.base),
        "boot-token",
        Some(json!({"displayName": "Kept", "members": [{"value": user["id"]}]})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let (exit, log) = server.stop();
    assert!(exit.success(), "serve exits 0 on SIGTERM: {exit:?}\n{log}");
    assert!(log.contains("shutdown signal received"), "{log}");

    let server = Server::start(dir.path(), Some("boot-token"));
    let (status, again) = send(
        reqwest::Method::GET,
        &format!("{}/Users/{}", server.base, user["id"].as_str().unwrap()),
        "boot-token",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again["userName"], "kept@example.com");
    assert_eq!(again["meta"]["version"], user["meta"]["version"]);
    assert_eq!(again["groups"][0]["value"], group["id"]);
    let (status, g) = send(
        reqwest::Method::GET,
        &format!("{}/Groups/{}", server.base, group["id"].as_str().unwrap()),
        "boot-token",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(g["members"][0]["value"], user["id"]);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn first_start_prints_an_admin_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None);
    let base = server.base.clone();
    let (_, log) = server.stop();
    let token = log
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("scimitar_"))
        .unwrap_or_else(|| panic!("no token printed:\n{log}"))
        .to_owned();
    let _ = base;
    // The second start prints none, and the printed token works.
    let server = Server::start(dir.path(), None);
    let (status, _) = send(
        reqwest::Method::GET,
        &format!("{}/Users", server.base),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, log) = server.stop();
    assert!(
        !log.contains("scimitar_"),
        "a second start must not print a token:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_and_tokens_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    // The store is created by the first command that needs it; `default` by the first serve.
    let server = Server::start(dir.path(), Some("boot"));
    let (ok, out, err) = cli(dir.path(), &["tenant", "create", "acme"]);
    assert!(ok, "{err}");
    assert!(out.contains("acme"));
    let (ok, out, _) = cli(dir.path(), &["tenant", "list"]);
    assert!(ok);
    assert!(out.contains("acme") && out.contains("default"), "{out}");
    let (ok, _, err) = cli(dir.path(), &["tenant", "create", "acme"]);
    assert!(!ok, "a duplicate tenant name is refused");
    assert!(err.contains("acme"), "{err}");

    let (ok, acme_token, err) = cli(dir.path(), &["token", "create", "--tenant", "acme"]);
    assert!(ok, "{err}");
    let acme_token = acme_token.trim().to_owned();
    assert!(acme_token.starts_with("scimitar_") && acme_token.len() > 40);
    let (ok, ro_token, _) = cli(
        dir.path(),
        &[
            "token",
            "create",
            "--tenant",
            "acme",
            "--scope",
            "scim:read",
            "--expires",
            "1d",
        ],
    );
    assert!(ok);
    let ro_token = ro_token.trim().to_owned();
    let (ok, _, err) = cli(
        dir.path(),
        &["token", "create", "--tenant", "acme", "--scope", "root"],
    );
    assert!(!ok && err.contains("unknown scope `root`"), "{err}");
    let (ok, _, err) = cli(dir.path(), &["token", "create", "--tenant", "nope"]);
    assert!(!ok && err.contains("no tenant `nope`"), "{err}");

    // acme writes; default (boot token) sees nothing of it.
    let users = format!("{}/Users", server.base);
    let (status, u) = send(
        reqwest::Method::POST,
        &users,
        &acme_token,
        Some(json!({"userName": "a@acme.test"})),
    )
    .await;
    assert_eq!(status, 201, "{u}");
    let (status, list) = send(reqwest::Method::GET, &users, "boot", None).await;
    assert_eq!((status, list["totalResults"].as_u64()), (200, Some(0)));
    let (status, _) = send(
        reqwest::Method::GET,
        &format!("{users}/{}", u["id"].as_str().unwrap()),
        "boot",
        None,
    )
    .await;
    assert_eq!(status, 404);
    // The read-only token reads but cannot write.
    let (status, list) = send(reqwest::Method::GET, &users, &ro_token, None).await;
    assert_eq!((status, list["totalResults"].as_u64()), (200, Some(1)));
    let (status, _) = send(
        reqwest::Method::POST,
        &users,
        &ro_token,
        Some(json!({"userName": "b@acme.test"})),
    )
    .await;
    assert_eq!(status, 403);

    // Listing shows ids and scopes, never secrets; revoking takes effect on the running server.
    let (ok, listing, _) = cli(dir.path(), &["token", "list", "--tenant", "acme"]);
    assert!(ok);
    assert!(!listing.contains(&acme_token) && !listing.contains(&ro_token));
    let ro_line = listing
        .lines()
        .find(|l| l.contains("\tscim:read\t"))
        .expect("read-only token listed");
    let ro_id = ro_line.split('\t').next().unwrap();
    let (ok, _, err) = cli(dir.path(), &["token", "revoke", "--tenant", "acme", ro_id]);
    assert!(ok, "{err}");
    // The server reuses a token check for up to 2 s (token_cache_seconds): the revocation
    // made by this other process shows within that.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = send(reqwest::Method::GET, &users, &ro_token, None).await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            Instant::now() < deadline,
            "a revoked token still works after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = send(reqwest::Method::GET, &users, &acme_token, None).await;
    assert_eq!(
        status, 200,
        "the other token of the tenant still works (rotation)"
    );
    let (ok, _, _) = cli(
        dir.path(),
        &["token", "revoke", "--tenant", "default", ro_id],
    );
    assert!(!ok, "a token is revoked only through its own tenant");
    server.stop();
}

#[test]
fn help_explains_the_commands() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "tenant", "token", "schema", "bench"] {
        assert!(text.contains(word), "--help mentions {word}:\n{text}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--listen",
        "--data-dir",
        "--database",
        "--config",
        "SCIMITAR_LISTEN",
    ] {
        assert!(text.contains(word), "serve --help mentions {word}:\n{text}");
    }
}

#[test]
fn a_bad_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scimitar.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nlisten_port = 3\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("scimitar.toml is not a valid configuration") && err.contains("listen_port"),
        "{err}"
    );
}

fn run_lang(args: &[&str], user: &Value) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user.json");
    std::fs::write(&path, user.to_string()).unwrap();
    let mut full: Vec<&str> = args.to_vec();
    let path_text = path.to_string_lossy().into_owned();
    full.extend(["--user", &path_text]);
    let out = Command::new(BIN).args(&full).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn babs() -> Value {
    json!({"userName": "bjensen@example.com", "name": {"givenName": "Barbara", "familyName": "Jensen"},
           "active": true,
           "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}})
}

/// The `expr eval` contract: one JSON value on stdout; errors with a caret on stderr.
#[test]
fn expr_eval_prints_one_json_value_or_a_located_error() {
    let (ok, out, _) = run_lang(
        &["expr", "eval", r#"Join(".", [givenName], [surname])"#],
        &babs(),
    );
    assert!(ok);
    assert_eq!(out.trim(), r#""Barbara.Jensen""#);
    let (ok, out, _) = run_lang(&["expr", "eval", r#"Split("a,b", ",")"#], &babs());
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!(["a", "b"])
    );
    let (ok, out, _) = run_lang(&["expr", "eval", "[nickName]"], &babs());
    assert!(ok);
    assert_eq!(out.trim(), "null");

    let (ok, out, err) = run_lang(&["expr", "eval", r#"Join(" ", [givenName]"#], &babs());
    assert!(!ok && out.is_empty());
    assert!(err.contains("expected `)`"), "{err}");
    let caret_line = err.lines().last().unwrap();
    assert_eq!(
        caret_line.find('^'),
        Some(2 + r#"Join(" ", [givenName]"#.len()),
        "{err}"
    );
    let (ok, _, err) = run_lang(&["expr", "eval", r#"join(" ", [givenName])"#], &babs());
    assert!(!ok && err.contains("did you mean `Join`"), "{err}");
}

/// The `rule test` contract: `true` or `false`, `--explain` says why; errors with a caret.
#[test]
fn rule_test_prints_the_decision_and_its_reasons() {
    let (ok, out, _) = run_lang(&["rule", "test", r#"user.department -eq "sales""#], &babs());
    assert!(ok);
    assert_eq!(out.trim(), "true");
    let (ok, out, _) = run_lang(
        &[
            "rule",
            "test",
            r#"user.department -eq "Marketing""#,
            "--explain",
        ],
        &babs(),
    );
    assert!(ok);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("false"));
    assert!(out.contains("\"Sales\""), "{out}");
    let (ok, out, err) = run_lang(&["rule", "test", "user.department -eq"], &babs());
    assert!(!ok && out.is_empty());
    assert!(
        err.contains("expected a value") && err.lines().last().unwrap().contains('^'),
        "{err}"
    );
}

/// `--tenant` checks attribute names against the tenant's extension schemas too.
#[test]
fn expr_eval_knows_the_tenants_extension_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = cli(dir.path(), &["tenant", "create", "acme"]);
    assert!(ok, "{err}");
    let schema = dir.path().join("acme.json");
    std::fs::write(
        &schema,
        r#"{"id": "urn:ietf:params:scim:schemas:extension:acme:2.0:User", "name": "Acme",
            "attributes": [{"name": "badge", "type": "string"}]}"#,
    )
    .unwrap();
    let (ok, _, err) = cli(
        dir.path(),
        &[
            "schema",
            "add",
            "--tenant",
            "acme",
            schema.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let user = json!({"userName": "a@x", "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"badge": "B1"}});
    let path = dir.path().join("user.json");
    std::fs::write(&path, user.to_string()).unwrap();
    let expression = "[urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge]";
    let (ok, out, err) = cli(
        dir.path(),
        &[
            "expr",
            "eval",
            expression,
            "--user",
            path.to_str().unwrap(),
            "--tenant",
            "acme",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), r#""B1""#);
    let (ok, _, err) = cli(
        dir.path(),
        &["expr", "eval", expression, "--user", path.to_str().unwrap()],
    );
    assert!(
        !ok && err.contains("unknown attribute"),
        "without --tenant only the built-in schemas: {err}"
    );
}

/// `scimitar app …` against `server` with `token`.
fn app_cli(server: &Server, token: &str, args: &[&str]) -> (bool, String, String) {
    admin_cli(server, token, "app", args)
}

/// `scimitar COMMAND …`, a client of `server`'s admin API, with `token`.
fn admin_cli(server: &Server, token: &str, command: &str, args: &[&str]) -> (bool, String, String) {
    let base = server.base.trim_end_matches("/scim/v2").to_owned();
    let out = Command::new(BIN)
        .arg(command)
        .args(args)
        .env("SCIMITAR_URL", base)
        .env("SCIMITAR_TOKEN", token)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const APPS_CONFIG: &str = r#"
[[apps]]
name = "crm"
url = "http://127.0.0.1:9/scim/v2"
token_env = "CRM_TOKEN"
scope = "all"
deletion_threshold = 10

[[apps.mappings]]
target = "userName"
source = "userPrincipalName"

[[apps.mappings]]
target = "active"
expression = "Not([IsSoftDeleted])"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn apps_of_the_config_file_are_created_at_start_and_managed_with_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scimitar.toml");
    std::fs::write(&config, APPS_CONFIG).unwrap();
    let server = Server::start_with(
        dir.path(),
        Some("boot-token"),
        &["--config", config.to_str().unwrap()],
        &[("CRM_TOKEN", "crm-secret-token")],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (ok, out, err) = app_cli(&server, "boot-token", &["list"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("crm") && out.contains("http://127.0.0.1:9/scim/v2"),
        "{out}"
    );

    let (ok, out, err) = app_cli(&server, "boot-token", &["show", "crm"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("scope:           all") && out.contains("credentials:     set"),
        "{out}"
    );
    assert!(!out.contains("crm-secret-token"), "{out}");
    let (ok, out, err) = app_cli(&server, "boot-token", &["show", "crm", "--json"]);
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["mappings"][0]["target"], json!("userName"));

    let (ok, out, err) = app_cli(
        &server,
        "boot-token",
        &[
            "create",
            "wiki",
            "--url",
            "http://127.0.0.1:9/scim/v2",
            "--token",
            "t",
            "--disabled",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("app `wiki` created"), "{out}");
    let (ok, out, err) = app_cli(&server, "boot-token", &["plan", "wiki"]);
    assert!(ok, "{err}");
    assert!(out.contains("operations"), "{out}");
    let (ok, _, err) = app_cli(
        &server,
        "boot-token",
        &["assign", "wiki", "--user", "nobody"],
    );
    assert!(!ok);
    assert!(err.contains("nobody") && err.contains("404"), "{err}");
    let (status, ada) = send(
        reqwest::Method::POST,
        &format!("{}/Users", server.base),
        "boot-token",
        Some(json!({"userName": "ada@example.com"})),
    )
    .await;
    assert_eq!(status, 201);
    let ada = ada["id"].as_str().unwrap();
    let (ok, out, err) = app_cli(&server, "boot-token", &["explain", "wiki", "--user", ada]);
    assert!(ok, "{err}");
    assert!(
        out.contains("not assigned") && out.contains("out of scope"),
        "{out}"
    );
    server.stop();

    // The next start finds the app unchanged and the key in place.
    let server = Server::start_with(
        dir.path(),
        Some("boot-token"),
        &["--config", config.to_str().unwrap()],
        &[("CRM_TOKEN", "crm-secret-token")],
    );
    let (ok, out, _) = app_cli(&server, "boot-token", &["list"]);
    assert!(ok && out.contains("crm") && out.contains("wiki"), "{out}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn app_create_with_a_bad_url_prints_the_validation_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some("boot-token"));
    let (ok, _, err) = app_cli(
        &server,
        "boot-token",
        &["create", "bad", "--url", "ftp://x"],
    );
    assert!(!ok);
    assert!(
        err.contains("not an http(s) URL") && err.contains("400"),
        "{err}"
    );
    let (ok, _, err) = app_cli(&server, "wrong-token", &["list"]);
    assert!(!ok);
    assert!(
        err.contains("SCIMITAR_TOKEN") && err.contains("admin scope"),
        "{err}"
    );
    server.stop();
}

#[test]
fn an_invalid_app_in_the_config_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scimitar.toml");
    std::fs::write(
        &config,
        "[[apps]]\nname = \"crm\"\nurl = \"crm.example.com\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("app `crm`") && err.contains("not an http(s) URL"),
        "{err}"
    );

    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("SCIMITAR_SECRET_KEY", "c2hvcnQ=")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SCIMITAR_SECRET_KEY") && err.contains("32 bytes"),
        "{err}"
    );
}

#[test]
fn app_help_explains_the_subcommands() {
    let out = Command::new(BIN).args(["app", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "create",
        "list",
        "show",
        "assign",
        "plan",
        "provision",
        "logs",
        "restart",
        "approve-deletions",
        "test",
        "explain",
        "SCIMITAR_URL",
        "SCIMITAR_TOKEN",
    ] {
        assert!(text.contains(word), "app --help mentions {word}:\n{text}");
    }
}

#[test]
fn app_test_help_says_what_the_test_sends() {
    let out = Command::new(BIN)
        .args(["app", "test", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for words in [
        "/ServiceProviderConfig",
        "scimitar-probe-<hex>@probe.invalid",
        "deleted even when",
        "exit 1",
        "--json",
    ] {
        assert!(
            text.contains(words),
            "app test --help mentions {words}:\n{text}"
        );
    }
}

/// `scimitar app test` against the server's own SCIM API (the app provisions the tenant into
/// itself), then against a port nobody listens on.
#[tokio::test(flavor = "multi_thread")]
async fn app_test_prints_each_step_and_fails_for_an_unreachable_target() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some("boot-token"));
    let (ok, _, err) = app_cli(
        &server,
        "boot-token",
        &[
            "create",
            "self",
            "--url",
            &server.base,
            "--token",
            "boot-token",
            "--disabled",
        ],
    );
    assert!(ok, "{err}");

    let (ok, out, err) = app_cli(&server, "boot-token", &["test", "self"]);
    assert!(ok, "{out}\n{err}");
    for line in [
        "✓ serviceProviderConfig",
        "✓ resourceTypes",
        "✓ schemas",
        "✓ createUser",
        "✓ readUser",
        "✓ filterUsers",
        "✓ deleteUser",
        "cleanup: the probe user scimitar-probe-",
        "PATCH            yes",
        "filter           yes (at most 1000 results)",
        "authentication   Bearer token",
        "resource types   User, Group",
        "connection test passed",
    ] {
        assert!(out.contains(line), "`{line}` in:\n{out}");
    }
    let create = out.lines().find(|l| l.contains("createUser")).unwrap();
    assert!(
        create.contains(" 201 ") && create.contains(" ms  POST /Users"),
        "{create}"
    );
    assert!(!out.contains('✗') && !out.contains("boot-token"), "{out}");
    assert_eq!(total_users(&server.base, "boot-token").await, 0);

    let (ok, out, err) = app_cli(&server, "boot-token", &["test", "self", "--json"]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], json!(true));
    assert_eq!(report["cleanup"], json!("deleted"));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let offline = format!("http://127.0.0.1:{port}/scim/v2");
    let (ok, _, err) = app_cli(
        &server,
        "boot-token",
        &["create", "offline", "--url", &offline, "--disabled"],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = app_cli(&server, "boot-token", &["test", "offline"]);
    assert!(!ok, "{out}");
    let create = out.lines().find(|l| l.contains("createUser")).unwrap();
    assert!(create.contains("✗") && create.contains("   - "), "{out}");
    assert!(out.contains("could not connect"), "{out}");
    assert!(out.contains("cleanup: nothing to delete"), "{out}");
    assert!(out.contains("connection test FAILED"), "{out}");
    assert!(
        err.contains("failed at createUser: could not connect"),
        "{err}"
    );

    let (ok, _, err) = app_cli(&server, "boot-token", &["test", "nope"]);
    assert!(!ok);
    assert!(err.contains("nope") && err.contains("404"), "{err}");
    server.stop();
}

/// `value` with `server`'s origin (in `meta.location` and `$ref`) replaced, to compare what two
/// servers on different ports answer.
fn portable(value: &Value, server: &Server) -> Value {
    let origin = server.base.trim_end_matches("/scim/v2");
    serde_json::from_str(&value.to_string().replace(origin, "http://scimitar")).unwrap()
}

/// `kill -9`: no graceful shutdown, as a crash.
fn kill_hard(server: Server) {
    let Server { mut child, .. } = server;
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Users in a tenant, by `totalResults`.
async fn total_users(base: &str, token: &str) -> u64 {
    let (status, list) = send(
        reqwest::Method::GET,
        &format!("{base}/Users?count=0"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    list["totalResults"].as_u64().unwrap()
}

/// An app provisions the `default` tenant into tenant `target` of the same server; the process
/// is killed (SIGKILL) in the middle of the initial cycle and started again: every user ends
/// up in the target exactly once, no action failed (a repeated create would be a 409), and
/// `scimitar app watch` follows the rest of the cycle to "in sync".
#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_cycle_converges_without_duplicates() {
    const USERS: usize = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path(), Some("boot-token"));
    let port = first
        .base
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let (ok, _, err) = cli(dir.path(), &["tenant", "create", "target"]);
    assert!(ok, "{err}");
    let (ok, target_token, err) = cli(dir.path(), &["token", "create", "--tenant", "target"]);
    assert!(ok, "{err}");
    let target_token = target_token.trim().to_owned();
    for chunk in 0..USERS / 500 {
        let ops: Vec<Value> = (0..500)
            .map(|i| {
                let n = chunk * 500 + i;
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{n}"),
                       "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                "userName": format!("crash{n}@example.com"), "active": true}})
            })
            .collect();
        let (status, body) = send(
            reqwest::Method::POST,
            &format!("{}/Bulk", first.base),
            "boot-token",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    first.stop();

    let config = dir.path().join("scimitar.toml");
    std::fs::write(
        &config,
        format!(
            "[[apps]]\nname = \"mirror\"\nurl = \"http://127.0.0.1:{port}/scim/v2\"\n\
             token_env = \"MIRROR_TOKEN\"\nscope = \"all\"\nprovision_groups = false\n\
             [apps.dialect]\nbooleans_as_strings = false\n"
        ),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{port}");
    let args = [
        "--listen",
        listen.as_str(),
        "--config",
        config.to_str().unwrap(),
    ];
    let envs = [("MIRROR_TOKEN", target_token.as_str())];
    let second = Server::start_with(dir.path(), Some("boot-token"), &args, &envs);
    // Kill it once part of the cycle is done.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = total_users(&second.base, &target_token).await;
        if done >= 300 {
            assert!(
                done < USERS as u64,
                "the cycle finished before the kill; use more users"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the initial cycle did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill_hard(second);

    let third = Server::start_with(dir.path(), Some("boot-token"), &args, &envs);
    let (ok, out, err) = app_cli(&third, "boot-token", &["watch", "mirror", "--every", "0.2"]);
    assert!(ok, "watch: {out}\n{err}");
    assert!(out.contains("in sync"), "{out}");
    assert_eq!(total_users(&third.base, &target_token).await, USERS as u64);
    let api = third.base.trim_end_matches("/scim/v2").to_owned();
    let (status, failures) = send(
        reqwest::Method::GET,
        &format!("{api}/api/v1/apps/mirror/logs?status=failure"),
        "boot-token",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(failures.as_array().map(Vec::len), Some(0), "{failures}");
    let (_, app) = send(
        reqwest::Method::GET,
        &format!("{api}/api/v1/apps/mirror"),
        "boot-token",
        None,
    )
    .await;
    assert_eq!(app["status"]["counts"]["usersActive"], USERS, "{app}");
    third.stop();
}

/// `scimitar group …` against `server` with `token`.
fn group_cli(server: &Server, token: &str, args: &[&str]) -> (bool, String, String) {
    admin_cli(server, token, "group", args)
}

/// A dynamic group from the CLI: preview, create, explain, change the rule, and a bad rule named
/// with its position (spec §6).
#[tokio::test(flavor = "multi_thread")]
async fn dynamic_groups_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some("boot-token"));
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let mut ids = Vec::new();
    for (name, dept) in [("ann", "Sales"), ("bob", "Marketing"), ("cid", "Sales")] {
        let (status, user) = send(
            reqwest::Method::POST,
            &format!("{}/Users", server.base),
            "boot-token",
            Some(json!({"userName": name, enterprise: {"department": dept}})),
        )
        .await;
        assert_eq!(status, 201, "{user}");
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let rule = r#"user.department -eq "Sales""#;

    let (ok, out, err) = group_cli(&server, "boot-token", &["preview", rule]);
    assert!(ok, "{err}");
    assert!(out.contains("2 of 3 users match"), "{out}");

    let (ok, out, err) = group_cli(&server, "boot-token", &["create", "Sales", "--rule", rule]);
    assert!(ok, "{err}");
    assert!(out.contains("members    2"), "{out}");
    let gid = out
        .lines()
        .next()
        .and_then(|l| l.rsplit('(').next())
        .map(|s| s.trim_end_matches(')').to_owned())
        .unwrap();

    let (ok, out, err) = group_cli(
        &server,
        "boot-token",
        &["explain", &ids[1], "--group", &gid],
    );
    assert!(ok, "{err}");
    assert!(out.contains("does not match"), "{out}");
    assert!(out.contains(r#""Marketing" → false"#), "{out}");

    let (ok, out, err) = group_cli(
        &server,
        "boot-token",
        &["preview", "user.department -ne null", "--group", &gid],
    );
    assert!(ok, "{err}");
    assert!(out.contains("would add 1 and remove 0"), "{out}");
    assert!(out.contains("bob"), "{out}");

    let (ok, out, err) = group_cli(
        &server,
        "boot-token",
        &["set-rule", &gid, "user.department -ne null"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("members    3"), "{out}");

    let (ok, _, err) = group_cli(
        &server,
        "boot-token",
        &["set-rule", &gid, "user.department -eq"],
    );
    assert!(!ok);
    assert!(
        err.contains("membershipRule") && err.contains("at 19"),
        "{err}"
    );
    server.stop();
}

/// Polls `url` (a SCIM list) until `check` holds for its first resource, returning how long it took.
async fn until_first(url: &str, token: &str, check: impl Fn(Option<&Value>) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let (status, list) = send(reqwest::Method::GET, url, token, None).await;
        assert_eq!(status, 200, "{list}");
        if check(list["Resources"].get(0)) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never reached the wanted state: {list}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The whole joiner-mover-leaver chain in one real `scimitar serve`: an HR system's bulkUpload
/// (spec §5's exact payload) → the directory → a dynamic group (spec §6) → the app the group is
/// assigned to (here another tenant of the same server over real SCIM HTTP). The hire appears in
/// the target; the spec's update record (department changed, `active: false`) disables them.
/// The latencies (bulkUpload accepted → the target's account) are printed.
#[tokio::test(flavor = "multi_thread")]
async fn hr_to_directory_to_dynamic_group_to_app() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = cli(dir.path(), &["tenant", "create", "target"]);
    assert!(ok, "{err}");
    let (ok, target_token, err) = cli(dir.path(), &["token", "create", "--tenant", "target"]);
    assert!(ok, "{err}");
    let target_token = target_token.trim().to_owned();
    let server = Server::start(dir.path(), Some("boot-token"));
    let root = server.base.trim_end_matches("/scim/v2").to_owned();

    let (status, group) = send(
        reqwest::Method::POST,
        &format!("{root}/api/v1/groups"),
        "boot-token",
        Some(json!({"displayName": "Tour Operations",
                    "rule": "user.department -eq \"Tour Operations\""})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let (status, app) = send(
        reqwest::Method::POST,
        &format!("{root}/api/v1/apps"),
        "boot-token",
        Some(
            json!({"name": "crm", "url": server.base, "token": target_token,
                    "scope": "assigned", "rate_limit": 1000.0}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{app}");
    let (status, body) = send(
        reqwest::Method::POST,
        &format!("{root}/api/v1/apps/crm/assignments"),
        "boot-token",
        Some(json!({"type": "Group", "id": group["groupId"]})),
    )
    .await;
    assert!(status < 300, "{body}");

    // Spec §5, request shape: the new hire.
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let hire = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{
            "method": "POST", "bulkId": "701984", "path": "/Users",
            "data": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", enterprise],
                "externalId": "701984", "userName": "bjensen@example.com",
                "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen",
                         "givenName": "Barbara", "middleName": "Jane",
                         "honorificPrefix": "Ms.", "honorificSuffix": "III"},
                "displayName": "Babs Jensen", "nickName": "Babs",
                "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
                "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza",
                               "locality": "Hollywood", "region": "CA", "postalCode": "91608",
                               "country": "USA",
                               "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
                               "primary": true}],
                "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
                "userType": "Employee", "title": "Tour Guide", "preferredLanguage": "en-US",
                "locale": "en-US", "timezone": "America/Los_Angeles", "active": true,
                enterprise: {
                    "employeeNumber": "701984", "costCenter": "4130",
                    "organization": "Universal Studios", "division": "Theme Park",
                    "department": "Tour Operations",
                    "manager": {"value": "89607", "displayName": "John Smith"}
                }
            }
        }],
        "failOnErrors": null
    });
    let upload = format!("{root}/api/v1/inbound/bulkUpload");
    let target_users = format!(
        "{}/Users?filter=userName%20eq%20%22bjensen%40example.com%22",
        server.base
    );
    let (status, accepted) = send(reqwest::Method::POST, &upload, "boot-token", Some(hire)).await;
    assert_eq!(status, 202, "{accepted}");
    let joiner = until_first(&target_users, &target_token, |u| {
        u.is_some_and(|u| u["active"] == json!(true))
    })
    .await;

    // Spec §5, update example: a partial record, department changed and `active: false`.
    let leave = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "bulkId": "7172023", "path": "/Users",
            "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", enterprise],
                     "externalId": "701984", "active": false,
                     enterprise: {"department": "Tour Ops"}}}]
    });
    let (status, accepted) = send(reqwest::Method::POST, &upload, "boot-token", Some(leave)).await;
    assert_eq!(status, 202, "{accepted}");
    let leaver = until_first(&target_users, &target_token, |u| {
        u.is_some_and(|u| u["active"] == json!(false))
    })
    .await;
    eprintln!("HR → app latency: joiner {joiner:?}, leaver {leaver:?}");

    // The directory kept the partial record's other attributes, and the group lost her.
    let (_, list) = send(
        reqwest::Method::GET,
        &format!(
            "{}/Users?filter=userName%20eq%20%22bjensen%40example.com%22",
            server.base
        ),
        "boot-token",
        None,
    )
    .await;
    let babs = &list["Resources"][0];
    assert_eq!(babs["displayName"], "Babs Jensen");
    assert_eq!(babs[enterprise]["department"], "Tour Ops");
    assert_eq!(babs["active"], false);
    let (_, g) = send(
        reqwest::Method::GET,
        &format!(
            "{}/Groups/{}",
            server.base,
            group["groupId"].as_str().unwrap()
        ),
        "boot-token",
        None,
    )
    .await;
    assert!(g.get("members").is_none_or(|m| m == &json!([])), "{g}");
    server.stop();
}
