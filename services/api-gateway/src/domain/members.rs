//! Members of an org and invitations to join it.

use keyward_core::id::TeamId;
use keyward_crypto::SecretString;
use uuid::Uuid;

use super::{check_name, ensure_target, ensure_write, normalize_email};
use crate::audit::{self, Ctx, Record};
use crate::auth::tokens;
use crate::authz::{Caller, Grant, Resource};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::invitations::{self, Invitation};
use crate::store::members::{self, Member};

pub async fn list(
    state: &AppState,
    c: &Caller,
    after: Option<Uuid>,
    limit: i64,
) -> ApiResult<Vec<Member>> {
    let filter = c.grant().team_filter();
    Ok(members::list(
        &state.pool,
        c.org_id.uuid(),
        filter.as_deref(),
        after,
        limit,
    )
    .await?)
}

/// A member the caller may see: anyone with an org-wide grant, else members of their teams.
pub async fn get(state: &AppState, c: &Caller, id: Uuid) -> ApiResult<Member> {
    let m = members::get(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if let Grant::Teams(mine) = c.grant() {
        let theirs = members::teams_of(&state.pool, c.org_id.uuid(), id).await?;
        if !theirs.iter().any(|t| mine.contains(&TeamId::from_uuid(*t))) {
            return Err(ApiError::not_found("user"));
        }
    }
    Ok(m)
}

pub async fn rename(state: &AppState, ctx: &Ctx, id: Uuid, name: &str) -> ApiResult<Member> {
    let c = ctx.signed_in()?;
    let before = members::get(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    ensure_write(state, c, Resource::Users, None, "user")?;
    let name = check_name("name", name)?;
    let mut tx = state.pool.begin().await?;
    members::set_name(&mut tx, id, &name).await?;
    tx.commit().await?;
    let after = members::get(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "user.update", "user", id)
            .before(&before)
            .after(&after),
    );
    Ok(after)
}

/// Removes a member from the org (their roles and sessions here end). Only an owner removes an
/// owner, and the last owner stays.
pub async fn remove(state: &AppState, ctx: &Ctx, id: Uuid) -> ApiResult<()> {
    let c = ctx.signed_in()?;
    let before = members::get(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    ensure_write(state, c, Resource::Users, None, "user")?;
    let mut tx = state.pool.begin().await?;
    let owners = crate::store::roles::owners_for_update(&mut tx, c.org_id.uuid()).await?;
    if owners.contains(&id) {
        if !owners.contains(&c.user_id.uuid()) {
            return Err(ApiError::forbidden("only an owner can remove an owner"));
        }
        if owners.len() == 1 {
            return Err(ApiError::unprocessable(
                "",
                "the last owner cannot be removed",
            ));
        }
    }
    members::remove(&mut tx, c.org_id.uuid(), id).await?;
    tx.commit().await?;
    super::policy_changed(state, c.org_id.uuid()).await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "user.remove", "user", id).before(&before),
    );
    Ok(())
}

/// Whether `role` exists in the caller's org (built-in or custom).
pub async fn role_exists(state: &AppState, c: &Caller, role: &str) -> ApiResult<bool> {
    if crate::authz::BUILTIN_ROLES.contains(&role) {
        return Ok(true);
    }
    let mut conn = state.pool.acquire().await?;
    Ok(crate::store::roles::custom_role_exists(&mut conn, c.org_id.uuid(), role).await?)
}

/// Granting `role`: unknown roles are 422, owner needs an owner and is org-wide only.
pub async fn check_grantable(
    state: &AppState,
    c: &Caller,
    role: &str,
    team: Option<Uuid>,
) -> ApiResult<()> {
    if !role_exists(state, c, role).await? {
        return Err(ApiError::unprocessable(
            "role",
            "no such role in this organization",
        ));
    }
    if role == "owner" {
        if team.is_some() {
            return Err(ApiError::unprocessable(
                "team_id",
                "owner is held org-wide only",
            ));
        }
        let is_owner = state.authz.current().is_some_and(|p| {
            p.roles(c.user_id, c.org_id)
                .iter()
                .any(|g| g.role == "owner" && g.team.is_none())
        });
        if !is_owner {
            return Err(ApiError::forbidden(
                "only an owner can grant the owner role",
            ));
        }
    }
    Ok(())
}

pub async fn list_invitations(state: &AppState, c: &Caller) -> ApiResult<Vec<Invitation>> {
    let filter = c.grant().team_filter();
    Ok(invitations::list(&state.pool, c.org_id.uuid(), filter.as_deref()).await?)
}

/// Invites `email` with `role` (in `team`); the token is returned once.
pub async fn invite(
    state: &AppState,
    ctx: &Ctx,
    email: &str,
    role: &str,
    team: Option<Uuid>,
) -> ApiResult<(Invitation, SecretString)> {
    let c = ctx.signed_in()?;
    let email = normalize_email("email", email)?;
    if let Some(t) = team {
        super::orgs::check_team(state, c, "team_id", t).await?;
    }
    ensure_target(state, c, Resource::Invitations, team)?;
    check_grantable(state, c, role, team).await?;
    let token = tokens::generate(tokens::INVITE_PREFIX)?;
    let mut tx = state.pool.begin().await?;
    if let Some(u) = members::by_email(&mut tx, &email).await?
        && members::get(&state.pool, c.org_id.uuid(), u.id)
            .await?
            .is_some()
    {
        return Err(ApiError::conflict(
            "this person is already a member; assign a role instead",
        ));
    }
    let inv = invitations::create(
        &mut tx,
        c.org_id.uuid(),
        &email,
        role,
        team,
        &tokens::sha256(token.expose()),
        c.user_id.uuid(),
        state.auth.invitation_ttl_secs,
    )
    .await?;
    tx.commit().await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "invitation.create", "invitation", inv.id).after(&inv),
    );
    Ok((inv, token))
}

pub async fn revoke_invitation(state: &AppState, ctx: &Ctx, id: Uuid) -> ApiResult<()> {
    let c = ctx.signed_in()?;
    let mut tx = state.pool.begin().await?;
    let inv = invitations::get(&mut tx, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("invitation"))?;
    ensure_write(state, c, Resource::Invitations, inv.team_id, "invitation")?;
    if !invitations::revoke(&mut tx, c.org_id.uuid(), id).await? {
        return Err(ApiError::conflict(format!(
            "the invitation is {} already",
            inv.status
        )));
    }
    tx.commit().await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "invitation.revoke", "invitation", id).before(&inv),
    );
    Ok(())
}
