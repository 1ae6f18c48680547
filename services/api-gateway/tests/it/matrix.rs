//! The generated authorization matrix: every registered route × every built-in role × {own
//! org, other org}, with the expected answer derived from one table (the permission table of
//! docs/rbac.md joined with the route table below). Zero unexpected cells; no cross-org read or
//! write.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::harness::{Extra, Gw, PASSWORD, Session};

const ROLES: [&str; 6] = [
    "owner",
    "admin",
    "developer",
    "viewer",
    "auditor",
    "billing",
];

#[derive(Clone, Copy, Debug)]
enum Need {
    Public,
    Session,
    P(&'static str, &'static str),
}

/// What an allowed caller gets when the request points into the other org.
#[derive(Clone, Copy, Debug)]
enum Other {
    /// Ids of the other org: 404.
    NotFound,
    /// A list: success, with nothing of the other org in it.
    NoLeak,
    /// Nothing in the request can name another org; acts on the caller's own.
    Same,
    /// A public route: this status.
    Status(u16),
}

use Need::{P, Public, Session as S};

/// (method, path, permission, success statuses in the own org, other-org expectation).
const CASES: &[(&str, &str, Need, &[u16], Other)] = &[
    (
        "POST",
        "/api/v1/auth/login",
        Public,
        &[200],
        Other::Status(422),
    ),
    ("POST", "/api/v1/auth/refresh", Public, &[200], Other::Same),
    ("POST", "/api/v1/auth/logout", S, &[204], Other::Same),
    ("GET", "/api/v1/me", S, &[200], Other::NoLeak),
    ("POST", "/api/v1/me/totp/enroll", S, &[200], Other::Same),
    ("POST", "/api/v1/me/totp/confirm", S, &[422], Other::Same),
    ("POST", "/api/v1/me/totp/disable", S, &[422], Other::Same),
    ("POST", "/api/v1/me/password", S, &[204], Other::Same),
    ("GET", "/api/v1/orgs", S, &[200], Other::NoLeak),
    ("POST", "/api/v1/orgs", S, &[201], Other::Same),
    (
        "GET",
        "/api/v1/orgs/{id}",
        P("org", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "PATCH",
        "/api/v1/orgs/{id}",
        P("org", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/teams",
        P("teams", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/teams",
        P("teams", "write"),
        &[201],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/teams/{id}",
        P("teams", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "PATCH",
        "/api/v1/teams/{id}",
        P("teams", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "DELETE",
        "/api/v1/teams/{id}",
        P("teams", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/projects",
        P("projects", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/projects",
        P("projects", "write"),
        &[201],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/projects/{id}",
        P("projects", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "PATCH",
        "/api/v1/projects/{id}",
        P("projects", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "DELETE",
        "/api/v1/projects/{id}",
        P("projects", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/users",
        P("users", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "GET",
        "/api/v1/users/{id}",
        P("users", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "PATCH",
        "/api/v1/users/{id}",
        P("users", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "DELETE",
        "/api/v1/users/{id}",
        P("users", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/invitations",
        P("invitations", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/invitations",
        P("invitations", "write"),
        &[201],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/invitations/accept",
        Public,
        &[200],
        Other::Status(200),
    ),
    (
        "DELETE",
        "/api/v1/invitations/{id}",
        P("invitations", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/roles",
        P("roles", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/roles",
        P("roles", "write"),
        &[201],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/roles/{name}",
        P("roles", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "PUT",
        "/api/v1/roles/{name}",
        P("roles", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "DELETE",
        "/api/v1/roles/{name}",
        P("roles", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/role-assignments",
        P("roles", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/role-assignments",
        P("roles", "write"),
        &[201],
        Other::NotFound,
    ),
    (
        "DELETE",
        "/api/v1/role-assignments/{id}",
        P("roles", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/virtual-keys",
        P("virtual_keys", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/virtual-keys",
        P("virtual_keys", "write"),
        &[201],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/virtual-keys/{id}",
        P("virtual_keys", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "PATCH",
        "/api/v1/virtual-keys/{id}",
        P("virtual_keys", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/virtual-keys/{id}/rotate",
        P("virtual_keys", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/virtual-keys/{id}/revoke",
        P("virtual_keys", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/provider-keys",
        P("provider_keys", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/provider-keys",
        P("provider_keys", "write"),
        &[201],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/provider-keys/{id}",
        P("provider_keys", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "PATCH",
        "/api/v1/provider-keys/{id}",
        P("provider_keys", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "DELETE",
        "/api/v1/provider-keys/{id}",
        P("provider_keys", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/provider-keys/{id}/validate",
        P("provider_keys", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/provider-keys/{id}/rotate",
        P("provider_keys", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/provider-keys/{id}/revoke",
        P("provider_keys", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/provider-keys/{id}/access-log",
        P("provider_keys", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/audit",
        P("audit", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "GET",
        "/api/v1/audit/verify",
        P("audit", "read"),
        &[200],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/audit/export",
        P("audit", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "GET",
        "/api/v1/events/stream",
        P("org", "read"),
        &[200],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/model-aliases",
        P("org", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/model-aliases",
        P("org", "write"),
        &[201],
        Other::Same,
    ),
    (
        "DELETE",
        "/api/v1/model-aliases/{id}",
        P("org", "write"),
        &[204],
        Other::NotFound,
    ),
];

/// The routes served through the cost and alert services (their own test, so the two halves of
/// the matrix run side by side).
const SERVICE_CASES: &[(&str, &str, Need, &[u16], Other)] = &[
    (
        "GET",
        "/api/v1/usage/breakdown",
        P("usage", "read"),
        &[200],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/usage/timeseries",
        P("usage", "read"),
        &[200],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/usage/top",
        P("usage", "read"),
        &[200],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/usage/events",
        P("usage", "read"),
        &[200],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/cost/forecast",
        P("usage", "read"),
        &[200],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/cost/recommendations",
        P("usage", "read"),
        &[200],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/cost/chargeback.csv",
        P("usage", "read"),
        &[200],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/budgets",
        P("budgets", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/budgets",
        P("budgets", "write"),
        &[201],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/budgets/{id}",
        P("budgets", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "PATCH",
        "/api/v1/budgets/{id}",
        P("budgets", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "DELETE",
        "/api/v1/budgets/{id}",
        P("budgets", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/pricing",
        P("pricing", "read"),
        &[200],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/pricing/overrides",
        P("pricing", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/pricing/overrides",
        P("pricing", "write"),
        &[201],
        Other::Same,
    ),
    (
        "DELETE",
        "/api/v1/pricing/overrides/{id}",
        P("pricing", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/alerts/rules",
        P("alerts", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/alerts/rules",
        P("alerts", "write"),
        &[201],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/alerts/rules/{id}",
        P("alerts", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "PUT",
        "/api/v1/alerts/rules/{id}",
        P("alerts", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "DELETE",
        "/api/v1/alerts/rules/{id}",
        P("alerts", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/alerts/channels",
        P("alerts", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "POST",
        "/api/v1/alerts/channels",
        P("alerts", "write"),
        &[201],
        Other::Same,
    ),
    (
        "GET",
        "/api/v1/alerts/channels/{id}",
        P("alerts", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "PUT",
        "/api/v1/alerts/channels/{id}",
        P("alerts", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "DELETE",
        "/api/v1/alerts/channels/{id}",
        P("alerts", "write"),
        &[204],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/alerts/channels/{id}/test",
        P("alerts", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/alerts",
        P("alerts", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "GET",
        "/api/v1/alerts/{id}",
        P("alerts", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/alerts/{id}/ack",
        P("alerts", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/alerts/{id}/resolve",
        P("alerts", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/alerts/{id}/snooze",
        P("alerts", "write"),
        &[200],
        Other::NotFound,
    ),
    (
        "GET",
        "/api/v1/alerts/deliveries",
        P("alerts", "read"),
        &[200],
        Other::NoLeak,
    ),
    (
        "GET",
        "/api/v1/alerts/deliveries/{id}",
        P("alerts", "read"),
        &[200],
        Other::NotFound,
    ),
    (
        "POST",
        "/api/v1/alerts/deliveries/{id}/retry",
        P("alerts", "write"),
        &[200],
        Other::NotFound,
    ),
];

/// `(resource, action) → roles allowed`, parsed from docs/rbac.md.
pub fn doc_table() -> BTreeMap<(String, String), BTreeSet<String>> {
    let text = std::fs::read_to_string(keyward_testkit::repo_root().join("docs/rbac.md")).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cols.len() == 8 && (cols[1] == "read" || cols[1] == "write") {
            let allowed = ROLES
                .iter()
                .zip(&cols[2..])
                .filter(|(_, c)| **c == "✓")
                .map(|(r, _)| r.to_string())
                .collect();
            out.insert((cols[0].to_string(), cols[1].to_string()), allowed);
        }
    }
    assert!(
        out.len() >= 20,
        "permission table not found in docs/rbac.md"
    );
    out
}

/// Stable objects of one org, plus everything that must never show up on the other side.
struct Side {
    owner: Session,
    team: String,
    custom_role: String,
    target: String,
}

fn uniq(p: &str) -> String {
    format!("{p}-{}", &uuid::Uuid::now_v7().simple().to_string()[20..])
}

async fn side(gw: &Gw, org: &str) -> Side {
    let owner = gw
        .bootstrap(org, &format!("owner@{}.test", org.to_lowercase()))
        .await;
    let team = gw
        .create(
            &owner,
            "/api/v1/teams",
            json!({"name": format!("{org}-team")}),
        )
        .await;
    let custom_role = format!("{}-secret-role", org.to_lowercase());
    let r = gw
        .req(
            "POST",
            "/api/v1/roles",
            Some(&owner.access),
            Some(json!({"name": custom_role, "permissions": []})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let target = gw
        .member(
            &owner,
            &format!("target@{}.test", org.to_lowercase()),
            "viewer",
            None,
        )
        .await
        .user_id;
    Side {
        owner,
        team,
        custom_role,
        target,
    }
}

/// Builds the request of `case` against `s` (the caller's org or the other), with fresh
/// objects where the request consumes them.
async fn prepare(
    gw: &Gw,
    s: &Side,
    caller: &Session,
    method: &str,
    path: &str,
) -> (String, Option<Value>) {
    // A fresh owner session: cells like `POST /me/password` end the owner's other sessions.
    let o = &gw.login(&s.owner.email, Some(&s.owner.org_id)).await;
    let o = &Session {
        org_id: s.owner.org_id.clone(),
        user_id: s.owner.user_id.clone(),
        ..o.clone()
    };
    let fresh_key = || async {
        gw.create(o, "/api/v1/virtual-keys", json!({"name": uniq("k")}))
            .await
    };
    let fresh_role = || async {
        let name = uniq("r");
        let r = gw
            .req(
                "POST",
                "/api/v1/roles",
                Some(&o.access),
                Some(json!({"name": name, "permissions": []})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        name
    };
    let invitation = || async {
        let r = gw
            .req(
                "POST",
                "/api/v1/invitations",
                Some(&o.access),
                Some(json!({"email": format!("{}@x.test", uniq("i")), "role": "viewer"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        (
            r.body["invitation"]["id"].as_str().unwrap().to_string(),
            r.body["token"].as_str().unwrap().to_string(),
        )
    };
    let p = |id: &str| path.replace("{id}", id).replace("{name}", id);
    match (method, path) {
        ("POST", "/api/v1/auth/login") => (
            path.into(),
            Some(json!({"email": caller.email, "password": PASSWORD, "org_id": o.org_id})),
        ),
        ("POST", "/api/v1/auth/refresh") => {
            (path.into(), Some(json!({"refresh_token": caller.refresh})))
        }
        ("POST", "/api/v1/me/totp/confirm" | "/api/v1/me/totp/disable") => {
            (path.into(), Some(json!({"code": "000000"})))
        }
        ("POST", "/api/v1/me/password") => (
            path.into(),
            Some(json!({"current_password": PASSWORD, "new_password": PASSWORD})),
        ),
        ("POST", "/api/v1/orgs") => (path.into(), Some(json!({"name": uniq("org")}))),
        ("GET" | "PATCH", "/api/v1/orgs/{id}") => (
            p(&o.org_id),
            (method == "PATCH").then(|| json!({"name": uniq("renamed")})),
        ),
        ("POST", "/api/v1/teams") => (path.into(), Some(json!({"name": uniq("t")}))),
        (_, "/api/v1/teams/{id}") => {
            let id = gw
                .create(o, "/api/v1/teams", json!({"name": uniq("t")}))
                .await;
            (
                p(&id),
                (method == "PATCH").then(|| json!({"description": "changed"})),
            )
        }
        ("POST", "/api/v1/projects") => (
            path.into(),
            Some(json!({"name": uniq("p"), "team_id": s.team})),
        ),
        (_, "/api/v1/projects/{id}") => {
            let id = gw
                .create(o, "/api/v1/projects", json!({"name": uniq("p")}))
                .await;
            (
                p(&id),
                (method == "PATCH").then(|| json!({"description": "changed"})),
            )
        }
        ("GET", "/api/v1/users/{id}") => (p(&o.user_id), None),
        ("PATCH", "/api/v1/users/{id}") => (p(&s.target), Some(json!({"name": "Target"}))),
        ("DELETE", "/api/v1/users/{id}") => {
            let m = gw
                .member(o, &format!("{}@x.test", uniq("m")), "viewer", None)
                .await;
            (p(&m.user_id), None)
        }
        ("POST", "/api/v1/invitations") => (
            path.into(),
            Some(
                json!({"email": format!("{}@x.test", uniq("i")), "role": "viewer", "team_id": s.team}),
            ),
        ),
        ("POST", "/api/v1/invitations/accept") => {
            let (_, token) = invitation().await;
            (
                path.into(),
                Some(json!({"token": token, "password": PASSWORD})),
            )
        }
        ("DELETE", "/api/v1/invitations/{id}") => (p(&invitation().await.0), None),
        ("POST", "/api/v1/roles") => (
            path.into(),
            Some(
                json!({"name": uniq("r"), "permissions": [{"resource": "usage", "action": "read"}]}),
            ),
        ),
        ("GET", "/api/v1/roles/{name}") => (p(&s.custom_role), None),
        ("PUT", "/api/v1/roles/{name}") => (p(&s.custom_role), Some(json!({"permissions": []}))),
        ("DELETE", "/api/v1/roles/{name}") => (p(&fresh_role().await), None),
        ("POST", "/api/v1/role-assignments") => (
            path.into(),
            Some(json!({"user_id": s.target, "role": fresh_role().await})),
        ),
        ("DELETE", "/api/v1/role-assignments/{id}") => {
            let role = fresh_role().await;
            let id = gw
                .create(
                    o,
                    "/api/v1/role-assignments",
                    json!({"user_id": s.target, "role": role}),
                )
                .await;
            (p(&id), None)
        }
        ("POST", "/api/v1/virtual-keys") => (
            path.into(),
            Some(json!({"name": uniq("k"), "scope": {"team_id": s.team}})),
        ),
        (
            _,
            "/api/v1/virtual-keys/{id}"
            | "/api/v1/virtual-keys/{id}/rotate"
            | "/api/v1/virtual-keys/{id}/revoke",
        ) => (
            p(&fresh_key().await),
            (method == "PATCH").then(|| json!({"rpm": 10})),
        ),
        ("POST", "/api/v1/provider-keys") => (path.into(), Some(provider_key_body(Some(&s.team)))),
        ("GET", "/api/v1/audit/export") => (format!("{path}?format=ndjson"), None),
        ("GET", "/api/v1/events/stream") => (format!("{path}?timeout_secs=0"), None),
        (_, p_path) if p_path.starts_with("/api/v1/provider-keys/{id}") => {
            let id = gw
                .create(o, "/api/v1/provider-keys", provider_key_body(None))
                .await;
            let body = if p_path.ends_with("/rotate") {
                Some(json!({"secret": format!("sk-rotated-{}-0123456789abcdef0123", uniq("s"))}))
            } else {
                (method == "PATCH").then(|| json!({"weight": 250, "priority": 3}))
            };
            (p(&id), body)
        }
        (_, p_path)
            if p_path.starts_with("/api/v1/usage/") || p_path.starts_with("/api/v1/cost/") =>
        {
            (usage_url(path), None)
        }
        ("POST", "/api/v1/budgets") => (path.into(), Some(budget_body(Some(&s.team)))),
        (_, "/api/v1/budgets/{id}") => {
            let id = gw.create(o, "/api/v1/budgets", budget_body(None)).await;
            (
                p(&id),
                (method == "PATCH").then(|| json!({"amount_micros": 2_000_000})),
            )
        }
        ("POST", "/api/v1/model-aliases") => (path.into(), Some(alias_body())),
        ("DELETE", "/api/v1/model-aliases/{id}") => (
            p(&gw.create(o, "/api/v1/model-aliases", alias_body()).await),
            None,
        ),
        ("POST", "/api/v1/pricing/overrides") => (path.into(), Some(override_body())),
        ("DELETE", "/api/v1/pricing/overrides/{id}") => (
            p(&gw
                .create(o, "/api/v1/pricing/overrides", override_body())
                .await),
            None,
        ),
        ("POST", "/api/v1/alerts/rules") => (path.into(), Some(rule_body())),
        (_, "/api/v1/alerts/rules/{id}") => {
            let id = gw.create(o, "/api/v1/alerts/rules", rule_body()).await;
            (p(&id), (method == "PUT").then(rule_body))
        }
        ("POST", "/api/v1/alerts/channels") => (path.into(), Some(channel_body())),
        (_, "/api/v1/alerts/channels/{id}" | "/api/v1/alerts/channels/{id}/test") => {
            let id = gw
                .create(o, "/api/v1/alerts/channels", channel_body())
                .await;
            (
                p(&id),
                (method == "PUT").then(|| json!({"name": uniq("ch")})),
            )
        }
        (_, p_path) if p_path.starts_with("/api/v1/alerts/{id}") => {
            let id = fire_alert(gw, o).await;
            (
                p(&id),
                p_path.ends_with("/snooze").then(|| json!({"minutes": 30})),
            )
        }
        (_, p_path) if p_path.starts_with("/api/v1/alerts/deliveries/{id}") => {
            (p(&failed_delivery(gw, o).await), None)
        }
        _ => (path.into(), None),
    }
}

/// A valid query for each usage and cost route (an empty window answers empty results).
fn usage_url(path: &str) -> String {
    let range = "from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z";
    match path {
        "/api/v1/usage/breakdown" => format!("{path}?{range}&group_by=model,team&bucket=day"),
        "/api/v1/usage/timeseries" | "/api/v1/usage/events" => format!("{path}?{range}"),
        "/api/v1/usage/top" => format!("{path}?{range}&dimension=model&limit=5"),
        "/api/v1/cost/chargeback.csv" => format!("{path}?month=2025-01&by=team"),
        _ => path.into(),
    }
}

fn budget_body(team: Option<&str>) -> Value {
    let mut b = json!({"name": uniq("b"), "period": "month", "amount_micros": 1_000_000});
    if let Some(t) = team {
        b["scope"] = json!({"team_id": t});
    }
    b
}

fn alias_body() -> Value {
    json!({"alias": uniq("alias"), "target": "openai/gpt-4o-mini"})
}

fn override_body() -> Value {
    json!({"provider": "openai", "model": "*", "discount_bps": 100})
}

fn rule_body() -> Value {
    json!({"name": uniq("rule"), "rule_type": "key_health", "severity": "critical"})
}

/// A webhook to a closed local port (the matrix gateway allows private targets).
fn channel_body() -> Value {
    json!({"name": uniq("ch"), "kind": "webhook", "secrets": {"url": "http://127.0.0.1:9/hook"}})
}

/// A fresh firing alert of `o`'s org: a `key.invalid` event for a new key, as the vault
/// publishes it, turned into an alert by the org's default key-health rule.
pub async fn fire_alert(gw: &Gw, o: &Session) -> String {
    let key = uuid::Uuid::now_v7().to_string();
    gw.publish_event(
        &o.org_id,
        keyward_proto::v1::domain_event::Payload::KeyInvalid(keyward_proto::v1::KeyInvalid {
            key_id: key.clone(),
            provider: "openai".into(),
            outcome: "invalid".into(),
            reason: "401 invalid_api_key".into(),
        }),
    )
    .await;
    let found = keyward_testkit::eventually(std::time::Duration::from_secs(20), || async {
        let r = gw
            .req("GET", "/api/v1/alerts?state=firing", Some(&o.access), None)
            .await;
        r.body["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|a| a["labels"]["key_id"] == key.as_str())
                .and_then(|a| a["id"].as_str().map(str::to_string))
        })
    })
    .await;
    found.expect("the key.invalid event never became an alert")
}

/// A failed delivery of `o`'s org: a test send to a channel nobody listens on.
async fn failed_delivery(gw: &Gw, o: &Session) -> String {
    let ch = gw
        .create(o, "/api/v1/alerts/channels", channel_body())
        .await;
    let r = gw
        .req(
            "POST",
            &format!("/api/v1/alerts/channels/{ch}/test"),
            Some(&o.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["delivery"]["status"], "failed", "{}", r.text);
    r.body["delivery"]["id"].as_str().unwrap().to_string()
}

/// A provider key pointing at a closed local port (validation fails fast).
fn provider_key_body(team: Option<&str>) -> Value {
    let mut b = json!({
        "name": uniq("pk"),
        "provider": "openai",
        "secret": format!("sk-matrix-{}-0123456789abcdef0123", uniq("s")),
        "base_url": "http://127.0.0.1:9/v1",
    });
    if let Some(t) = team {
        b["scope"] = json!({"team_id": t});
    }
    b
}

/// Digest of every row that belongs to org `org`.
async fn org_digest(gw: &Gw, org: &str) -> String {
    let mut admin = gw.tp.db.admin().await;
    let q = "SELECT concat_ws('#',
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.orgs t WHERE id = $1::uuid),
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.teams t WHERE org_id = $1::uuid),
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.projects t WHERE org_id = $1::uuid),
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.memberships t WHERE org_id = $1::uuid),
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.users t WHERE id IN (SELECT user_id FROM identity.memberships WHERE org_id = $1::uuid)),
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.role_assignments t WHERE org_id = $1::uuid),
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.custom_roles t WHERE org_id = $1::uuid),
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.invitations t WHERE org_id = $1::uuid),
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.virtual_keys t WHERE org_id = $1::uuid),
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.model_aliases t WHERE org_id = $1::uuid),
        (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.casbin_rule t WHERE v1 LIKE 'org:' || $1 || '%' OR v2 LIKE 'org:' || $1 || '%'))";
    sqlx::query_scalar(q)
        .bind(org)
        .fetch_one(&mut admin)
        .await
        .unwrap()
}

/// Every id and name of the other org that an answer to our side must never contain.
async fn secrets_of(gw: &Gw, s: &Side) -> Vec<String> {
    let mut admin = gw.tp.db.admin().await;
    let org = &s.owner.org_id;
    let mut out: Vec<String> = sqlx::query_scalar(
        "SELECT id::text FROM identity.teams WHERE org_id = $1::uuid
         UNION SELECT name FROM identity.teams WHERE org_id = $1::uuid
         UNION SELECT id::text FROM identity.projects WHERE org_id = $1::uuid
         UNION SELECT user_id::text FROM identity.memberships WHERE org_id = $1::uuid
         UNION SELECT u.email FROM identity.users u JOIN identity.memberships m ON m.user_id = u.id WHERE m.org_id = $1::uuid
         UNION SELECT id::text FROM identity.invitations WHERE org_id = $1::uuid
         UNION SELECT email FROM identity.invitations WHERE org_id = $1::uuid
         UNION SELECT id::text FROM identity.virtual_keys WHERE org_id = $1::uuid
         UNION SELECT id::text FROM identity.model_aliases WHERE org_id = $1::uuid
         UNION SELECT alias FROM identity.model_aliases WHERE org_id = $1::uuid
         UNION SELECT id::text FROM identity.role_assignments WHERE org_id = $1::uuid
         UNION SELECT name FROM identity.custom_roles WHERE org_id = $1::uuid",
    )
    .bind(org)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    out.push(org.clone());
    out.retain(|s| s.len() >= 8);
    out
}

#[tokio::test]
async fn authorization_matrix_every_route_role_and_org() {
    // The tables must name exactly the registered routes.
    let registered: BTreeSet<(String, String)> = keyward_api_gateway::app::api()
        .table()
        .routes
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let covered: BTreeSet<(String, String)> = CASES
        .iter()
        .chain(SERVICE_CASES)
        .map(|c| (c.0.to_string(), c.1.to_string()))
        .collect();
    assert_eq!(
        registered, covered,
        "the matrix must cover every registered route"
    );
    run_matrix(Gw::start_full(&[Extra::Audit], |_| {}).await, CASES).await;
}

#[tokio::test]
async fn authorization_matrix_usage_cost_and_alert_routes() {
    let gw = Gw::start_full(&[Extra::Cost, Extra::Alert], |cfg| {
        cfg.allow_private_webhook_targets = true;
    })
    .await;
    run_matrix(gw, SERVICE_CASES).await;
}

/// Every case × role × {own org, other org}: zero unexpected cells.
#[expect(clippy::print_stdout, reason = "the cell tally is the test's report")]
async fn run_matrix(gw: Gw, cases: &[(&str, &str, Need, &[u16], Other)]) {
    let table = doc_table();
    let a = side(&gw, "Alpha").await;
    let b = side(&gw, "Bravo").await;
    let mut members: BTreeMap<&str, String> = BTreeMap::new();
    members.insert("owner", a.owner.email.clone());
    for role in &ROLES[1..] {
        let m = gw
            .member(&a.owner, &format!("{role}@alpha.test"), role, None)
            .await;
        members.insert(role, m.email);
    }

    let mut unexpected = Vec::new();
    let mut cells = 0;
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    for &(method, path, need, own_ok, other) in cases {
        for role in ROLES {
            for cross in [false, true] {
                cells += 1;
                let caller = gw.login(&members[role], Some(&a.owner.org_id)).await;
                let target = if cross { &b } else { &a };
                let (url, body) = prepare(&gw, target, &caller, method, path).await;
                let allowed = match need {
                    Public | S => true,
                    P(res, act) => table[&(res.to_string(), act.to_string())].contains(role),
                };
                let expected: Vec<u16> = match (allowed, cross, other) {
                    (false, _, _) => vec![403],
                    (true, false, _) => own_ok.to_vec(),
                    (true, true, Other::NotFound) => vec![404],
                    (true, true, Other::NoLeak | Other::Same) => own_ok.to_vec(),
                    (true, true, Other::Status(s)) => vec![s],
                };
                let watch_b = cross && !matches!(need, Public);
                let b_before = if watch_b {
                    Some(org_digest(&gw, &b.owner.org_id).await)
                } else {
                    None
                };
                let all_before = if allowed {
                    None
                } else {
                    Some(gw.snapshot().await)
                };
                let token = (!matches!(need, Public)).then_some(caller.access.as_str());
                let r = gw.req(method, &url, token, body).await;
                let mut problems = Vec::new();
                if !expected.contains(&r.status) {
                    problems.push(format!(
                        "status {} (expected {expected:?}): {}",
                        r.status, r.text
                    ));
                }
                if r.status >= 400
                    && r.body["error"]["request_id"]
                        .as_str()
                        .is_none_or(str::is_empty)
                {
                    problems.push("error without request_id".into());
                }
                if !matches!(need, Public) || !cross {
                    for secret in secrets_of(&gw, &b).await {
                        if r.text.contains(&secret) && !url.contains(&secret) {
                            problems.push(format!("answer leaks the other org's {secret}"));
                        }
                    }
                }
                if let Some(before) = b_before
                    && org_digest(&gw, &b.owner.org_id).await != before
                {
                    problems.push("the other org changed".into());
                }
                if let Some(before) = all_before
                    && gw.snapshot().await != before
                {
                    problems.push("a denied request changed the database".into());
                }
                let kind = if !allowed {
                    "deny"
                } else if cross {
                    "other-org"
                } else {
                    "allow"
                };
                *tally.entry(kind).or_default() += 1;
                if !problems.is_empty() {
                    unexpected.push(format!(
                        "{method} {path} as {role} ({}): {}",
                        if cross { "other org" } else { "own org" },
                        problems.join("; ")
                    ));
                }
            }
        }
    }
    println!(
        "authorization matrix: {cells} cells ({} routes × {} roles × 2 orgs); {tally:?}; {} unexpected",
        cases.len(),
        ROLES.len(),
        unexpected.len()
    );
    assert!(
        unexpected.is_empty(),
        "{} unexpected cells:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert_eq!(cells, cases.len() * ROLES.len() * 2);
}

#[tokio::test]
async fn the_documented_permission_table_is_the_builtin_policy() {
    let gw = Gw::start().await;
    let owner = gw.bootstrap("Alpha", "owner@alpha.test").await;
    let r = gw
        .req("GET", "/api/v1/roles", Some(&owner.access), None)
        .await;
    assert_eq!(r.status, 200);
    let mut live: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for role in r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["builtin"] == true)
    {
        for p in role["permissions"].as_array().unwrap() {
            live.entry((
                p["resource"].as_str().unwrap().into(),
                p["action"].as_str().unwrap().into(),
            ))
            .or_default()
            .insert(role["name"].as_str().unwrap().into());
        }
    }
    let mut doc = doc_table();
    doc.retain(|_, roles| !roles.is_empty());
    assert_eq!(
        live, doc,
        "docs/rbac.md and the built-in rules of the identity migrations differ"
    );
}
