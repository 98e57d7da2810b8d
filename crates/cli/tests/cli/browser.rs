//! The web console in a real browser: headless Chromium driven through ChromeDriver against a
//! real `scimitar serve`, provisioning to a real `scim2-server`. Each page visited is saved as
//! a screenshot under `target/ui-screens/`, and checked to hold no script but the console's
//! own (a displayName of `<script>alert(1)</script>` is in the directory throughout).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the
//! test says so and passes, unless `SCIMITAR_REQUIRE_BROWSER=1` (set by `.ci/run`).

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use super::{send, Server};

const TOKEN: &str = "browser-test-admin-token";

/// ChromeDriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    /// Ends ChromeDriver and the Chromium it started (its process group), also when the test
    /// failed before closing the session.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver(program: &PathBuf) -> Driver {
    let port = free_port();
    let child = Command::new(program)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{}/status", driver.url))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

/// A running `scim2-server`, killed on drop.
struct Peer {
    child: Child,
    base: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_peer() -> Peer {
    let home = std::env::var("HOME").unwrap();
    let venv = std::env::var("SCIM_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(home).join(".cache/scim-peers-venv"));
    let bin = venv.join("bin/scim2-server");
    assert!(
        bin.exists(),
        "{} is missing: run .ci/peers-venv",
        bin.display()
    );
    let port = free_port();
    let child = Command::new(&bin)
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let peer = Peer {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{}/ServiceProviderConfig", peer.base)).await {
            if r.status().is_success() {
                return peer;
            }
        }
        assert!(Instant::now() < deadline, "scim2-server did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The users the peer holds, by userName.
async fn peer_users(peer: &Peer) -> Vec<Value> {
    let body: Value = reqwest::get(format!("{}/Users?count=1000", peer.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["Resources"].as_array().cloned().unwrap_or_default()
}

async fn peer_user(peer: &Peer, user_name: &str) -> Option<Value> {
    peer_users(peer)
        .await
        .into_iter()
        .find(|u| u["userName"] == user_name)
}

fn screens_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("ui-screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The browser session and where the console is.
struct Ui {
    client: Client,
    base: String,
    screens: PathBuf,
}

impl Ui {
    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Saves the page as `NAME.png` and checks that it holds no script but the console's own
    /// two files: a directory value rendered as markup would add one.
    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.screens.join(format!("{name}.png")), png).unwrap();
        let scripts = self.client.find_all(Locator::Css("script")).await.unwrap();
        for s in &scripts {
            let src = s.attr("src").await.unwrap().unwrap_or_default();
            assert!(
                src.starts_with("/ui/static/"),
                "page {name} holds a script that is not the console's: src={src:?}"
            );
        }
        let source = self.client.source().await.unwrap();
        assert!(
            !source.contains("<script>alert(1)"),
            "page {name} shows a displayName unescaped"
        );
        // Every visible form control has a label (for screen readers and keyboard users).
        let unlabelled = self
            .client
            .execute(
                r#"return Array.from(document.querySelectorAll("input, select, textarea"))
                    .filter(e => e.type !== "hidden")
                    .filter(e => !e.labels || e.labels.length === 0)
                    .filter(e => !e.getAttribute("aria-label"))
                    .map(e => e.outerHTML);"#,
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            unlabelled,
            json!([]),
            "page {name} has form controls without a label"
        );
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} on {}: {e}", self.base))
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Waits until `css` holds `want` (htmx swaps are asynchronous).
    async fn wait_text(&self, css: &str, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let now = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if now.contains(want) {
                return now;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed {want:?}; last: {now:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Reloads `path` until `css` is on it.
    async fn reload_until(&self, path: &str, css: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            self.goto(path).await;
            if self.client.find(Locator::Css(css)).await.is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "{path} never showed {css}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn create_user(
    server: &Server,
    user_name: &str,
    given: &str,
    family: &str,
    display: &str,
) -> String {
    let (status, body) = send(
        reqwest::Method::POST,
        &format!("{}/Users", server.base),
        TOKEN,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "displayName": display,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"type": "work", "value": user_name}],
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_runs_an_app_from_the_browser() {
    let required = std::env::var("SCIMITAR_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let driver_bin = find_program("SCIMITAR_CHROMEDRIVER", &["/usr/bin/chromedriver"]);
    let chromium = find_program("SCIMITAR_CHROMIUM", &["/usr/bin/chromium"]);
    let (Some(driver_bin), Some(chromium)) = (driver_bin, chromium) else {
        assert!(
            !required,
            "SCIMITAR_REQUIRE_BROWSER=1 but chromium or chromedriver is missing: \
             apt-get install chromium chromium-driver"
        );
        eprintln!("*** browser test NOT RUN: install chromium and chromium-driver");
        return;
    };

    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), Some(TOKEN));
    let peer = start_peer().await;
    let driver = start_driver(&driver_bin).await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1400"],
        }),
    );
    // ChromeDriver is plain HTTP on loopback: no TLS connector.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    let origin = server.base.trim_end_matches("/scim/v2").to_owned();
    let ui = Ui {
        client,
        base: origin.clone(),
        screens: screens_dir(),
    };

    // The directory: Babs, a user whose displayName is markup, and two to delete later.
    let babs = create_user(&server, "babs@example.com", "Babs", "Jensen", "Babs J.").await;
    let xss = create_user(
        &server,
        "xss@example.com",
        "Eve",
        "Hacker",
        "<script>alert(1)</script>",
    )
    .await;
    create_user(&server, "carol@example.com", "Carol", "King", "Carol King").await;
    create_user(&server, "dave@example.com", "Dave", "Lee", "Dave Lee").await;

    // Signing in: every page sends a visitor without a session to the sign-in page.
    ui.goto("/ui/apps").await;
    assert_eq!(ui.path().await, "/ui/login");
    ui.shot("01-sign-in").await;
    ui.fill("#token", "not-a-token").await;
    ui.click("form[action='/ui/login'] button[type=submit]")
        .await;
    ui.wait_text("#login-error", "not valid").await;
    ui.fill("#token", TOKEN).await;
    ui.click("form[action='/ui/login'] button[type=submit]")
        .await;
    ui.find("a[href='/ui/apps/new']").await;
    assert_eq!(ui.path().await, "/ui/apps");
    ui.shot("02-apps-empty").await;

    // An app pointing at the scim2-server, with a deletion threshold of 1, provisioning off.
    ui.goto("/ui/apps/new").await;
    ui.fill("#name", "peer").await;
    ui.fill("#url", &peer.base).await;
    ui.fill("#secret", "peer-token").await;
    ui.find("#scope")
        .await
        .select_by_value("all")
        .await
        .unwrap();
    ui.fill("#deletion_threshold", "1").await;
    ui.shot("03-new-app").await;
    ui.click("form[action='/ui/apps'] button[type=submit]")
        .await;
    ui.find("#test-connection").await;
    assert_eq!(ui.path().await, "/ui/apps/peer/connection");
    ui.shot("04-connection").await;

    // Test connection: discovery, then a probe user created, read, found and deleted.
    ui.click("#test-connection").await;
    assert_eq!(
        ui.wait_text("#probe-result", "connection").await,
        "connection works"
    );
    let probe = ui.text("#probe").await;
    for step in [
        "serviceProviderConfig",
        "createUser",
        "readUser",
        "filterUsers",
        "deleteUser",
    ] {
        assert!(probe.contains(step), "{step} missing: {probe}");
    }
    assert!(probe.contains("was deleted again"), "{probe}");
    assert!(
        peer_users(&peer).await.is_empty(),
        "the probe user was left on the target"
    );
    ui.shot("05-test-connection").await;

    // The mapping editor: displayName becomes an expression, evaluated live against Babs.
    ui.goto("/ui/apps/peer/mappings").await;
    let row = 3;
    assert_eq!(
        ui.find(&format!("#target-{row}"))
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("displayName")
    );
    ui.fill("#eval_user", "babs@example.com").await;
    ui.find(&format!("#kind-{row}"))
        .await
        .select_by_value("expression")
        .await
        .unwrap();
    ui.fill(
        &format!("#value-{row}"),
        r#"Join(" ", [givenName], [surname]"#,
    )
    .await;
    // Unbalanced: the error points at the end of the text.
    let error = ui.wait_text(&format!("#eval-{row}"), "^").await;
    assert!(
        error.contains(r#"Join(" ", [givenName], [surname]"#),
        "{error}"
    );
    ui.shot("06-mapping-error").await;
    ui.find(&format!("#value-{row}"))
        .await
        .send_keys(")")
        .await
        .unwrap();
    ui.wait_text(&format!("#eval-{row}"), "\"Babs Jensen\"")
        .await;
    ui.shot("07-mapping-live").await;
    ui.click("#save-mappings").await;
    ui.wait_text("[role=status]", "Mappings saved").await;
    ui.shot("08-mappings-saved").await;

    // Provision Babs on demand: the step-by-step result, the target has her with the new
    // mapping's value, and her log entry is one click away.
    ui.goto("/ui/apps/peer/provision").await;
    ui.fill("#user", "babs@example.com").await;
    ui.click("#provision").await;
    assert_eq!(ui.text("#provision-outcome").await, "Success");
    ui.shot("09-provisioned").await;
    let at_target = peer_user(&peer, "babs@example.com")
        .await
        .expect("Babs is in the target");
    assert_eq!(at_target["displayName"], "Babs Jensen");
    ui.click("#provision-log").await;
    let entry = ui.text("#log-entry").await;
    assert!(
        entry.contains("success") && entry.contains(&babs),
        "{entry}"
    );
    ui.shot("10-log-entry").await;
    ui.goto("/ui/apps/peer/logs").await;
    ui.find("#logs").await;
    ui.shot("11-logs").await;

    // The plan lists the other three users, the markup one escaped; why is Carol in scope.
    ui.goto("/ui/apps/peer/plan").await;
    let plan = ui.text("#plan").await;
    assert!(
        plan.contains("Carol King") && plan.contains("<script>alert(1)</script>"),
        "{plan}"
    );
    assert!(
        !plan.contains("Babs"),
        "Babs is provisioned already: {plan}"
    );
    ui.shot("12-plan").await;
    ui.goto("/ui/apps/peer/scope").await;
    ui.fill("#explain-user", "carol@example.com").await;
    ui.click("form[action='/ui/apps/peer/explain'] button[type=submit]")
        .await;
    ui.wait_text("#scope-reason", "in scope").await;
    ui.shot("13-scope").await;

    // Provisioning on: everyone reaches the target.
    ui.goto("/ui/apps/peer").await;
    ui.click("form[action='/ui/apps/peer/enabled'] button[type=submit]")
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while peer_users(&peer).await.len() < 4 {
        assert!(
            Instant::now() < deadline,
            "the app did not provision everyone"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ui.reload_until(
        "/ui/apps/peer",
        "svg.chart rect.ok",
        Duration::from_secs(10),
    )
    .await;
    ui.shot("14-overview").await;

    // Two deletions against a threshold of one: held, nothing deleted, until approved.
    for name in ["carol@example.com", "dave@example.com"] {
        let (_, list) = send(
            reqwest::Method::GET,
            &format!("{}/Users?filter=userName%20eq%20%22{name}%22", server.base),
            TOKEN,
            None,
        )
        .await;
        let id = list["Resources"][0]["id"].as_str().unwrap().to_owned();
        let (status, _) = send(
            reqwest::Method::DELETE,
            &format!("{}/Users/{id}", server.base),
            TOKEN,
            None,
        )
        .await;
        assert_eq!(status, 204);
    }
    ui.reload_until(
        "/ui/apps/peer",
        "#approve-deletions",
        Duration::from_secs(30),
    )
    .await;
    ui.shot("15-deletions-held").await;
    // One deletion is within the threshold; whatever makes it two is held, not sent.
    let held = [
        peer_user(&peer, "carol@example.com").await.is_some(),
        peer_user(&peer, "dave@example.com").await.is_some(),
    ];
    assert!(held.contains(&true), "the held deletion was sent");
    ui.click("#approve-deletions").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left: Vec<String> = peer_users(&peer)
            .await
            .iter()
            .filter(|u| u["active"] != false)
            .map(|u| u["userName"].as_str().unwrap_or_default().to_owned())
            .collect();
        if !left
            .iter()
            .any(|n| n.starts_with("carol") || n.starts_with("dave"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the approved deletions were not sent: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ui.reload_until("/ui/apps/peer", "#progress", Duration::from_secs(5))
        .await;
    assert!(ui
        .client
        .find(Locator::Css("#approve-deletions"))
        .await
        .is_err());
    ui.shot("16-deletions-approved").await;

    // The other sections, each with the markup user in the directory.
    for (path, name) in [
        ("/ui/apps", "17-apps"),
        (&format!("/ui/users/{xss}")[..], "18-user-markup"),
        ("/ui/users", "19-users"),
        ("/ui/groups", "20-groups"),
        ("/ui/inbound", "21-inbound"),
        ("/ui/schemas", "21-schemas"),
        ("/ui/tokens", "22-tokens"),
        ("/ui/tenants", "23-tenants"),
    ] {
        ui.goto(path).await;
        ui.find("main h1").await;
        ui.shot(name).await;
    }

    // Signing out ends the session: the console asks to sign in again.
    ui.click("form[action='/ui/logout'] button[type=submit]")
        .await;
    ui.find("#token").await;
    ui.goto("/ui/apps/peer").await;
    assert_eq!(ui.path().await, "/ui/login");

    ui.client.close().await.unwrap();
    drop(driver);
    let (status, _) = server.stop();
    assert!(status.success());
}
