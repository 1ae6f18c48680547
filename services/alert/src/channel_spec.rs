//! What each channel kind needs: its non-secret settings (checked and normalized) and its
//! secrets (checked; a webhook signing secret is generated when absent).

use base64::Engine as _;
use keyward_crypto::SecretString;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::dispatch::secrets::ChannelSecrets;
use crate::error::{AlertError, Result};
use crate::model::ChannelKind;

/// PagerDuty's Events API v2 endpoint.
pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// STARTTLS, required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// Plaintext: only for a relay on the same host or network (and tests).
    None,
}

/// `email` settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default = "default_tls")]
    pub tls: SmtpTls,
    /// SMTP login; its password is the channel's secret `password`.
    #[serde(default)]
    pub username: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

fn default_smtp_port() -> u16 {
    587
}
fn default_tls() -> SmtpTls {
    SmtpTls::Starttls
}

/// `pagerduty` settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutySettings {
    #[serde(default = "default_pd_url")]
    pub url: String,
}

fn default_pd_url() -> String {
    PAGERDUTY_URL.into()
}

/// `webhook` and `slack` take no settings: their URLs may carry tokens, so they are secrets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoSettings {}

fn invalid(msg: impl Into<String>) -> AlertError {
    AlertError::Invalid(msg.into())
}

fn parse<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T> {
    let v = if v.is_null() {
        serde_json::json!({})
    } else {
        v.clone()
    };
    serde_json::from_value(v).map_err(|e| invalid(format!("settings: {e}")))
}

fn check_url(name: &str, url: &str) -> Result<()> {
    let ok = reqwest::Url::parse(url)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("{name} must be an http(s) URL")))
    }
}

fn check_mailbox(field: &str, addr: &str) -> Result<()> {
    addr.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|_| {
            invalid(format!(
                "settings.{field}: `{addr}` is not an e-mail address"
            ))
        })
}

/// Checks and normalizes `settings` of `kind` (defaults filled in).
pub fn settings(kind: ChannelKind, settings: &serde_json::Value) -> Result<serde_json::Value> {
    let out = match kind {
        ChannelKind::Webhook | ChannelKind::Slack => {
            serde_json::to_value(parse::<NoSettings>(settings)?)
        }
        ChannelKind::Email => {
            let s: EmailSettings = parse(settings)?;
            if s.host.trim().is_empty() || s.port == 0 {
                return Err(invalid("settings.host and settings.port are required"));
            }
            check_mailbox("from", &s.from)?;
            if s.to.is_empty() || s.to.len() > 50 {
                return Err(invalid("settings.to must list 1 to 50 recipients"));
            }
            for to in &s.to {
                check_mailbox("to", to)?;
            }
            serde_json::to_value(s)
        }
        ChannelKind::Pagerduty => {
            let s: PagerDutySettings = parse(settings)?;
            check_url("settings.url", &s.url)?;
            serde_json::to_value(s)
        }
    };
    out.map_err(|e| AlertError::Internal(e.to_string()))
}

/// The secret names a kind accepts; the first is required (except for e-mail).
fn secret_names(kind: ChannelKind) -> &'static [&'static str] {
    match kind {
        ChannelKind::Webhook => &["url", "signing_secret"],
        ChannelKind::Slack => &["webhook_url"],
        ChannelKind::Email => &["password"],
        ChannelKind::Pagerduty => &["routing_key"],
    }
}

