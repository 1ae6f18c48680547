//! The tonic adapter: request parsing and response mapping only; the work is in `domain`.

use std::sync::Arc;

use keyward_proto::v1::vault_service_server::VaultService;
use keyward_proto::v1::{self as pb};
use tonic::{Request, Response, Status};

use crate::domain::{Vault, VaultError, to_ts};
use crate::store::KeyRow;

/// gRPC front of the vault.
pub struct VaultGrpc {
    vault: Arc<Vault>,
}

impl VaultGrpc {
    /// Serves `vault`.
    pub fn new(vault: Arc<Vault>) -> Self {
        Self { vault }
    }
}

fn status(e: VaultError) -> Status {
    e.code()
        .status(keyward_crypto::redact(&e.to_string()).into_owned())
}

fn key_status(s: &str) -> pb::KeyStatus {
    match s {
        "active" => pb::KeyStatus::Active,
        "revoked" => pb::KeyStatus::Revoked,
        "expired" => pb::KeyStatus::Expired,
        "deleted" => pb::KeyStatus::Deleted,
        _ => pb::KeyStatus::Unspecified,
    }
}

fn health(s: &str) -> pb::ValidationOutcome {
    match s {
        "valid" => pb::ValidationOutcome::Valid,
        "invalid" => pb::ValidationOutcome::Invalid,
        "rate_limited" => pb::ValidationOutcome::RateLimited,
        "provider_unavailable" => pb::ValidationOutcome::ProviderUnavailable,
        "network_error" => pb::ValidationOutcome::NetworkError,
        _ => pb::ValidationOutcome::Unspecified,
    }
}

