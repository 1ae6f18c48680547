//! The command-line tools: `keyward admin …` against the database, and the REST clients
//! (`login`, `logout`, `vkeys`, `users`, `teams`) against a running gateway.

pub mod admin;
mod api;
mod client;
mod output;

pub use client::{ClientCommand, run as run_client};
