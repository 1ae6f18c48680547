//! Roles (built-in and custom) and who holds them.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::members::check_grantable;
use super::{check_description, ensure_org_wide, ensure_target, ensure_write};
use crate::audit::{self, Ctx, Record};
use crate::authz::{Action, BUILTIN_ROLES, Caller, Resource};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::members;
use crate::store::roles::{self as store, Assignment};

/// One permission.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    pub resource: Resource,
    pub action: Action,
}

impl PartialOrd for Resource {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Resource {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}
impl PartialOrd for Action {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Action {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// A role and what it allows.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Role {
    pub name: String,
    pub builtin: bool,
    pub description: String,
    pub permissions: Vec<Permission>,
}

fn builtin_description(name: &str) -> &'static str {
    match name {
        "owner" => "Everything, including granting and removing owners",
        "admin" => "Everything except the owner role",
        "developer" => {
            "Reads the org; manages virtual keys (only its team's when granted in a team)"
        }
        "viewer" => "Reads teams, projects, members and keys",
        "auditor" => "Reads everything, including the audit log",
        "billing" => "Reads usage; manages budgets",
        _ => "",
    }
}

/// Built-in roles (from the loaded policy) and the org's custom roles.
pub async fn list(state: &AppState, c: &Caller) -> ApiResult<Vec<Role>> {
    let policy = state
        .authz
        .current()
        .ok_or_else(|| ApiError::unavailable("authorization policy is loading"))?;
    let rules = policy.rules();
    let mut out = Vec::new();
    for name in BUILTIN_ROLES {
        let sub = format!("role:{name}");
        let mut permissions: Vec<Permission> = rules
            .iter()
            .filter(|r| r.first() == Some(&sub) && r.get(1).map(String::as_str) == Some("*"))
            .filter_map(|r| parse_permission(r.get(2)?, r.get(3)?))
            .collect();
        permissions.sort();
        out.push(Role {
            name: name.to_string(),
            builtin: true,
            description: builtin_description(name).to_string(),
            permissions,
        });
    }
    let perms = store::custom_permissions(&state.pool, c.org_id.uuid()).await?;
    for role in store::custom_roles(&state.pool, c.org_id.uuid()).await? {
        let mut permissions: Vec<Permission> = perms
            .iter()
            .filter(|(r, _, _)| *r == role.name)
            .filter_map(|(_, res, act)| parse_permission(res, act))
            .collect();
        permissions.sort();
        out.push(Role {
            name: role.name,
            builtin: false,
            description: role.description,
            permissions,
        });
    }
    Ok(out)
}

fn parse_permission(resource: &str, action: &str) -> Option<Permission> {
    Some(Permission {
        resource: Resource::parse(resource)?,
        action: Action::parse(action)?,
    })
}

pub async fn get(state: &AppState, c: &Caller, name: &str) -> ApiResult<Role> {
    list(state, c)
        .await?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| ApiError::not_found("role"))
}

fn check_role_name(name: &str) -> ApiResult<()> {
    let ok = (2..=40).contains(&name.len())
        && name.starts_with(|ch: char| ch.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "name",
            "2–40 characters of a-z, 0-9, _ and -, starting with a letter",
        ))
    }
}

fn as_pairs(permissions: &[Permission]) -> Vec<(&'static str, &'static str)> {
    permissions
        .iter()
        .map(|p| (p.resource.as_str(), p.action.as_str()))
        .collect()
}

/// Creates a custom role.
pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    description: &str,
    permissions: &[Permission],
) -> ApiResult<Role> {
    let c = ctx.signed_in()?;
    ensure_org_wide(c, Resource::Roles)?;
    check_role_name(name)?;
    let description = check_description("description", description)?;
    if BUILTIN_ROLES.contains(&name) {
        return Err(ApiError::conflict("a built-in role has this name"));
    }
    let mut tx = state.pool.begin().await?;
    store::create_custom_role(&mut tx, c.org_id.uuid(), name, &description)
        .await
        .map_err(super::conflict_on_unique("a role with this name exists"))?;
    store::set_permissions(&mut tx, c.org_id.uuid(), name, &as_pairs(permissions)).await?;
    tx.commit().await?;
    super::policy_changed(state, c.org_id.uuid()).await?;
    let role = get(state, c, name).await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "role.create", "role", name).after(&role),
    );
    Ok(role)
}

