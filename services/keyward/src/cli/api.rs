//! The REST client and the credentials file.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What `keyward login` stores (mode 0600).
#[derive(Serialize, Deserialize)]
pub struct Credentials {
    pub url: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// `$XDG_CONFIG_HOME/keyward/credentials.json`, else `~/.config/keyward/credentials.json`.
pub fn credentials_path() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".config"),
    };
    Ok(base.join("keyward").join("credentials.json"))
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Credentials {
    pub fn load() -> anyhow::Result<Self> {
        let path = credentials_path()?;
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "not signed in ({} missing): run `keyward login`",
                path.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is corrupt: run `keyward login`", path.display()))
    }

    /// Writes the file readable by its owner only (created that way, never widened later).
    pub fn save(&self) -> anyhow::Result<PathBuf> {
        let path = credentials_path()?;
        let dir = path.parent().context("credentials path has no directory")?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let text = serde_json::to_vec_pretty(self)?;
        write_private(&path, &text)?;
        Ok(path)
    }

    pub fn remove() -> anyhow::Result<()> {
        let path = credentials_path()?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// A client of one gateway.
pub struct Client {
    http: reqwest::Client,
    pub base: String,
}

/// An API error, as the gateway described it.
fn api_error(status: reqwest::StatusCode, body: &Value) -> anyhow::Error {
    let e = &body["error"];
    match (e["code"].as_str(), e["message"].as_str()) {
        (Some(code), Some(message)) => anyhow::anyhow!(
            "{message} ({code}, HTTP {}, request id {})",
            status.as_u16(),
            e["request_id"].as_str().unwrap_or("-")
        ),
        _ => anyhow::anyhow!("the server answered HTTP {}", status.as_u16()),
    }
}

impl Client {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("keyward-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// One request; returns the JSON body (Null for 204) or the API's error.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach the Keyward API at {}", self.base))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        if !status.is_success() {
            return Err(api_error(status, &body));
        }
        Ok(body)
    }
}

/// A signed-in session that refreshes its tokens (and the file) when they expire.
pub struct Session {
    pub client: Client,
    creds: Credentials,
}

impl Session {
    pub fn load(url: Option<&str>) -> anyhow::Result<Self> {
        let mut creds = Credentials::load()?;
        if let Some(u) = url {
            creds.url = u.to_string();
        }
        Ok(Self {
            client: Client::new(&creds.url)?,
            creds,
        })
    }

    async fn refresh(&mut self) -> anyhow::Result<()> {
        let body = serde_json::json!({"refresh_token": self.creds.refresh_token});
        let t = self
            .client
            .send(
                reqwest::Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(&body),
            )
            .await
            .context("your sign-in has expired: run `keyward login`")?;
        store_tokens(&mut self.creds, &t)?;
        self.creds.save()?;
        Ok(())
    }

    /// Calls the API as the signed-in member.
    pub async fn call(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        if self.creds.expires_at <= now() + 30 {
            self.refresh().await?;
        }
        self.client
            .send(method, path, Some(&self.creds.access_token), body)
            .await
    }
}

/// Copies tokens from a login/refresh answer.
pub fn store_tokens(creds: &mut Credentials, t: &Value) -> anyhow::Result<()> {
    let (Some(a), Some(r), Some(e)) = (
        t["access_token"].as_str(),
        t["refresh_token"].as_str(),
        t["expires_in"].as_u64(),
    ) else {
        bail!("unexpected answer from the server");
    };
    creds.access_token = a.to_string();
    creds.refresh_token = r.to_string();
    creds.expires_at = now() + e;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn credentials_are_written_owner_only_and_replaced_atomically() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("kw-cli-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials.json");
        write_private(&path, b"{\"a\":1}").unwrap();
        write_private(&path, b"{\"a\":2}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":2}");
        assert!(!path.with_extension("tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn api_errors_carry_message_code_and_request_id() {
        let body = serde_json::json!({"error": {"code": "not_found", "message": "team not found", "request_id": "r1"}});
        let e = api_error(reqwest::StatusCode::NOT_FOUND, &body).to_string();
        assert_eq!(e, "team not found (not_found, HTTP 404, request id r1)");
        let e = api_error(reqwest::StatusCode::BAD_GATEWAY, &serde_json::Value::Null).to_string();
        assert!(e.contains("502"));
    }
}
