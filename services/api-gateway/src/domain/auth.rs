//! Sign-in, refresh with rotation and reuse detection, sign-out.

use keyward_core::id::{OrgId, UserId};
use keyward_crypto::SecretString;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit::{self, Ctx, Record};
use crate::auth::{tokens, totp};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{login, members, sessions};

/// What a successful sign-in or refresh returns.
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: SecretString,
    pub expires_in: u64,
}

/// A sign-in request.
pub struct LoginInput {
    pub email: String,
    pub password: SecretString,
    pub org_id: Option<Uuid>,
    pub totp_code: Option<String>,
}

const BAD_CREDENTIALS: &str = "invalid email or password";

/// Signs in with e-mail and password (and a TOTP code once enrolled).
pub async fn login(state: &AppState, ctx: &Ctx, input: LoginInput) -> ApiResult<Tokens> {
    let email = super::normalize_email("email", &input.email)?;
    if input.password.is_empty() {
        return Err(ApiError::invalid("password", "must not be empty"));
    }
    let pool = &state.pool;
    let cfg = &state.auth;
    if login::recent_from_ip(pool, &ctx.ip).await? >= i64::from(cfg.login_per_ip_per_minute) {
        login::record(pool, &email, &ctx.ip, "rate_limited").await?;
        audit::emit(state, ctx, attempt(&email, "denied", "rate_limited"));
        return Err(ApiError::rate_limited(
            "too many sign-in attempts from this address; try again in a minute",
            60,
        ));
    }
    if let Some(secs) = login::locked_for(pool, &email).await? {
        login::record(pool, &email, &ctx.ip, "locked").await?;
        audit::emit(state, ctx, attempt(&email, "denied", "locked"));
        return Err(ApiError::rate_limited(
            "too many failed sign-ins for this account; try again later",
            u64::try_from(secs).unwrap_or(1),
        ));
    }
    let mut conn = pool.acquire().await?;
    let user = members::by_email(&mut conn, &email).await?;
    let (hash, user_id) = match &user {
        Some(u) if !u.disabled => (u.password_hash.clone(), Some(u.id)),
        _ => (None, None),
    };
    let ok = state.keys.hasher.verify(hash, input.password).await;
    let Some(user_id) = user_id.filter(|_| ok) else {
        return Err(failure(
            state,
            ctx,
            &email,
            user.map(|u| u.id),
            "bad_credentials",
            BAD_CREDENTIALS,
        )
        .await);
    };
    let orgs = members::orgs_of(&mut conn, user_id).await?;
    let org = match (input.org_id, orgs.as_slice()) {
        (Some(o), _) if orgs.contains(&o) => o,
        (Some(_), _) => {
            return Err(ApiError::unprocessable(
                "org_id",
                "you are not a member of this organization",
            ));
        }
        (None, []) => {
            return Err(ApiError::forbidden(
                "you are not a member of any organization",
            ));
        }
        (None, [only]) => *only,
        (None, _) => {
            return Err(ApiError::unprocessable(
                "org_id",
                "required: you are a member of several organizations (GET /api/v1/orgs lists them)",
            ));
        }
    };
    let mfa = match check_totp(state, &mut conn, user_id, input.totp_code.as_deref()).await? {
        TotpCheck::NotEnrolled => false,
        TotpCheck::Ok => true,
        TotpCheck::Missing => {
            return Err(ApiError::unauthenticated(
                "totp_code is required for this account",
            ));
        }
        TotpCheck::Invalid => {
            return Err(failure(
                state,
                ctx,
                &email,
                Some(user_id),
                "bad_totp",
                "invalid TOTP code",
            )
            .await);
        }
    };
    login::clear(pool, &email).await?;
    login::record(pool, &email, &ctx.ip, "success").await?;
    let user_id = UserId::from_uuid(user_id);
    let org_id = OrgId::from_uuid(org);
    let tokens = start_session(state, &mut conn, ctx, user_id, org_id, mfa).await?;
    let record = Record::change(org, "auth.login", "user", user_id).actor(user_id, &email);
    audit::emit(state, ctx, record);
    Ok(tokens)
}

fn attempt<'a>(email: &str, outcome: &'a str, reason: &str) -> Record<'a> {
    Record::change("", "auth.login", "user", "")
        .actor("", email)
        .outcome(outcome, reason)
}

/// Counts a failure (locking the e-mail at the threshold), audits it, and returns the 401.
async fn failure(
    state: &AppState,
    ctx: &Ctx,
    email: &str,
    user: Option<Uuid>,
    reason: &str,
    message: &str,
) -> ApiError {
    let cfg = &state.auth;
    let pool = &state.pool;
    let res = async {
        login::record(pool, email, &ctx.ip, "failure").await?;
        login::record_failure(
            pool,
            email,
            cfg.lockout_threshold,
            cfg.lockout_window_secs,
            cfg.lockout_secs,
        )
        .await
    }
    .await;
    let uid = user.map(|u| u.to_string()).unwrap_or_default();
    let record = Record::change("", "auth.login", "user", &uid)
        .actor(&uid, email)
        .outcome("failure", reason);
    audit::emit(state, ctx, record);
    match res {
        Ok(true) => {
            let record = Record::change("", "auth.lockout", "user", &uid)
                .actor(&uid, email)
                .outcome(
                    "success",
                    format!("{} consecutive failures", cfg.lockout_threshold),
                );
            audit::emit(state, ctx, record);
        }
        Ok(false) => {}
        Err(e) => return ApiError::from(e),
    }
    ApiError::unauthenticated(message)
}

