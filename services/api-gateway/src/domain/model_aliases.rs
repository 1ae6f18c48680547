//! Org model aliases: names clients may send as `model` in proxy requests, each standing for a
//! catalog model name or an explicit `provider/model` (never for another alias).

use std::sync::LazyLock;

use keyward_proto::v1::ModelAliasChanged;
use keyward_proto::v1::domain_event::Payload;
use uuid::Uuid;

use super::{conflict_on_unique, ensure_org_wide};
use crate::audit::{self, Ctx, Record};
use crate::authz::Resource;
use crate::error::{ApiError, ApiResult};
use crate::proxy::catalog::Catalog;
use crate::state::AppState;
use crate::store::model_aliases::{self as store, ModelAlias};

/// Longest alias name.
pub const MAX_ALIAS: usize = 100;
/// Longest target.
pub const MAX_TARGET: usize = 200;

/// The built-in catalog, to check targets (the same data the proxy resolves with).
static CATALOG: LazyLock<Option<Catalog>> =
    LazyLock::new(|| keyward_pricing::PriceBook::builtin().ok().map(Catalog::new));

/// An alias name: 1–100 of `A-Z a-z 0-9 . _ : -`, starting with a letter or digit (no `/`, so
/// it never shadows an explicit `provider/model`).
pub fn check_alias(alias: &str) -> ApiResult<String> {
    let a = alias.trim();
    let ok = a.len() <= MAX_ALIAS
        && a.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    if ok {
        Ok(a.to_owned())
    } else {
        Err(ApiError::invalid(
            "alias",
            "must be 1 to 100 characters of letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit",
        ))
    }
}

/// A target: a model the catalog resolves (a catalog name or `provider/model`).
pub fn check_target(target: &str) -> ApiResult<String> {
    let t = target.trim();
    let known = t.len() <= MAX_TARGET && CATALOG.as_ref().is_some_and(|c| c.route(t).is_some());
    if known {
        Ok(t.to_owned())
    } else {
        Err(ApiError::invalid(
            "target",
            "must be a catalog model name (e.g. `gpt-4o-mini`) or `provider/model` (e.g. `openai/gpt-4o-mini`)",
        ))
    }
}

pub async fn list(state: &AppState, ctx: &Ctx) -> ApiResult<Vec<ModelAlias>> {
    let c = ctx.signed_in()?;
    Ok(store::list(&state.pool, c.org_id.uuid()).await?)
}

pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    alias: &str,
    target: &str,
) -> ApiResult<ModelAlias> {
    let c = ctx.signed_in()?;
    ensure_org_wide(c, Resource::Org)?;
    let (alias, target) = (check_alias(alias)?, check_target(target)?);
    if alias == target {
        return Err(ApiError::invalid(
            "target",
            "an alias cannot point to itself",
        ));
    }
    let existing = store::list(&state.pool, c.org_id.uuid()).await?;
    if existing.iter().any(|a| a.alias == target) {
        return Err(ApiError::invalid(
            "target",
            "the target is an alias; aliases point to catalog models or `provider/model` only",
        ));
    }
    if let Some(a) = existing.iter().find(|a| a.target == alias) {
        return Err(ApiError::invalid(
            "alias",
            format!(
                "alias `{}` points to this name; aliases cannot chain",
                a.alias
            ),
        ));
    }
    let created = store::create(
        &state.pool,
        c.org_id.uuid(),
        &alias,
        &target,
        c.user_id.uuid(),
    )
    .await
    .map_err(conflict_on_unique("an alias with this name exists"))?;
    changed(state, c.org_id.uuid(), &created.alias, "created");
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "model_alias.create", "model_alias", created.id).after(&created),
    );
    Ok(created)
}

pub async fn delete(state: &AppState, ctx: &Ctx, id: Uuid) -> ApiResult<()> {
    let c = ctx.signed_in()?;
    ensure_org_wide(c, Resource::Org)?;
    let gone = store::delete(&state.pool, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("model alias"))?;
    changed(state, c.org_id.uuid(), &gone.alias, "deleted");
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "model_alias.delete", "model_alias", id).before(&gone),
    );
    Ok(())
}

/// Tells every proxy replica to drop the org's cached aliases.
fn changed(state: &AppState, org: Uuid, alias: &str, change: &str) {
    audit::domain(
        state,
        org,
        Payload::ModelAliasChanged(ModelAliasChanged {
            alias: alias.to_owned(),
            change: change.to_owned(),
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names_and_targets() {
        for ok in ["fast", "gpt-4o", "team.default", "a", "x:1_y-z"] {
            assert_eq!(check_alias(ok).unwrap(), ok);
        }
        assert_eq!(check_alias(" fast ").unwrap(), "fast");
        for bad in ["", " ", "-x", "a/b", "a b", "é", &"a".repeat(101)] {
            assert!(check_alias(bad).is_err(), "{bad}");
        }
        for ok in [
            "gpt-4o-mini",
            "openai/gpt-4o-mini",
            "anthropic/claude-x-unknown",
        ] {
            assert!(check_target(ok).is_ok(), "{ok}");
        }
        for bad in ["", "no-such-model", "nope/model", "openai/"] {
            assert!(check_target(bad).is_err(), "{bad}");
        }
    }
}