/// Checks `secrets` for `kind` with `settings`. A webhook without a signing secret gets a new
/// random one, returned so it can be shown once.
pub fn secrets(
    kind: ChannelKind,
    settings: &serde_json::Value,
    secrets: &mut ChannelSecrets,
) -> Result<Option<SecretString>> {
    let allowed = secret_names(kind);
    if let Some(extra) = secrets.names().into_iter().find(|n| !allowed.contains(n)) {
        return Err(invalid(format!(
            "unknown secret `{extra}` for a {kind} channel (expected {})",
            allowed.join(", ")
        )));
    }
    match kind {
        ChannelKind::Webhook => {
            check_url(
                "secret url",
                secrets
                    .get("url")
                    .ok_or_else(|| invalid("secret url is required"))?,
            )?;
            if secrets.get("signing_secret").is_none() {
                let mut raw = [0u8; 32];
                rand::rng().fill_bytes(&mut raw);
                let s = format!(
                    "whsec_{}",
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
                );
                secrets.set("signing_secret", SecretString::from(s.as_str()));
                return Ok(Some(SecretString::new(s)));
            }
        }
        ChannelKind::Slack => {
            let url = secrets
                .get("webhook_url")
                .ok_or_else(|| invalid("secret webhook_url is required"))?;
            check_url("secret webhook_url", url)?;
        }
        ChannelKind::Email => {
            let has_user = settings.get("username").and_then(|u| u.as_str()).is_some();
            if has_user != secrets.get("password").is_some() {
                return Err(invalid("settings.username and secret password go together"));
            }
        }
        ChannelKind::Pagerduty => {
            secrets
                .get("routing_key")
                .ok_or_else(|| invalid("secret routing_key is required"))?;
        }
    }
    Ok(None)
}

/// A display hint of the secrets that gives nothing away: a URL's scheme and host, a masked
/// routing key, whether a password is set.
pub fn hint(kind: ChannelKind, secrets: &ChannelSecrets) -> String {
    let host = |u: Option<&str>| {
        u.and_then(|u| reqwest::Url::parse(u).ok())
            .map(|u| {
                let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                format!("{}://{}{port}/…", u.scheme(), u.host_str().unwrap_or(""))
            })
            .unwrap_or_default()
    };
    match kind {
        ChannelKind::Webhook => host(secrets.get("url")),
        ChannelKind::Slack => host(secrets.get("webhook_url")),
        ChannelKind::Email => if secrets.get("password").is_some() {
            "password set"
        } else {
            "no password"
        }
        .into(),
        ChannelKind::Pagerduty => {
            keyward_crypto::mask_last4(secrets.get("routing_key").unwrap_or(""))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_and_secrets_are_checked_per_kind() {
        let email = settings(ChannelKind::Email, &json!({"host": "smtp.example.com", "from": "kw@example.com", "to": ["ops@example.com"]})).unwrap();
        assert_eq!(email["port"], 587);
        assert_eq!(email["tls"], "starttls");
        assert!(
            settings(
                ChannelKind::Email,
                &json!({"host": "h", "from": "nope", "to": ["a@b.c"]})
            )
            .is_err()
        );
        assert!(
            settings(ChannelKind::Webhook, &json!({"url": "x"})).is_err(),
            "urls are secrets"
        );
        assert_eq!(
            settings(ChannelKind::Pagerduty, &json!(null)).unwrap()["url"],
            PAGERDUTY_URL
        );

        let mut s =
            ChannelSecrets::parse(r#"{"url": "https://hooks.example.com/t/abc123"}"#).unwrap();
        let generated = secrets(ChannelKind::Webhook, &json!({}), &mut s)
            .unwrap()
            .unwrap();
        assert!(generated.expose().starts_with("whsec_"));
        assert_eq!(s.get("signing_secret"), Some(generated.expose()));
        assert_eq!(
            hint(ChannelKind::Webhook, &s),
            "https://hooks.example.com/…"
        );

        let mut bad = ChannelSecrets::parse(r#"{"webhook_url": "ftp://x", "token": "t"}"#).unwrap();
        let e = secrets(ChannelKind::Slack, &json!({}), &mut bad)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("token") && !e.contains("ftp"), "{e}");
        let mut no_pw = ChannelSecrets::default();
        assert!(secrets(ChannelKind::Email, &json!({"username": "u"}), &mut no_pw).is_err());
        assert!(ChannelSecrets::parse("[1]").is_err());
    }
}
