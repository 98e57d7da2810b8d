//! The engine at work: workers that follow the change log per app and apply plans through a
//! [`Target`], and the scheduler that runs them.
//!
//! - [`prepare`]: load a batch of objects with shadows, assignments and manager links; plan.
//! - [`apply`], [`group_apply`]: send one object's operations; shadow and log entry out.
//! - [`drift`]: reconciliation reads accounts back and reports or corrects drift.
//! - [`worker`]: one app's next step (changes, due retries, cycle pages, reconciliation),
//!   deletion hold and quarantine; one store transaction per batch.
//! - [`scheduler`]: the [`Engine`] handle: leases, one task per app, wake-ups on commit.
//! - [`report`]: status, dry-run plans and provisioning on demand.

pub mod apply;
pub mod drift;
pub mod group_apply;
pub mod prepare;
pub mod report;
pub mod scheduler;
pub mod worker;

use std::sync::Arc;

use domain::target::Target;
use domain::{AppRecord, Clock, Store};

use crate::app::App;
use crate::spec::AppSpec;

pub use scheduler::{Engine, TargetFactory};
pub use worker::{Step, Worker};

/// What every step of one app's work needs.
pub struct WorkerCtx {
    pub app_id: String,
    pub tenant_id: String,
    pub name: String,
    pub spec: AppSpec,
    pub app: App,
    pub provision_groups: bool,
    pub target: Arc<dyn Target>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WorkerCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerCtx")
            .field("app", &self.name)
            .field("tenant", &self.tenant_id)
            .finish()
    }
}

impl WorkerCtx {
    /// What identifies the settings that decide what is sent (mappings, matching, scope,
    /// scoping, deprovisioning, dialect); limits and credentials do not count.
    pub fn settings_fingerprint(&self) -> String {
        let s = &self.spec;
        serde_json::json!({
            "mappings": s.mappings, "matching": s.matching,
            "scope": serde_json::to_value(s).ok().and_then(|v| v.get("scope").cloned()),
            "scoping": s.scoping, "groups": s.provision_groups,
            "deprovisioning": serde_json::to_value(s).ok().and_then(|v| v.get("deprovisioning").cloned()),
            "skip": s.skip_out_of_scope_deletions, "dialect": s.dialect,
        })
        .to_string()
    }

    /// The context of a stored app; the error says what in its spec is wrong.
    pub fn new(
        record: &AppRecord,
        target: Arc<dyn Target>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<WorkerCtx, String> {
        let spec: AppSpec = serde_json::from_value(record.spec.clone())
            .map_err(|e| format!("app `{}`: stored settings unreadable: {e}", record.name))?;
        let app = spec
            .build()
            .map_err(|e| format!("app `{}`: {e}", record.name))?;
        Ok(WorkerCtx {
            app_id: record.id.clone(),
            tenant_id: record.tenant_id.clone(),
            name: record.name.clone(),
            provision_groups: spec.provision_groups,
            spec,
            app,
            target,
            store,
            clock,
        })
    }
}
