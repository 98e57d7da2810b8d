//! Dynamic groups: the compiled rules of each tenant (checked against `tenants.rules_gen`),
//! membership kept in every user write, and recomputation over all users in cursor steps.

use domain::dynamic::{RecomputeStep, RuleState};
use domain::Result;
use jiff::Timestamp;

use crate::db::{Conn, Tx};

/// Each tenant's compiled rules, with the `rules_gen` they were compiled at.
#[derive(Default)]
pub(crate) struct RulesCache {}

pub(crate) async fn recompute_step(
    _tx: &Tx<'_>,
    _tenant_id: &str,
    _group_id: &str,
    _limit: usize,
    _now: Timestamp,
) -> Result<RecomputeStep> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn pending(_conn: &Conn<'_>) -> Result<Vec<(String, String)>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn state(
    _conn: &Conn<'_>,
    _tenant_id: &str,
    _group_id: &str,
) -> Result<Option<RuleState>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}
