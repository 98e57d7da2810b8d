//! Inbound provisioning, compatible with Entra's API-driven inbound provisioning (spec §5): an
//! HR system POSTs SCIM BulkRequests of user records to `bulkUpload`; each record is matched to
//! a directory user (by default `externalId` ↔ the enterprise `employeeNumber`), mapped,
//! validated and written as a create, update, enable, disable or nothing. CSV imports use the
//! same code. Hire and leave dates take effect on their day ([`lifecycle`]).
//!
//! - [`spec`]: a source's settings (the serde type admins write), checked into a [`Source`].
//! - [`record`]: a bulkUpload body checked into records, all or nothing.
//! - [`process`]: one record → its effect, in one store transaction.
//! - [`lifecycle`]: effective dates, and the runner that applies them on the injected clock.
//! - [`worker`]: the processor of staged requests ([`Inbound`]), which resumes after a restart.
//!
//! Invariant: nothing here writes except through `Store::commit_inbound` and
//! `Store::stage_inbound`; a record is applied entirely or not at all.
//! Invariant: time comes from the injected `Clock`; tests step [`Inbound::step`] and
//! [`lifecycle::Runner::step`].

pub mod lifecycle;
pub mod process;
pub mod record;
pub mod spec;
pub mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use domain::schema::Registry;
use domain::{Result, Store};

pub use spec::{Source, SourceSpec, DEFAULT_SOURCE};
pub use worker::{Inbound, InboundConfig};

/// The configured sources by name; the default source always exists.
#[derive(Debug, Clone)]
pub struct Sources {
    by_name: HashMap<String, Arc<Source>>,
}

impl Sources {
    /// The default source plus `named` (a named `default` replaces the built-in one).
    pub fn new(named: Vec<Source>) -> Sources {
        let mut by_name = HashMap::new();
        by_name.insert(
            DEFAULT_SOURCE.to_owned(),
            Arc::new(Source::default_source()),
        );
        for source in named {
            by_name.insert(source.name().to_owned(), Arc::new(source));
        }
        Sources { by_name }
    }

    /// Every source, by name.
    pub fn all(&self) -> Vec<Arc<Source>> {
        let mut all: Vec<Arc<Source>> = self.by_name.values().cloned().collect();
        all.sort_by(|a, b| a.name().cmp(b.name()));
        all
    }

    /// The source with this name, if configured.
    pub fn find(&self, name: &str) -> Option<Arc<Source>> {
        self.by_name.get(name).cloned()
    }

    /// The source with this name, or the default one (for work staged under a source that is
    /// no longer configured).
    pub fn get(&self, name: &str) -> Arc<Source> {
        self.find(name)
            .or_else(|| self.find(DEFAULT_SOURCE))
            .unwrap_or_else(|| Arc::new(Source::default_source()))
    }
}

/// The tenant's schema registry: the built-in schemas and its extensions.
pub async fn registry(store: &dyn Store, tenant_id: &str) -> Result<Arc<Registry>> {
    let mut exts = Vec::new();
    for json in store.extension_schemas(tenant_id).await? {
        exts.push(Registry::parse_extension(&json)?);
    }
    Ok(Arc::new(Registry::with_extensions(exts)?))
}
