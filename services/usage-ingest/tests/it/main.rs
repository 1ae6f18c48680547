//! usage-ingest against real Postgres and RabbitMQ.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod exactly_once;
mod harness;
mod ingest;
mod partitions;
mod pricing;
