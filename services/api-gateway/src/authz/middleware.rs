//! The one authorization middleware: maps the matched route to its [`Access`], authenticates the
//! caller, and enforces `(resource, action)` in the caller's org.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use keyward_core::id::{OrgId, UserId};
use uuid::Uuid;

use super::Grant;
use crate::auth::jwt;
use crate::error::ApiError;
use crate::routes::Access;
use crate::state::AppState;

/// The one route that also takes its access token from the query string.
const LIVE_STREAM: &str = "/api/v1/events/stream";

/// Paths a member who still owes a TOTP sign-in may use.
const TOTP_PENDING_ALLOWED: [&str; 2] = ["/api/v1/me", "/api/v1/auth/logout"];

/// The authenticated caller of a route, with the grant of the route's permission.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub session_id: Uuid,
    pub email: String,
    /// A TOTP code was verified in this sign-in.
    pub mfa: bool,
    /// The org requires TOTP of this caller and the sign-in has none yet.
    pub totp_pending: bool,
    /// Where the route's permission is held (`None` on [`Access::Session`] routes).
    pub grant: Option<Grant>,
}

impl Caller {
    /// The grant of a permission route (a session route has none: nothing is covered).
    pub fn grant(&self) -> Grant {
        self.grant.clone().unwrap_or(Grant::Teams(Vec::new()))
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<Caller>()
                .cloned()
                .ok_or_else(|| ApiError::unauthenticated("sign in first")),
        )
    }
}

/// The middleware function.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if !req.path().starts_with("/api/v1/") {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        let err = ApiError::internal(&"application state missing");
        return Ok(req.error_response(err).map_into_right_body());
    };
    let access = req
        .match_pattern()
        .and_then(|p| state.routes.access(req.method(), &p));
    let access = match access {
        // Unknown path or method: the router answers 404/405.
        None | Some(Access::Public) => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body);
        }
        Some(a) => a,
    };
    match authorize(&state, &req, access).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        Err(err) => {
            let resp = err.error_response();
            Ok(req.into_response(resp).map_into_right_body())
        }
    }
}

async fn authorize(
    state: &AppState,
    req: &ServiceRequest,
    access: Access,
) -> Result<Caller, ApiError> {
    let header_token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_string);
    // `EventSource` cannot set headers: the live stream alone also takes `?access_token=`
    // (the access log never records query strings).
    let query_token = || {
        (req.path() == LIVE_STREAM)
            .then(|| {
                web::Query::<std::collections::HashMap<String, String>>::from_query(
                    req.query_string(),
                )
                .ok()
                .and_then(|q| q.into_inner().remove("access_token"))
            })
            .flatten()
    };
    let token = header_token
        .or_else(query_token)
        .ok_or_else(|| ApiError::unauthenticated("missing bearer token"))?;
    let token = token.as_str();
    let claims = state
        .keys
        .jwt
        .verify(token)
        .map_err(|_| ApiError::unauthenticated("invalid or expired access token"))?;
    let (user_id, org_id, session_id) = claims.ids()?;
    let session = crate::store::sessions::active(&state.pool, session_id, user_id, org_id)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("the session has ended; sign in again"))?;
    let policy = state
        .authz
        .current()
        .ok_or_else(|| ApiError::unavailable("authorization policy is loading; try again"))?;
    let privileged = policy
        .roles(user_id, org_id)
        .iter()
        .any(|g| g.team.is_none() && jwt::PRIVILEGED_ROLES.contains(&g.role.as_str()));
    let totp_pending = session.require_totp && privileged && !session.mfa;
    if totp_pending
        && !TOTP_PENDING_ALLOWED
            .iter()
            .any(|p| req.path() == *p || req.path().starts_with(&format!("{p}/")))
    {
        return Err(ApiError::forbidden(
            "this organization requires TOTP for owners and admins: enrol with \
             POST /api/v1/me/totp/enroll and /confirm, or sign in again with totp_code",
        ));
    }
    let grant = match access {
        Access::Public | Access::Session => None,
        Access::Perm(resource, action) => {
            let grant = policy
                .check(user_id, org_id, resource, action)
                .map_err(|e| ApiError::internal(&e))?;
            Some(grant.ok_or_else(|| {
                ApiError::forbidden(format!(
                    "your roles do not allow {} on {}",
                    action.as_str(),
                    resource.as_str()
                ))
            })?)
        }
    };
    Ok(Caller {
        user_id,
        org_id,
        session_id,
        email: session.email,
        mfa: session.mfa,
        totp_pending,
        grant,
    })
}
