//! Integration and end-to-end tests of the `keyward` binary against the real PostgreSQL and
//! RabbitMQ: processes are started exactly as a user starts them.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly on a broken environment"
)]

mod cli;
mod harness;
mod outage;
mod platform;
mod privilege;
