//! Organizations, teams and projects.

use uuid::Uuid;

use super::{
    check_description, check_name, conflict_on_unique, ensure_org_wide, ensure_read, ensure_target,
    ensure_write,
};
use crate::audit::{self, Ctx, Record};
use crate::authz::{Caller, Resource};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::orgs::Org;
use crate::store::projects::Project;
use crate::store::teams::Team;
use crate::store::{members, orgs, projects, roles, teams, vkeys};

/// Creates an org; the caller becomes its owner.
pub async fn create_org(state: &AppState, ctx: &Ctx, name: &str) -> ApiResult<Org> {
    let c = ctx.signed_in()?;
    let name = check_name("name", name)?;
    let mut tx = state.pool.begin().await?;
    let org = orgs::create(&mut tx, &name)
        .await
        .map_err(conflict_on_unique("an organization with this name exists"))?;
    members::add(&mut tx, org.id, c.user_id.uuid()).await?;
    roles::assign(
        &mut tx,
        org.id,
        c.user_id.uuid(),
        "owner",
        None,
        Some(c.user_id.uuid()),
    )
    .await?;
    tx.commit().await?;
    super::policy_changed(state, org.id).await?;
    audit::emit(
        state,
        ctx,
        Record::change(org.id, "org.create", "org", org.id).after(&org),
    );
    Ok(org)
}

/// The caller's org (another org's id answers 404).
pub async fn get_org(state: &AppState, c: &Caller, id: Uuid) -> ApiResult<Org> {
    if id != c.org_id.uuid() {
        return Err(ApiError::not_found("organization"));
    }
    orgs::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))
}

/// Renames the org or changes whether owners and admins need TOTP.
pub async fn update_org(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    name: Option<&str>,
    require_totp: Option<bool>,
) -> ApiResult<Org> {
    let c = ctx.signed_in()?;
    let before = get_org(state, c, id).await?;
    ensure_org_wide(c, Resource::Org)?;
    let name = name.map(|n| check_name("name", n)).transpose()?;
    if require_totp == Some(true) && !c.mfa {
        return Err(ApiError::unprocessable(
            "require_totp",
            "enable TOTP for yourself and sign in with a code first, or you would lock yourself out",
        ));
    }
    let mut tx = state.pool.begin().await?;
    let after = orgs::update(&mut tx, id, name.as_deref(), require_totp)
        .await
        .map_err(conflict_on_unique("an organization with this name exists"))?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    tx.commit().await?;
    audit::emit(
        state,
        ctx,
        Record::change(id, "org.update", "org", id)
            .before(&before)
            .after(&after),
    );
    Ok(after)
}

pub async fn list_teams(
    state: &AppState,
    c: &Caller,
    after: Option<Uuid>,
    limit: i64,
) -> ApiResult<Vec<Team>> {
    let filter = c.grant().team_filter();
    Ok(teams::list(
        &state.pool,
        c.org_id.uuid(),
        filter.as_deref(),
        after,
        limit,
    )
    .await?)
}

pub async fn get_team(state: &AppState, c: &Caller, id: Uuid) -> ApiResult<Team> {
    ensure_read(c, Some(id), "team")?;
    teams::get(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("team"))
}

pub async fn create_team(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    description: &str,
) -> ApiResult<Team> {
    let c = ctx.signed_in()?;
    ensure_org_wide(c, Resource::Teams)?;
    let (name, description) = (
        check_name("name", name)?,
        check_description("description", description)?,
    );
    let mut tx = state.pool.begin().await?;
    let team = teams::create(&mut tx, c.org_id.uuid(), &name, &description)
        .await
        .map_err(conflict_on_unique("a team with this name exists"))?;
    tx.commit().await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "team.create", "team", team.id).after(&team),
    );
    Ok(team)
}

pub async fn update_team(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
) -> ApiResult<Team> {
    let c = ctx.signed_in()?;
    let before = teams::get(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("team"))?;
    ensure_write(state, c, Resource::Teams, Some(id), "team")?;
    let name = name.map(|n| check_name("name", n)).transpose()?;
    let description = description
        .map(|d| check_description("description", d))
        .transpose()?;
    let mut tx = state.pool.begin().await?;
    let after = teams::update(
        &mut tx,
        c.org_id.uuid(),
        id,
        name.as_deref(),
        description.as_deref(),
    )
    .await
    .map_err(conflict_on_unique("a team with this name exists"))?
    .ok_or_else(|| ApiError::not_found("team"))?;
    tx.commit().await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "team.update", "team", id)
            .before(&before)
            .after(&after),
    );
    Ok(after)
}

