//! `[audit]` configuration.

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use crate::signing::{CheckpointSigner, KeyError};

/// `[audit]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `/livez`, `/readyz`, `/metrics`.
    pub http: String,
    /// gRPC listen address.
    pub grpc: String,
    /// How other services reach this one.
    pub grpc_url: String,
    /// Base64 of the 32-byte Ed25519 seed that signs checkpoints. Without it no checkpoints are
    /// signed (and retention, which deletes only up to a checkpoint, deletes nothing).
    #[serde(default)]
    pub signing_key: Option<SecretString>,
    /// Base64 Ed25519 public keys of earlier signing keys whose checkpoints still verify.
    #[serde(default)]
    pub trusted_public_keys: Vec<String>,
    /// Sign a chain's head once it has grown by this many entries …
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u64,
    /// … or when it has new entries and its last checkpoint is this old (seconds).
    #[serde(default = "default_checkpoint_interval_secs")]
    pub checkpoint_interval_secs: u64,
    /// Retention of orgs without their own policy, in days.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// How often retention runs (seconds).
    #[serde(default = "default_retention_sweep_secs")]
    pub retention_sweep_secs: u64,
    /// Most events appended in one transaction.
    #[serde(default = "default_batch_max")]
    pub batch_max: usize,
}

fn default_checkpoint_every() -> u64 {
    1_000
}

fn default_checkpoint_interval_secs() -> u64 {
    60
}

fn default_retention_days() -> u32 {
    400
}

fn default_retention_sweep_secs() -> u64 {
    3_600
}

fn default_batch_max() -> usize {
    500
}

impl Config {
    /// Listening on `http` and `grpc`, reachable at `grpc_url`, everything else by default.
    pub fn listening(http: &str, grpc: &str, grpc_url: &str) -> Self {
        Self {
            http: http.into(),
            grpc: grpc.into(),
            grpc_url: grpc_url.into(),
            signing_key: None,
            trusted_public_keys: Vec::new(),
            checkpoint_every: default_checkpoint_every(),
            checkpoint_interval_secs: default_checkpoint_interval_secs(),
            retention_days: default_retention_days(),
            retention_sweep_secs: default_retention_sweep_secs(),
            batch_max: default_batch_max(),
        }
    }

    /// Checks the values; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.checkpoint_every == 0 {
            return Err("audit.checkpoint_every must be at least 1".into());
        }
        if self.checkpoint_interval_secs == 0 {
            return Err("audit.checkpoint_interval_secs must be at least 1".into());
        }
        if self.retention_days == 0 || i32::try_from(self.retention_days).is_err() {
            return Err("audit.retention_days must be between 1 and 2^31-1".into());
        }
        if self.retention_sweep_secs == 0 {
            return Err("audit.retention_sweep_secs must be at least 1".into());
        }
        if !(1..=10_000).contains(&self.batch_max) {
            return Err("audit.batch_max must be between 1 and 10000".into());
        }
        Ok(())
    }

    /// The checkpoint signer, when a key is configured.
    pub fn signer(&self) -> Result<Option<CheckpointSigner>, KeyError> {
        self.signing_key
            .as_ref()
            .map(|k| CheckpointSigner::from_base64_seed(k.expose_secret()))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        let mut c = Config::listening("127.0.0.1:1", "127.0.0.1:2", "http://127.0.0.1:2");
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.retention_days, 400);
        assert!(c.signer().unwrap().is_none());
        c.retention_days = 0;
        assert!(c.validate().unwrap_err().contains("retention_days"));
        c.retention_days = 1;
        c.signing_key = Some(SecretString::from("not base64!"));
        assert!(c.signer().is_err());
    }
}
