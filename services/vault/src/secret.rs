//! Secret material: what is sealed, how it is checked, masked and fingerprinted.

use keyward_crypto::SecretBytes;
use keyward_proto::v1::SecretMaterial;
use keyward_providers::{Provider, ProviderSecret};
use prost::Message;
use secrecy::SecretString;
use zeroize::Zeroize;

/// The plaintext that gets sealed: the protobuf encoding of the material.
pub fn encode(material: &SecretMaterial) -> SecretBytes {
    SecretBytes::new(material.encode_to_vec())
}

/// Decodes an opened plaintext.
pub fn decode(plain: &SecretBytes) -> Option<SecretMaterial> {
    SecretMaterial::decode(plain.expose()).ok()
}

/// Wipes the strings of a material we no longer need.
pub fn wipe(material: &mut SecretMaterial) {
    material.api_key.zeroize();
    material.aws_secret_access_key.zeroize();
    material.aws_access_key_id.zeroize();
}

/// The provider view of a material (for format checks and validation calls).
pub fn provider_secret(m: &SecretMaterial) -> ProviderSecret {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    ProviderSecret {
        api_key: opt(&m.api_key).map(SecretString::from),
        aws_access_key_id: opt(&m.aws_access_key_id),
        aws_secret_access_key: opt(&m.aws_secret_access_key).map(SecretString::from),
        aws_session_token: None,
        aws_region: opt(&m.aws_region),
        azure_endpoint: opt(&m.azure_endpoint),
        azure_api_version: opt(&m.azure_api_version),
    }
}

/// The part of the material that identifies it: the API key, or the AWS secret.
fn primary(m: &SecretMaterial) -> &str {
    if !m.api_key.is_empty() {
        &m.api_key
    } else {
        &m.aws_secret_access_key
    }
}

/// `sk-…abcd`-style display form. For Bedrock the (non-secret) access key id is masked.
pub fn masked(m: &SecretMaterial) -> String {
    if !m.aws_access_key_id.is_empty() {
        keyward_crypto::mask_last4(&m.aws_access_key_id)
    } else {
        keyward_crypto::mask_last4(primary(m))
    }
}

/// A stable fingerprint of the secret (not reversible).
pub fn fingerprint(m: &SecretMaterial) -> String {
    let mut input = b"keyward-secret-fingerprint-v1|".to_vec();
    input.extend_from_slice(m.aws_access_key_id.as_bytes());
    input.push(b'|');
    input.extend_from_slice(primary(m).as_bytes());
    let fp = keyward_crypto::fingerprint(&input);
    input.zeroize();
    fp
}

/// Checks a provider key's format (helpful message, never the secret), or that a channel
/// credential is not empty.
pub fn check(
    kind_is_provider_key: bool,
    provider: &str,
    m: &SecretMaterial,
) -> Result<Option<Provider>, String> {
    if !kind_is_provider_key {
        if m.api_key.trim().is_empty() {
            return Err("secret.api_key must hold the channel credential".into());
        }
        return Ok(None);
    }
    let p: Provider = provider.parse().map_err(|e| format!("provider: {e}"))?;
    keyward_providers::check_format(p, &provider_secret(m)).map_err(|e| format!("secret: {e}"))?;
    Ok(Some(p))
}
