//! The one error type of the domain. The server maps each kind to an HTTP status and SCIM
//! `scimType` in one table (`server::error`).

/// What went wrong, in terms a SCIM client can act on. Messages name the offending part.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The filter does not parse or names something that cannot be filtered (`invalidFilter`).
    #[error("{0}")]
    InvalidFilter(String),
    /// A PATCH path, `sortBy` or `attributes` entry is malformed or unknown (`invalidPath`).
    #[error("{0}")]
    InvalidPath(String),
    /// A value has the wrong type, a required attribute is missing, a reference is dangling (`invalidValue`).
    #[error("{0}")]
    InvalidValue(String),
    /// The request body is not the SCIM message it should be (`invalidSyntax`).
    #[error("{0}")]
    InvalidSyntax(String),
    /// An attempt to change a readOnly or immutable attribute (`mutability`).
    #[error("{0}")]
    Mutability(String),
    /// A unique attribute's value is already taken (409 `uniqueness`).
    #[error("{0}")]
    Uniqueness(String),
    /// Too many results or operations (`tooMany`).
    #[error("{0}")]
    TooMany(String),
    /// A PATCH path with a filter matched nothing (`noTarget`).
    #[error("{0}")]
    NoTarget(String),
    /// A malformed version in `If-Match` / `If-None-Match` (`invalidVers`).
    #[error("{0}")]
    InvalidVersion(String),
    /// The resource (or tenant, token, …) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// `If-Match` named a version that is no longer current (412).
    #[error("{0}")]
    PreconditionFailed(String),
    /// A name (tenant, schema) already exists outside SCIM uniqueness (409).
    #[error("{0}")]
    Conflict(String),
    /// A storage or other internal failure; its text is logged, never shown to clients.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
