//! Inbound provisioning in `scimitar serve`: the `[[inbound]]` sources of the configuration file
//! and the `inbound_*` limits, checked; the processor and the lifecycle runner started as named
//! tasks with a shutdown signal, and stopped after the HTTP server has drained.

use std::sync::Arc;
use std::time::Duration;

use inbound::{Inbound, InboundConfig, Source, SourceSpec, Sources};
use server::inbound::RateLimit;
use server::AppState;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::FileLimits;

/// Inbound settings, checked.
pub struct InboundSettings {
    pub sources: Vec<Source>,
    pub limit: RateLimit,
    pub config: InboundConfig,
}

impl InboundSettings {
    /// Checks every `[[inbound]]` source (names unique) and the limits.
    pub fn resolve(specs: &[SourceSpec], limits: &FileLimits) -> anyhow::Result<InboundSettings> {
        let mut sources: Vec<Source> = Vec::new();
        for spec in specs {
            let source = spec
                .check()
                .map_err(|e| anyhow::anyhow!("[[inbound]]: {e}"))?;
            anyhow::ensure!(
                sources.iter().all(|s| s.name() != source.name()),
                "[[inbound]]: the source name `{}` is used twice",
                source.name()
            );
            sources.push(source);
        }
        let defaults = RateLimit::default();
        let window = match limits.inbound_window_seconds {
            Some(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s),
            Some(s) => anyhow::bail!("limits.inbound_window_seconds must be positive, not {s}"),
            None => defaults.window,
        };
        let requests = limits
            .inbound_requests_per_window
            .unwrap_or(defaults.requests);
        anyhow::ensure!(
            requests > 0,
            "limits.inbound_requests_per_window must be at least 1"
        );
        let config = InboundConfig {
            max_backlog: limits
                .inbound_max_backlog
                .unwrap_or(InboundConfig::default().max_backlog),
            ..InboundConfig::default()
        };
        Ok(InboundSettings {
            sources,
            limit: RateLimit { requests, window },
            config,
        })
    }
}

/// The running processor and lifecycle runner.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts the processor (which resumes requests staged before a restart) and the lifecycle
/// runner, and gives the server the processor.
pub async fn start(
    state: AppState,
    settings: InboundSettings,
) -> anyhow::Result<(AppState, Running)> {
    let processor = Inbound::new(
        Arc::clone(&state.store),
        Arc::clone(&state.clock),
        Sources::new(settings.sources),
        settings.config,
    )
    .await?;
    let (stop, stopped) = watch::channel(false);
    let tasks = vec![
        spawn_named("inbound-processor", processor.clone().run(stopped.clone())),
        spawn_named(
            "inbound-lifecycle",
            processor.clone().run_lifecycle(stopped),
        ),
    ];
    Ok((
        state.with_inbound(processor, settings.limit),
        Running { stop, tasks },
    ))
}

fn spawn_named<F>(name: &'static str, task: F) -> JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        tracing::debug!(task = name, "started");
        task.await;
        tracing::debug!(task = name, "stopped");
    })
}

impl Running {
    /// Signals shutdown and waits for the tasks to finish the record they are on.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn settings(text: &str) -> anyhow::Result<InboundSettings> {
        let config: crate::config::FileConfig = toml::from_str(text)?;
        InboundSettings::resolve(&config.inbound, &config.limits)
    }

    /// The README's `[[inbound]]` example is a valid source with valid limits.
    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n[[inbound]]")
            .expect("README has the [[inbound]] example");
        let rest = &readme[start + "```toml\n".len()..];
        let example = &rest[..rest.find("```").unwrap()];
        let s = settings(example).unwrap();
        assert_eq!(s.sources.len(), 1);
        let source = &s.sources[0];
        assert_eq!(source.name(), "workday");
        assert_eq!(source.mappings.as_ref().map(Vec::len), Some(2));
        assert_eq!(source.spec.time_zone, "Europe/Paris");
        assert_eq!(s.limit.requests, 1000);
        assert_eq!(s.limit.window, Duration::from_secs(5));
        assert_eq!(s.config.max_backlog, 100_000);
    }

    #[test]
    fn problems_name_the_source_or_the_limit() {
        let err = |text: &str| settings(text).err().unwrap().to_string();
        let twice = "[[inbound]]\nname = \"hr\"\n[[inbound]]\nname = \"hr\"\n";
        assert!(err(twice).contains("`hr` is used twice"));
        let bad_expr = "[[inbound]]\nname = \"hr\"\n[[inbound.mappings]]\ntarget = \"userName\"\nexpression = \"Join(\"\n";
        let e = err(bad_expr);
        assert!(
            e.contains("inbound source `hr`") && e.contains("userName"),
            "{e}"
        );
        let bad_name = "[[inbound]]\nname = \"a/b\"\n";
        assert!(err(bad_name).contains("a/b"));
        let zero = "[limits]\ninbound_requests_per_window = 0\n";
        assert!(err(zero).contains("inbound_requests_per_window"));
        assert!(settings("").unwrap().sources.is_empty());
    }
}
