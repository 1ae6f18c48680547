//! SQL of the `identity` schema. Runtime-checked `sqlx` queries with bound parameters only
//! (the repository has no offline query data yet; every query here runs in the tests).

pub mod invitations;
pub mod login;
pub mod members;
pub mod model_aliases;
pub mod orgs;
pub mod projects;
pub mod roles;
pub mod sessions;
pub mod teams;
pub mod totp;
pub mod vkeys;

/// Whether an error is a unique violation (Postgres 23505).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

/// Whether an error is a foreign-key violation (Postgres 23503).
pub fn is_fk_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23503"))
}
