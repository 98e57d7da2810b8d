//! The admin API as the CLI calls it: one bearer token, JSON in and out, and server errors turned
//! into messages with a hint at what to do.

use anyhow::Context as _;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The server the admin commands talk to and the admin token, given before the subcommand or as
/// SCIMITAR_URL and SCIMITAR_TOKEN: `scimitar app --url http://host:8080 --token T list`.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// The Scimitar server (not an app's target).
    #[arg(
        long = "url",
        env = "SCIMITAR_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// An admin-scoped token of the tenant to manage.
    #[arg(long = "token", env = "SCIMITAR_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

impl ServerArgs {
    pub fn client(&self) -> anyhow::Result<Client> {
        Client::new(&self.server, self.admin_token.as_deref())
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub fn new(url: &str, token: Option<&str>) -> anyhow::Result<Client> {
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
            anyhow::anyhow!(
                "no admin token: pass --token before the subcommand (`scimitar app --token T list`) \
                 or set SCIMITAR_TOKEN"
            )
        })?;
        let base = url.trim_end_matches('/');
        let base = base.strip_suffix("/scim/v2").unwrap_or(base);
        Ok(Client {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()?,
            base: format!("{base}/api/v1"),
            token: token.to_owned(),
        })
    }

    /// Sends a request; `Ok(Value::Null)` for an empty success.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        self.send(method, path, body, None).await
    }

    /// As `call`, waiting up to `timeout` instead of the client's two minutes.
    pub async fn call_within(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Value> {
        self.send(method, path, body, Some(timeout)).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        timeout: Option<std::time::Duration>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.with_context(|| {
            format!(
                "cannot reach the server at {}; is `scimitar serve` running? (--url / SCIMITAR_URL)",
                self.base.trim_end_matches("/api/v1")
            )
        })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .context("the server's answer broke off")?;
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        let detail = json.get("detail").and_then(Value::as_str).map_or_else(
            || String::from_utf8_lossy(&bytes).into_owned(),
            str::to_owned,
        );
        anyhow::bail!("{} ({}){}", detail, status.as_u16(), hint(status))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, path, None).await
    }
}

fn hint(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => {
            "\nhint: check --token / SCIMITAR_TOKEN, it needs the admin scope"
        }
        StatusCode::FORBIDDEN => {
            "\nhint: the token lacks the admin scope; create one with `scimitar token create --scope admin`"
        }
        StatusCode::NOT_FOUND => "\nhint: `scimitar app list` shows the apps of the token's tenant",
        StatusCode::CONFLICT => "\nhint: choose another name, or change the app with its settings",
        StatusCode::SERVICE_UNAVAILABLE => {
            "\nhint: the server runs without the provisioning engine"
        }
        _ => "",
    }
}

/// Percent-encodes a path segment or query value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
