//! Roles, schemas and per-service migrations.

use keyward_core::ServiceName;
use sqlx::migrate::Migrator;
use sqlx::{Connection, Executor, PgConnection};

use crate::{
    DatabaseConfig, Error, Result, admin_options, password_for, role_name, schema_name,
    service_options,
};

/// The embedded migrations of every service, in dependency order.
pub type Migrations<'a> = &'a [(ServiceName, &'a Migrator)];

/// Advisory lock key held while roles and schemas are created (`keyward` in ASCII).
const LOCK_KEY: i64 = 0x006b_6579_7761_7264;

/// Creates every service's login role (or resets its password) and its schema, owned by the role.
/// Idempotent and safe to run concurrently.
pub async fn ensure_roles_and_schemas(cfg: &DatabaseConfig) -> Result<()> {
    let mut conn = PgConnection::connect_with(&admin_options(cfg)?).await?;
    conn.execute(sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK_KEY))
        .await?;
    let result = ensure_inner(cfg, &mut conn).await;
    let _unlock = conn
        .execute(sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK_KEY))
        .await;
    result
}

async fn ensure_inner(cfg: &DatabaseConfig, conn: &mut PgConnection) -> Result<()> {
    for service in ServiceName::ALL {
        let role = role_name(service);
        let password = password_for(cfg, service)?;
        // Roles are cluster-wide while advisory locks are per database, so two databases being
        // prepared at once (parallel tests) can race here: retry on the race's errors.
        for attempt in 0..5 {
            match upsert_role(conn, &role, password).await {
                Ok(()) => break,
                Err(e) if attempt < 4 && is_race(&e) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50 * (attempt + 1))).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let schema = schema_name(service);
        // Identifiers cannot be bound as parameters; both come from our own constants.
        conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}").as_str())
            .await?;
        conn.execute(format!("REVOKE ALL ON SCHEMA {schema} FROM PUBLIC").as_str())
            .await?;
    }
    // Nobody but the owners may create objects in `public`.
    conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        .await?;
    Ok(())
}

async fn upsert_role(
    conn: &mut PgConnection,
    role: &str,
    password: &str,
) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(role)
            .fetch_one(&mut *conn)
            .await?;
    let verb = if exists { "ALTER" } else { "CREATE" };
    // The password is passed as a literal (roles can't take bind parameters); quote_literal escapes.
    let literal: String = sqlx::query_scalar("SELECT quote_literal($1)")
        .bind(password)
        .fetch_one(&mut *conn)
        .await?;
    let sql = format!(
        "{verb} ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD {literal}"
    );
    conn.execute(sql.as_str()).await?;
    Ok(())
}

fn is_race(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            Some("42710") | Some("23505") | Some("XX000") | Some("40001")
        ),
        _ => false,
    }
}

/// Applies one service's migrations as that service's role, with its schema first on the
/// `search_path`, so its `_sqlx_migrations` table lives in its own schema.
pub async fn migrate_service(
    cfg: &DatabaseConfig,
    service: ServiceName,
    migrator: &Migrator,
) -> Result<()> {
    let mut conn = PgConnection::connect_with(&service_options(cfg, service)?).await?;
    migrator
        .run(&mut conn)
        .await
        .map_err(|source| Error::Migrate {
            service: service.as_str(),
            source,
        })?;
    let _closed = conn.close().await;
    Ok(())
}

/// Roles and schemas first, then every service's migrations in the given order.
pub async fn migrate_all(cfg: &DatabaseConfig, migrations: Migrations<'_>) -> Result<()> {
    ensure_roles_and_schemas(cfg).await?;
    for (service, migrator) in migrations {
        tracing::info!(service = service.as_str(), "applying migrations");
        migrate_service(cfg, *service, migrator).await?;
    }
    Ok(())
}
