//! Least privilege: each service's role reaches its own schema only.

use keyward_core::ServiceName;

#[tokio::test]
async fn the_gateway_role_cannot_read_the_vault_schema() {
    let db = keyward_testkit::fresh_database(&[
        (ServiceName::ApiGateway, &keyward_api_gateway::MIGRATOR),
        (ServiceName::Vault, &keyward_vault::MIGRATOR),
    ])
    .await;
    let vault = db.pool(ServiceName::Vault).await;
    sqlx::query("CREATE TABLE IF NOT EXISTS vault.privilege_probe (id int)")
        .execute(&vault)
        .await
        .unwrap();
    let gateway = db.pool(ServiceName::ApiGateway).await;
    let err = sqlx::query("SELECT * FROM vault.privilege_probe")
        .fetch_all(&gateway)
        .await
        .unwrap_err();
    let db_err = err.as_database_error().expect("a database error");
    assert_eq!(db_err.code().as_deref(), Some("42501"), "{db_err}");
    assert!(db_err.message().contains("permission denied"), "{db_err}");

    // Nor may it create objects in the vault schema or in public.
    for sql in [
        "CREATE TABLE vault.x (id int)",
        "CREATE TABLE public.x (id int)",
    ] {
        let err = sqlx::query(sql).execute(&gateway).await.unwrap_err();
        assert_eq!(
            err.as_database_error().unwrap().code().as_deref(),
            Some("42501"),
            "{sql}"
        );
    }
    // While the vault role works in its own schema.
    sqlx::query("SELECT * FROM privilege_probe")
        .fetch_all(&vault)
        .await
        .unwrap();
}
