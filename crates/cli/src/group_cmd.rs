//! `scimitar group …`: dynamic groups through a running server's admin API (`/api/v1/groups`):
//! create one, set or remove its rule (with a progress bar while the membership is recomputed),
//! preview a rule before saving it, and explain why a user is or is not a member.

use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::{json, Value};

use crate::app_client::{enc, Client, ServerArgs};

/// `scimitar group [--url U] [--token T] …`.
#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(flatten)]
    pub connection: ServerArgs,
    #[command(subcommand)]
    pub command: GroupCmd,
}

#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// Create a dynamic group: its members are the users its rule matches, kept up to date.
    ///
    /// Example: scimitar group create Sales --rule 'user.department -eq "Sales"'
    Create {
        /// The group's displayName (unique in the tenant).
        name: String,
        /// The membership rule, in Entra ID's syntax.
        #[arg(long)]
        rule: String,
    },
    /// Show a group's rule, member count and any recomputation under way.
    Show {
        /// The group's id.
        group: String,
    },
    /// Set (or change) a group's rule; its membership is recomputed over all users, with a
    /// progress bar. Run `preview` first to see what it would change.
    SetRule {
        /// The group's id.
        group: String,
        /// The membership rule, in Entra ID's syntax.
        rule: String,
    },
    /// Remove a group's rule: it becomes a static group, keeping its members.
    RemoveRule {
        /// The group's id.
        group: String,
    },
    /// What a rule would do, without saving it: how many users it matches and, against an
    /// existing group, how many members it would add and remove, with examples.
    Preview {
        /// The membership rule, in Entra ID's syntax.
        rule: String,
        /// Compare with this group's current members.
        #[arg(long)]
        group: Option<String>,
        /// How many example users to list per side.
        #[arg(long, default_value_t = 5)]
        examples: u64,
    },
    /// Why a user is (or is not) a member: the rule evaluated clause by clause.
    Explain {
        /// The user's id.
        user: String,
        /// A dynamic group's id.
        #[arg(long, required_unless_present = "rule")]
        group: Option<String>,
        /// A rule not saved anywhere yet.
        #[arg(long, conflicts_with = "group")]
        rule: Option<String>,
    },
}

pub async fn run(args: GroupArgs) -> anyhow::Result<()> {
    let client = args.connection.client()?;
    match args.command {
        GroupCmd::Create { name, rule } => {
            let spinner = spinner("computing the membership");
            let created = client
                .call(
                    Method::POST,
                    "/groups",
                    Some(&json!({ "displayName": name, "rule": rule })),
                )
                .await;
            spinner.finish_and_clear();
            print_state(&created?);
        }
        GroupCmd::Show { group } => {
            print_state(&client.get(&rule_path(&group)).await?);
        }
        GroupCmd::SetRule { group, rule } => {
            let body = json!({ "rule": rule });
            let path = rule_path(&group);
            let put = client.call(Method::PUT, &path, Some(&body));
            let state = with_progress(&client, &group, put).await?;
            print_state(&state);
        }
        GroupCmd::RemoveRule { group } => {
            let state = client
                .call(Method::DELETE, &rule_path(&group), None)
                .await?;
            print_state(&state);
        }
        GroupCmd::Preview {
            rule,
            group,
            examples,
        } => {
            let body = json!({ "rule": rule, "groupId": group, "examples": examples });
            let spinner = spinner("evaluating the rule over every user");
            let preview = client
                .call(Method::POST, "/groups/preview", Some(&body))
                .await;
            spinner.finish_and_clear();
            print_preview(&preview?, group.is_some());
        }
        GroupCmd::Explain { user, group, rule } => {
            let body = json!({ "userId": user, "groupId": group, "rule": rule });
            let answer = client
                .call(Method::POST, "/groups/explain", Some(&body))
                .await?;
            print_explanation(&answer);
        }
    }
    Ok(())
}

fn rule_path(group: &str) -> String {
    format!("/groups/{}/rule", enc(group))
}

fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Runs `request` while polling the group's rule state for a progress bar of users evaluated.
async fn with_progress(
    client: &Client,
    group: &str,
    request: impl std::future::Future<Output = anyhow::Result<Value>>,
) -> anyhow::Result<Value> {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "recomputing [{bar:40}] {pos}/{len} users ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    tokio::pin!(request);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let outcome = loop {
        tokio::select! {
            done = &mut request => break done,
            _ = tick.tick() => {
                if let Ok(state) = client.get(&rule_path(group)).await {
                    if let Some(p) = state.get("processing").filter(|p| !p.is_null()) {
                        bar.set_length(p.get("total").and_then(Value::as_u64).unwrap_or(0));
                        bar.set_position(p.get("evaluated").and_then(Value::as_u64).unwrap_or(0));
                    }
                }
            }
        }
    };
    bar.finish_and_clear();
    outcome
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

fn print_state(state: &Value) {
    println!(
        "group      {} ({})",
        text(state, "displayName"),
        text(state, "groupId")
    );
    match state.get("rule").and_then(Value::as_str) {
        Some(rule) => println!("rule       {rule}"),
        None => println!("rule       none (a static group)"),
    }
    println!("members    {}", text(state, "members"));
    if let Some(p) = state.get("processing").filter(|p| !p.is_null()) {
        println!(
            "processing {} of {} users evaluated",
            text(p, "evaluated"),
            text(p, "total")
        );
    }
}

fn print_users(title: &str, users: Option<&Value>) {
    let Some(users) = users.and_then(Value::as_array).filter(|u| !u.is_empty()) else {
        return;
    };
    println!("{title}");
    for u in users {
        println!(
            "  {}  {}  {}",
            text(u, "id"),
            text(u, "userName"),
            text(u, "displayName")
        );
    }
}

fn print_preview(p: &Value, against_group: bool) {
    println!(
        "{} of {} users match",
        text(p, "matching"),
        text(p, "evaluated")
    );
    if against_group {
        println!(
            "would add {} and remove {} members",
            text(p, "added"),
            text(p, "removed")
        );
        print_users("added, for example:", p.get("addedExamples"));
        print_users("removed, for example:", p.get("removedExamples"));
    } else {
        print_users("for example:", p.get("addedExamples"));
    }
}

fn print_explanation(a: &Value) {
    let matches = a.get("matches").and_then(Value::as_bool).unwrap_or(false);
    println!(
        "user {} {} the rule",
        text(a, "userId"),
        if matches { "matches" } else { "does not match" }
    );
    match a.get("member").and_then(Value::as_bool) {
        Some(true) => println!("and is a member of group {}", text(a, "groupId")),
        Some(false) => println!("and is not a member of group {}", text(a, "groupId")),
        None => {}
    }
    println!("{}", text(a, "explanation"));
}
