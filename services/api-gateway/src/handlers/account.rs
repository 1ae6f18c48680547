//! `/auth/*`, `/me*` and accepting invitations.

use actix_web::{HttpResponse, web};
use keyward_crypto::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::Ctx;
use crate::authz::Caller;
use crate::body::{Json, JsonOrEmpty};
use crate::domain::account;
use crate::domain::auth::{self, LoginInput, Tokens};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::roles::Assignment;

/// Sign-in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
    /// Required when the user belongs to several organizations.
    #[serde(default)]
    pub org_id: Option<Uuid>,
    /// Required once the user has enabled TOTP.
    #[serde(default)]
    pub totp_code: Option<String>,
}

/// A secret request field: deserialized straight into zeroizing memory.
pub struct Secret(pub SecretString);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Secret(SecretString::new(s)))
    }
}

/// Tokens of a session.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Single use: exchange it at `/auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

fn tokens_response(t: Tokens) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse {
            access_token: t.access_token,
            refresh_token: t.refresh_token.expose().to_string(),
            expires_in: t.expires_in,
        })
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let input = LoginInput {
        email: b.email,
        password: b.password.0,
        org_id: b.org_id,
        totp_code: b.totp_code,
    };
    auth::login(&state, &ctx, input).await.map(tokens_response)
}

/// A refresh token to exchange.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String, format = Password)]
    pub refresh_token: Secret,
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn refresh(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    auth::refresh(&state, &ctx, &body.0.refresh_token.0)
        .await
        .map(tokens_response)
}

/// Sign-out options.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// End every session of the caller, not only this one.
    #[serde(default)]
    pub all: bool,
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body(content = Option<LogoutRequest>),
    security(("bearer" = [])), responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: JsonOrEmpty<LogoutRequest>,
) -> ApiResult<HttpResponse> {
    auth::logout(&state, &ctx, body.0.all).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in member.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: Uuid,
    pub email: String,
    pub org_id: Uuid,
    pub roles: Vec<Assignment>,
    /// A TOTP code was verified in this sign-in.
    pub mfa: bool,
    /// The org requires TOTP of this member and this sign-in has none: only `/me*` and sign-out
    /// work until then.
    pub totp_pending: bool,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(
    state: web::Data<AppState>,
    caller: Caller,
    _q: crate::body::Query<super::NoQuery>,
) -> ApiResult<HttpResponse> {
    let roles = crate::store::roles::list_assignments(
        &state.pool,
        caller.org_id.uuid(),
        Some(caller.user_id.uuid()),
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(Me {
        user_id: caller.user_id.uuid(),
        email: caller.email,
        org_id: caller.org_id.uuid(),
        roles,
        mfa: caller.mfa,
        totp_pending: caller.totp_pending,
    }))
}

/// What an authenticator app needs (shown once).
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret.
    pub secret: String,
    /// `otpauth://` URL (render as a QR code).
    pub otpauth_url: String,
}

#[utoipa::path(post, path = "/api/v1/me/totp/enroll", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TotpEnrolment), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn totp_enroll(state: web::Data<AppState>, ctx: Ctx) -> ApiResult<HttpResponse> {
    let (secret, otpauth_url) = account::totp_enroll(&state, &ctx).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(TotpEnrolment {
            secret,
            otpauth_url,
        }))
}

/// A TOTP code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    pub code: String,
}

#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "auth", request_body = TotpCode, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn totp_confirm(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<TotpCode>,
) -> ApiResult<HttpResponse> {
    account::totp_confirm(&state, &ctx, &body.0.code).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/me/totp/disable", tag = "auth", request_body = TotpCode, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn totp_disable(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<TotpCode>,
) -> ApiResult<HttpResponse> {
    account::totp_disable(&state, &ctx, &body.0.code).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(value_type = String, format = Password)]
    pub current_password: Secret,
    #[schema(value_type = String, format = Password)]
    pub new_password: Secret,
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<PasswordChange>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    account::change_password(&state, &ctx, b.current_password.0, b.new_password.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accepting an invitation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    #[schema(value_type = String, format = Password)]
    pub token: Secret,
    /// The new account's password, or the existing account's.
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
    #[serde(default)]
    pub name: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "people", request_body = AcceptInvitation,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<AcceptInvitation>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    account::accept_invitation(&state, &ctx, &b.token.0, b.password.0, b.name)
        .await
        .map(tokens_response)
}
