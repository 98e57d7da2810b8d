//! Inbound provisioning: staged bulkUpload requests, each record's result, and effective-dated
//! lifecycle actions.

use domain::inbound::{
    DueAction, InboundCommit, InboundCommitted, RecordResult, RequestSummary, Scheduled,
    StagedRequest,
};
use domain::Result;
use jiff::Timestamp;

use crate::db::{Conn, Tx};
use crate::dynamic::RulesCache;

pub(crate) async fn stage(_tx: &Tx<'_>, _request: &StagedRequest) -> Result<()> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn pending(_conn: &Conn<'_>, _limit: usize) -> Result<Vec<StagedRequest>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn request(
    _conn: &Conn<'_>,
    _tenant_id: &str,
    _id: &str,
) -> Result<Option<(RequestSummary, Vec<RecordResult>)>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn requests(
    _conn: &Conn<'_>,
    _tenant_id: &str,
    _limit: usize,
) -> Result<Vec<RequestSummary>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

/// Writes one record's (or lifecycle action's) effect inside `tx`.
pub(crate) async fn commit(
    _tx: &Tx<'_>,
    _rules: &RulesCache,
    _commit: InboundCommit,
) -> Result<InboundCommitted> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn due(_conn: &Conn<'_>, _now: Timestamp, _limit: usize) -> Result<Vec<DueAction>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}

pub(crate) async fn lifecycle_of(
    _conn: &Conn<'_>,
    _tenant_id: &str,
    _user_id: &str,
) -> Result<Vec<Scheduled>> {
    Err(domain::Error::Internal("not yet implemented on PostgreSQL".into()))
}
