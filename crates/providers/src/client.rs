//! The HTTP client provider calls should use.

use std::time::Duration;

/// Builds the client Keyward uses for provider calls: rustls, proxies from the environment,
/// a 5 s connect timeout, a `keyward/<version>` user agent, and **no redirects**.
///
/// Redirects are off because reqwest only strips `Authorization` and cookies when a redirect
/// changes host: `x-api-key`, `api-key` and `x-goog-api-key` would be forwarded to wherever a
/// misconfigured (or hostile) base URL points. Provider APIs never redirect, so a 3xx is
/// reported as [`crate::Outcome::ProviderUnavailable`] instead.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
        .build()
}
