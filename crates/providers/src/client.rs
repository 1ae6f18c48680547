//! The HTTP client provider calls should use.

use std::time::Duration;

/// Idle connections kept per upstream host.
pub const IDLE_PER_HOST: usize = 128;
/// How long an idle upstream connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the client Keyward uses for provider calls: rustls, proxies from the environment,
/// a 5 s connect timeout, a `keyward/<version>` user agent, and **no redirects**. At most
/// [`IDLE_PER_HOST`] idle connections per provider host are kept, for [`IDLE_TIMEOUT`]: a burst
/// that opened a thousand connections does not leave them (about 30 KB each) behind.
///
/// Redirects are off because reqwest only strips `Authorization` and cookies when a redirect
/// changes host: `x-api-key`, `api-key` and `x-goog-api-key` would be forwarded to wherever a
/// misconfigured (or hostile) base URL points. Provider APIs never redirect, so a 3xx is
/// reported as [`crate::Outcome::ProviderUnavailable`] instead.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(IDLE_PER_HOST)
        .pool_idle_timeout(IDLE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
        .build()
}
