//! Retention: entries older than an org's retention are deleted, only up to a signed checkpoint,
//! and the rest of the chain still verifies from that checkpoint on. Checkpoints also come by
//! time.

use std::time::Duration;

use chrono::Utc;
use keyward_audit::store::AppendOptions;
use keyward_proto::v1::GetCheckpointRequest;
use keyward_testkit::eventually;
use sqlx::Executor;
use uuid::Uuid;

use crate::harness::{event, fill, rig_with, start, verify};

#[tokio::test]
async fn retention_deletes_only_up_to_a_signed_checkpoint_and_the_rest_verifies() {
    let rig = rig_with(|c| c.checkpoint_every = 10).await;
    let (old_org, kept_org) = (Uuid::now_v7(), Uuid::now_v7());
    let long_ago =
        keyward_audit::canonical::truncate_to_micros(Utc::now() - chrono::Duration::days(500));
    let backdated = AppendOptions {
        signer: rig.audit.signer(),
        checkpoint_every: 10,
        recorded_at: Some(long_ago),
    };
    // 25 old entries (checkpoints at 10 and 20), then 7 recent ones, in both orgs.
    for org in [old_org, kept_org] {
        for chunk in (0..25).map(|i| event(org, i)).collect::<Vec<_>>().chunks(5) {
            rig.audit
                .store()
                .append(chunk.to_vec(), &backdated)
                .await
                .unwrap();
        }
        fill(&rig.audit, org, 7, 7).await;
    }
    // kept_org keeps 600 days; old_org has the 400-day default.
    rig.audit
        .store()
        .set_retention(Some(kept_org), 600)
        .await
        .unwrap();
    rig.audit.store().set_retention(None, 400).await.unwrap();

    let deleted = rig.audit.store().prune_expired().await.unwrap();
    assert_eq!(
        deleted, 20,
        "entries 1..=20: the newest checkpoint signed before the cutoff"
    );
    let bounds = rig.audit.store().seq_bounds(old_org).await.unwrap();
    assert_eq!(bounds, Some((21, 32)));
    assert_eq!(
        rig.audit.store().seq_bounds(kept_org).await.unwrap(),
        Some((1, 32))
    );
    // The service's own sweep (it runs at start) finds nothing more to delete.
    let svc = start(&rig).await;

    let r = verify(&svc.client, old_org).await;
    assert!(r.ok, "{r:?}");
    assert_eq!(r.checked, 12);
    assert!(
        r.checkpoints_checked >= 1,
        "anchored on the checkpoint at 20: {r:?}"
    );
    assert!(verify(&svc.client, kept_org).await.ok);

    // Entries 21..25 are old, but deleting them would leave the chain starting after no
    // checkpoint: the role can't, even with DELETE granted back.
    let pool = rig.tp.db.pool(keyward_core::ServiceName::Audit).await;
    let mut tx = pool.begin().await.unwrap();
    tx.execute("GRANT DELETE ON entries TO CURRENT_USER")
        .await
        .unwrap();
    let err = sqlx::query("DELETE FROM entries WHERE org_id = $1 AND seq = 21")
        .bind(old_org)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("up to a signed checkpoint"),
        "{err}"
    );
    tx.rollback().await.unwrap();
    // A second sweep has nothing more to do.
    assert_eq!(rig.audit.store().prune_expired().await.unwrap(), 0);

    // Deleting past the anchor (as the superuser) is named: entry 21 is missing.
    let mut admin = rig.tp.db.admin().await;
    admin
        .execute("SET session_replication_role = replica")
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit.entries WHERE org_id = $1 AND seq <= 22")
        .bind(old_org)
        .execute(&mut admin)
        .await
        .unwrap();
    let r = verify(&svc.client, old_org).await;
    assert_eq!(r.first_bad_seq, Some(21), "{r:?}");
}

#[tokio::test]
async fn checkpoints_are_also_signed_by_time() {
    let rig = rig_with(|c| c.checkpoint_interval_secs = 1).await;
    let svc = start(&rig).await;
    let org = Uuid::now_v7();
    fill(&rig.audit, org, 3, 3).await;
    let cp = eventually(Duration::from_secs(20), || {
        let mut c = svc.client.clone();
        async move {
            c.get_checkpoint(GetCheckpointRequest {
                org_id: org.to_string(),
                seq: 0,
            })
            .await
            .ok()
            .map(tonic::Response::into_inner)
        }
    })
    .await
    .expect("a time-based checkpoint is signed");
    assert_eq!(cp.seq, 3);

    // Anyone holding the public key can check it: Ed25519 over the documented message.
    let key = ed25519_dalek::VerifyingKey::from_bytes(&cp.public_key.clone().try_into().unwrap())
        .unwrap();
    let signed_at = cp.signed_at.unwrap();
    let mut msg = b"keyward.audit.checkpoint.v1".to_vec();
    msg.extend_from_slice(org.as_bytes());
    msg.extend_from_slice(&cp.seq.to_be_bytes());
    msg.extend_from_slice(&cp.hash);
    msg.extend_from_slice(&keyward_proto::time::to_unix_micros(&signed_at).to_be_bytes());
    let sig = ed25519_dalek::Signature::from_slice(&cp.signature).unwrap();
    key.verify_strict(&msg, &sig).unwrap();
    let head: Vec<u8> =
        sqlx::query_scalar("SELECT hash FROM entries WHERE org_id = $1 AND seq = 3")
            .bind(org)
            .fetch_one(rig.audit.store().pool())
            .await
            .unwrap();
    assert_eq!(cp.hash, head);

    // Unknown checkpoints and bad org ids are clear errors.
    let mut c = svc.client.clone();
    let err = c
        .get_checkpoint(GetCheckpointRequest {
            org_id: org.to_string(),
            seq: 2,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    let err = c
        .get_checkpoint(GetCheckpointRequest {
            org_id: "x".into(),
            seq: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}
