//! One error vocabulary for the whole platform, mapped exhaustively to gRPC and HTTP.

use serde::{Deserialize, Serialize};

/// What went wrong, independent of transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed (a field is missing, has the wrong type or is unknown).
    InvalidArgument,
    /// The request is well-formed but semantically unacceptable.
    Unprocessable,
    /// No valid credentials.
    Unauthenticated,
    /// Valid credentials without the right to do this.
    PermissionDenied,
    /// The thing does not exist (or belongs to another org).
    NotFound,
    /// The thing exists already or was changed concurrently.
    Conflict,
    /// A rate limit or a quota was hit.
    RateLimited,
    /// A budget has no room left for this request.
    BudgetExceeded,
    /// The request body is too large.
    PayloadTooLarge,
    /// A dependency (database, broker, another service, a provider) is unavailable.
    Unavailable,
    /// A dependency did not answer in time.
    Timeout,
    /// A failure on our side.
    Internal,
}

impl ErrorCode {
    /// The gRPC status code.
    pub const fn grpc(self) -> tonic::Code {
        match self {
            ErrorCode::InvalidArgument => tonic::Code::InvalidArgument,
            ErrorCode::Unprocessable => tonic::Code::FailedPrecondition,
            ErrorCode::Unauthenticated => tonic::Code::Unauthenticated,
            ErrorCode::PermissionDenied => tonic::Code::PermissionDenied,
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::Conflict => tonic::Code::AlreadyExists,
            ErrorCode::RateLimited => tonic::Code::ResourceExhausted,
            ErrorCode::BudgetExceeded => tonic::Code::ResourceExhausted,
            ErrorCode::PayloadTooLarge => tonic::Code::OutOfRange,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
            ErrorCode::Timeout => tonic::Code::DeadlineExceeded,
            ErrorCode::Internal => tonic::Code::Internal,
        }
    }

    /// The HTTP status code.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidArgument => 400,
            ErrorCode::Unprocessable => 422,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::RateLimited => 429,
            ErrorCode::BudgetExceeded => 429,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Unavailable => 503,
            ErrorCode::Timeout => 504,
            ErrorCode::Internal => 500,
        }
    }

    /// The stable snake_case name used in JSON error bodies.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::Unprocessable => "unprocessable",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::BudgetExceeded => "budget_exceeded",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal",
        }
    }

    /// Maps a gRPC code received from another service back to our vocabulary.
    pub const fn from_grpc(code: tonic::Code) -> Self {
        match code {
            tonic::Code::Ok => ErrorCode::Internal,
            tonic::Code::Cancelled => ErrorCode::Unavailable,
            tonic::Code::Unknown => ErrorCode::Internal,
            tonic::Code::InvalidArgument => ErrorCode::InvalidArgument,
            tonic::Code::DeadlineExceeded => ErrorCode::Timeout,
            tonic::Code::NotFound => ErrorCode::NotFound,
            tonic::Code::AlreadyExists => ErrorCode::Conflict,
            tonic::Code::PermissionDenied => ErrorCode::PermissionDenied,
            tonic::Code::ResourceExhausted => ErrorCode::RateLimited,
            tonic::Code::FailedPrecondition => ErrorCode::Unprocessable,
            tonic::Code::Aborted => ErrorCode::Conflict,
            tonic::Code::OutOfRange => ErrorCode::InvalidArgument,
            tonic::Code::Unimplemented => ErrorCode::Internal,
            tonic::Code::Internal => ErrorCode::Internal,
            tonic::Code::Unavailable => ErrorCode::Unavailable,
            tonic::Code::DataLoss => ErrorCode::Internal,
            tonic::Code::Unauthenticated => ErrorCode::Unauthenticated,
        }
    }

    /// A gRPC status with this code and a (already redacted) message.
    pub fn status(self, message: impl Into<String>) -> tonic::Status {
        tonic::Status::new(self.grpc(), message)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ErrorCode; 12] = [
        ErrorCode::InvalidArgument,
        ErrorCode::Unprocessable,
        ErrorCode::Unauthenticated,
        ErrorCode::PermissionDenied,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::BudgetExceeded,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Unavailable,
        ErrorCode::Timeout,
        ErrorCode::Internal,
    ];

    #[test]
    fn every_code_round_trips_through_grpc_where_unambiguous() {
        for code in ALL {
            let back = ErrorCode::from_grpc(code.grpc());
            match code {
                ErrorCode::BudgetExceeded => assert_eq!(back, ErrorCode::RateLimited),
                ErrorCode::PayloadTooLarge => assert_eq!(back, ErrorCode::InvalidArgument),
                other => assert_eq!(back, other),
            }
            assert!((400..600).contains(&code.http_status()));
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}