pub async fn delete_team(state: &AppState, ctx: &Ctx, id: Uuid) -> ApiResult<()> {
    let c = ctx.signed_in()?;
    let before = teams::get(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("team"))?;
    ensure_write(state, c, Resource::Teams, Some(id), "team")?;
    ensure_org_wide(c, Resource::Teams)?;
    let mut tx = state.pool.begin().await?;
    teams::delete(&mut tx, c.org_id.uuid(), id)
        .await
        .map_err(|e| {
            if crate::store::is_fk_violation(&e) {
                ApiError::conflict(
                    "the team still has projects or virtual keys; move or delete them first",
                )
            } else {
                ApiError::from(e)
            }
        })?;
    tx.commit().await?;
    super::policy_changed(state, c.org_id.uuid()).await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "team.delete", "team", id).before(&before),
    );
    Ok(())
}

pub async fn list_projects(
    state: &AppState,
    c: &Caller,
    after: Option<Uuid>,
    limit: i64,
) -> ApiResult<Vec<Project>> {
    let filter = c.grant().team_filter();
    Ok(projects::list(
        &state.pool,
        c.org_id.uuid(),
        filter.as_deref(),
        after,
        limit,
    )
    .await?)
}

pub async fn get_project(state: &AppState, c: &Caller, id: Uuid) -> ApiResult<Project> {
    let p = projects::get(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    ensure_read(c, p.team_id, "project")?;
    Ok(p)
}

/// 404 (naming the field) unless `team` is a team of the caller's org.
pub async fn check_team(state: &AppState, c: &Caller, field: &str, team: Uuid) -> ApiResult<()> {
    if teams::get(&state.pool, c.org_id.uuid(), team)
        .await?
        .is_none()
    {
        let mut e = ApiError::not_found(field);
        e.field = Some(field.to_string());
        return Err(e);
    }
    Ok(())
}

pub async fn create_project(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    description: &str,
    team: Option<Uuid>,
) -> ApiResult<Project> {
    let c = ctx.signed_in()?;
    let (name, description) = (
        check_name("name", name)?,
        check_description("description", description)?,
    );
    if let Some(t) = team {
        check_team(state, c, "team_id", t).await?;
    }
    ensure_target(state, c, Resource::Projects, team)?;
    let mut tx = state.pool.begin().await?;
    let p = projects::create(&mut tx, c.org_id.uuid(), &name, &description, team)
        .await
        .map_err(conflict_on_unique("a project with this name exists"))?;
    tx.commit().await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "project.create", "project", p.id).after(&p),
    );
    Ok(p)
}

pub async fn update_project(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
    team: Option<Option<Uuid>>,
) -> ApiResult<Project> {
    let c = ctx.signed_in()?;
    let before = projects::get(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    ensure_write(state, c, Resource::Projects, before.team_id, "project")?;
    let name = name.map(|n| check_name("name", n)).transpose()?;
    let description = description
        .map(|d| check_description("description", d))
        .transpose()?;
    if let Some(new_team) = team {
        if let Some(t) = new_team {
            check_team(state, c, "team_id", t).await?;
        }
        ensure_target(state, c, Resource::Projects, new_team)?;
    }
    let mut tx = state.pool.begin().await?;
    let after = projects::update(
        &mut tx,
        c.org_id.uuid(),
        id,
        name.as_deref(),
        description.as_deref(),
        team,
    )
    .await
    .map_err(conflict_on_unique("a project with this name exists"))?
    .ok_or_else(|| ApiError::not_found("project"))?;
    if team.is_some() {
        vkeys::follow_project(&mut tx, id, after.team_id).await?;
    }
    tx.commit().await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "project.update", "project", id)
            .before(&before)
            .after(&after),
    );
    Ok(after)
}

pub async fn delete_project(state: &AppState, ctx: &Ctx, id: Uuid) -> ApiResult<()> {
    let c = ctx.signed_in()?;
    let before = projects::get(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    ensure_write(state, c, Resource::Projects, before.team_id, "project")?;
    let mut tx = state.pool.begin().await?;
    projects::delete(&mut tx, c.org_id.uuid(), id)
        .await
        .map_err(|e| {
            if crate::store::is_fk_violation(&e) {
                ApiError::conflict("the project still has virtual keys; revoke and move them first")
            } else {
                ApiError::from(e)
            }
        })?;
    tx.commit().await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "project.delete", "project", id).before(&before),
    );
    Ok(())
}
