//! The audit service against the real PostgreSQL and RabbitMQ: the service runs in-process and
//! is called over real gRPC; tampering is done as the database superuser.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on a broken environment"
)]

mod erasure;
mod export;
mod harness;
mod ingest;
mod privilege;
mod query;
mod retention;
mod tamper;
