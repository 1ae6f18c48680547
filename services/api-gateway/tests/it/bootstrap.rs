//! `keyward admin bootstrap` is idempotent.

use keyward_api_gateway::admin::bootstrap;
use keyward_core::ServiceName;
use keyward_crypto::SecretString;
use keyward_testkit::TestPlatform;

#[tokio::test]
async fn bootstrap_is_idempotent_and_never_changes_a_password() {
    let tp = TestPlatform::new(&[(ServiceName::ApiGateway, &keyward_api_gateway::MIGRATOR)]).await;
    let cfg = crate::harness::test_config(1);
    let pw = || SecretString::from(crate::harness::PASSWORD);
    let first = bootstrap(&tp.platform, &cfg, None, "Acme", "Owner@Acme.test", pw())
        .await
        .unwrap();
    assert!(first.created_org && first.created_user && first.granted_owner);
    let pool = tp.db.pool(ServiceName::ApiGateway).await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));

    let again = bootstrap(
        &tp.platform,
        &cfg,
        None,
        "acme",
        "owner@acme.test",
        SecretString::from("another password entirely"),
    )
    .await
    .unwrap();
    assert_eq!((again.org_id, again.user_id), (first.org_id, first.user_id));
    assert!(!again.created_org && !again.created_user && !again.granted_owner);
    let hash2: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(hash, hash2);
    for (table, n) in [
        ("orgs", 1),
        ("users", 1),
        ("memberships", 1),
        ("role_assignments", 1),
    ] {
        let c: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(c, n, "{table}");
    }
    let g: i64 = sqlx::query_scalar("SELECT count(*) FROM casbin_rule WHERE ptype = 'g'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(g, 1);

    // Bad input is refused before anything is written.
    let weak = bootstrap(
        &tp.platform,
        &cfg,
        None,
        "Other",
        "new@acme.test",
        SecretString::from("short"),
    )
    .await;
    assert!(weak.unwrap_err().to_string().contains("at least 12"));
    let bad = bootstrap(&tp.platform, &cfg, None, "Other", "not-an-email", pw()).await;
    assert!(bad.is_err());
    let c: i64 = sqlx::query_scalar("SELECT count(*) FROM orgs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(c, 1);
}
