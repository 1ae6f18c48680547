//! The one REST error shape: `{"error":{"code","message","request_id"}}` (plus `field` on a
//! 400 that is about one field). Codes come from [`keyward_core::ErrorCode`].

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use keyward_core::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::request_id;

/// A request-time error, rendered as JSON.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
    /// 405 (method not allowed) has no [`ErrorCode`] of its own.
    pub method_not_allowed: bool,
}

/// `Result` of handlers and domain functions.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            method_not_allowed: false,
        }
    }

    /// 405: the path exists, the method does not.
    pub fn method_not_allowed() -> Self {
        Self {
            method_not_allowed: true,
            ..Self::new(
                ErrorCode::InvalidArgument,
                "method not allowed on this path",
            )
        }
    }

    /// 400: `field` is missing, malformed, of the wrong type or unknown.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        Self {
            message: with_field(&field, message),
            field: (!field.is_empty()).then_some(field),
            ..Self::new(ErrorCode::InvalidArgument, "")
        }
    }

    /// 422: well-formed, but not acceptable (`field` may be empty).
    pub fn unprocessable(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            message: with_field(field, message),
            field: (!field.is_empty()).then(|| field.to_string()),
            ..Self::new(ErrorCode::Unprocessable, "")
        }
    }

    /// 401.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PermissionDenied, message)
    }

    /// 404, also for ids of other orgs.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(ErrorCode::RateLimited, message)
        }
    }

    /// 500; the cause is logged, not returned.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let text = cause.to_string();
        tracing::error!(error = %keyward_crypto::redact(&text), "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// 503.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
}

/// `message (field `name`)`: the field after the text, so a field called `password` or
/// `refresh_token` is not mistaken for a `label: secret` pair by the leak guard.
fn with_field(field: &str, message: String) -> String {
    if field.is_empty() {
        message
    } else {
        format!("{message} (field `{field}`)")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::warn!(error = %keyward_db::describe(&e), "database unavailable");
                ApiError::unavailable("the database is unavailable; try again")
            }
            _ => ApiError::internal(&keyward_db::describe(&e)),
        }
    }
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_argument`, `not_found`.
    pub code: String,
    /// Human-readable; a 400 names the field at fault.
    pub message: String,
    /// The request id (`x-request-id`), also in the response header.
    pub request_id: String,
    /// The field at fault, when the error is about one field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        if self.method_not_allowed {
            return StatusCode::METHOD_NOT_ALLOWED;
        }
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str().to_string(),
                message: keyward_crypto::redact(&self.message).into_owned(),
                request_id: request_id::current(),
                field: self.field.clone(),
            },
        };
        let mut resp = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.insert_header((header::RETRY_AFTER, v));
        }
        if self.code == ErrorCode::Unauthenticated {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        resp.insert_header((header::CACHE_CONTROL, "no-store"));
        resp.json(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_messages_survive_the_leak_guard() {
        for field in [
            "password",
            "new_password",
            "refresh_token",
            "token",
            "totp_code",
            "secret",
        ] {
            let e = ApiError::unprocessable(field, "must be at least 12 characters");
            let shown = keyward_crypto::redact(&e.message);
            assert_eq!(shown, e.message, "{field}");
            assert!(shown.contains(field) && shown.contains("at least 12"));
            let e = ApiError::invalid(field, "invalid type: integer `1`, expected a string");
            assert_eq!(keyward_crypto::redact(&e.message), e.message, "{field}");
        }
    }
}
