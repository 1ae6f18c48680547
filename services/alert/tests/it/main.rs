//! The alert service against real Postgres, RabbitMQ and the real vault, over real gRPC, with
//! local webhook, Slack, PagerDuty and SMTP receivers.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod api;
mod budget;
mod channels;
mod escalation;
mod harness;
mod periodic;
mod receivers;
mod restart;
mod retries;
mod smtp;
mod webhook;
