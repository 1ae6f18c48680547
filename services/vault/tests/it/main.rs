//! The vault against real Postgres and RabbitMQ, over real gRPC.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod canary;
mod harness;
mod kek_rotation;
mod lifecycle;
mod security;
