//! The `tenant`, `token` and `schema` subcommands: direct operations on the store.

use anyhow::Context as _;
use domain::{Clock as _, Scope, Store, SystemClock, Tenant};

use crate::config::{open_store, SchemaCmd, StorageArgs, TenantCmd, TokenCmd};

async fn store_of(storage: &StorageArgs) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    open_store(storage.data_dir.as_deref(), storage.database.as_deref()).await
}

async fn tenant_named(store: &dyn Store, name: &str) -> anyhow::Result<Tenant> {
    store.tenant_by_name(name).await?.with_context(|| {
        format!("there is no tenant `{name}`; list them with `scimitar tenant list`")
    })
}

pub async fn tenant(storage: &StorageArgs, cmd: TenantCmd) -> anyhow::Result<()> {
    let store = store_of(storage).await?;
    match cmd {
        TenantCmd::Create { name } => {
            let t = store.create_tenant(&name).await?;
            println!("{}\t{}", t.id, t.name);
            eprintln!(
                "tenant `{}` created; give it a token with `scimitar token create --tenant {}`",
                t.name, t.name
            );
        }
        TenantCmd::List => {
            println!("ID\tNAME\tCREATED");
            for t in store.list_tenants().await? {
                println!("{}\t{}\t{}", t.id, t.name, t.created);
            }
        }
    }
    Ok(())
}

/// `90d`, `12h`, `30m`, `45s`, or an RFC 3339 time.
pub fn parse_expiry(now: jiff::Timestamp, text: &str) -> anyhow::Result<jiff::Timestamp> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let split = text.len().saturating_sub(1);
    let (num, unit) = (
        text.get(..split).unwrap_or_default(),
        text.get(split..).unwrap_or_default(),
    );
    let n: i64 = num.parse().with_context(|| {
        format!("`{text}` is not an expiry: use e.g. 90d, 12h, 30m or an RFC 3339 time")
    })?;
    let seconds = match unit {
        "d" => n * 86_400,
        "h" => n * 3_600,
        "m" => n * 60,
        "s" => n,
        _ => anyhow::bail!("`{text}` is not an expiry: use e.g. 90d, 12h, 30m or an RFC 3339 time"),
    };
    anyhow::ensure!(seconds > 0, "an expiry must lie in the future");
    Ok(now.checked_add(jiff::SignedDuration::from_secs(seconds))?)
}

pub async fn token(storage: &StorageArgs, cmd: TokenCmd) -> anyhow::Result<()> {
    let store = store_of(storage).await?;
    let now = SystemClock.now();
    match cmd {
        TokenCmd::Create {
            tenant,
            scope,
            expires,
            name,
        } => {
            let t = tenant_named(store.as_ref(), &tenant).await?;
            let scopes = if scope.is_empty() {
                vec![Scope::ScimRead, Scope::ScimWrite]
            } else {
                scope
                    .iter()
                    .map(|s| {
                        Scope::parse(s.trim()).with_context(|| {
                            format!("unknown scope `{s}`; scopes are scim:read, scim:write, admin")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            };
            let expires = expires.map(|e| parse_expiry(now, &e)).transpose()?;
            let secret = server::auth::generate_token();
            let info = server::auth::new_token_info(&t.id, &name, &secret, scopes, now, expires);
            store.insert_token(&info).await?;
            eprintln!(
                "token {} created for tenant `{}`; it is shown only now:",
                info.id, t.name
            );
            println!("{secret}");
        }
        TokenCmd::List { tenant } => {
            let t = tenant_named(store.as_ref(), &tenant).await?;
            println!("ID\tNAME\tSCOPES\tCREATED\tEXPIRES\tSTATUS");
            for tok in store.list_tokens(&t.id).await? {
                let scopes: Vec<&str> = tok.scopes.iter().map(|s| s.as_str()).collect();
                let status = if tok.revoked {
                    "revoked"
                } else if tok.expires.is_some_and(|e| e <= now) {
                    "expired"
                } else {
                    "active"
                };
                let expires = tok
                    .expires
                    .map_or_else(|| "never".to_owned(), |e| e.to_string());
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    tok.id,
                    tok.name,
                    scopes.join(","),
                    tok.created,
                    expires,
                    status
                );
            }
        }
        TokenCmd::Revoke { tenant, id } => {
            let t = tenant_named(store.as_ref(), &tenant).await?;
            store.revoke_token(&t.id, &id).await?;
            eprintln!("token {id} revoked");
        }
    }
    Ok(())
}

pub async fn schema(storage: &StorageArgs, cmd: SchemaCmd) -> anyhow::Result<()> {
    let store = store_of(storage).await?;
    match cmd {
        SchemaCmd::Add { tenant, file } => {
            let t = tenant_named(store.as_ref(), &tenant).await?;
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let ext = domain::schema::Registry::parse_extension(&json)?;
            let uri = ext.uri().to_owned();
            let mut exts = vec![ext];
            for other in store.extension_schemas(&t.id).await? {
                let other = domain::schema::Registry::parse_extension(&other)?;
                if !other.uri().eq_ignore_ascii_case(&uri) {
                    exts.push(other);
                }
            }
            domain::schema::Registry::with_extensions(exts)?;
            store.put_extension_schema(&t.id, &uri, &json).await?;
            eprintln!("extension schema {uri} registered for tenant `{}` (running servers pick it up on restart)", t.name);
        }
        SchemaCmd::List { tenant } => {
            let t = tenant_named(store.as_ref(), &tenant).await?;
            for json in store.extension_schemas(&t.id).await? {
                let ext = domain::schema::Registry::parse_extension(&json)?;
                println!("{}\t{}", ext.uri(), ext.resource_type.name());
            }
        }
        SchemaCmd::Remove { tenant, uri } => {
            let t = tenant_named(store.as_ref(), &tenant).await?;
            store.delete_extension_schema(&t.id, &uri).await?;
            eprintln!("extension schema {uri} removed");
        }
    }
    Ok(())
}
