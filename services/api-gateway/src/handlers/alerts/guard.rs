//! The SSRF guard of alert channels: a webhook, Slack or PagerDuty URL whose host is `localhost`
//! or a literal loopback, private, link-local, unspecified or otherwise internal IP address is
//! refused (400 naming the field), so a member who may edit channels cannot make Keyward post
//! to services inside its own network. `api_gateway.allow_private_webhook_targets` turns it off
//! (receivers on the same host or network; tests).
//!
//! Host names are not resolved here (a name's addresses can change after the check): the alert
//! service refuses internal addresses again when it connects, after resolving the name
//! (docs/alerts.md).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret as _, SecretString};

use crate::error::{ApiError, ApiResult};

/// The URL-valued fields of a channel body.
const SECRET_URLS: [&str; 2] = ["url", "webhook_url"];

/// Checks every URL of a channel's settings and secrets.
pub fn check(
    allow_private: bool,
    settings: Option<&serde_json::Value>,
    secrets: Option<&BTreeMap<String, SecretString>>,
) -> ApiResult<()> {
    if allow_private {
        return Ok(());
    }
    if let Some(url) = settings
        .and_then(|s| s.get("url"))
        .and_then(serde_json::Value::as_str)
    {
        check_url("settings.url", url)?;
    }
    for name in SECRET_URLS {
        if let Some(url) = secrets.and_then(|s| s.get(name)) {
            check_url(&format!("secrets.{name}"), url.expose_secret())?;
        }
    }
    Ok(())
}

fn refuse(field: &str) -> ApiError {
    ApiError::invalid(
        field,
        "points at localhost or a private, loopback or link-local address; alert channels must \
         reach a public address",
    )
}

fn check_url(field: &str, url: &str) -> ApiResult<()> {
    // Unparseable URLs are the alert service's to refuse, with its own message.
    let Ok(u) = reqwest::Url::parse(url.trim()) else {
        return Ok(());
    };
    // The URL parser normalizes hosts (`2130706433` → `127.0.0.1`, IPv6 in brackets).
    if keyward_core::net::internal_host(u.host_str().unwrap_or_default()) {
        return Err(refuse(field));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(url: &str) -> BTreeMap<String, SecretString> {
        BTreeMap::from([("url".to_string(), SecretString::from(url))])
    }

    #[test]
    fn internal_targets_are_refused() {
        for bad in [
            "http://localhost:8080/x",
            "http://LOCALHOST./x",
            "http://api.localhost/x",
            "http://127.0.0.1/x",
            "http://2130706433/x",
            "http://10.1.2.3/x",
            "http://172.16.0.1/x",
            "http://192.168.1.1/x",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/x",
            "http://100.64.0.1/x",
            "http://[::1]/x",
            "http://[fd00::1]/x",
            "http://[fe80::1]/x",
            "http://[::ffff:127.0.0.1]/x",
        ] {
            let e = check(false, None, Some(&secrets(bad))).err();
            assert_eq!(
                e.and_then(|e| e.field).as_deref(),
                Some("secrets.url"),
                "{bad}"
            );
        }
        let pd = serde_json::json!({"url": "http://10.0.0.1/enqueue"});
        let e = check(false, Some(&pd), None).err();
        assert_eq!(e.and_then(|e| e.field).as_deref(), Some("settings.url"));
    }

    #[test]
    fn public_targets_and_the_opt_out_pass() {
        for good in [
            "https://hooks.slack.com/services/T/B/X",
            "https://93.184.216.34/x",
            "https://[2606:2800:220:1::]/x",
            "not a url",
        ] {
            assert!(check(false, None, Some(&secrets(good))).is_ok(), "{good}");
        }
        assert!(check(true, None, Some(&secrets("http://127.0.0.1/x"))).is_ok());
    }
}
