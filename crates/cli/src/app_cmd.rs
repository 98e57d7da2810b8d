//! `scimitar app …`: provisioning apps through a running server's admin API (`/api/v1/apps`).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Map, Value};

use scim_proto::probe::ProbeReport;

use crate::app_client::{enc, ServerArgs};
use crate::app_print::{self as print, at};

/// How long `app test` waits for the server: the test sends up to eight requests to the target,
/// each within the app's request timeout (30 s).
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// `scimitar app [--url U] [--token T] …`.
#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(flatten)]
    pub connection: ServerArgs,
    #[command(subcommand)]
    pub command: AppCmd,
}

#[derive(Debug, Subcommand)]
pub enum AppCmd {
    /// Create an app: a downstream SCIM endpoint users (and groups) are provisioned to.
    ///
    /// Example: scimitar app create slack --url https://api.slack.com/scim/v2 --token-env SLACK_TOKEN
    Create {
        /// The app's name (letters, digits, `-`, `_`, `.`), unique in the tenant.
        name: String,
        /// The target's SCIM base URL, e.g. https://app.example.com/scim/v2.
        #[arg(long)]
        url: String,
        /// The target's bearer token (prefer --token-env: command lines are visible to others).
        #[arg(long, conflicts_with = "token_env")]
        token: Option<String>,
        /// The name of an environment variable holding the target's bearer token.
        #[arg(long)]
        token_env: Option<String>,
        /// Who is provisioned: `assigned` users and groups (default) or `all`.
        #[arg(long)]
        scope: Option<String>,
        /// Further settings (mappings, scoping, deprovisioning, …) from a JSON or TOML file, in
        /// the same form as [[apps]] in the server's configuration file.
        #[arg(long)]
        spec: Option<PathBuf>,
        /// Create the app disabled (nothing is sent until it is enabled).
        #[arg(long)]
        disabled: bool,
    },
    /// List the tenant's apps with their state.
    List {
        /// Print the API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show an app's settings and status (progress of an initial cycle, counts, errors).
    Show {
        name: String,
        /// Print the API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Follow the app with a progress bar while a cycle runs, until it is in sync (exit 0) or
    /// held, quarantined or disabled (exit 1, with the reason).
    Watch {
        name: String,
        /// Seconds between two looks at the status.
        #[arg(long, default_value_t = 0.5)]
        every: f64,
    },
    /// Assign a user or group to the app (or remove the assignment with --remove).
    Assign {
        name: String,
        /// The user's id in the directory.
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        user: Option<String>,
        /// The group's id in the directory.
        #[arg(long)]
        group: Option<String>,
        /// Remove the assignment instead.
        #[arg(long)]
        remove: bool,
    },
    /// Show what a full cycle would send now (a dry run: nothing is sent).
    Plan {
        name: String,
        /// Most operations to list (all are counted).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print the API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Provision one user now and print each step.
    Provision {
        name: String,
        /// The user's id in the directory.
        #[arg(long)]
        user: String,
        /// Print the API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Why a user is (not) in the app's scope, and what the next cycle would send for them.
    /// Nothing is sent.
    Explain {
        name: String,
        /// The user's id in the directory.
        #[arg(long)]
        user: String,
        /// Print the API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the provisioning log, newest first.
    Logs {
        name: String,
        /// Only entries of this user (directory id).
        #[arg(long)]
        user: Option<String>,
        /// Only entries with this status: success, warning, failure, skipped.
        #[arg(long)]
        status: Option<String>,
        /// Only entries at or after this RFC 3339 time, e.g. 2025-03-01T08:00:00Z.
        #[arg(long)]
        since: Option<String>,
        /// Most entries to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print the API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Test the connection to the app's target and show what the target supports; exit 1 if the
    /// test failed.
    ///
    /// Reads the target's discovery endpoints (/ServiceProviderConfig, /ResourceTypes, /Schemas),
    /// then creates an inactive throwaway user `scimitar-probe-<hex>@probe.invalid`, reads it,
    /// finds it with `filter=userName eq "…"` and deletes it again. Each request is printed with
    /// ✓ or ✗, its HTTP status, its duration and, on failure, the target's message.
    ///
    /// The server sends the requests with the app's own URL, credentials, timeout and rate limit,
    /// as provisioning does, one attempt each. A failed discovery request is a warning (the test
    /// goes on); the throwaway user is deleted even when a later step fails, and the output says
    /// whether it was.
    ///
    /// Example: scimitar app test slack
    Test {
        /// The app's name.
        name: String,
        /// Print the API's JSON (the report) instead.
        #[arg(long)]
        json: bool,
    },
    /// Restart the app: a new initial cycle (links to target accounts are kept).
    Restart { name: String },
    /// Let deletions held by the accidental-deletion threshold through.
    ApproveDeletions { name: String },
}

/// Reads a `--spec` file (JSON, or TOML by extension) into a JSON object.
fn read_spec(path: &std::path::Path) -> anyhow::Result<Map<String, Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: Value = if path.extension().is_some_and(|e| e == "toml") {
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        serde_json::to_value(table)?
    } else {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?
    };
    match value {
        Value::Object(m) => Ok(m),
        _ => anyhow::bail!("{} must hold an object of app settings", path.display()),
    }
}

pub async fn run(args: AppArgs) -> anyhow::Result<()> {
    let client = args.connection.client()?;
    match args.command {
        AppCmd::Create {
            name,
            url,
            token,
            token_env,
            scope,
            spec,
            disabled,
        } => {
            let mut body = match &spec {
                Some(path) => read_spec(path)?,
                None => Map::new(),
            };
            body.insert("name".into(), name.clone().into());
            body.insert("url".into(), url.into());
            body.insert("enabled".into(), (!disabled).into());
            if let Some(s) = scope {
                body.insert("scope".into(), s.into());
            }
            let secret = match (token, token_env) {
                (Some(t), _) => Some(t),
                (None, Some(var)) => Some(std::env::var(&var).with_context(|| {
                    format!("the environment variable {var} (--token-env) is not set")
                })?),
                (None, None) => None,
            };
            if let Some(s) = secret {
                body.insert("token".into(), s.into());
            }
            let app = client
                .call(Method::POST, "/apps", Some(&Value::Object(body)))
                .await?;
            println!("app `{name}` created");
            print::settings(&app);
        }
        AppCmd::List { json } => {
            let apps = client.get("/apps").await?;
            if json {
                print::json(&apps);
            } else {
                print::list(&apps);
            }
        }
        AppCmd::Show { name, json } => {
            let app = client.get(&format!("/apps/{}", enc(&name))).await?;
            if json {
                print::json(&app);
            } else {
                print::settings(&app);
                print::status(at(&app, "status"));
            }
        }
        AppCmd::Watch { name, every } => {
            anyhow::ensure!(
                every.is_finite() && every > 0.0,
                "--every must be a positive number of seconds"
            );
            let settled =
                crate::app_watch::watch(&client, &name, std::time::Duration::from_secs_f64(every))
                    .await?;
            if !settled {
                std::process::exit(1);
            }
        }
        AppCmd::Assign {
            name,
            user,
            group,
            remove,
        } => {
            let (kind, id) = match (user, group) {
                (Some(u), _) => ("User", u),
                (None, Some(g)) => ("Group", g),
                (None, None) => anyhow::bail!("give --user ID or --group ID"),
            };
            if remove {
                client
                    .call(
                        Method::DELETE,
                        &format!("/apps/{}/assignments/{kind}/{}", enc(&name), enc(&id)),
                        None,
                    )
                    .await?;
                println!("{kind} {id} is no longer assigned to `{name}`");
            } else {
                client
                    .call(
                        Method::POST,
                        &format!("/apps/{}/assignments", enc(&name)),
                        Some(&json!({"type": kind, "id": id})),
                    )
                    .await?;
                println!("{kind} {id} assigned to `{name}`");
            }
        }
        AppCmd::Plan { name, limit, json } => {
            let plan = client
                .call(
                    Method::POST,
                    &format!("/apps/{}/plan?limit={limit}", enc(&name)),
                    None,
                )
                .await?;
            if json {
                print::json(&plan);
            } else {
                print::plan(&plan);
            }
        }
        AppCmd::Provision { name, user, json } => {
            let result = client
                .call(
                    Method::POST,
                    &format!("/apps/{}/provision", enc(&name)),
                    Some(&json!({"userId": user})),
                )
                .await?;
            if json {
                print::json(&result);
            } else {
                print::provision(&result);
            }
        }
        AppCmd::Explain { name, user, json } => {
            let result = client
                .call(
                    Method::GET,
                    &format!("/apps/{}/explain?user={}", enc(&name), enc(&user)),
                    None,
                )
                .await?;
            if json {
                print::json(&result);
            } else {
                print::explain(&result);
            }
        }
        AppCmd::Logs {
            name,
            user,
            status,
            since,
            limit,
            json,
        } => {
            let mut query = format!("limit={limit}");
            for (k, v) in [("user", user), ("status", status), ("since", since)] {
                if let Some(v) = v {
                    query.push_str(&format!("&{k}={}", enc(&v)));
                }
            }
            let logs = client
                .get(&format!("/apps/{}/logs?{query}", enc(&name)))
                .await?;
            if json {
                print::json(&logs);
            } else {
                print::logs(&logs);
            }
        }
        AppCmd::Test { name, json } => {
            let answer = client
                .call_within(
                    Method::POST,
                    &format!("/apps/{}/test-connection", enc(&name)),
                    None,
                    PROBE_TIMEOUT,
                )
                .await?;
            let report: ProbeReport = serde_json::from_value(answer.clone())
                .context("the server's answer is not a connection test report")?;
            if json {
                print::json(&answer);
            } else {
                print::probe(&name, &report);
            }
            if !report.ok {
                let cause = report.first_failure().map_or_else(
                    || "the probe user was not deleted".to_owned(),
                    |s| {
                        format!(
                            "at {}: {}",
                            s.name,
                            s.message.as_deref().unwrap_or("failed")
                        )
                    },
                );
                anyhow::bail!("the connection test of app `{name}` failed {cause}");
            }
        }
        AppCmd::Restart { name } => {
            client
                .call(Method::POST, &format!("/apps/{}/restart", enc(&name)), None)
                .await?;
            println!("app `{name}` restarted: a new initial cycle begins");
        }
        AppCmd::ApproveDeletions { name } => {
            let answer = client
                .call(
                    Method::POST,
                    &format!("/apps/{}/approve-deletions", enc(&name)),
                    None,
                )
                .await?;
            println!(
                "{}",
                at(&answer, "message")
                    .as_str()
                    .unwrap_or("deletions approved")
            );
        }
    }
    Ok(())
}
