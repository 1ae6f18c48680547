//! The cost service against real Postgres and RabbitMQ.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod analytics;
mod budgets;
mod harness;
mod prices;
mod ranges;
mod suite;
mod timescale;
