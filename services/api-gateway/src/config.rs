//! `[api_gateway]`: where the gateway listens, its secrets and its sign-in policy.

use secrecy::SecretString;
use serde::Deserialize;

/// `[api_gateway]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// REST, proxy, UI and ops endpoints.
    pub http: String,
    /// HTTP worker threads (default: one per core).
    #[serde(default)]
    pub workers: Option<usize>,
    /// HS256 key of access tokens, at least 32 bytes (`KEYWARD__API_GATEWAY__JWT_SECRET`).
    /// Required by the `keyward` binary wherever the gateway runs (exit 64 when unset); only
    /// in-process tests run without it, on a random per-process key.
    #[serde(default)]
    pub jwt_secret: Option<SecretString>,
    /// Server pepper of virtual-key HMACs, at least 32 bytes
    /// (`KEYWARD__API_GATEWAY__VKEY_PEPPER`). Required by the binary, like `jwt_secret`.
    /// Changing it invalidates every virtual key.
    #[serde(default)]
    pub vkey_pepper: Option<SecretString>,
    /// Key(s) sealing TOTP secrets, in the `KEYWARD_KEK` format (`1:BASE64[,2:BASE64]`)
    /// (`KEYWARD__API_GATEWAY__TOTP_KEY`). Required by the binary, like `jwt_secret`.
    #[serde(default)]
    pub totp_key: Option<SecretString>,
    /// Take the client address for rate limits and audit from `X-Forwarded-For` (only behind
    /// a proxy that sets it).
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Accept alert channel URLs (webhook, Slack, PagerDuty) that point at `localhost` or a
    /// private, loopback or link-local address. Off by default (SSRF guard); for receivers on
    /// the same network, and tests.
    #[serde(default)]
    pub allow_private_webhook_targets: bool,
    #[serde(default)]
    pub auth: AuthConfig,
    /// The built web dashboard (`web/dist`, relative to the working directory). Without an
    /// `index.html` there, `/` says how to build it.
    #[serde(default = "default_web_dir")]
    pub web_dir: std::path::PathBuf,
}

fn default_web_dir() -> std::path::PathBuf {
    "web/dist".into()
}

impl Config {
    /// A configuration listening on `http` with every other setting at its default.
    pub fn with_http(http: &str) -> Self {
        Self {
            http: http.to_string(),
            workers: None,
            jwt_secret: None,
            vkey_pepper: None,
            totp_key: None,
            trust_forwarded_for: false,
            allow_private_webhook_targets: false,
            auth: AuthConfig::default(),
            web_dir: default_web_dir(),
        }
    }
}

/// `[api_gateway.auth]`: token lifetimes, lockout and rate limits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Access token lifetime.
    pub access_ttl_secs: u64,
    /// Lifetime of one refresh token (each refresh issues a new one).
    pub refresh_ttl_secs: u64,
    /// Absolute lifetime of a sign-in, however often it is refreshed.
    pub session_ttl_secs: u64,
    /// Consecutive failed sign-ins for one e-mail that lock it.
    pub lockout_threshold: u32,
    /// The window in which those failures count.
    pub lockout_window_secs: u64,
    /// How long a locked e-mail stays locked.
    pub lockout_secs: u64,
    /// Sign-in attempts per client address per minute.
    pub login_per_ip_per_minute: u32,
    /// Lifetime of an invitation.
    pub invitation_ttl_secs: u64,
    /// Longest grace period of a rotated virtual key.
    pub vkey_max_grace_secs: u64,
    /// How often the policy version is checked (other replicas' changes).
    pub policy_poll_ms: u64,
    /// Argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_m_cost_kib: u32,
    /// Argon2id iterations (OWASP: 2).
    pub argon2_t_cost: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 14 * 24 * 3600,
            session_ttl_secs: 30 * 24 * 3600,
            lockout_threshold: 5,
            lockout_window_secs: 15 * 60,
            lockout_secs: 15 * 60,
            login_per_ip_per_minute: 30,
            invitation_ttl_secs: 7 * 24 * 3600,
            vkey_max_grace_secs: 7 * 24 * 3600,
            policy_poll_ms: 2_000,
            argon2_m_cost_kib: 19 * 1024,
            argon2_t_cost: 2,
        }
    }
}
