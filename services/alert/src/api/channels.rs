//! Channels: their settings here, their secrets in the vault; and the test send.

use chrono::Utc;
use keyward_crypto::SecretString;
use keyward_proto::v1 as pb;
use serde_json::json;
use uuid::Uuid;

use super::{Api, audit_change, org_id, who};
use crate::channel_spec;
use crate::dispatch::secrets::ChannelSecrets;
use crate::error::{AlertError, Result, parse_id};
use crate::model::{Channel, ChannelKind, Delivery, Notice, Reason};
use crate::store::channels;
use crate::store::deliveries::{self, Outcome};

fn invalid(m: impl Into<String>) -> AlertError {
    AlertError::Invalid(m.into())
}

fn name(s: &str) -> Result<String> {
    let n = s.trim();
    if n.is_empty() || n.chars().count() > 200 {
        return Err(invalid("name must be 1 to 200 characters"));
    }
    Ok(n.to_string())
}

fn settings_of(json: &str) -> Result<serde_json::Value> {
    if json.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(json).map_err(|e| invalid(format!("settings_json is not JSON: {e}")))
}

fn secrets_of(m: Option<&pb::SecretMaterial>) -> Result<ChannelSecrets> {
    match m.map(|m| m.api_key.trim()).filter(|s| !s.is_empty()) {
        None => Ok(ChannelSecrets::default()),
        Some(json) => ChannelSecrets::parse(json),
    }
}

/// The audited form of a channel: never a secret.
fn channel_json(c: &Channel) -> serde_json::Value {
    json!({"name": c.name, "kind": c.kind.as_str(), "settings": c.settings,
           "secret_hint": c.secret_hint, "enabled": c.enabled})
}

/// A generated signing secret, returned once.
pub type Generated = Option<SecretString>;

