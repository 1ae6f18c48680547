//! Integration tests for `keyward-providers`: key formats, live validation against the local
//! mock providers from `keyward-testkit`, and the never-leak-a-secret canary.

#![cfg(test)]

mod canary;
mod format;
mod mock_chat;
mod validate;

/// A client that never goes through a proxy from the environment (tests only talk to 127.0.0.1).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
