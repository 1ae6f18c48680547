//! Integration tests of the API gateway against the real PostgreSQL and RabbitMQ: the real
//! `run()` serves HTTP on a free port and the tests drive it with an HTTP client.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on a broken environment"
)]

mod alert_routes;
mod audit_routes;
mod auth_flows;
mod bad_input;
mod bootstrap;
mod canary;
mod dashboard;
mod harness;
mod live;
mod matrix;
mod openapi;
mod proxy;
mod proxy_aliases;
mod proxy_budgets;
mod proxy_harness;
mod proxy_log_canary;
mod proxy_resilience;
mod proxy_responses;
mod proxy_sdk;
mod team_scope;
mod usage_routes;
mod vkeys;
