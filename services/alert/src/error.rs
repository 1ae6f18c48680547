//! Request-time errors of the alert service.

use keyward_core::ErrorCode;

/// What went wrong while serving a request or handling an event.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Precondition(String),
    #[error("vault: {0}")]
    Vault(String),
    #[error("database: {0}")]
    Db(String),
    #[error("{0}")]
    Internal(String),
}

impl AlertError {
    /// The platform error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AlertError::Invalid(_) => ErrorCode::InvalidArgument,
            AlertError::NotFound(_) => ErrorCode::NotFound,
            AlertError::Conflict(_) => ErrorCode::Conflict,
            AlertError::Precondition(_) => ErrorCode::Unprocessable,
            AlertError::Vault(_) | AlertError::Db(_) => ErrorCode::Unavailable,
            AlertError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// A gRPC status with a redacted message.
    pub fn status(&self) -> tonic::Status {
        self.code()
            .status(keyward_crypto::redact(&self.to_string()).into_owned())
    }
}

impl From<sqlx::Error> for AlertError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.code().as_deref() == Some("23505")
        {
            return AlertError::Conflict("a rule or channel with this name exists already".into());
        }
        AlertError::Db(keyward_db::describe(&e))
    }
}

impl From<tonic::Status> for AlertError {
    fn from(s: tonic::Status) -> Self {
        match ErrorCode::from_grpc(s.code()) {
            ErrorCode::InvalidArgument => AlertError::Invalid(format!("vault: {}", s.message())),
            ErrorCode::NotFound => AlertError::Precondition("the channel's secret is gone".into()),
            _ => AlertError::Vault(s.message().to_string()),
        }
    }
}

/// Result alias.
pub type Result<T, E = AlertError> = std::result::Result<T, E>;

/// Parses a UUID field, naming it in the error.
pub fn parse_id(field: &str, value: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(value.trim())
        .map_err(|_| AlertError::Invalid(format!("{field} must be a UUID")))
}

/// Parses an optional UUID field (absent or empty is `None`).
pub fn parse_opt_id(field: &str, value: Option<&String>) -> Result<Option<uuid::Uuid>> {
    match value.map(|s| s.trim()) {
        None | Some("") => Ok(None),
        Some(v) => parse_id(field, v).map(Some),
    }
}
