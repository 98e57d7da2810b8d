//! `scimitar expr eval` and `scimitar rule test`: the mapping and rule languages from the shell,
//! a stable contract for scripts. The result is one JSON value (or `true`/`false`) on stdout;
//! an error exits non-zero with the message and a caret under its span on stderr.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use domain::schema::Registry;
use domain::{Clock as _, ResourceKind, SystemClock};

use crate::config::{open_store, StorageArgs};

#[derive(Debug, Subcommand)]
pub enum ExprCmd {
    /// Evaluate a mapping expression (Entra ID syntax) against a SCIM User and print the
    /// result as one JSON value: a string, an array for multi-valued results, or null.
    Eval {
        /// The expression, e.g. 'Join(".", [givenName], [surname])'.
        expression: String,
        /// A SCIM User resource as JSON.
        #[arg(long)]
        user: PathBuf,
        /// What DefaultDomain() returns.
        #[arg(long)]
        default_domain: Option<String>,
        /// Check attribute names against this tenant's schemas, its extensions included
        /// (default: the built-in User schemas).
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RuleCmd {
    /// Evaluate a dynamic-membership rule (Entra ID syntax) against a SCIM User and print
    /// `true` or `false`.
    Test {
        /// The rule, e.g. 'user.department -eq "Sales"'.
        rule: String,
        /// A SCIM User resource as JSON.
        #[arg(long)]
        user: PathBuf,
        /// Also print which comparisons decided the result.
        #[arg(long)]
        explain: bool,
    },
}

/// An error in `text` at the byte range `start..end`, with a caret line under it.
#[derive(Debug)]
struct Located {
    message: String,
    text: String,
    start: usize,
    end: usize,
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let column = self.text.get(..self.start).map_or(0, |s| s.chars().count());
        let width = self
            .text
            .get(self.start..self.end)
            .map_or(1, |s| s.chars().count())
            .max(1);
        write!(
            f,
            "{}\n  {}\n  {}{}",
            self.message,
            self.text,
            " ".repeat(column),
            "^".repeat(width)
        )
    }
}

impl std::error::Error for Located {}

fn located(message: String, text: &str, start: usize, end: usize) -> anyhow::Error {
    Located {
        message,
        text: text.to_owned(),
        start,
        end,
    }
    .into()
}

fn read_user(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the user file {}", path.display()))?;
    let user: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    anyhow::ensure!(
        user.is_object(),
        "{} must hold a SCIM User object",
        path.display()
    );
    Ok(user)
}

/// The User schemas attribute names are checked against.
async fn registry(storage: &StorageArgs, tenant: Option<&str>) -> anyhow::Result<Registry> {
    let Some(name) = tenant else {
        return Ok(Registry::builtin());
    };
    let store = open_store(storage.data_dir.as_deref(), storage.database.as_deref()).await?;
    let tenant = store
        .tenant_by_name(name)
        .await?
        .with_context(|| format!("there is no tenant `{name}`"))?;
    let mut extensions = Vec::new();
    for json in store.extension_schemas(&tenant.id).await? {
        extensions.push(Registry::parse_extension(&json)?);
    }
    Ok(Registry::with_extensions(extensions)?)
}

pub async fn expr(storage: &StorageArgs, cmd: ExprCmd) -> anyhow::Result<()> {
    let ExprCmd::Eval {
        expression,
        user,
        default_domain,
        tenant,
    } = cmd;
    let user = read_user(&user)?;
    use mapping_lang::expr;
    let parsed = expr::parse(&expression)
        .map_err(|e| located(e.to_string(), &expression, e.span.start, e.span.end))?;
    let registry = registry(storage, tenant.as_deref()).await?;
    let schema = registry.info(ResourceKind::User);
    if let Err(errors) = expr::check(
        &parsed,
        &expr::Env {
            schema: Some(&schema),
        },
    ) {
        if let Some(first) = errors.first() {
            for other in errors.iter().skip(1) {
                eprintln!(
                    "{}",
                    Located {
                        message: format!("error: {}", other.message),
                        text: expression.clone(),
                        start: other.span.start,
                        end: other.span.end,
                    }
                );
            }
            return Err(located(
                first.message.clone(),
                &expression,
                first.span.start,
                first.span.end,
            ));
        }
    }
    let mut context = expr::Context::new(&user, SystemClock.now());
    context.default_domain = default_domain;
    let output = expr::eval(&parsed, &context)
        .map_err(|e| located(e.message.clone(), &expression, e.span.start, e.span.end))?;
    let json = match output {
        expr::Output::Value(v) => v.to_json(),
        // The attribute would be left out of the flow; as a value, that is null.
        expr::Output::IgnoreFlow => serde_json::Value::Null,
    };
    println!("{json}");
    Ok(())
}

pub fn rule(cmd: RuleCmd) -> anyhow::Result<()> {
    let RuleCmd::Test {
        rule,
        user,
        explain,
    } = cmd;
    let user = read_user(&user)?;
    let parsed = group_rules::parse(&rule)
        .map_err(|e| located(e.message.clone(), &rule, e.span.start, e.span.end))?;
    let now = SystemClock.now();
    println!("{}", parsed.evaluate(&user, now));
    if explain {
        println!("{}", parsed.explain(&user, now));
    }
    Ok(())
}