impl Api {
    /// `CreateChannel`: secrets go to the vault first, then the channel row.
    pub async fn create_channel(
        &self,
        req: &pb::CreateChannelRequest,
    ) -> Result<(Channel, Generated)> {
        let p = req
            .channel
            .as_ref()
            .ok_or_else(|| invalid("channel is required"))?;
        let org = org_id(&p.org_id)?;
        let kind = ChannelKind::parse(&p.kind)
            .ok_or_else(|| invalid(format!("kind must be one of {}", ChannelKind::names())))?;
        let settings = channel_spec::settings(kind, &settings_of(&p.settings_json)?)?;
        let mut secrets = secrets_of(req.secrets.as_ref())?;
        let generated = channel_spec::secrets(kind, &settings, &mut secrets)?;
        let now = Utc::now();
        let mut ch = Channel {
            id: Uuid::now_v7(),
            org_id: org,
            name: name(&p.name)?,
            kind,
            settings,
            secret_ref: None,
            secret_hint: channel_spec::hint(kind, &secrets),
            enabled: p.enabled.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        let who = who(req.meta.as_ref());
        let key = self.secrets.store(org, ch.id, kind, &secrets, &who).await?;
        ch.secret_ref = Some(key);
        let saved = async {
            let mut tx = self.pool.begin().await?;
            channels::insert(&mut tx, &ch).await?;
            audit_change(
                &mut tx,
                &who,
                org,
                "alert_channel.created",
                ("alert_channel", ch.id),
                None,
                Some(channel_json(&ch)),
            )
            .await?;
            tx.commit().await?;
            Ok::<_, AlertError>(())
        }
        .await;
        if let Err(e) = saved {
            // Leave no orphan secret behind.
            if let Err(v) = self.secrets.delete(org, key, &who).await {
                tracing::warn!(error = %v, key = %key, "orphan channel secret left in the vault");
            }
            return Err(e);
        }
        self.wake.audit.notify_one();
        Ok((ch, generated))
    }

    /// `UpdateChannel`: name, settings, enabled; new secrets when given (kind is fixed).
    pub async fn update_channel(
        &self,
        req: &pb::UpdateChannelRequest,
    ) -> Result<(Channel, Generated)> {
        let p = req
            .channel
            .as_ref()
            .ok_or_else(|| invalid("channel is required"))?;
        let (org, id) = (org_id(&p.org_id)?, parse_id("id", &p.id)?);
        let who = who(req.meta.as_ref());
        let mut tx = self.pool.begin().await?;
        let old = channels::get_for_update(&mut tx, org, id)
            .await?
            .ok_or(AlertError::NotFound("channel"))?;
        if !p.kind.is_empty() && ChannelKind::parse(&p.kind) != Some(old.kind) {
            return Err(invalid("kind cannot change; create a new channel instead"));
        }
        let mut ch = old.clone();
        ch.name = name(&p.name)?;
        // Settings left out of an update stay as they are (an e-mail channel keeps its
        // recipients); given, they are validated and replace the old ones.
        if !p.settings_json.trim().is_empty() {
            ch.settings = channel_spec::settings(old.kind, &settings_of(&p.settings_json)?)?;
        }
        ch.enabled = p.enabled.unwrap_or(old.enabled);
        ch.updated_at = Utc::now();
        let mut generated = None;
        if let Some(m) = req.secrets.as_ref() {
            let mut secrets = secrets_of(Some(m))?;
            generated = channel_spec::secrets(old.kind, &ch.settings, &mut secrets)?;
            ch.secret_hint = channel_spec::hint(old.kind, &secrets);
            match old.secret_ref {
                Some(key) => self.secrets.rotate(org, key, &secrets, &who).await?,
                None => {
                    ch.secret_ref = Some(
                        self.secrets
                            .store(org, id, old.kind, &secrets, &who)
                            .await?,
                    )
                }
            }
        } else if old.kind == ChannelKind::Email {
            // Settings and the stored password must still agree.
            let has_user = ch
                .settings
                .get("username")
                .and_then(|u| u.as_str())
                .is_some();
            if has_user != old.secret_hint.starts_with("password set") {
                return Err(invalid("settings.username and secret password go together"));
            }
        }
        channels::update(&mut tx, &ch).await?;
        audit_change(
            &mut tx,
            &who,
            org,
            "alert_channel.updated",
            ("alert_channel", id),
            Some(channel_json(&old)),
            Some(channel_json(&ch)),
        )
        .await?;
        tx.commit().await?;
        self.wake.audit.notify_one();
        Ok((ch, generated))
    }

    /// `GetChannel`.
    pub async fn get_channel(&self, r: &pb::ChannelRef) -> Result<Channel> {
        let (org, id) = (org_id(&r.org_id)?, parse_id("id", &r.id)?);
        channels::get(&self.pool, org, id)
            .await?
            .ok_or(AlertError::NotFound("channel"))
    }

    /// `ListChannels`.
    pub async fn list_channels(&self, org: &str) -> Result<Vec<Channel>> {
        channels::list(&self.pool, org_id(org)?).await
    }

    /// `DeleteChannel`: refused while a rule has no other channel; the secret leaves the vault.
    pub async fn delete_channel(&self, r: &pb::ChannelRef) -> Result<()> {
        let (org, id) = (org_id(&r.org_id)?, parse_id("id", &r.id)?);
        let who = who(r.meta.as_ref());
        let mut tx = self.pool.begin().await?;
        let old = channels::get_for_update(&mut tx, org, id)
            .await?
            .ok_or(AlertError::NotFound("channel"))?;
        let sole = channels::sole_channel_of(&mut tx, org, id).await?;
        if !sole.is_empty() {
            return Err(AlertError::Conflict(format!(
                "this is the only channel of rule(s) {}; give them another channel first",
                sole.join(", ")
            )));
        }
        channels::delete(&mut tx, org, id).await?;
        audit_change(
            &mut tx,
            &who,
            org,
            "alert_channel.deleted",
            ("alert_channel", id),
            Some(channel_json(&old)),
            None,
        )
        .await?;
        tx.commit().await?;
        self.wake.audit.notify_one();
        if let Some(key) = old.secret_ref
            && let Err(e) = self.secrets.delete(org, key, &who).await
        {
            tracing::warn!(error = %e, key = %key, "channel deleted; its vault secret was not");
        }
        Ok(())
    }

    /// `TestChannel`: one attempt now, logged like any delivery.
    pub async fn test_channel(&self, r: &pb::ChannelRef) -> Result<(bool, String, Delivery)> {
        let ch = self.get_channel(r).await?;
        let now = Utc::now();
        let id = Uuid::now_v7();
        let payload = Notice {
            alert_id: String::new(),
            org_id: ch.org_id.to_string(),
            rule_id: String::new(),
            rule_name: "Channel test".into(),
            rule_type: "test".into(),
            fingerprint: crate::model::fingerprint(&["test", &id.to_string()]),
            state: "firing".into(),
            severity: "info".into(),
            level: 0,
            title: format!("Test notification for channel {}", ch.name),
            detail: "Keyward can reach this channel. No action is needed.".into(),
            labels: Default::default(),
            fired_at: now,
            reason: Reason::Test.as_str().into(),
            escalation_level: 0,
            occurrences: 1,
        };
        let d = Delivery {
            id,
            org_id: ch.org_id,
            alert_id: None,
            channel_id: ch.id,
            channel_kind: ch.kind,
            reason: Reason::Test,
            status: "pending".into(),
            // Claimed below, never by the dispatcher loop (no next attempt time).
            attempts: 1,
            max_attempts: 1,
            next_attempt_at: None,
            last_error: String::new(),
            last_http_status: 0,
            payload,
            created_at: now,
            finished_at: None,
        };
        let who = who(r.meta.as_ref());
        let mut tx = self.pool.begin().await?;
        deliveries::insert(&mut tx, &d).await?;
        tx.commit().await?;
        let outcome: Outcome = self.dispatcher.attempt(d.clone()).await;
        let delivered = outcome.retry.is_none();
        let detail = if delivered {
            format!("delivered (status {})", outcome.http_status)
        } else {
            outcome.error.clone()
        };
        let mut tx = self.pool.begin().await?;
        let after = Some(json!({"delivered": delivered, "detail": detail, "delivery_id": id}));
        audit_change(
            &mut tx,
            &who,
            ch.org_id,
            "alert_channel.tested",
            ("alert_channel", ch.id),
            None,
            after,
        )
        .await?;
        tx.commit().await?;
        self.wake.audit.notify_one();
        let d = deliveries::get(&self.pool, ch.org_id, id)
            .await?
            .unwrap_or(d);
        Ok((delivered, detail, d))
    }
}
