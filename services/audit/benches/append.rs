//! Chained appends per second against the real Postgres, with a baseline measured in the same
//! run: the same rows inserted the same way (one multi-row `INSERT … UNNEST` per batch) into an
//! identical table, without chain locks, deduplication, hashing or head updates.
//!
//! `cargo bench -p keyward-audit --bench append` (or `bash bench/audit.sh`). Knobs (env):
//! `AUDIT_BENCH_EVENTS` (default 200000), `AUDIT_BENCH_BATCH` (500), `AUDIT_BENCH_ORGS` (10).

#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark program: it fails loudly and prints its results"
)]

use std::time::{Duration, Instant};

use keyward_audit::domain::Audit;
use keyward_audit::model::{Actor, NewEvent};
use keyward_core::ServiceName;
use keyward_proto::v1::actor::Kind;
use keyward_telemetry::Metrics;
use keyward_testkit::{TestPlatform, free_port};
use sqlx::{Executor, PgPool};
use uuid::Uuid;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn events(orgs: &[Uuid], n: usize) -> Vec<NewEvent> {
    let now = keyward_audit::canonical::truncate_to_micros(chrono::Utc::now());
    (0..n)
        .map(|i| NewEvent {
            event_id: Uuid::now_v7(),
            org_id: orgs[i % orgs.len()],
            occurred_at: now,
            actor: Actor {
                kind: Kind::VirtualKey as i32,
                id: format!("vk_{}", i % 50),
                email: None,
                ip: None,
            },
            action: "provider_key.resolve".into(),
            resource_type: "provider_key".into(),
            resource_id: format!("pk_{}", i % 20),
            outcome: "success".into(),
            reason: String::new(),
            request_id: format!("req-{i}"),
            service: "vault".into(),
            before_json: String::new(),
            after_json: String::new(),
        })
        .collect()
}

/// Chained appends of `evs` in batches of `batch`; entries per second.
async fn chained(audit: &Audit, evs: &[NewEvent], batch: usize) -> f64 {
    let started = Instant::now();
    for chunk in evs.chunks(batch) {
        audit.append(chunk.to_vec()).await.unwrap();
    }
    evs.len() as f64 / started.elapsed().as_secs_f64()
}

/// The baseline: the same rows into an identical table with one plain multi-row insert each.
async fn plain(pool: &PgPool, evs: &[NewEvent], batch: usize) -> f64 {
    let started = Instant::now();
    let mut seq = 0i64;
    for chunk in evs.chunks(batch) {
        let n = chunk.len();
        let seqs: Vec<i64> = (0..n as i64).map(|i| seq + i + 1).collect();
        seq += n as i64;
        let text = |f: fn(&NewEvent) -> String| chunk.iter().map(f).collect::<Vec<String>>();
        sqlx::query(
            "INSERT INTO plain_entries (org_id, seq, format, event_id, occurred_at, recorded_at, \
             actor_kind, actor_id, subject_id, action, resource_type, resource_id, outcome, reason, \
             request_id, service, before_json, after_json, prev_hash, hash) \
             SELECT o, s, 1, ev, oc, now(), 3, ai, NULL, a, rt, ri, ou, '', rq, sv, '', '', \
             '\\x00'::bytea, '\\x00'::bytea \
             FROM UNNEST($1::uuid[], $2::int8[], $3::uuid[], $4::timestamptz[], $5::text[], \
             $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) \
             AS t(o, s, ev, oc, ai, a, rt, ri, ou, rq, sv)",
        )
        .bind(chunk.iter().map(|e| e.org_id).collect::<Vec<_>>())
        .bind(seqs)
        .bind(chunk.iter().map(|e| e.event_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
        .bind(text(|e| e.actor.id.clone()))
        .bind(text(|e| e.action.clone()))
        .bind(text(|e| e.resource_type.clone()))
        .bind(text(|e| e.resource_id.clone()))
        .bind(text(|e| e.outcome.clone()))
        .bind(text(|e| e.request_id.clone()))
        .bind(text(|e| e.service.clone()))
        .execute(pool)
        .await
        .unwrap();
    }
    evs.len() as f64 / started.elapsed().as_secs_f64()
}

/// Verification speed over one org's chain.
async fn verify_rate(audit: &Audit, org: Uuid) -> (u64, f64) {
    let started = Instant::now();
    let r = audit.verify(org, 0, 0).await.unwrap();
    assert!(r.ok, "{r:?}");
    (
        r.checked,
        r.checked as f64 / started.elapsed().as_secs_f64(),
    )
}

#[tokio::main]
async fn main() {
    let n = knob("AUDIT_BENCH_EVENTS", 200_000);
    let batch = knob("AUDIT_BENCH_BATCH", 500);
    let n_orgs = knob("AUDIT_BENCH_ORGS", 10);
    let tp = TestPlatform::new(&[(ServiceName::Audit, &keyward_audit::MIGRATOR)]).await;
    let mut cfg = keyward_audit::Config::listening(
        &format!("127.0.0.1:{}", free_port()),
        &format!("127.0.0.1:{}", free_port()),
        "http://127.0.0.1:1",
    );
    cfg.signing_key = Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into());
    let audit = keyward_audit::build(&tp.platform, &cfg, &Metrics::new().unwrap()).unwrap();
    let pool = tp.db.pool(ServiceName::Audit).await;
    pool.execute("CREATE TABLE plain_entries (LIKE entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)")
        .await
        .unwrap();

    let orgs: Vec<Uuid> = (0..n_orgs.max(1)).map(|_| Uuid::now_v7()).collect();
    let warm: Vec<Uuid> = vec![Uuid::now_v7()];
    // Warm up both paths (connections, statement caches, table files).
    chained(&audit, &events(&warm, 5_000), batch).await;
    plain(&pool, &events(&warm, 5_000), batch).await;
    pool.execute("TRUNCATE plain_entries").await.unwrap();

    let evs = events(&orgs, n);
    let base = plain(&pool, &evs, batch).await;
    let rate = chained(&audit, &evs, batch).await;
    let one_org = vec![Uuid::now_v7()];
    let single = chained(&audit, &events(&one_org, n / 4), batch).await;
    let (checked, verify) = verify_rate(&audit, orgs[0]).await;
    let checkpoints: i64 = sqlx::query_scalar("SELECT count(*) FROM checkpoints")
        .fetch_one(&pool)
        .await
        .unwrap();

    println!("audit append bench: {n} events, batches of {batch}, {n_orgs} orgs");
    println!("  baseline (plain multi-row INSERT, same table): {base:>9.0} rows/s");
    println!(
        "  chained appends ({n_orgs} orgs):                  {rate:>9.0} entries/s  ({:.2}x baseline)",
        rate / base
    );
    println!(
        "  chained appends (1 org, {} events):          {single:>9.0} entries/s",
        n / 4
    );
    println!("  verify ({checked} entries of one org):            {verify:>9.0} entries/s");
    println!("  checkpoints signed: {checkpoints}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}
