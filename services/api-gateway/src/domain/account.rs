//! A member's own account: TOTP, password, accepting an invitation.

use keyward_core::id::{OrgId, UserId};
use keyward_crypto::SecretString;

use super::auth::{self as signin, Tokens, TotpCheck};
use crate::audit::{self, Ctx, Record};
use crate::auth::jwt::PRIVILEGED_ROLES;
use crate::auth::password::Hasher;
use crate::auth::{tokens, totp};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{invitations, login, members, orgs, roles, sessions};

/// Starts TOTP enrolment: a new secret, shown once, confirmed by the first valid code.
pub async fn totp_enroll(state: &AppState, ctx: &Ctx) -> ApiResult<(String, String)> {
    let c = ctx.signed_in()?;
    let secret = totp::new_secret()?;
    let sealed = totp::seal(&state.keys.totp, &c.user_id.to_string(), &secret)?;
    let mut conn = state.pool.acquire().await?;
    if !crate::store::totp::put_pending(&mut conn, c.user_id.uuid(), &sealed).await? {
        return Err(ApiError::conflict(
            "TOTP is already enabled; disable it first",
        ));
    }
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "auth.totp.enroll", "user", c.user_id),
    );
    totp::provisioning(&secret, &c.email)
}

/// Confirms enrolment with a code; this sign-in then counts as TOTP-verified.
pub async fn totp_confirm(state: &AppState, ctx: &Ctx, code: &str) -> ApiResult<()> {
    let c = ctx.signed_in()?;
    let mut tx = state.pool.begin().await?;
    let Some(row) = crate::store::totp::get(&mut tx, c.user_id.uuid()).await? else {
        return Err(ApiError::unprocessable(
            "",
            "start with POST /api/v1/me/totp/enroll",
        ));
    };
    if row.confirmed {
        return Err(ApiError::conflict("TOTP is already enabled"));
    }
    let secret = totp::open(&state.keys.totp, &c.user_id.to_string(), &row.sealed)?;
    let Some(step) = totp::matching_step(&secret, code, totp::unix_now())? else {
        return Err(ApiError::unprocessable("code", "invalid TOTP code"));
    };
    crate::store::totp::accept_step(
        &mut tx,
        c.user_id.uuid(),
        i64::try_from(step).unwrap_or(i64::MAX),
    )
    .await?;
    sessions::set_mfa(&mut tx, c.session_id).await?;
    tx.commit().await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "auth.totp.enable", "user", c.user_id),
    );
    Ok(())
}

/// Turns TOTP off with a current code, unless the org requires it of the caller.
pub async fn totp_disable(state: &AppState, ctx: &Ctx, code: &str) -> ApiResult<()> {
    let c = ctx.signed_in()?;
    let org = orgs::get(&state.pool, c.org_id.uuid())
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let privileged = state.authz.current().is_some_and(|p| {
        p.roles(c.user_id, c.org_id)
            .iter()
            .any(|g| g.team.is_none() && PRIVILEGED_ROLES.contains(&g.role.as_str()))
    });
    if org.require_totp && privileged {
        return Err(ApiError::unprocessable(
            "",
            "your organization requires TOTP for owners and admins",
        ));
    }
    let mut tx = state.pool.begin().await?;
    match signin::check_totp(state, &mut tx, c.user_id.uuid(), Some(code)).await? {
        TotpCheck::Ok => {}
        TotpCheck::NotEnrolled => return Err(ApiError::unprocessable("", "TOTP is not enabled")),
        TotpCheck::Missing | TotpCheck::Invalid => {
            return Err(ApiError::unprocessable("code", "invalid TOTP code"));
        }
    }
    crate::store::totp::delete(&mut tx, c.user_id.uuid()).await?;
    tx.commit().await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "auth.totp.disable", "user", c.user_id),
    );
    Ok(())
}

/// Changes the caller's password; every other session of theirs ends.
pub async fn change_password(
    state: &AppState,
    ctx: &Ctx,
    current: SecretString,
    new: SecretString,
) -> ApiResult<()> {
    let c = ctx.signed_in()?;
    Hasher::check_strength("new_password", &new)?;
    let mut conn = state.pool.acquire().await?;
    let user = members::by_id(&mut conn, c.user_id.uuid())
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if !state.keys.hasher.verify(user.password_hash, current).await {
        return Err(ApiError::unprocessable("current_password", "incorrect"));
    }
    let hash = state.keys.hasher.hash(new).await?;
    let mut tx = state.pool.begin().await?;
    members::set_password(&mut tx, c.user_id.uuid(), &hash).await?;
    let ended =
        sessions::revoke_all(&mut tx, c.user_id, Some(c.session_id), "password_changed").await?;
    tx.commit().await?;
    let record = Record::change(c.org_id, "auth.password.change", "user", c.user_id)
        .outcome("success", format!("{ended} other sessions ended"));
    audit::emit(state, ctx, record);
    Ok(())
}

/// Accepts an invitation: creates the user (or checks an existing user's password), adds the
/// membership and role, and signs in.
pub async fn accept_invitation(
    state: &AppState,
    ctx: &Ctx,
    token: &SecretString,
    password: SecretString,
    name: Option<String>,
) -> ApiResult<Tokens> {
    let invalid = || ApiError::unauthenticated("invalid or expired invitation");
    if !token.expose().starts_with(tokens::INVITE_PREFIX) {
        return Err(invalid());
    }
    let name = match name {
        Some(n) => super::check_name("name", &n)?,
        None => String::new(),
    };
    let mut tx = state.pool.begin().await?;
    let inv = invitations::pending_by_token(&mut tx, &tokens::sha256(token.expose()))
        .await?
        .ok_or_else(invalid)?;
    if let Some(secs) = login::locked_for(&state.pool, &inv.email).await? {
        return Err(ApiError::rate_limited(
            "too many failed sign-ins for this account; try again later",
            u64::try_from(secs).unwrap_or(1),
        ));
    }
    let user_id = match members::by_email(&mut tx, &inv.email).await? {
        Some(u) => {
            if u.disabled || !state.keys.hasher.verify(u.password_hash, password).await {
                drop(tx);
                let cfg = &state.auth;
                login::record(&state.pool, &inv.email, &ctx.ip, "failure").await?;
                login::record_failure(
                    &state.pool,
                    &inv.email,
                    cfg.lockout_threshold,
                    cfg.lockout_window_secs,
                    cfg.lockout_secs,
                )
                .await?;
                return Err(ApiError::unauthenticated(
                    "this e-mail already has an account: give its password",
                ));
            }
            u.id
        }
        None => {
            Hasher::check_strength("password", &password)?;
            let hash = state.keys.hasher.hash(password).await?;
            members::create_user(&mut tx, &inv.email, &name, &hash).await?
        }
    };
    members::add(&mut tx, inv.org_id, user_id).await?;
    roles::assign(&mut tx, inv.org_id, user_id, &inv.role, inv.team_id, None).await?;
    invitations::mark_accepted(&mut tx, inv.id, user_id).await?;
    tx.commit().await?;
    state
        .authz
        .reload()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let record = Record::change(inv.org_id, "invitation.accept", "invitation", inv.id)
        .actor(user_id, &inv.email)
        .after(&serde_json::json!({"role": inv.role, "team_id": inv.team_id}));
    audit::emit(state, ctx, record);
    let mut conn = state.pool.acquire().await?;
    signin::start_session(
        state,
        &mut conn,
        ctx,
        UserId::from_uuid(user_id),
        OrgId::from_uuid(inv.org_id),
        false,
    )
    .await
}
