//! Operator commands run by the `keyward` binary against the database: `admin bootstrap`.

use keyward_bus::Publisher;
use keyward_core::settings::Platform;
use keyward_crypto::SecretString;
use keyward_proto::v1::{Actor, AuditEvent, actor};
use uuid::Uuid;

use crate::auth::password::Hasher;
use crate::config::Config;
use crate::store::{members, orgs, roles};

/// What `bootstrap` did.
#[derive(Debug)]
pub struct Bootstrap {
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub created_org: bool,
    pub created_user: bool,
    pub granted_owner: bool,
}

/// Why bootstrap failed (messages are for the operator).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("the identity schema is not migrated (run `keyward migrate` first): {0}")]
    NotMigrated(String),
    #[error(transparent)]
    Db(#[from] keyward_db::Error),
    #[error("database: {0}")]
    Sqlx(String),
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        AdminError::Sqlx(keyward_db::describe(&e))
    }
}

/// Makes sure org `org_name` exists, user `email` exists (with `password` when created) and is
/// its owner. Idempotent: a second run with the same arguments changes nothing; an existing
/// user's password is never changed.
///
/// # Errors
/// Invalid name, e-mail or password; database unreachable or not migrated.
pub async fn bootstrap(
    platform: &Platform,
    cfg: &Config,
    publisher: Option<&Publisher>,
    org_name: &str,
    email: &str,
    password: SecretString,
) -> Result<Bootstrap, AdminError> {
    let name =
        crate::domain::check_name("org", org_name).map_err(|e| AdminError::Invalid(e.message))?;
    let email = crate::domain::normalize_email("email", email)
        .map_err(|e| AdminError::Invalid(e.message))?;
    let pool = keyward_db::connect_lazy(&platform.database, crate::SERVICE)?;
    sqlx::query("SELECT version FROM policy_version")
        .fetch_one(&pool)
        .await
        .map_err(|e| AdminError::NotMigrated(keyward_db::describe(&e)))?;
    let hasher = Hasher::new(cfg.auth.argon2_m_cost_kib, cfg.auth.argon2_t_cost)
        .map_err(AdminError::Invalid)?;
    let mut tx = pool.begin().await?;
    let existing_user = members::by_email(&mut tx, &email).await?;
    if existing_user.is_none() {
        Hasher::check_strength("password", &password)
            .map_err(|e| AdminError::Invalid(e.message))?;
    }
    let (org, created_org) = match orgs::find_by_name(&mut tx, &name).await? {
        Some(o) => (o, false),
        None => (orgs::create(&mut tx, &name).await?, true),
    };
    let (user_id, created_user) = match existing_user {
        Some(u) => (u.id, false),
        None => {
            let hash = hasher
                .hash(password)
                .await
                .map_err(|e| AdminError::Invalid(e.message))?;
            (
                members::create_user(&mut tx, &email, "", &hash).await?,
                true,
            )
        }
    };
    members::add(&mut tx, org.id, user_id).await?;
    let granted_owner = roles::assign(&mut tx, org.id, user_id, "owner", None, None)
        .await?
        .is_some();
    tx.commit().await?;
    if let Some(p) = publisher
        && (created_org || created_user || granted_owner)
    {
        let event = AuditEvent {
            event_id: Uuid::now_v7().to_string(),
            occurred_at: Some(keyward_proto::time::now()),
            org_id: org.id.to_string(),
            actor: Some(Actor {
                kind: actor::Kind::System as i32,
                id: "operator".into(),
                email: Some(email.clone()),
                ip: None,
            }),
            action: "org.bootstrap".into(),
            resource_type: "org".into(),
            resource_id: org.id.to_string(),
            outcome: "success".into(),
            reason: format!(
                "created_org={created_org} created_user={created_user} granted_owner={granted_owner}"
            ),
            request_id: String::new(),
            service: crate::SERVICE.as_str().into(),
            before_json: String::new(),
            after_json: String::new(),
        };
        if let Err(e) = p.audit(&event) {
            tracing::error!(error = %e, "bootstrap audit event could not be queued");
        }
    }
    Ok(Bootstrap {
        org_id: org.id,
        user_id,
        created_org,
        created_user,
        granted_owner,
    })
}
