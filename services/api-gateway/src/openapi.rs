//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::handlers::{
    account, alerts, audit_trail, budgets, model_aliases, orgs, people, pricing, provider_keys,
    roles, usage, vkeys,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyward API",
        description = "Management API of Keyward: identity, organizations, RBAC, virtual and \
                       provider keys, usage and cost, budgets, pricing, alerts and the audit trail. \
                       Errors are `{\"error\":{\"code\",\"message\",\"request_id\"}}`.",
        version = "1"
    ),
    paths(
        account::login, account::refresh, account::logout, account::me,
        account::totp_enroll, account::totp_confirm, account::totp_disable, account::change_password,
        account::accept_invitation,
        orgs::list_orgs, orgs::create_org, orgs::get_org, orgs::update_org,
        orgs::list_teams, orgs::create_team, orgs::get_team, orgs::update_team, orgs::delete_team,
        orgs::list_projects, orgs::create_project, orgs::get_project, orgs::update_project, orgs::delete_project,
        people::list_users, people::get_user, people::update_user, people::remove_user,
        people::list_invitations, people::create_invitation, people::revoke_invitation,
        roles::list_roles, roles::create_role, roles::get_role, roles::update_role, roles::delete_role,
        roles::list_assignments, roles::create_assignment, roles::delete_assignment,
        vkeys::list, vkeys::create, vkeys::get, vkeys::update, vkeys::rotate, vkeys::revoke,
        provider_keys::list, provider_keys::create, provider_keys::get, provider_keys::delete,
        provider_keys::validate, provider_keys::rotate, provider_keys::revoke, provider_keys::update,
        audit_trail::access_log, audit_trail::query, audit_trail::verify, audit_trail::export,
        crate::live::stream,
        usage::breakdown, usage::timeseries, usage::top, usage::events,
        usage::forecast, usage::recommendations, usage::chargeback,
        budgets::list, budgets::create, budgets::get, budgets::update, budgets::delete,
        pricing::list_prices, pricing::list_overrides, pricing::create_override, pricing::delete_override,
        alerts::list_rules, alerts::create_rule, alerts::get_rule, alerts::update_rule, alerts::delete_rule,
        alerts::list_channels, alerts::create_channel, alerts::get_channel, alerts::update_channel,
        alerts::delete_channel, alerts::test_channel,
        alerts::list_alerts, alerts::get_alert, alerts::acknowledge, alerts::resolve, alerts::snooze,
        alerts::list_deliveries, alerts::get_delivery, alerts::retry_delivery,
        model_aliases::list, model_aliases::create, model_aliases::delete,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-in, tokens, TOTP"),
        (name = "orgs"), (name = "teams"), (name = "projects"),
        (name = "people", description = "Members and invitations"),
        (name = "roles", description = "RBAC: roles and assignments (docs/rbac.md)"),
        (name = "virtual-keys", description = "Keys apps use to call the LLM proxy"),
        (name = "provider-keys", description = "Provider API keys, kept by the vault; never returned"),
        (name = "audit", description = "The tamper-evident audit trail: query, verify, export"),
        (name = "events", description = "Live updates (Server-Sent Events)"),
        (name = "usage", description = "Usage and cost analytics over the usage rollups (cost service)"),
        (name = "budgets", description = "Spend limits with live state (cost service)"),
        (name = "pricing", description = "The price book and the org's price overrides (cost service)"),
        (name = "alerts", description = "Alert rules, channels, alerts and deliveries (alert service)"),
        (name = "model-aliases", description = "The org's names for models, usable as `model` in proxy requests"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}