/// Replaces a custom role's permissions (and description when given).
pub async fn update(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    description: Option<&str>,
    permissions: &[Permission],
) -> ApiResult<Role> {
    let c = ctx.signed_in()?;
    let before = get(state, c, name).await?;
    ensure_org_wide(c, Resource::Roles)?;
    if before.builtin {
        return Err(ApiError::unprocessable(
            "name",
            "built-in roles cannot be changed",
        ));
    }
    let description = description
        .map(|d| check_description("description", d))
        .transpose()?;
    let mut tx = state.pool.begin().await?;
    if let Some(d) = &description {
        store::set_description(&mut tx, c.org_id.uuid(), name, d).await?;
    }
    store::set_permissions(&mut tx, c.org_id.uuid(), name, &as_pairs(permissions)).await?;
    tx.commit().await?;
    super::policy_changed(state, c.org_id.uuid()).await?;
    let after = get(state, c, name).await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "role.update", "role", name)
            .before(&before)
            .after(&after),
    );
    Ok(after)
}

/// Deletes a custom role that nobody holds.
pub async fn delete(state: &AppState, ctx: &Ctx, name: &str) -> ApiResult<()> {
    let c = ctx.signed_in()?;
    let before = get(state, c, name).await?;
    ensure_org_wide(c, Resource::Roles)?;
    if before.builtin {
        return Err(ApiError::unprocessable(
            "name",
            "built-in roles cannot be deleted",
        ));
    }
    let mut tx = state.pool.begin().await?;
    let holders = store::assignment_count(&mut tx, c.org_id.uuid(), name).await?;
    if holders > 0 {
        return Err(ApiError::conflict(format!(
            "{holders} role assignments use this role; remove them first"
        )));
    }
    store::delete_custom_role(&mut tx, c.org_id.uuid(), name).await?;
    tx.commit().await?;
    super::policy_changed(state, c.org_id.uuid()).await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "role.delete", "role", name).before(&before),
    );
    Ok(())
}

pub async fn list_assignments(
    state: &AppState,
    c: &Caller,
    user: Option<Uuid>,
) -> ApiResult<Vec<Assignment>> {
    let filter = c.grant().team_filter();
    Ok(store::list_assignments(&state.pool, c.org_id.uuid(), user, filter.as_deref()).await?)
}

/// Grants `role` to a member, org-wide or in `team`.
pub async fn assign(
    state: &AppState,
    ctx: &Ctx,
    user: Uuid,
    role: &str,
    team: Option<Uuid>,
) -> ApiResult<Assignment> {
    let c = ctx.signed_in()?;
    if members::get(&state.pool, c.org_id.uuid(), user)
        .await?
        .is_none()
    {
        let mut e = ApiError::not_found("user_id");
        e.field = Some("user_id".into());
        return Err(e);
    }
    if let Some(t) = team {
        super::orgs::check_team(state, c, "team_id", t).await?;
    }
    ensure_target(state, c, Resource::Roles, team)?;
    check_grantable(state, c, role, team).await?;
    let mut tx = state.pool.begin().await?;
    let a = store::assign(
        &mut tx,
        c.org_id.uuid(),
        user,
        role,
        team,
        Some(c.user_id.uuid()),
    )
    .await?
    .ok_or_else(|| ApiError::conflict("the member already holds this role here"))?;
    tx.commit().await?;
    super::policy_changed(state, c.org_id.uuid()).await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "role_assignment.create", "role_assignment", a.id).after(&a),
    );
    Ok(a)
}

/// Removes an assignment; only an owner removes an owner's, and never the last owner's.
pub async fn unassign(state: &AppState, ctx: &Ctx, id: Uuid) -> ApiResult<()> {
    let c = ctx.signed_in()?;
    let mut tx = state.pool.begin().await?;
    let a = store::get_assignment(&mut tx, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("role assignment"))?;
    ensure_write(state, c, Resource::Roles, a.team_id, "role assignment")?;
    if a.role == "owner" && a.team_id.is_none() {
        let owners = store::owners_for_update(&mut tx, c.org_id.uuid()).await?;
        if !owners.contains(&c.user_id.uuid()) {
            return Err(ApiError::forbidden(
                "only an owner can remove the owner role",
            ));
        }
        if owners.len() == 1 {
            return Err(ApiError::unprocessable(
                "",
                "the last owner keeps the owner role",
            ));
        }
    }
    store::unassign(&mut tx, c.org_id.uuid(), id).await?;
    tx.commit().await?;
    super::policy_changed(state, c.org_id.uuid()).await?;
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "role_assignment.delete", "role_assignment", id).before(&a),
    );
    Ok(())
}
