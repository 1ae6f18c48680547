//! Encrypted export of an org's keys and import into an empty vault.

use base64::Engine;
use chrono::{DateTime, Utc};
use keyward_crypto::Kek;
use keyward_proto::v1::{self as pb, SecretMaterial};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::domain::{Result, Vault, VaultError, parse_id};
use crate::store::{self, KeyRow};
use crate::{audit, secret};

const FORMAT: &str = "keyward-vault-export";

#[derive(Serialize, Deserialize)]
struct Bundle {
    format: String,
    version: u32,
    org_id: Uuid,
    exported_at: DateTime<Utc>,
    keys: Vec<BundleKey>,
}

#[derive(Serialize, Deserialize)]
struct BundleKey {
    id: Uuid,
    team_id: Option<Uuid>,
    project_id: Option<Uuid>,
    user_id: Option<Uuid>,
    kind: String,
    provider: String,
    name: String,
    tags: serde_json::Value,
    base_url: Option<String>,
    status: String,
    priority: i32,
    weight: i32,
    rotation_period_days: i32,
    expires_at: Option<DateTime<Utc>>,
    created_by: String,
    /// Base64 of the protobuf-encoded SecretMaterial.
    secret: String,
}

enum Wrapping {
    Passphrase(Zeroizing<String>),
    Key(Kek),
}

fn wrapping(passphrase: &str, backup_kek_b64: &str) -> Result<Wrapping> {
    match (passphrase.is_empty(), backup_kek_b64.is_empty()) {
        (false, true) if passphrase.chars().count() >= 12 => {
            Ok(Wrapping::Passphrase(Zeroizing::new(passphrase.to_string())))
        }
        (false, true) => Err(VaultError::Invalid(
            "passphrase must be at least 12 characters".into(),
        )),
        (true, false) => Kek::from_base64(backup_kek_b64)
            .map(Wrapping::Key)
            .map_err(|_| VaultError::Invalid("backup_kek_b64 must be 32 bytes of base64".into())),
        _ => Err(VaultError::Invalid(
            "give exactly one of passphrase or backup_kek_b64".into(),
        )),
    }
}

/// Associated data of every export blob (the org id is inside the authenticated bundle).
const LABEL: &str = "keyward-vault-export|v1";

impl Vault {
    /// `Export`: every non-deleted key of the org with its current secret, sealed under the
    /// passphrase or backup KEK. Fail-closed audited.
    pub async fn export(&self, req: &pb::ExportKeysRequest) -> Result<(Vec<u8>, u32)> {
        let org = parse_id("org_id", &req.org_id)?;
        let wrap = wrapping(&req.passphrase, &req.backup_kek_b64)?;
        let rows: Vec<KeyRow> = sqlx::query_as(&format!(
            "SELECT {} FROM secrets s WHERE s.org_id = $1 AND s.status <> 'deleted' ORDER BY s.id",
            store::KEY_COLUMNS
        ))
        .bind(org)
        .fetch_all(&self.pool)
        .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for k in rows {
            let Some((k, v)) = store::get_version(&self.pool, org, k.id, None).await? else {
                continue;
            };
            let Ok(mut material) = self.open(&k, &v) else {
                continue;
            };
            let encoded = Zeroizing::new(prost::Message::encode_to_vec(&material));
            secret::wipe(&mut material);
            keys.push(BundleKey {
                id: k.id,
                team_id: k.team_id,
                project_id: k.project_id,
                user_id: k.user_id,
                kind: k.kind,
                provider: k.provider,
                name: k.name,
                tags: k.tags,
                base_url: k.base_url,
                status: k.status,
                priority: k.priority,
                weight: k.weight,
                rotation_period_days: k.rotation_period_days,
                expires_at: k.expires_at,
                created_by: k.created_by,
                secret: base64::engine::general_purpose::STANDARD.encode(encoded.as_slice()),
            });
        }
        let count = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        let bundle = Bundle {
            format: FORMAT.into(),
            version: 1,
            org_id: org,
            exported_at: Utc::now(),
            keys,
        };
        let plain = Zeroizing::new(
            serde_json::to_vec(&bundle).map_err(|e| VaultError::Internal(e.to_string()))?,
        );
        drop(bundle);
        let sealed = match &wrap {
            Wrapping::Passphrase(p) => {
                keyward_crypto::seal_with_passphrase(p.as_bytes(), &plain, LABEL)
            }
            Wrapping::Key(k) => keyward_crypto::seal_with_key(k, &plain, LABEL),
        }
        .map_err(|e| VaultError::Internal(e.to_string()))?;
        self.audit_or_fail(audit::event(
            req.ctx.as_ref(),
            &req.org_id,
            "export",
            "",
            "success",
            &format!("{count} keys"),
        ))
        .await?;
        Ok((sealed, count))
    }

