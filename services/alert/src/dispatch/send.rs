//! One attempt of one delivery over its channel's real protocol: HTTPS POST (webhook, Slack,
//! PagerDuty) with `reqwest`, SMTP with `lettre`. Errors never carry URLs or secrets.

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
}

impl Transport {
    /// A transport with these timeouts. The HTTP client follows no redirects: a receiver that
    /// redirects gets a failed delivery, never our signed body or a token at another host.
    pub fn new(http_timeout: Duration, smtp_timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(http_timeout)
            .connect_timeout(http_timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Keyward-Alert/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.without_url().to_string())?;
        Ok(Self { http, smtp_timeout })
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

    async fn post(&self, req: reqwest::RequestBuilder) -> Result<u16, Failure> {
        let resp = req.send().await.map_err(|e| {
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
