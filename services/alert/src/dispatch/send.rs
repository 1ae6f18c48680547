//! One attempt of one delivery over its channel's real protocol: HTTPS POST (webhook, Slack,
//! PagerDuty) with `reqwest`, SMTP with `lettre`. Errors never carry URLs or secrets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use uuid::Uuid;

use super::render;
use super::secrets::ChannelSecrets;
use super::webhook;
use crate::channel_spec::{EmailSettings, PagerDutySettings, SmtpTls};
use crate::model::{Channel, ChannelKind, Notice};

/// Why an attempt failed.
#[derive(Clone, Debug, Default)]
pub struct Failure {
    pub http_status: Option<u16>,
    /// Redacted, short, never the secret or a URL with a token.
    pub message: String,
    /// Worth trying again (network, timeout, 408/425/429/5xx, SMTP 4xx).
    pub retryable: bool,
    /// The receiver's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
}

impl Failure {
    fn new(message: impl AsRef<str>, retryable: bool) -> Self {
        Self {
            message: keyward_crypto::redact(message.as_ref())
                .chars()
                .take(500)
                .collect(),
            retryable,
            ..Self::default()
        }
    }
}

/// Sends notifications.
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    smtp_timeout: Duration,
    allow_private: bool,
}

/// Why a webhook, Slack or PagerDuty request was not sent: its host is internal.
#[derive(Debug, thiserror::Error)]
#[error(
    "refused: the receiver's host is localhost or resolves only to loopback, private or \
     link-local addresses (alert.allow_private_targets allows them)"
)]
struct InternalTarget;

/// Resolves receivers' host names and keeps only public addresses, so the address connected to
/// is the address checked: a public name pointing at (or re-pointed to) an internal address
/// reaches nothing. IP-literal hosts are not resolved; [`Transport::check_target`] checks them.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if keyward_core::net::internal_host(&host) {
                return Err(InternalTarget.into());
            }
            let public = keep_public(tokio::net::lookup_host((host.as_str(), 0)).await?)?;
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The public addresses among a name's; none is an error.
fn keep_public(addrs: impl Iterator<Item = SocketAddr>) -> Result<Vec<SocketAddr>, InternalTarget> {
    let public: Vec<SocketAddr> = addrs
        .filter(|a| !keyward_core::net::internal(a.ip()))
        .collect();
    if public.is_empty() {
        return Err(InternalTarget);
    }
    Ok(public)
}