/// The TOTP part of a sign-in.
pub enum TotpCheck {
    NotEnrolled,
    Missing,
    Invalid,
    Ok,
}

/// Verifies `code` against the user's confirmed secret (each time step once).
pub async fn check_totp(
    state: &AppState,
    conn: &mut PgConnection,
    user: Uuid,
    code: Option<&str>,
) -> ApiResult<TotpCheck> {
    let Some(row) = crate::store::totp::get(conn, user).await? else {
        return Ok(TotpCheck::NotEnrolled);
    };
    if !row.confirmed {
        return Ok(TotpCheck::NotEnrolled);
    }
    let Some(code) = code else {
        return Ok(TotpCheck::Missing);
    };
    let secret = totp::open(&state.keys.totp, &user.to_string(), &row.sealed)?;
    match totp::matching_step(&secret, code, totp::unix_now())? {
        Some(step)
            if row
                .last_step
                .is_none_or(|last| i64::try_from(step).unwrap_or(i64::MAX) > last) =>
        {
            crate::store::totp::accept_step(conn, user, i64::try_from(step).unwrap_or(i64::MAX))
                .await?;
            Ok(TotpCheck::Ok)
        }
        _ => Ok(TotpCheck::Invalid),
    }
}

/// Creates a session with its first refresh token and an access token.
pub async fn start_session(
    state: &AppState,
    conn: &mut PgConnection,
    ctx: &Ctx,
    user: UserId,
    org: OrgId,
    mfa: bool,
) -> ApiResult<Tokens> {
    let cfg = &state.auth;
    let refresh = tokens::generate(tokens::REFRESH_PREFIX)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let sid = sessions::create(
        &mut tx,
        user,
        org,
        mfa,
        &ctx.ip,
        &ctx.user_agent,
        cfg.session_ttl_secs,
    )
    .await?;
    sessions::insert_refresh(
        &mut tx,
        sid,
        &tokens::sha256(refresh.expose()),
        cfg.refresh_ttl_secs,
    )
    .await?;
    tx.commit().await?;
    Ok(Tokens {
        access_token: state.keys.jwt.issue(user, org, sid)?,
        refresh_token: refresh,
        expires_in: state.keys.jwt.ttl_secs(),
    })
}

/// Exchanges a refresh token for new tokens. Presenting a token a second time revokes its
/// whole session (someone else has a copy).
pub async fn refresh(state: &AppState, ctx: &Ctx, token: &SecretString) -> ApiResult<Tokens> {
    let invalid = || ApiError::unauthenticated("invalid or expired refresh token");
    if !token.expose().starts_with(tokens::REFRESH_PREFIX) {
        return Err(invalid());
    }
    let mut tx = state.pool.begin().await?;
    let row = sessions::find_refresh(&mut tx, &tokens::sha256(token.expose()))
        .await?
        .ok_or_else(invalid)?;
    if row.used {
        let revoked = sessions::revoke(&mut tx, row.session_id, "refresh_token_reuse").await?;
        tx.commit().await?;
        if revoked {
            let record =
                Record::change(row.org_id, "auth.refresh_reuse", "session", row.session_id)
                    .actor(row.user_id, &row.email)
                    .outcome(
                        "denied",
                        "a used refresh token was presented again; session revoked",
                    );
            audit::emit(state, ctx, record);
        }
        return Err(invalid());
    }
    if !row.token_live || !row.session_live {
        return Err(invalid());
    }
    sessions::mark_used(&mut tx, row.token_id).await?;
    let next = tokens::generate(tokens::REFRESH_PREFIX)?;
    sessions::insert_refresh(
        &mut tx,
        row.session_id,
        &tokens::sha256(next.expose()),
        state.auth.refresh_ttl_secs,
    )
    .await?;
    sessions::touch(&mut tx, row.session_id).await?;
    tx.commit().await?;
    Ok(Tokens {
        access_token: state.keys.jwt.issue(
            UserId::from_uuid(row.user_id),
            OrgId::from_uuid(row.org_id),
            row.session_id,
        )?,
        refresh_token: next,
        expires_in: state.keys.jwt.ttl_secs(),
    })
}

/// Ends the caller's session, or every session of the caller with `all`.
pub async fn logout(state: &AppState, ctx: &Ctx, all: bool) -> ApiResult<()> {
    let caller = ctx
        .caller
        .as_ref()
        .ok_or_else(|| ApiError::unauthenticated("sign in first"))?;
    let mut conn = state.pool.acquire().await?;
    if all {
        sessions::revoke_all(&mut conn, caller.user_id, None, "logout_all").await?;
    } else {
        sessions::revoke(&mut conn, caller.session_id, "logout").await?;
    }
    let record = Record::change(caller.org_id, "auth.logout", "session", caller.session_id)
        .outcome("success", if all { "all sessions" } else { "this session" });
    audit::emit(state, ctx, record);
    Ok(())
}
