//! `Engine::test_connection`: the app's target, built by the engine's factory from the stored
//! app, tests the connection to the real peer.

use std::sync::Arc;

use domain::target::Target;
use domain::{AppRecord, Error};
use engine::{AppSpec, Engine, TargetFactory};
use scim_proto::probe::Cleanup;

use crate::support::{client, spec, World};

/// Clients built from the stored app's URL, as the binary's factory builds them.
struct FromSpec;

impl TargetFactory for FromSpec {
    fn target(&self, app: &AppRecord) -> Result<Arc<dyn Target>, String> {
        let spec: AppSpec = serde_json::from_value(app.spec.clone()).map_err(|e| e.to_string())?;
        Ok(client(&spec.url))
    }
}

/// A factory that cannot open the app's secret.
struct Broken;

impl TargetFactory for Broken {
    fn target(&self, app: &AppRecord) -> Result<Arc<dyn Target>, String> {
        Err(format!("app `{}`: its secret cannot be opened", app.name))
    }
}

#[tokio::test]
async fn the_apps_own_target_passes_the_connection_test_and_leaves_nothing() {
    let w = World::new(spec()).await;
    let engine = Engine::new(w.store.clone(), w.clock.clone(), Arc::new(FromSpec));
    let report = engine.test_connection(&w.app).await.unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.steps.len(), 7);
    assert_eq!(report.cleanup, Cleanup::Deleted);
    assert!(w.target_users(&report.user_name).await.is_empty());
}

#[tokio::test]
async fn an_app_whose_target_cannot_be_built_is_an_error_not_a_report() {
    let w = World::new(spec()).await;
    let engine = Engine::new(w.store.clone(), w.clock.clone(), Arc::new(Broken));
    match engine.test_connection(&w.app).await {
        Err(Error::InvalidValue(m)) => assert!(m.contains("cannot be opened"), "{m}"),
        other => panic!("{other:?}"),
    }
}
