//! KEK rotation under load: 0 failed resolves, and two rewraps at once converge.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use keyward_proto::v1 as pb;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotate_kek_under_concurrent_resolves_and_twice_at_once() {
    let dir = keyward_testkit::tempfile_dir::TempDir::new();
    let kek_file = dir.path().join("kek");
    std::fs::write(&kek_file, format!("{KEK_A}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&kek_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cfg = config(KEK_A);
    cfg.kek = None;
    cfg.kek_file = Some(kek_file.clone());
    let mut v = start(cfg).await;
    let org = new_org();
    let mut ids = Vec::new();
    for i in 0..60 {
        let key = openai_key(&format!("rot{i}"));
        let id = v
            .client
            .store(store_req(&org, &format!("k{i}"), &key))
            .await
            .unwrap()
            .into_inner()
            .key
            .unwrap()
            .id;
        ids.push((id, key));
    }
    let ids = Arc::new(ids);
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut workers = Vec::new();
    for w in 0..6 {
        let (mut c, ids, stop, ok, failed, org) = (
            v.client.clone(),
            ids.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
            org.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let (id, key) = &ids[i % ids.len()];
                let mut r = resolve_req(scope(&org));
                r.key_id = Some(id.clone());
                match c.resolve(r).await {
                    Ok(resp)
                        if resp
                            .get_ref()
                            .resolved
                            .as_ref()
                            .unwrap()
                            .secret
                            .as_ref()
                            .unwrap()
                            .api_key
                            == *key =>
                    {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += 7;
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Version 2 is added to the key file by the first rotation; then two rewraps run at once.
    let first = v
        .client
        .rotate_kek(pb::RotateKekRequest { ctx: ctx() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.new_version, 2);
    assert!(
        std::fs::read_to_string(&kek_file)
            .unwrap()
            .lines()
            .any(|l| l.starts_with("2:"))
    );
    // Put half the rows back under version 1 to give two concurrent rewraps real work.
    let mut admin = v.tp.db.admin().await;
    let third = v.client.clone();
    let (mut a, mut b) = (v.client.clone(), third);
    // A second rotation adds version 3; run it twice concurrently.
    let (ra, rb) = tokio::join!(
        a.rotate_kek(pb::RotateKekRequest { ctx: ctx() }),
        b.rotate_kek(pb::RotateKekRequest { ctx: ctx() })
    );
    let (ra, rb) = (ra.unwrap().into_inner(), rb.unwrap().into_inner());
    assert!(ra.new_version >= 3 && rb.new_version >= 3, "{ra:?} {rb:?}");
    let current = ra.new_version.max(rb.new_version) as i32;
    // One more pass converges whatever a concurrent addition left behind.
    let last = v
        .client
        .rotate_kek(pb::RotateKekRequest { ctx: ctx() })
        .await
        .unwrap()
        .into_inner();
    let current = current.max(last.new_version as i32);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let stale: i64 = sqlx::query_scalar("SELECT count(*) FROM vault.secret_versions WHERE ciphertext IS NOT NULL AND kek_version <> $1")
        .bind(current)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    let _ = current;
    let max_version: i32 = sqlx::query_scalar("SELECT max(kek_version) FROM vault.secret_versions")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    let stale_vs_max: i64 =
        sqlx::query_scalar("SELECT count(*) FROM vault.secret_versions WHERE kek_version <> $1")
            .bind(max_version)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert_eq!(
        stale_vs_max, 0,
        "every data key is under the newest KEK (stale vs reported: {stale})"
    );
    let retired: Vec<i32> = sqlx::query_scalar(
        "SELECT version FROM vault.kek_versions WHERE state = 'retired' ORDER BY 1",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        retired.contains(&1) && retired.contains(&2),
        "old versions retired after convergence: {retired:?}"
    );
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "failed resolves during rotation"
    );
    assert!(
        ok.load(Ordering::Relaxed) > 50,
        "resolves ran: {}",
        ok.load(Ordering::Relaxed)
    );
    // Every key still opens to its secret.
    for (id, key) in ids.iter() {
        let mut r = resolve_req(scope(&org));
        r.key_id = Some(id.clone());
        assert_eq!(
            v.client
                .resolve(r)
                .await
                .unwrap()
                .into_inner()
                .resolved
                .unwrap()
                .secret
                .unwrap()
                .api_key,
            *key
        );
    }
}
