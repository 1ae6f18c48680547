//! Integration tests for `keyward-providers`: key formats, live validation against the local
//! mock providers from `keyward-testkit`, the never-leak-a-secret canary, and the proxy path
//! (translation, streaming, usage, errors) against every provider's mock.

#![cfg(test)]

mod caching;
mod canary;
mod embeddings;
mod format;
mod mock_chat;
mod proxy_errors;
mod round_trip;
mod stop_reasons;
mod streaming;
mod support;
mod tools;
mod validate;

/// A client that never goes through a proxy from the environment (tests only talk to 127.0.0.1).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
