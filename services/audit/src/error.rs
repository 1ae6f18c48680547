//! Request-time errors of the audit service and their gRPC status.

use keyward_core::ErrorCode;

/// What can go wrong while serving a request or appending a batch.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The request is malformed; the message names the field.
    #[error("{0}")]
    InvalidArgument(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The operation needs a configured signing key.
    #[error("{0}")]
    Unprocessable(String),
    /// A failure on our side that is not the database's.
    #[error("{0}")]
    Internal(String),
    /// Postgres failed or is unreachable.
    #[error("database: {}", keyward_db::describe(.0))]
    Db(#[from] sqlx::Error),
}

/// Result alias for request-time work.
pub type Result<T, E = AuditError> = std::result::Result<T, E>;

impl AuditError {
    /// The platform error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuditError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            AuditError::NotFound(_) => ErrorCode::NotFound,
            AuditError::Unprocessable(_) => ErrorCode::Unprocessable,
            AuditError::Internal(_) => ErrorCode::Internal,
            AuditError::Db(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut) => {
                ErrorCode::Unavailable
            }
            AuditError::Db(_) => ErrorCode::Internal,
        }
    }

    /// A shorthand for [`AuditError::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        AuditError::InvalidArgument(msg.into())
    }
}

impl From<AuditError> for tonic::Status {
    fn from(e: AuditError) -> Self {
        if matches!(e.code(), ErrorCode::Internal | ErrorCode::Unavailable) {
            tracing::warn!(error = %e, "audit request failed");
        }
        e.code().status(e.to_string())
    }
}
