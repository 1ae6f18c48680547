//! The cost of authorizing one request: taking the policy snapshot under the read lock and
//! asking Casbin for `(resource, action)` in the caller's org (org-wide, then per team), as the
//! middleware does. Policies are loaded from a real Postgres through sqlx-adapter.
//!
//! Baseline in the same run: one `HashMap` lookup of a precomputed decision.
//!
//! Run: `cargo bench -p keyward-api-gateway --bench authz` (needs the dev Postgres: `make setup`).

#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark binary"
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use keyward_api_gateway::authz::{Action, Authorizer, Resource};
use keyward_core::ServiceName;
use keyward_core::id::{OrgId, UserId};
use uuid::Uuid;

const ROLES: [&str; 6] = [
    "owner",
    "admin",
    "developer",
    "viewer",
    "auditor",
    "billing",
];

struct Case {
    user: UserId,
    org: OrgId,
    resource: Resource,
    action: Action,
}

/// Seeds `orgs` orgs, each with one member per built-in role, two teams with a team-scoped
/// developer, and two custom roles of three permissions each.
async fn seed(pool: &sqlx::PgPool, orgs: usize) -> Vec<Case> {
    let mut cases = Vec::new();
    for i in 0..orgs {
        let org = Uuid::now_v7();
        sqlx::query("INSERT INTO orgs (id, name) VALUES ($1, $2)")
            .bind(org)
            .bind(format!("org{i}"))
            .execute(pool)
            .await
            .unwrap();
        let mut teams = Vec::new();
        for t in 0..2 {
            let team = Uuid::now_v7();
            sqlx::query("INSERT INTO teams (id, org_id, name) VALUES ($1, $2, $3)")
                .bind(team)
                .bind(org)
                .bind(format!("t{t}"))
                .execute(pool)
                .await
                .unwrap();
            teams.push(team);
        }
        for c in 0..2 {
            let role = format!("custom{c}");
            sqlx::query("INSERT INTO custom_roles (org_id, name) VALUES ($1, $2)")
                .bind(org)
                .bind(&role)
                .execute(pool)
                .await
                .unwrap();
            for (res, act) in [
                ("usage", "read"),
                ("budgets", "read"),
                ("virtual_keys", "read"),
            ] {
                sqlx::query("INSERT INTO custom_role_permissions VALUES ($1, $2, $3, $4)")
                    .bind(org)
                    .bind(&role)
                    .bind(res)
                    .bind(act)
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
        let add_user = async |role: &str, team: Option<Uuid>| {
            let user = Uuid::now_v7();
            sqlx::query("INSERT INTO users (id, email) VALUES ($1, $2)")
                .bind(user)
                .bind(format!("{user}@x.test"))
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO memberships (org_id, user_id) VALUES ($1, $2)")
                .bind(org)
                .bind(user)
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO role_assignments (id, org_id, user_id, role, team_id) VALUES ($1, $2, $3, $4, $5)")
                .bind(Uuid::now_v7()).bind(org).bind(user).bind(role).bind(team).execute(pool).await.unwrap();
            user
        };
        for role in ROLES {
            let user = add_user(role, None).await;
            for resource in [
                Resource::VirtualKeys,
                Resource::Teams,
                Resource::Users,
                Resource::Audit,
            ] {
                for action in [Action::Read, Action::Write] {
                    cases.push(Case {
                        user: UserId::from_uuid(user),
                        org: OrgId::from_uuid(org),
                        resource,
                        action,
                    });
                }
            }
        }
        let dev = add_user("developer", Some(teams[0])).await;
        sqlx::query("INSERT INTO role_assignments (id, org_id, user_id, role, team_id) VALUES ($1, $2, $3, 'viewer', $4)")
            .bind(Uuid::now_v7()).bind(org).bind(dev).bind(teams[1]).execute(pool).await.unwrap();
        for action in [Action::Read, Action::Write] {
            cases.push(Case {
                user: UserId::from_uuid(dev),
                org: OrgId::from_uuid(org),
                resource: Resource::VirtualKeys,
                action,
            });
        }
    }
    cases
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut ns: Vec<u64>) -> (u64, u64) {
    ns.sort_unstable();
    let (p50, p99, p999) = (
        percentile(&ns, 0.50),
        percentile(&ns, 0.99),
        percentile(&ns, 0.999),
    );
    let mean = ns.iter().sum::<u64>() / ns.len() as u64;
    println!(
        "{name:<44} n={:<7} p50={:>7} ns  p99={:>7} ns  p99.9={:>7} ns  mean={:>7} ns",
        ns.len(),
        p50,
        p99,
        p999,
        mean
    );
    (p50, p99)
}

async fn run(orgs: usize, iterations: usize) {
    let tp = keyward_testkit::TestPlatform::new(&[(
        ServiceName::ApiGateway,
        &keyward_api_gateway::MIGRATOR,
    )])
    .await;
    let pool = tp.db.pool(ServiceName::ApiGateway).await;
    let cases = seed(&pool, orgs).await;
    let authz = Authorizer::new(pool.clone());
    authz.reload().await.unwrap();
    let rules = authz.current().unwrap().rules().len();

    // Precomputed decisions for the baseline.
    let mut baseline: HashMap<(UserId, OrgId, Resource, Action), bool> = HashMap::new();
    let policy = authz.current().unwrap();
    for c in &cases {
        let allowed = policy
            .check(c.user, c.org, c.resource, c.action)
            .unwrap()
            .is_some();
        baseline.insert((c.user, c.org, c.resource, c.action), allowed);
    }
    drop(policy);

    // One member per built-in role plus one team-scoped developer, per org.
    let users = orgs * (ROLES.len() + 1);
    println!(
        "\n{orgs} org(s): {users} users, {rules} p rules, {} request shapes",
        cases.len()
    );

    // Cold: a fresh snapshot, every shape once: the full Casbin evaluation (cache misses).
    authz.reload().await.unwrap();
    let mut cold_ns = Vec::with_capacity(cases.len());
    for c in &cases {
        let t = Instant::now();
        let p = authz.current().unwrap();
        black_box(
            p.check(black_box(c.user), c.org, c.resource, c.action)
                .unwrap(),
        );
        drop(p);
        cold_ns.push(t.elapsed().as_nanos() as u64);
    }
    // Warm: the steady state of a running gateway (Casbin's decision cache).
    let mut warm_ns = Vec::with_capacity(iterations);
    let mut map_ns = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let c = &cases[(i * 7919) % cases.len()];
        let t = Instant::now();
        let p = authz.current().unwrap();
        black_box(
            p.check(black_box(c.user), c.org, c.resource, c.action)
                .unwrap(),
        );
        drop(p);
        warm_ns.push(t.elapsed().as_nanos() as u64);
        let t = Instant::now();
        black_box(baseline.get(&black_box((c.user, c.org, c.resource, c.action))));
        map_ns.push(t.elapsed().as_nanos() as u64);
    }
    let (d50, d99) = report("authorize, cold (read lock + Casbin eval)", cold_ns);
    let (c50, c99) = report("authorize, warm (read lock + Casbin cache)", warm_ns);
    let (m50, m99) = report("baseline (HashMap lookup)", map_ns);
    println!(
        "ratio vs baseline: warm p50 {:.0}x, p99 {:.0}x; cold p50 {:.0}x, p99 {:.0}x",
        c50 as f64 / m50.max(1) as f64,
        c99 as f64 / m99.max(1) as f64,
        d50 as f64 / m50.max(1) as f64,
        d99 as f64 / m99.max(1) as f64
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let iterations: usize = std::env::var("KW_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    rt.block_on(async {
        run(1, iterations).await;
        run(100, iterations).await;
    });
}
