//! Rules of the gateway's management API, between handlers and the store.

pub mod account;
pub mod auth;
pub mod members;
pub mod model_aliases;
pub mod orgs;
pub mod roles;
pub mod vkey_types;
pub mod vkeys;

use crate::error::{ApiError, ApiResult};

/// Default and largest page size.
pub const PAGE_DEFAULT: u32 = 50;
pub const PAGE_MAX: u32 = 200;

/// A page size within bounds.
pub fn page_limit(limit: Option<u32>) -> ApiResult<i64> {
    match limit.unwrap_or(PAGE_DEFAULT) {
        0 => Err(ApiError::invalid("limit", "must be at least 1")),
        n if n > PAGE_MAX => Err(ApiError::invalid(
            "limit",
            format!("must be at most {PAGE_MAX}"),
        )),
        n => Ok(i64::from(n)),
    }
}

/// Lower-cased, trimmed e-mail, or 400 naming `field`.
pub fn normalize_email(field: &str, email: &str) -> ApiResult<String> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(char::is_whitespace);
    if valid {
        Ok(e)
    } else {
        Err(ApiError::invalid(field, "not a valid e-mail address"))
    }
}

/// A trimmed name of 1–100 characters, or 400 naming `field`.
pub fn check_name(field: &str, name: &str) -> ApiResult<String> {
    let n = name.trim();
    if n.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if n.chars().count() > 100 {
        return Err(ApiError::invalid(field, "must be at most 100 characters"));
    }
    if n.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(n.to_string())
}

/// A description of at most 1000 characters.
pub fn check_description(field: &str, d: &str) -> ApiResult<String> {
    if d.chars().count() > 1000 {
        return Err(ApiError::invalid(field, "must be at most 1000 characters"));
    }
    Ok(d.trim().to_string())
}

/// Maps a unique violation to 409 with `message`.
pub fn conflict_on_unique(message: &'static str) -> impl Fn(sqlx::Error) -> ApiError {
    move |e| {
        if crate::store::is_unique_violation(&e) {
            ApiError::conflict(message)
        } else {
            ApiError::from(e)
        }
    }
}

use crate::authz::{Action, Caller, Resource};
use crate::state::AppState;

/// Reading an object of `team` (`None`: org-level): 404 when the caller's grant does not cover
/// it, so ids of objects the caller may not see answer like ids that do not exist.
pub fn ensure_read(caller: &Caller, team: Option<uuid::Uuid>, what: &str) -> ApiResult<()> {
    if caller
        .grant()
        .covers(team.map(keyward_core::id::TeamId::from_uuid))
    {
        Ok(())
    } else {
        Err(ApiError::not_found(what))
    }
}

/// Changing an object of `team` on a write route: 403 when the caller may read it but not
/// write it, 404 when they may not even read it.
pub fn ensure_write(
    state: &AppState,
    caller: &Caller,
    resource: Resource,
    team: Option<uuid::Uuid>,
    what: &str,
) -> ApiResult<()> {
    let team = team.map(keyward_core::id::TeamId::from_uuid);
    if caller.grant().covers(team) {
        return Ok(());
    }
    let readable = state
        .authz
        .current()
        .and_then(|p| {
            p.check(caller.user_id, caller.org_id, resource, Action::Read)
                .ok()
                .flatten()
        })
        .is_some_and(|g| g.covers(team));
    if readable {
        Err(ApiError::forbidden(format!(
            "your roles allow writing {} only in your teams",
            resource.as_str()
        )))
    } else {
        Err(ApiError::not_found(what))
    }
}

/// Org-level writes (creating teams, custom roles, …) need the permission org-wide.
pub fn ensure_org_wide(caller: &Caller, resource: Resource) -> ApiResult<()> {
    if caller.grant().covers(None) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "this needs {} write permission org-wide, not only in a team",
            resource.as_str()
        )))
    }
}

/// Where a new or moved object goes: a team the caller may write in, or org level, which
/// needs the permission org-wide.
pub fn ensure_target(
    state: &AppState,
    caller: &Caller,
    resource: Resource,
    team: Option<uuid::Uuid>,
) -> ApiResult<()> {
    match team {
        None => ensure_org_wide(caller, resource),
        Some(_) => ensure_write(state, caller, resource, team, "team_id").map_err(|mut e| {
            e.field = Some("team_id".into());
            e
        }),
    }
}

/// Reloads the policy after a committed change and tells other replicas.
pub async fn policy_changed(state: &AppState, org: uuid::Uuid) -> ApiResult<()> {
    state
        .authz
        .reload()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    crate::audit::domain(
        state,
        org,
        keyward_proto::v1::domain_event::Payload::PolicyChanged(keyward_proto::v1::PolicyChanged {
            domain: crate::authz::org_domain(keyward_core::id::OrgId::from_uuid(org)),
        }),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_names() {
        assert_eq!(
            normalize_email("email", " A@Example.COM ").unwrap(),
            "a@example.com"
        );
        for bad in ["", "a", "a@b", "@b.c", "a b@c.d", "a@.c"] {
            assert!(normalize_email("email", bad).is_err(), "{bad}");
        }
        assert!(check_name("name", "  ").is_err());
        assert_eq!(check_name("name", " x ").unwrap(), "x");
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(201)).is_err());
    }
}