impl Transport {
    /// A transport with these timeouts. The HTTP client follows no redirects: a receiver that
    /// redirects gets a failed delivery, never our signed body or a token at another host.
    /// Unless `allow_private`, HTTP receivers on localhost or an internal address are refused
    /// when the request is made, after resolving the host name (the gateway's check of the URL
    /// when a channel is saved does not resolve names).
    pub fn new(
        http_timeout: Duration,
        smtp_timeout: Duration,
        allow_private: bool,
    ) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(http_timeout)
            .connect_timeout(http_timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Keyward-Alert/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30));
        if !allow_private {
            // No proxy either: through a proxy, the proxy (not this check) would pick the address.
            builder = builder.dns_resolver(Arc::new(PublicOnly)).no_proxy();
        }
        let http = builder.build().map_err(|e| e.without_url().to_string())?;
        Ok(Self {
            http,
            smtp_timeout,
            allow_private,
        })
    }

    /// Refuses a receiver URL whose host is an internal IP literal (those are not resolved, so
    /// [`PublicOnly`] never sees them) or `localhost`.
    fn check_target(&self, url: &reqwest::Url) -> Result<(), Failure> {
        if self.allow_private {
            return Ok(());
        }
        if keyward_core::net::internal_host(url.host_str().unwrap_or_default()) {
            return Err(Failure::new(InternalTarget.to_string(), false));
        }
        Ok(())
    }

    /// One attempt. `Ok(status)` is the receiver's HTTP status (0 for e-mail).
    pub async fn send(
        &self,
        ch: &Channel,
        secrets: &ChannelSecrets,
        delivery: Uuid,
        n: &Notice,
    ) -> Result<u16, Failure> {
        let missing =
            |name: &str| Failure::new(format!("the channel's secret {name} is missing"), false);
        match ch.kind {
            ChannelKind::Webhook => {
                let url = secrets.get("url").ok_or_else(|| missing("url"))?;
                let key = secrets
                    .get("signing_secret")
                    .ok_or_else(|| missing("signing_secret"))?;
                let body = serde_json::to_vec(&render::webhook(&delivery.to_string(), n))
                    .map_err(|e| Failure::new(e.to_string(), false))?;
                let signature =
                    webhook::sign(key.as_bytes(), chrono::Utc::now().timestamp(), &body);
                let req = self
                    .http
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(webhook::SIGNATURE_HEADER, signature)
                    .header(webhook::DELIVERY_HEADER, delivery.to_string())
                    .header(webhook::EVENT_HEADER, render::event_type(n))
                    .body(body);
                self.post(req).await
            }
            ChannelKind::Slack => {
                let url = secrets
                    .get("webhook_url")
                    .ok_or_else(|| missing("webhook_url"))?;
                self.post(self.http.post(url).json(&render::slack(n))).await
            }
            ChannelKind::Pagerduty => {
                let key = secrets
                    .get("routing_key")
                    .ok_or_else(|| missing("routing_key"))?;
                let s: PagerDutySettings = serde_json::from_value(ch.settings.clone())
                    .map_err(|e| Failure::new(format!("settings: {e}"), false))?;
                self.post(self.http.post(&s.url).json(&render::pagerduty(key, n)))
                    .await
            }
            ChannelKind::Email => {
                let s: EmailSettings = serde_json::from_value(ch.settings.clone())
                    .map_err(|e| Failure::new(format!("settings: {e}"), false))?;
                self.email(&s, secrets.get("password"), n).await.map(|()| 0)
            }
        }
    }

    /// Sends one HTTP notification (webhook, Slack, PagerDuty): its target is checked here, the
    /// one place every HTTP channel goes through.
    async fn post(&self, req: reqwest::RequestBuilder) -> Result<u16, Failure> {
        let req = req
            .build()
            .map_err(|e| Failure::new(format!("bad request: {}", e.without_url()), false))?;
        self.check_target(req.url())?;
        let resp = self.http.execute(req).await.map_err(|e| {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                if c.is::<InternalTarget>() {
                    return Failure::new(InternalTarget.to_string(), false);
                }
                cause = c.source();
            }
            let kind = if e.is_timeout() {
                "timed out"
            } else {
                "request failed"
            };
            Failure::new(format!("{kind}: {}", e.without_url()), true)
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let code = status.as_u16();
        let retryable = matches!(code, 408 | 425 | 429) || status.is_server_error();
        let snippet = body_snippet(resp).await;
        let mut f = Failure::new(format!("receiver answered {code}: {snippet}"), retryable);
        f.http_status = Some(code);
        f.retry_after = retry_after;
        Err(f)
    }

    async fn email(
        &self,
        s: &EmailSettings,
        password: Option<&str>,
        n: &Notice,
    ) -> Result<(), Failure> {
        let mail = render::email(n);
        let permanent = |what: &str| Failure::new(what, false);
        let mut builder = Message::builder()
            .from(
                s.from
                    .parse::<Mailbox>()
                    .map_err(|_| permanent("settings.from is not an address"))?,
            )
            .subject(mail.subject);
        for to in &s.to {
            builder = builder.to(to
                .parse::<Mailbox>()
                .map_err(|_| permanent("settings.to holds a bad address"))?);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .map_err(|e| permanent(&format!("building the message: {e}")))?;
        let transport = match s.tls {
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host),
            SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &s.host,
            )),
        }
        .map_err(|e| permanent(&format!("smtp setup: {e}")))?
        .port(s.port)
        .timeout(Some(self.smtp_timeout));
        let transport = match (&s.username, password) {
            (Some(user), Some(pw)) => {
                transport.credentials(Credentials::new(user.clone(), pw.to_string()))
            }
            _ => transport,
        }
        .build();
        transport.send(message).await.map(|_| ()).map_err(|e| {
            let mut f = Failure::new(format!("smtp: {e}"), !e.is_permanent());
            f.http_status = None;
            f
        })
    }
}

async fn body_snippet(mut resp: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < 512 {
        match resp.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c),
            _ => break,
        }
    }
    buf.truncate(512);
    String::from_utf8_lossy(&buf).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(ips: &[&str]) -> std::vec::IntoIter<SocketAddr> {
        ips.iter()
            .map(|ip| SocketAddr::new(ip.parse().unwrap(), 443))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn only_public_addresses_of_a_name_are_connected_to() {
        let mixed = keep_public(addrs(&["127.0.0.1", "93.184.216.34", "10.0.0.7", "::1"]));
        assert_eq!(
            mixed.unwrap(),
            addrs(&["93.184.216.34"]).collect::<Vec<_>>()
        );
        for internal in [
            &["127.0.0.1"][..],
            &["169.254.169.254"],
            &["10.1.2.3", "192.168.0.1", "fd00::1", "::ffff:127.0.0.1"],
            &[],
        ] {
            assert!(keep_public(addrs(internal)).is_err(), "{internal:?}");
        }
    }

    #[test]
    fn literal_internal_hosts_are_refused_unless_allowed() {
        let guarded =
            Transport::new(Duration::from_secs(1), Duration::from_secs(1), false).unwrap();
        for url in [
            "http://127.0.0.1:9/x",
            "http://[::1]/x",
            "http://2130706433/x",
            "http://localhost/x",
            "https://169.254.169.254/latest/meta-data",
        ] {
            let f = guarded
                .check_target(&reqwest::Url::parse(url).unwrap())
                .unwrap_err();
            assert!(!f.retryable, "{url}");
            assert!(f.message.starts_with("refused:"), "{url}: {}", f.message);
        }
        assert!(
            guarded
                .check_target(
                    &reqwest::Url::parse("https://hooks.slack.com/services/T/B/X").unwrap()
                )
                .is_ok()
        );
        let open = Transport::new(Duration::from_secs(1), Duration::from_secs(1), true).unwrap();
        let local = reqwest::Url::parse("http://127.0.0.1:9/x").unwrap();
        assert!(open.check_target(&local).is_ok());
    }
}
