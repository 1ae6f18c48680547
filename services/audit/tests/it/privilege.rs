//! The service role cannot rewrite the log: UPDATE, DELETE and TRUNCATE are revoked, and the
//! triggers hold even when the role grants itself the rights back.

use keyward_core::ServiceName;
use sqlx::Executor;
use uuid::Uuid;

use crate::harness::{fill, rig};

fn sqlstate(e: &sqlx::Error) -> (String, String) {
    match e {
        sqlx::Error::Database(db) => (
            db.code().unwrap_or_default().to_string(),
            db.message().to_string(),
        ),
        other => (String::new(), other.to_string()),
    }
}

#[tokio::test]
async fn the_audit_role_cannot_update_or_delete_entries() {
    let rig = rig().await;
    let org = Uuid::now_v7();
    fill(&rig.audit, org, 5, 5).await;
    let pool = rig.tp.db.pool(ServiceName::Audit).await;

    for sql in [
        "UPDATE entries SET outcome = 'failure'",
        "DELETE FROM entries",
        "TRUNCATE entries",
        "UPDATE checkpoints SET seq = 1",
        "DELETE FROM checkpoints",
        "TRUNCATE checkpoints",
    ] {
        let err = pool.execute(sql).await.unwrap_err();
        let (code, msg) = sqlstate(&err);
        assert_eq!(code, "42501", "{sql}: {msg}");
        assert!(msg.contains("permission denied"), "{sql}: {msg}");
    }

    // The role owns the tables and may grant itself the rights back: the triggers still refuse.
    let mut tx = pool.begin().await.unwrap();
    tx.execute("GRANT UPDATE, DELETE, TRUNCATE ON entries TO CURRENT_USER")
        .await
        .unwrap();
    let err = tx
        .execute("UPDATE entries SET outcome = 'failure'")
        .await
        .unwrap_err();
    assert!(sqlstate(&err).1.contains("append-only"), "{err}");
    tx.rollback().await.unwrap();
    for sql in [
        "DELETE FROM entries",
        "TRUNCATE entries",
        "SELECT prune_entries((SELECT org_id FROM chain_heads LIMIT 1), 5)",
    ] {
        let mut tx = pool.begin().await.unwrap();
        tx.execute("GRANT DELETE, TRUNCATE ON entries TO CURRENT_USER")
            .await
            .unwrap();
        let err = tx.execute(sql).await.unwrap_err();
        let (code, msg) = sqlstate(&err);
        assert_eq!(code, "42501", "{sql}: {msg}");
        assert!(
            msg.contains("append-only") || msg.contains("within its retention period"),
            "{sql}: {msg}"
        );
        tx.rollback().await.unwrap();
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM entries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 5, "nothing changed");
}