    /// `Import`: restores an export into a vault that holds none of its keys.
    pub async fn import(&self, req: &pb::ImportKeysRequest) -> Result<u32> {
        let wrap = wrapping(&req.passphrase, &req.backup_kek_b64)?;
        let plain = open_bundle(&wrap, &req.bundle)?;
        let bundle: Bundle = serde_json::from_slice(plain.expose())
            .map_err(|_| VaultError::Invalid("bundle is not a Keyward vault export".into()))?;
        if bundle.format != FORMAT || bundle.version != 1 {
            return Err(VaultError::Invalid(
                "bundle is not a version-1 Keyward vault export".into(),
            ));
        }
        let org = bundle.org_id;
        let mut tx = self.pool.begin().await?;
        let mut imported = 0u32;
        for b in &bundle.keys {
            let raw = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(&b.secret)
                    .map_err(|_| VaultError::Invalid("bundle holds a malformed secret".into()))?,
            );
            let mut material: SecretMaterial = prost::Message::decode(raw.as_slice())
                .map_err(|_| VaultError::Invalid("bundle holds a malformed secret".into()))?;
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM secrets WHERE id = $1)")
                    .bind(b.id)
                    .fetch_one(&mut *tx)
                    .await?;
            if exists {
                return Err(VaultError::Conflict(format!(
                    "key {} already exists: import restores into an empty vault",
                    b.id
                )));
            }
            let k = KeyRow {
                id: b.id,
                org_id: org,
                team_id: b.team_id,
                project_id: b.project_id,
                user_id: b.user_id,
                kind: b.kind.clone(),
                provider: b.provider.clone(),
                name: b.name.clone(),
                tags: b.tags.clone(),
                base_url: b.base_url.clone(),
                status: b.status.clone(),
                health: "unspecified".into(),
                health_message: None,
                current_version: 1,
                masked: secret::masked(&material),
                fingerprint: secret::fingerprint(&material),
                priority: b.priority,
                // Bundles from before weights were bounded may hold any positive value.
                weight: b.weight.clamp(1, 1000),
                rotation_period_days: b.rotation_period_days,
                rotated_at: Utc::now(),
                expires_at: b.expires_at,
                access_flagged: false,
                created_by: b.created_by.clone(),
                created_at: Utc::now(),
                last_used_at: None,
                last_validated_at: None,
            };
            let sealed = self.seal(&mut tx, &k, 1, &material).await?;
            secret::wipe(&mut material);
            store::insert(&mut tx, &k, &sealed).await?;
            imported += 1;
        }
        tx.commit().await?;
        self.audit(audit::event(
            req.ctx.as_ref(),
            &org.to_string(),
            "import",
            "",
            "success",
            &format!("{imported} keys"),
        ))
        .await;
        Ok(imported)
    }
}

fn open_bundle(wrap: &Wrapping, blob: &[u8]) -> Result<keyward_crypto::SecretBytes> {
    match wrap {
        Wrapping::Passphrase(p) => keyward_crypto::open_with_passphrase(p.as_bytes(), blob, LABEL),
        Wrapping::Key(k) => keyward_crypto::open_with_key(k, blob, LABEL),
    }
    .map_err(|_| {
        VaultError::Invalid(
            "the bundle does not open with this passphrase or key (or it was altered)".into(),
        )
    })
}
