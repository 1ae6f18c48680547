//! Channel secrets in the vault (kind `CHANNEL_CREDENTIAL`, provider = channel kind), read back
//! with `Resolve` and kept in zeroizing memory for a short time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_crypto::SecretString;
use keyward_proto::v1::vault_service_client::VaultServiceClient;
use keyward_proto::v1::{self as pb};
use keyward_telemetry::{GrpcClientConfig, IdentityInjector};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;
use uuid::Uuid;

use crate::audit::Who;
use crate::error::{AlertError, Result};
use crate::model::ChannelKind;

type VaultClient = VaultServiceClient<InterceptedService<GrpcChannel, IdentityInjector>>;
/// Resolved secrets by vault key id, with when they were read.
type Cache = HashMap<Uuid, (Instant, Arc<ChannelSecrets>)>;

/// A channel's secrets: a flat map of names to secret strings. Prints nothing.
#[derive(Clone, Default)]
pub struct ChannelSecrets(BTreeMap<String, SecretString>);

impl ChannelSecrets {
    /// Parses a JSON object of strings. Errors never include the values.
    pub fn parse(json: &str) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|_| {
            AlertError::Invalid("secrets.api_key must be a JSON object of strings".into())
        })?;
        let obj = v.as_object().ok_or_else(|| {
            AlertError::Invalid("secrets.api_key must be a JSON object of strings".into())
        })?;
        let mut out = BTreeMap::new();
        for (k, v) in obj {
            let s = v
                .as_str()
                .ok_or_else(|| AlertError::Invalid(format!("secret `{k}` must be a string")))?;
            out.insert(k.clone(), SecretString::from(s));
        }
        Ok(Self(out))
    }

    /// A secret by name, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(SecretString::expose)
            .filter(|s| !s.is_empty())
    }

    /// Sets a secret.
    pub fn set(&mut self, name: &str, value: SecretString) {
        self.0.insert(name.to_string(), value);
    }

    /// The names present.
    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }

    /// The JSON form stored in the vault.
    pub fn to_json(&self) -> SecretString {
        let m: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.expose().to_string())))
            .collect();
        SecretString::new(serde_json::Value::Object(m).to_string())
    }
}

/// The vault, as the alert service uses it.
#[derive(Clone)]
pub struct Secrets {
    client: VaultClient,
    cache: Arc<Mutex<Cache>>,
    ttl: Duration,
}

fn ctx(who: &Who) -> Option<pb::RequestContext> {
    Some(pb::RequestContext {
        actor: Some(who.actor.clone().unwrap_or(pb::Actor {
            kind: pb::actor::Kind::Service as i32,
            id: "alert".into(),
            email: None,
            ip: None,
        })),
        request_id: who.request_id.clone(),
    })
}

fn material(s: &ChannelSecrets) -> pb::SecretMaterial {
    pb::SecretMaterial {
        api_key: s.to_json().expose().to_string(),
        ..Default::default()
    }
}

impl Secrets {
    /// A client of the vault at `platform.endpoint(vault)`, connecting lazily, as `alert`.
    pub fn new(platform: &Platform, ttl: Duration) -> std::result::Result<Self, String> {
        let url = platform.endpoint(ServiceName::Vault)?.to_string();
        let cfg = GrpcClientConfig {
            url,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
        };
        let channel = keyward_telemetry::client_channel(&cfg, platform.internal.tls.as_ref())
            .map_err(|e| e.to_string())?;
        let auth = IdentityInjector::new(&platform.internal, "alert").map_err(|e| e.to_string())?;
        Ok(Self {
            client: VaultServiceClient::with_interceptor(channel, auth),
            cache: Arc::new(Mutex::new(HashMap::new())),
            ttl,
        })
    }

    /// Stores a new channel's secrets; returns the vault key id.
    pub async fn store(
        &self,
        org: Uuid,
        channel: Uuid,
        kind: ChannelKind,
        secrets: &ChannelSecrets,
        who: &Who,
    ) -> Result<Uuid> {
        let req = pb::StoreKeyRequest {
            ctx: ctx(who),
            name: format!("alert-channel-{channel}"),
            provider: kind.as_str().into(),
            scope: Some(pb::Scope {
                org_id: org.to_string(),
                ..Default::default()
            }),
            kind: pb::SecretKind::ChannelCredential as i32,
            secret: Some(material(secrets)),
            tags: [("alert_channel_id".to_string(), channel.to_string())].into(),
            ..Default::default()
        };
        let resp = self.client.clone().store(req).await?.into_inner();
        let id = resp.key.map(|k| k.id).unwrap_or_default();
        Uuid::parse_str(&id).map_err(|_| AlertError::Vault("store returned no key id".into()))
    }

    /// Replaces a channel's secrets (a new version of the same vault key).
    pub async fn rotate(
        &self,
        org: Uuid,
        key: Uuid,
        secrets: &ChannelSecrets,
        who: &Who,
    ) -> Result<()> {
        let req = pb::RotateKeyRequest {
            ctx: ctx(who),
            org_id: org.to_string(),
            key_id: key.to_string(),
            new_secret: Some(material(secrets)),
            grace_seconds: 0,
            validate: false,
        };
        self.client.clone().rotate(req).await?;
        self.forget(key);
        Ok(())
    }

    /// Deletes a channel's secrets.
    pub async fn delete(&self, org: Uuid, key: Uuid, who: &Who) -> Result<()> {
        let req = pb::KeyRef {
            ctx: ctx(who),
            org_id: org.to_string(),
            key_id: key.to_string(),
        };
        self.forget(key);
        match self.client.clone().delete(req).await {
            Ok(_) => Ok(()),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(()),
            Err(s) => Err(s.into()),
        }
    }

    /// A channel's secrets, from the cache or the vault.
    pub async fn resolve(
        &self,
        org: Uuid,
        key: Uuid,
        kind: ChannelKind,
    ) -> Result<Arc<ChannelSecrets>> {
        if let Ok(cache) = self.cache.lock()
            && let Some((at, s)) = cache.get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(s.clone());
        }
        let req = pb::ResolveKeyRequest {
            ctx: ctx(&Who::system()),
            scope: Some(pb::Scope {
                org_id: org.to_string(),
                ..Default::default()
            }),
            provider: kind.as_str().into(),
            key_id: Some(key.to_string()),
            version: None,
        };
        let resp = self.client.clone().resolve(req).await?.into_inner();
        let mut material = resp
            .resolved
            .and_then(|r| r.secret)
            .ok_or_else(|| AlertError::Vault("resolve returned no secret".into()))?;
        let json = SecretString::new(std::mem::take(&mut material.api_key));
        let secrets = Arc::new(ChannelSecrets::parse(json.expose())?);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, (Instant::now(), secrets.clone()));
        }
        Ok(secrets)
    }

    /// Drops a cached secret (after a change).
    pub fn forget(&self, key: Uuid) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&key);
        }
    }
}
