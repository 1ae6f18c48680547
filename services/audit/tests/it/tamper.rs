//! Tampering done directly in SQL as the database superuser (triggers bypassed with
//! `session_replication_role = replica`): Verify must name the exact first bad seq every time.

use keyward_audit::canonical::Chained;
use keyward_audit::store::Store;
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

use crate::harness::{Rig, event, fill, rig, rig_with, start, verify};

const N: i64 = 20;
const POSITIONS: [i64; 5] = [1, 2, 7, 19, 20];

#[derive(Clone, Copy, Debug)]
enum Tamper {
    /// Change one field of entry k.
    Edit(i64),
    /// Delete entry k.
    Delete(i64),
    /// Swap the positions (seq) of entries a and b.
    Swap(i64, i64),
    /// Insert a forged entry at k (later entries move up by one), linked to entry k-1.
    Forge(i64),
}

impl Tamper {
    fn first_bad(self) -> i64 {
        match self {
            Tamper::Edit(k) | Tamper::Delete(k) | Tamper::Forge(k) => k,
            Tamper::Swap(a, b) => a.min(b),
        }
    }
}

/// A superuser connection that bypasses the append-only triggers.
async fn superuser(rig: &Rig) -> PgConnection {
    let mut admin = rig.tp.db.admin().await;
    admin
        .execute("SET session_replication_role = replica")
        .await
        .unwrap();
    admin
}