/// Metadata of a key; never the secret.
pub fn metadata(k: &KeyRow) -> pb::KeyMetadata {
    let tags = k
        .tags
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(a, b)| b.as_str().map(|v| (a.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    pb::KeyMetadata {
        id: k.id.to_string(),
        name: k.name.clone(),
        provider: k.provider.clone(),
        scope: Some(pb::Scope {
            org_id: k.org_id.to_string(),
            team_id: k.team_id.map(|v| v.to_string()),
            project_id: k.project_id.map(|v| v.to_string()),
            user_id: k.user_id.map(|v| v.to_string()),
            virtual_key_id: None,
        }),
        kind: if k.kind == "channel_credential" {
            pb::SecretKind::ChannelCredential
        } else {
            pb::SecretKind::ProviderKey
        } as i32,
        tags,
        masked: k.masked.clone(),
        fingerprint: k.fingerprint.clone(),
        status: key_status(&k.status) as i32,
        health: health(&k.health) as i32,
        base_url: k.base_url.clone(),
        created_at: Some(to_ts(k.created_at)),
        last_used_at: k.last_used_at.map(to_ts),
        last_validated_at: k.last_validated_at.map(to_ts),
        expires_at: k.expires_at.map(to_ts),
        grace_until: None,
        rotation_period_days: u32::try_from(k.rotation_period_days).unwrap_or(0),
        created_by: k.created_by.clone(),
        version: u32::try_from(k.current_version).unwrap_or(0),
        access_flagged: k.access_flagged,
        priority: k.priority,
        weight: u32::try_from(k.weight).unwrap_or(1),
        health_message: k.health_message.clone(),
    }
}

fn validation(v: &keyward_providers::ValidationResult) -> pb::ValidationResult {
    use keyward_providers::Outcome;
    let outcome = match v.outcome {
        Outcome::Valid => pb::ValidationOutcome::Valid,
        Outcome::Invalid => pb::ValidationOutcome::Invalid,
        Outcome::RateLimited => pb::ValidationOutcome::RateLimited,
        Outcome::ProviderUnavailable => pb::ValidationOutcome::ProviderUnavailable,
        Outcome::NetworkError => pb::ValidationOutcome::NetworkError,
    };
    pb::ValidationResult {
        outcome: outcome as i32,
        message: keyward_crypto::redact(&v.message).into_owned(),
        http_status: v.http_status.map_or(0, u32::from),
        checked_at: Some(keyward_proto::time::now()),
    }
}

#[tonic::async_trait]
impl VaultService for VaultGrpc {
    async fn store(
        &self,
        req: Request<pb::StoreKeyRequest>,
    ) -> Result<Response<pb::StoreKeyResponse>, Status> {
        let (k, v) = self.vault.store(req.into_inner()).await.map_err(status)?;
        Ok(Response::new(pb::StoreKeyResponse {
            key: Some(metadata(&k)),
            validation: v.as_ref().map(validation),
        }))
    }

    async fn list(
        &self,
        req: Request<pb::ListKeysRequest>,
    ) -> Result<Response<pb::ListKeysResponse>, Status> {
        let (rows, next) = self.vault.list(req.get_ref()).await.map_err(status)?;
        Ok(Response::new(pb::ListKeysResponse {
            keys: rows.iter().map(metadata).collect(),
            page: Some(pb::PageResponse { next_cursor: next }),
        }))
    }

    async fn get(&self, req: Request<pb::KeyRef>) -> Result<Response<pb::GetKeyResponse>, Status> {
        let r = req.get_ref();
        let k = self.vault.get(&r.org_id, &r.key_id).await.map_err(status)?;
        Ok(Response::new(pb::GetKeyResponse {
            key: Some(metadata(&k)),
        }))
    }

    async fn validate(
        &self,
        req: Request<pb::KeyRef>,
    ) -> Result<Response<pb::ValidateKeyResponse>, Status> {
        let (_, v) = self.vault.validate(req.get_ref()).await.map_err(status)?;
        Ok(Response::new(pb::ValidateKeyResponse {
            result: Some(validation(&v)),
        }))
    }

    async fn rotate(
        &self,
        req: Request<pb::RotateKeyRequest>,
    ) -> Result<Response<pb::RotateKeyResponse>, Status> {
        let (k, v) = self.vault.rotate(req.into_inner()).await.map_err(status)?;
        Ok(Response::new(pb::RotateKeyResponse {
            key: Some(metadata(&k)),
            validation: v.as_ref().map(validation),
        }))
    }

    async fn revoke(
        &self,
        req: Request<pb::KeyRef>,
    ) -> Result<Response<pb::RevokeKeyResponse>, Status> {
        let k = self.vault.revoke(req.get_ref()).await.map_err(status)?;
        Ok(Response::new(pb::RevokeKeyResponse {
            key: Some(metadata(&k)),
        }))
    }

    async fn update(
        &self,
        req: Request<pb::UpdateKeyRequest>,
    ) -> Result<Response<pb::UpdateKeyResponse>, Status> {
        let k = self.vault.update(req.get_ref()).await.map_err(status)?;
        Ok(Response::new(pb::UpdateKeyResponse {
            key: Some(metadata(&k)),
        }))
    }

    async fn delete(
        &self,
        req: Request<pb::KeyRef>,
    ) -> Result<Response<pb::DeleteKeyResponse>, Status> {
        self.vault.delete(req.get_ref()).await.map_err(status)?;
        Ok(Response::new(pb::DeleteKeyResponse { deleted: true }))
    }

    async fn resolve(
        &self,
        req: Request<pb::ResolveKeyRequest>,
    ) -> Result<Response<pb::ResolveKeyResponse>, Status> {
        let (k, material, fallbacks) = self.vault.resolve(req.get_ref()).await.map_err(status)?;
        Ok(Response::new(pb::ResolveKeyResponse {
            resolved: Some(pb::ResolvedKey {
                key: Some(metadata(&k)),
                secret: Some(material),
                fallback_key_ids: fallbacks.iter().map(|f| f.id.to_string()).collect(),
                fallback_keys: fallbacks.iter().map(metadata).collect(),
            }),
        }))
    }

    async fn export(
        &self,
        req: Request<pb::ExportKeysRequest>,
    ) -> Result<Response<pb::ExportKeysResponse>, Status> {
        let (bundle, key_count) = self.vault.export(req.get_ref()).await.map_err(status)?;
        Ok(Response::new(pb::ExportKeysResponse { bundle, key_count }))
    }

    async fn import(
        &self,
        req: Request<pb::ImportKeysRequest>,
    ) -> Result<Response<pb::ImportKeysResponse>, Status> {
        let imported = self.vault.import(req.get_ref()).await.map_err(status)?;
        Ok(Response::new(pb::ImportKeysResponse { imported }))
    }

    async fn rotate_kek(
        &self,
        req: Request<pb::RotateKekRequest>,
    ) -> Result<Response<pb::RotateKekResponse>, Status> {
        let (new_version, rewrapped, retired_versions) = self
            .vault
            .rotate_kek(req.get_ref().ctx.as_ref())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RotateKekResponse {
            new_version,
            rewrapped,
            retired_versions,
        }))
    }

    async fn set_org_policy(
        &self,
        req: Request<pb::SetOrgPolicyRequest>,
    ) -> Result<Response<pb::OrgPolicy>, Status> {
        Ok(Response::new(
            self.vault
                .set_org_policy(req.get_ref())
                .await
                .map_err(status)?,
        ))
    }

    async fn get_org_policy(
        &self,
        req: Request<pb::GetOrgPolicyRequest>,
    ) -> Result<Response<pb::OrgPolicy>, Status> {
        Ok(Response::new(
            self.vault
                .org_policy(&req.get_ref().org_id)
                .await
                .map_err(status)?,
        ))
    }
}
