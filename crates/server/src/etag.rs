//! `meta.version` as weak ETags, and the `If-Match` / `If-None-Match` preconditions (RFC 7644 §3.14).

use axum::http::{header, HeaderMap, HeaderName};
use domain::Error;

pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// An `If-Match` or `If-None-Match` header: `*` or a list of versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    Any,
    Versions(Vec<u64>),
}

impl Precondition {
    pub fn matches(&self, version: u64) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Versions(vs) => vs.contains(&version),
        }
    }

    /// The single version to hand to the store for an atomic check, if there is exactly one.
    pub fn single(&self) -> Option<u64> {
        match self {
            Precondition::Versions(vs) if vs.len() == 1 => vs.first().copied(),
            _ => None,
        }
    }
}

fn parse(headers: &HeaderMap, name: HeaderName) -> Result<Option<Precondition>, Error> {
    let Some(raw) = headers.get(&name) else {
        return Ok(None);
    };
    let raw = raw
        .to_str()
        .map_err(|_| Error::InvalidVersion(format!("{name} is not ASCII")))?
        .trim();
    if raw == "*" {
        return Ok(Some(Precondition::Any));
    }
    let mut versions = Vec::new();
    for tag in raw.split(',') {
        let tag = tag.trim();
        let opaque = tag.strip_prefix("W/").unwrap_or(tag);
        let inner = opaque
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(opaque);
        match inner.parse::<u64>() {
            Ok(v) => versions.push(v),
            Err(_) => {
                return Err(Error::InvalidVersion(format!(
                    "{name} `{tag}` is not a version this server issued (expected W/\"<number>\")"
                )))
            }
        }
    }
    Ok(Some(Precondition::Versions(versions)))
}

/// The request's `If-Match` and `If-None-Match`.
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    pub if_match: Option<Precondition>,
    pub if_none_match: Option<Precondition>,
}

impl Preconditions {
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, Error> {
        Ok(Preconditions {
            if_match: parse(headers, header::IF_MATCH)?,
            if_none_match: parse(headers, header::IF_NONE_MATCH)?,
        })
    }

    /// For writes: fails with 412 unless the current version satisfies both headers.
    pub fn check_write(&self, current: u64) -> Result<(), Error> {
        if let Some(p) = &self.if_match {
            if !p.matches(current) {
                return Err(Error::PreconditionFailed(format!(
                    "If-Match does not match the current version {}",
                    etag(current)
                )));
            }
        }
        if let Some(p) = &self.if_none_match {
            if p.matches(current) {
                return Err(Error::PreconditionFailed(format!(
                    "If-None-Match matches the current version {}",
                    etag(current)
                )));
            }
        }
        Ok(())
    }
}