async fn apply(admin: &mut PgConnection, org: Uuid, t: Tamper) {
    let mut tx = admin.begin().await.unwrap();
    let exec = |sql: &'static str, a: i64, b: i64| sqlx::query(sql).bind(org).bind(a).bind(b);
    match t {
        Tamper::Edit(k) => {
            let done = exec(
                "UPDATE audit.entries SET outcome = 'failure' WHERE org_id = $1 AND seq = $2 AND $3 = $3",
                k,
                0,
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            assert_eq!(done.rows_affected(), 1);
        }
        Tamper::Delete(k) => {
            exec(
                "DELETE FROM audit.entries WHERE org_id = $1 AND seq = $2 AND $3 = $3",
                k,
                0,
            )
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        Tamper::Swap(a, b) => {
            for (from, to) in [(a, 1_000_000), (b, a), (1_000_000, b)] {
                exec(
                    "UPDATE audit.entries SET seq = $3 WHERE org_id = $1 AND seq = $2",
                    from,
                    to,
                )
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
        Tamper::Forge(k) => {
            exec("UPDATE audit.entries SET seq = seq + 1000000 WHERE org_id = $1 AND seq >= $2 AND $3 = $3", k, 0)
                .execute(&mut *tx)
                .await
                .unwrap();
            exec("UPDATE audit.entries SET seq = seq - 999999 WHERE org_id = $1 AND seq >= $2 AND $3 = $3", 1_000_000, 0)
                .execute(&mut *tx)
                .await
                .unwrap();
            // The forger copies the link of the entry it displaces (or of the head, at the end)
            // and makes up a plausible hash.
            let prev: Vec<u8> = if k > N {
                sqlx::query_scalar("SELECT hash FROM audit.entries WHERE org_id = $1 AND seq = $2")
                    .bind(org)
                    .bind(k - 1)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap()
            } else {
                sqlx::query_scalar(
                    "SELECT prev_hash FROM audit.entries WHERE org_id = $1 AND seq = $2",
                )
                .bind(org)
                .bind(k + 1)
                .fetch_one(&mut *tx)
                .await
                .unwrap()
            };
            sqlx::query(
                "INSERT INTO audit.entries SELECT org_id, $2, format, gen_random_uuid(), occurred_at, \
                 recorded_at, actor_kind, actor_id, subject_id, 'provider_key.delete', resource_type, \
                 resource_id, outcome, reason, request_id, service, before_json, after_json, $3, \
                 sha256('forged'::bytea) FROM audit.entries WHERE org_id = $1 AND seq = 1",
            )
            .bind(org)
            .bind(k)
            .bind(prev)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn verify_names_the_exact_first_bad_seq_for_every_kind_of_tampering() {
    let rig = rig().await;
    let svc = start(&rig).await;
    let mut cases: Vec<Tamper> = Vec::new();
    for k in POSITIONS {
        cases.push(Tamper::Edit(k));
        cases.push(Tamper::Delete(k));
        cases.push(Tamper::Forge(k));
    }
    cases.push(Tamper::Forge(N + 1));
    for (a, b) in [(1, 2), (2, 9), (7, 8), (19, 20), (1, 20), (20, 3)] {
        cases.push(Tamper::Swap(a, b));
    }
    // One org (one chain) per case, all appended together through the batch path.
    let orgs: Vec<Uuid> = cases.iter().map(|_| Uuid::now_v7()).collect();
    let control = Uuid::now_v7();
    let mut events = Vec::new();
    for i in 0..N as usize {
        for org in orgs.iter().chain([&control]) {
            events.push(event(*org, i));
        }
    }
    for chunk in events.chunks(97) {
        rig.audit.append(chunk.to_vec()).await.unwrap();
    }
    for org in orgs.iter().chain([&control]) {
        let r = verify(&svc.client, *org).await;
        assert!(r.ok, "untampered chain verifies: {r:?}");
        assert_eq!(r.checked, N as u64);
    }

    let mut admin = superuser(&rig).await;
    for (org, case) in orgs.iter().zip(&cases) {
        apply(&mut admin, *org, *case).await;
    }
    let mut failures = Vec::new();
    for (org, case) in orgs.iter().zip(&cases) {
        let r = verify(&svc.client, *org).await;
        let want = u64::try_from(case.first_bad()).unwrap();
        if r.ok || r.first_bad_seq != Some(want) || r.reason.is_empty() {
            failures.push(format!(
                "{case:?}: expected first bad seq {want}, got {r:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        verify(&svc.client, control).await.ok,
        "other chains are unaffected"
    );
}

/// An attacker who knows the algorithm edits entry 13 and recomputes every later hash (and the
/// head). Hashes alone cannot tell; the next signed checkpoint (seq 20) does.
#[tokio::test]
async fn rewriting_the_chain_is_caught_by_the_next_signed_checkpoint() {
    let rig = rig_with(|c| c.checkpoint_every = 10).await;
    let svc = start(&rig).await;
    let org = Uuid::now_v7();
    fill(&rig.audit, org, 35, 5).await;
    let ok = verify(&svc.client, org).await;
    assert!(ok.ok, "{ok:?}");
    assert_eq!(ok.checkpoints_checked, 3, "checkpoints at 10, 20, 30");

    let store = Store::new(rig.tp.db.pool(keyward_core::ServiceName::Audit).await);
    let rows = store.chain_rows(org, 1, 35, 100).await.unwrap();
    let mut admin = superuser(&rig).await;
    let mut prev = rows[11].hash.clone();
    for row in rows.into_iter().skip(12) {
        let mut c: Chained = row.chained;
        if c.seq == 13 {
            c.outcome = "failure".into();
        }
        let hash = c.hash(&prev).to_vec();
        sqlx::query("UPDATE audit.entries SET outcome = $3, prev_hash = $4, hash = $5 WHERE org_id = $1 AND seq = $2")
            .bind(org)
            .bind(i64::try_from(c.seq).unwrap())
            .bind(&c.outcome)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut admin)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit.chain_heads SET hash = $2 WHERE org_id = $1")
        .bind(org)
        .bind(&prev)
        .execute(&mut admin)
        .await
        .unwrap();
    let r = verify(&svc.client, org).await;
    assert!(!r.ok);
    assert_eq!(r.first_bad_seq, Some(20), "{r:?}");
    assert!(r.reason.contains("signed checkpoint"), "{}", r.reason);

    // A forged checkpoint signature is named too.
    sqlx::query("UPDATE audit.checkpoints SET signature = sha512('x'::bytea) WHERE org_id = $1 AND seq = 10")
        .bind(org)
        .execute(&mut admin)
        .await
        .unwrap();
    let r = verify(&svc.client, org).await;
    assert_eq!(r.first_bad_seq, Some(10), "{r:?}");
    assert!(r.reason.contains("signature is invalid"), "{}", r.reason);
}
