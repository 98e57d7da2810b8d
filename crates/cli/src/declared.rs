//! `[[apps]]` of the configuration file: each app is created, or updated by tenant and name, at
//! start. Every app is checked with `AppSpec::build` before anything is written, so one invalid
//! app stops the start with its name and the problem.

use domain::secret::Sealer;
use domain::{AppRecord, Clock, Store};
use engine::AppSpec;

/// One `[[apps]]` entry, checked.
pub struct Declared {
    pub name: String,
    pub tenant: String,
    pub enabled: bool,
    pub secret: Option<String>,
    pub spec: AppSpec,
}

fn take_str(table: &mut toml::Table, key: &str, app: &str) -> anyhow::Result<Option<String>> {
    match table.remove(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(_) => anyhow::bail!("app `{app}`: `{key}` must be a string"),
    }
}

/// Checks the `[[apps]]` tables; `env` reads `token_env` variables.
pub fn parse(
    tables: &[toml::Table],
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<Declared>> {
    let mut out: Vec<Declared> = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let mut table = table.clone();
        let label = format!("#{}", i + 1);
        let name = take_str(&mut table, "name", &label)?
            .ok_or_else(|| anyhow::anyhow!("app {label} in [[apps]] has no `name`"))?;
        let tenant = take_str(&mut table, "tenant", &name)?.unwrap_or_else(|| "default".into());
        let enabled = match table.remove("enabled") {
            None => true,
            Some(toml::Value::Boolean(b)) => b,
            Some(_) => anyhow::bail!("app `{name}`: `enabled` must be true or false"),
        };
        let token = take_str(&mut table, "token", &name)?;
        let token_env = take_str(&mut table, "token_env", &name)?;
        let secret = match (token, token_env) {
            (Some(_), Some(_)) => {
                anyhow::bail!("app `{name}`: give `token` or `token_env`, not both")
            }
            (Some(t), None) => Some(t),
            (None, Some(var)) => Some(env(&var).filter(|v| !v.is_empty()).ok_or_else(|| {
                anyhow::anyhow!(
                    "app `{name}`: the environment variable {var} (token_env) is not set"
                )
            })?),
            (None, None) => None,
        };
        let spec: AppSpec = toml::Value::Table(table)
            .try_into()
            .map_err(|e| anyhow::anyhow!("app `{name}`: {}", e.to_string().trim()))?;
        spec.build()
            .map_err(|e| anyhow::anyhow!("app `{name}`: {e}"))?;
        if out.iter().any(|d| d.name == name && d.tenant == tenant) {
            anyhow::bail!("app `{name}` is declared twice for tenant `{tenant}`");
        }
        out.push(Declared {
            name,
            tenant,
            enabled,
            secret,
            spec,
        });
    }
    Ok(out)
}

/// Creates or updates the declared apps in the store.
pub async fn apply(
    store: &dyn Store,
    clock: &dyn Clock,
    sealer: &Sealer,
    apps: Vec<Declared>,
) -> anyhow::Result<()> {
    for app in apps {
        let tenant = store.tenant_by_name(&app.tenant).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "app `{}`: tenant `{}` does not exist; create it with `scimitar tenant create {}`",
                app.name,
                app.tenant,
                app.tenant
            )
        })?;
        let spec = serde_json::to_value(&app.spec)?;
        let now = clock.now();
        let existing = store.app(&tenant.id, &app.name).await?;
        let record = match existing {
            Some(mut r) => {
                let secret_same = match (&app.secret, &r.sealed_secret) {
                    (None, _) => true,
                    (Some(s), Some(sealed)) => sealer.open(sealed).ok().as_deref() == Some(s),
                    (Some(_), None) => false,
                };
                if r.spec == spec && r.enabled == app.enabled && secret_same {
                    continue;
                }
                r.spec = spec;
                r.enabled = app.enabled;
                if let Some(s) = &app.secret {
                    r.sealed_secret = Some(sealer.seal(s)?);
                }
                r.updated = now;
                r
            }
            None => AppRecord {
                id: uuid::Uuid::new_v4().to_string(),
                tenant_id: tenant.id.clone(),
                name: app.name.clone(),
                enabled: app.enabled,
                spec,
                sealed_secret: app.secret.as_deref().map(|s| sealer.seal(s)).transpose()?,
                state: serde_json::Value::Null,
                created: now,
                updated: now,
            },
        };
        store.put_app(&record).await?;
        tracing::info!(app = %app.name, tenant = %app.tenant, "app from the configuration file stored");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn apps_of(text: &str, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Vec<Declared>> {
        let config: crate::config::FileConfig = toml::from_str(text).unwrap();
        parse(&config.apps, env)
    }

    /// The README's `[[apps]]` example is a valid app.
    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n[[apps]]")
            .expect("README has the [[apps]] example");
        let rest = &readme[start + "```toml\n".len()..];
        let example = &rest[..rest.find("```").unwrap()];
        let apps = apps_of(example, &|var| {
            (var == "CRM_SCIM_TOKEN").then(|| "t".into())
        })
        .unwrap();
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].name, "crm");
        assert_eq!(apps[0].tenant, "default");
        assert_eq!(apps[0].secret.as_deref(), Some("t"));
        assert_eq!(apps[0].spec.mappings.as_ref().map(Vec::len), Some(2));
    }

    #[test]
    fn problems_name_the_app() {
        let none = |_: &str| None;
        let err = apps_of(
            "[[apps]]\nname = \"a\"\nurl = \"https://x\"\ntoken_env = \"NOPE\"\n",
            &none,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("app `a`") && err.contains("NOPE"), "{err}");
        let err = apps_of(
            "[[apps]]\nname = \"b\"\nurl = \"https://x\"\ncolour = 1\n",
            &none,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("app `b`") && err.contains("colour"), "{err}");
        let err = apps_of("[[apps]]\nurl = \"https://x\"\n", &none)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no `name`"), "{err}");
    }
}
