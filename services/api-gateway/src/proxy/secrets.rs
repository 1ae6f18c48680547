//! Provider keys from the vault's `Resolve`, cached in zeroizing memory for a short TTL and
//! dropped on `key.rotated` / `key.revoked`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use keyward_proto::v1::vault_service_client::VaultServiceClient;
use keyward_proto::v1::{self as pb};
use keyward_providers::{Provider, ProviderSecret};
use keyward_telemetry::IdentityInjector;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;
use zeroize::Zeroize as _;

use super::routing::Candidate;
use super::vkeys::VkeyRecord;

/// The vault client the gateway uses.
pub type VaultClient = VaultServiceClient<InterceptedService<Channel, IdentityInjector>>;

/// A resolved provider key. The secret lives in `secrecy` types (zeroized on drop) and is never
/// printed: this type has no `Debug`.
pub struct ResolvedKey {
    pub id: String,
    pub provider: Provider,
    pub base_url: Option<String>,
    pub secret: ProviderSecret,
    /// Every candidate for the request, this key first, then the vault's fallbacks (most
    /// specific first, then by priority); empty for a key resolved by id.
    pub candidates: Vec<Candidate>,
}

/// Why no key could be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveError {
    /// No usable key for this provider in the virtual key's scope.
    NotFound,
    /// The vault did not answer (retryable with another key; 502 when none is left).
    Unavailable,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    Scope {
        org: Uuid,
        team: Option<Uuid>,
        project: Option<Uuid>,
        user: Option<Uuid>,
        provider: Provider,
    },
    Id {
        org: Uuid,
        team: Option<Uuid>,
        project: Option<Uuid>,
        user: Option<Uuid>,
        key_id: String,
    },
}

/// The cache.
pub struct SecretCache {
    vault: VaultClient,
    ttl: Duration,
    map: RwLock<HashMap<CacheKey, (Arc<ResolvedKey>, Instant)>>,
    generation: AtomicU64,
}

fn secret_from(mut m: pb::SecretMaterial, provider: Provider) -> ProviderSecret {
    let secret = match provider {
        Provider::Bedrock => ProviderSecret::aws(
            std::mem::take(&mut m.aws_access_key_id),
            std::mem::take(&mut m.aws_secret_access_key),
            std::mem::take(&mut m.aws_region),
        ),
        Provider::Azure => ProviderSecret::azure(
            std::mem::take(&mut m.api_key),
            std::mem::take(&mut m.azure_endpoint),
            std::mem::take(&mut m.azure_api_version),
        ),
        _ => ProviderSecret::from_api_key(std::mem::take(&mut m.api_key)),
    };
    m.api_key.zeroize();
    m.aws_secret_access_key.zeroize();
    m.aws_access_key_id.zeroize();
    secret
}

impl SecretCache {
    pub fn new(vault: VaultClient, ttl: Duration) -> Self {
        Self {
            vault,
            ttl,
            map: RwLock::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// The most specific key for `provider` in `vk`'s scope.
    pub async fn primary(
        &self,
        vk: &VkeyRecord,
        provider: Provider,
        request_id: &str,
    ) -> Result<Arc<ResolvedKey>, ResolveError> {
        let key = CacheKey::Scope {
            org: vk.org_id,
            team: vk.team_id,
            project: vk.project_id,
            user: vk.user_id,
            provider,
        };
        self.resolve(key, vk, Some(provider), None, request_id)
            .await
    }

    /// A failover candidate by id (still checked by the vault against `vk`'s scope).
    pub async fn by_id(
        &self,
        vk: &VkeyRecord,
        key_id: &str,
        request_id: &str,
    ) -> Result<Arc<ResolvedKey>, ResolveError> {
        let key = CacheKey::Id {
            org: vk.org_id,
            team: vk.team_id,
            project: vk.project_id,
            user: vk.user_id,
            key_id: key_id.to_owned(),
        };
        self.resolve(key, vk, None, Some(key_id), request_id).await
    }

    async fn resolve(
        &self,
        key: CacheKey,
        vk: &VkeyRecord,
        provider: Option<Provider>,
        key_id: Option<&str>,
        request_id: &str,
    ) -> Result<Arc<ResolvedKey>, ResolveError> {
        if let Some((hit, at)) = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(hit.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let req = pb::ResolveKeyRequest {
            ctx: Some(pb::RequestContext {
                actor: Some(pb::Actor {
                    kind: pb::actor::Kind::VirtualKey as i32,
                    id: vk.id.to_string(),
                    email: None,
                    ip: None,
                }),
                request_id: request_id.to_owned(),
            }),
            scope: Some(pb::Scope {
                org_id: vk.org_id.to_string(),
                team_id: vk.team_id.map(|u| u.to_string()),
                project_id: vk.project_id.map(|u| u.to_string()),
                user_id: vk.user_id.map(|u| u.to_string()),
                virtual_key_id: Some(vk.id.to_string()),
            }),
            provider: provider.map(|p| p.as_str().to_owned()).unwrap_or_default(),
            key_id: key_id.map(str::to_owned),
            version: None,
        };
        let resolved = match self.vault.clone().resolve(req).await {
            Ok(r) => r.into_inner().resolved,
            Err(s) if s.code() == tonic::Code::NotFound => return Err(ResolveError::NotFound),
            Err(s) => {
                tracing::warn!(code = ?s.code(), "vault resolve failed");
                return Err(ResolveError::Unavailable);
            }
        };
        let Some(pb::ResolvedKey {
            key: Some(meta),
            secret: Some(material),
            fallback_key_ids,
            fallback_keys,
        }) = resolved
        else {
            return Err(ResolveError::Unavailable);
        };
        let Ok(provider) = meta.provider.parse::<Provider>() else {
            return Err(ResolveError::NotFound);
        };
        let candidates = if key_id.is_some() {
            Vec::new()
        } else if fallback_keys.len() == fallback_key_ids.len() {
            std::iter::once(&meta)
                .chain(&fallback_keys)
                .map(Candidate::from_meta)
                .collect()
        } else {
            // A vault without fallback metadata: its order, no weighting.
            std::iter::once(meta.id.clone())
                .chain(fallback_key_ids)
                .map(Candidate::ordered)
                .collect()
        };
        let resolved = Arc::new(ResolvedKey {
            id: meta.id,
            provider,
            base_url: meta.base_url.filter(|u| !u.is_empty()),
            secret: secret_from(material, provider),
            candidates,
        });
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) == generation {
            map.insert(key, (resolved.clone(), Instant::now()));
        }
        Ok(resolved)
    }

    /// Drops the key `key_id` and every entry that lists it as a fallback (rotated or revoked).
    pub fn drop_key(&self, key_id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, (k, _)| k.id != key_id && !k.candidates.iter().any(|c| c.id == key_id));
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
