//! Integration and end-to-end tests of the `keyward` binary against the real PostgreSQL and
//! RabbitMQ: processes are started exactly as a user starts them.

mod harness;
mod outage;
mod platform;
mod privilege;
