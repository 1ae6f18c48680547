//! Request-time errors of the cost service.

use keyward_core::ErrorCode;

/// What can go wrong serving a request.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("database unavailable ({0})")]
    Db(String),
    #[error("price book: {0}")]
    Pricing(String),
}

impl CostError {
    /// The platform error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            CostError::Invalid(_) | CostError::Pricing(_) => ErrorCode::InvalidArgument,
            CostError::NotFound(_) => ErrorCode::NotFound,
            CostError::Db(_) => ErrorCode::Unavailable,
        }
    }

    /// As a gRPC status.
    pub fn status(&self) -> tonic::Status {
        self.code().status(self.to_string())
    }
}

impl From<sqlx::Error> for CostError {
    fn from(e: sqlx::Error) -> Self {
        CostError::Db(keyward_db::describe(&e))
    }
}

/// Result alias.
pub type Result<T, E = CostError> = std::result::Result<T, E>;

/// An invalid-argument error.
pub fn invalid(msg: impl Into<String>) -> CostError {
    CostError::Invalid(msg.into())
}

/// Parses a required UUID field.
pub fn uuid(name: &str, v: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(v).map_err(|_| invalid(format!("{name} must be a UUID")))
}

/// Parses an optional UUID field ("" is absent).
pub fn opt_uuid(name: &str, v: Option<&String>) -> Result<Option<uuid::Uuid>> {
    match v.map(String::as_str) {
        None | Some("") => Ok(None),
        Some(s) => uuid(name, s).map(Some),
    }
}
