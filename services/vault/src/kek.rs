//! Key-encryption keys: where they come from, their registration in the database, the wrap
//! budget per version, and adding a version to a key file.

use std::sync::{Arc, RwLock};

use keyward_crypto::{Kek, KeyProvider, PassphraseKeyProvider, StaticKeyProvider};
use secrecy::ExposeSecret;

use crate::config::Config;

/// The vault's KEK provider, reloadable (a rotation may add a version to the key file).
#[derive(Clone)]
pub struct Keys {
    inner: Arc<RwLock<Arc<dyn KeyProvider>>>,
    source: Source,
    /// Serializes additions to the key file within this process.
    adding: Arc<std::sync::Mutex<()>>,
}

#[derive(Clone)]
enum Source {
    Inline,
    File(std::path::PathBuf),
    Passphrase,
}

impl Keys {
    /// Builds the provider from exactly one of `kek`, `kek_file` or `kek_passphrase`.
    pub fn from_config(cfg: &Config) -> Result<Self, String> {
        let chosen = [
            cfg.kek.is_some(),
            cfg.kek_file.is_some(),
            cfg.kek_passphrase.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if chosen != 1 {
            return Err("set exactly one of vault.kek (or KEYWARD_KEK), vault.kek_file, vault.kek_passphrase".into());
        }
        let (provider, source): (Arc<dyn KeyProvider>, Source) = if let Some(spec) = &cfg.kek {
            let p = StaticKeyProvider::parse(spec.expose_secret())
                .map_err(|e| format!("vault.kek: {e}"))?;
            (Arc::new(p), Source::Inline)
        } else if let Some(path) = &cfg.kek_file {
            let p =
                StaticKeyProvider::from_file(path).map_err(|e| format!("vault.kek_file: {e}"))?;
            (Arc::new(p), Source::File(path.clone()))
        } else if let Some(pass) = &cfg.kek_passphrase {
            let salt = cfg
                .kek_salt
                .as_deref()
                .ok_or("vault.kek_salt is required with vault.kek_passphrase")?;
            let p = PassphraseKeyProvider::new(1, pass.expose_secret().as_bytes(), salt.as_bytes())
                .map_err(|e| format!("vault.kek_passphrase: {e}"))?;
            (Arc::new(p), Source::Passphrase)
        } else {
            return Err("no KEK configured".into());
        };
        Ok(Self {
            inner: Arc::new(RwLock::new(provider)),
            source,
            adding: Arc::default(),
        })
    }

    /// A provider over fixed keys (tests, tools).
    pub fn fixed(provider: Arc<dyn KeyProvider>) -> Self {
        Self {
            inner: Arc::new(RwLock::new(provider)),
            source: Source::Inline,
            adding: Arc::default(),
        }
    }

    /// The current provider.
    pub fn provider(&self) -> Arc<dyn KeyProvider> {
        match self.inner.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the key file (a rotation may have added a version). Other sources are fixed.
    pub fn reload(&self) -> Result<(), String> {
        if let Source::File(path) = &self.source {
            let p =
                StaticKeyProvider::from_file(path).map_err(|e| format!("vault.kek_file: {e}"))?;
            if let Ok(mut guard) = self.inner.write() {
                *guard = Arc::new(p);
            }
        }
        Ok(())
    }

    /// Appends a fresh KEK version to the key file, returning it. Only a file-backed vault can
    /// add a version by itself; inline and passphrase KEKs are changed in configuration.
    pub fn add_version(&self) -> Result<u32, String> {
        let Source::File(path) = &self.source else {
            return Err(
                "this vault's KEK comes from configuration (vault.kek / KEYWARD_KEK or a passphrase): \
                 add a version there (`keyward vault generate-kek` prints a key), restart, then run rotate-kek again"
                    .into(),
            );
        };
        let _guard = self
            .adding
            .lock()
            .map_err(|_| "key file lock poisoned".to_string())?;
        // Another process may have appended meanwhile: start from the file as it is now.
        self.reload()?;
        let next = self.provider().versions().into_iter().max().unwrap_or(0) + 1;
        let kek = Kek::generate().map_err(|e| e.to_string())?;
        let existing =
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut content = zeroize::Zeroizing::new(existing);
        if !content.ends_with('\n') && !content.is_empty() {
            content.push('\n');
        }
        content.push_str(&format!("{next}:{}\n", kek.to_base64().expose()));
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::now_v7().simple()));
        write_private(&tmp, content.as_bytes()).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.reload()?;
        Ok(next)
    }
}

fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// A stable, non-reversible fingerprint of a KEK, stored to detect a wrong key at start.
pub fn kek_fingerprint(kek: &Kek) -> String {
    let mut input = b"keyward-kek-fingerprint-v1".to_vec();
    input.extend_from_slice(kek.expose());
    keyward_crypto::fingerprint(&input)
}
