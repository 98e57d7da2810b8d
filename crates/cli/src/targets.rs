//! The concrete targets of the engine: a `ScimClient` per app, built from its stored settings
//! and its secret opened with the installation key; and that key itself.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use base64::Engine as _;
use domain::secret::{Sealer, KEY_LEN};
use domain::target::Target;
use domain::AppRecord;
use engine::spec::AuthSpec;
use engine::{AppSpec, TargetFactory};
use scim_client::{ClientConfig, Credentials, ScimClient};

/// Builds each app's SCIM client.
#[derive(Debug)]
pub struct ScimTargets {
    pub sealer: Sealer,
}

impl TargetFactory for ScimTargets {
    fn target(&self, app: &AppRecord) -> Result<Arc<dyn Target>, String> {
        let spec: AppSpec = serde_json::from_value(app.spec.clone())
            .map_err(|e| format!("app `{}`: stored settings unreadable: {e}", app.name))?;
        let secret = app
            .sealed_secret
            .as_deref()
            .map(|s| self.sealer.open(s))
            .transpose()
            .map_err(|e| {
                format!(
                    "app `{}`: its secret cannot be opened ({e}); was the installation key \
                     (SCIMITAR_SECRET_KEY or secret.key) changed? Set the token again",
                    app.name
                )
            })?;
        let credentials = match (&spec.auth, secret) {
            (AuthSpec::Bearer, Some(token)) => Credentials::Bearer(token),
            (AuthSpec::Bearer, None) => Credentials::None,
            (
                AuthSpec::Oauth {
                    token_url,
                    client_id,
                    scope,
                },
                secret,
            ) => Credentials::OAuthClientCredentials {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: secret.unwrap_or_default(),
                scope: scope.clone(),
            },
        };
        let mut config = ClientConfig::new(spec.url.trim(), credentials);
        config.max_concurrent_requests = spec.concurrency;
        config.requests_per_second = spec.rate_limit;
        let client = ScimClient::new(config).map_err(|e| format!("app `{}`: {e}", app.name))?;
        Ok(Arc::new(client))
    }
}

pub const KEY_ENV: &str = "SCIMITAR_SECRET_KEY";
pub const KEY_FILE: &str = "secret.key";

/// The installation key: `SCIMITAR_SECRET_KEY` (base64 of 32 bytes), else `<data-dir>/secret.key`,
/// created with mode 0600 on the first start.
pub fn load_sealer(env_value: Option<&str>, data_dir: &Path) -> anyhow::Result<Sealer> {
    if let Some(text) = env_value.filter(|v| !v.trim().is_empty()) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| anyhow::anyhow!("{KEY_ENV} is not valid base64 ({e}); generate one with `head -c 32 /dev/urandom | base64`"))?;
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
            anyhow::anyhow!(
                "{KEY_ENV} must be the base64 of exactly {KEY_LEN} bytes, not {}; generate one \
                 with `head -c 32 /dev/urandom | base64`",
                b.len()
            )
        })?;
        return Ok(Sealer::new(&key));
    }
    let path = data_dir.join(KEY_FILE);
    if path.exists() {
        let bytes = std::fs::read(&path)
            .with_context(|| format!("cannot read the installation key {}", path.display()))?;
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
            anyhow::anyhow!(
                "{} must hold exactly {KEY_LEN} bytes, not {}",
                path.display(),
                b.len()
            )
        })?;
        return Ok(Sealer::new(&key));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let key = Sealer::generate_key();
    write_private(&path, &key)
        .with_context(|| format!("cannot write the installation key {}", path.display()))?;
    tracing::info!(path = %path.display(), "installation key for app secrets created; back it up with the database");
    Ok(Sealer::new(&key))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
