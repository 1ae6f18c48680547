//! Request ids: the client's `x-request-id` when it is sane, else a new UUIDv7. Echoed in the
//! response header and in every error body; available to the whole request as a task-local.

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage};

/// The header carrying the id both ways.
pub const HEADER: &str = "x-request-id";
static HEADER_NAME: HeaderName = HeaderName::from_static(HEADER);

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled (empty outside one).
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// The id as stored in request extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Accepts 1–128 characters of `[A-Za-z0-9._:-]`; anything else is replaced.
fn sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The request's id: the client's `x-request-id` when sane, else a new UUIDv7. Stored in the
/// request's extensions for handlers.
pub fn assign(req: &ServiceRequest) -> String {
    let id = req
        .headers()
        .get(&HEADER_NAME)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map_or_else(|| keyward_core::id::uuid_v7().to_string(), str::to_string);
    req.extensions_mut().insert(RequestId(id.clone()));
    id
}

/// Runs the rest of the chain with `id` as the task-local [`current`] id, and echoes it in the
/// response header.
pub async fn within<B>(
    id: String,
    rest: impl Future<Output = Result<ServiceResponse<B>, Error>>,
) -> Result<ServiceResponse<B>, Error> {
    let header = HeaderValue::from_str(&id).ok();
    let mut res = REQUEST_ID.scope(id, rest).await?;
    if let Some(v) = header {
        res.headers_mut().insert(HEADER_NAME.clone(), v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_echoed() {
        assert!(sane("abc-123_x.y:z"));
        assert!(!sane(""));
        assert!(!sane(&"a".repeat(129)));
        assert!(!sane("a b"));
        assert!(!sane("a\nb"));
    }
}
