//! The checks of the cloud-hosted providers, whose secrets have more than one field: Azure
//! OpenAI (endpoint, API version) and Amazon Bedrock (AWS credentials, region).

use super::{FormatError, expose, malformed, required};
use crate::provider::Provider;
use crate::secret::ProviderSecret;

pub(super) fn check_azure_endpoint(secret: &ProviderSecret) -> Result<(), FormatError> {
    let endpoint = required(
        Provider::Azure,
        "its resource endpoint (e.g. `https://my-resource.openai.azure.com`)",
        secret.azure_endpoint.as_deref(),
    )?;
    let parsed = reqwest::Url::parse(endpoint).ok();
    let ok = parsed.is_some_and(|url| {
        url.scheme() == "https"
            && url.host_str().is_some()
            && url.username().is_empty()
            && url.query().is_none()
            && url.fragment().is_none()
    });
    if !ok {
        return Err(malformed(
            "Azure endpoint",
            "the Azure endpoint is an https URL such as `https://my-resource.openai.azure.com`, \
             without a query string"
                .to_owned(),
        ));
    }
    // https://learn.microsoft.com/en-us/azure/ai-services/openai/api-version-deprecation —
    // versions are dates, optionally `-preview`, e.g. `2024-10-21` or `2025-04-01-preview`.
    let version = required(
        Provider::Azure,
        "an API version (e.g. `2024-10-21`)",
        secret.azure_api_version.as_deref(),
    )?;
    let date = version.strip_suffix("-preview").unwrap_or(version);
    let shape_ok = date.len() == 10
        && date.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(malformed(
            "Azure API version",
            "an Azure OpenAI API version is a date such as `2024-10-21` or `2025-04-01-preview`"
                .to_owned(),
        ));
    }
    Ok(())
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
/// (access key ids: 20 characters, `AKIA` long-term or `ASIA` temporary) and
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html (the secret
/// access key is 40 characters of base64 alphabet); regions per
/// https://docs.aws.amazon.com/general/latest/gr/bedrock.html.
pub(super) fn check_bedrock(secret: &ProviderSecret) -> Result<(), FormatError> {
    let bedrock = Provider::Bedrock;
    let id = required(
        bedrock,
        "an AWS access key id (`AKIA…` or `ASIA…`)",
        secret.aws_access_key_id.as_deref(),
    )?;
    let id_ok = (id.starts_with("AKIA") || id.starts_with("ASIA"))
        && id.len() == 20
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !id_ok {
        return Err(malformed(
            "AWS access key id",
            format!(
                "an AWS access key id is 20 capital letters and digits starting with `AKIA` \
                 (long-term) or `ASIA` (temporary); this one has {} characters",
                id.chars().count()
            ),
        ));
    }
    let key = required(
        bedrock,
        "the AWS secret access key",
        secret.aws_secret_access_key.as_ref().map(expose),
    )?;
    let key_ok = key.len() == 40
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+');
    if !key_ok {
        return Err(malformed(
            "AWS secret access key",
            format!(
                "an AWS secret access key is 40 characters (letters, digits, `/` and `+`); \
                 this one has {}",
                key.chars().count()
            ),
        ));
    }
    if id.starts_with("ASIA") && secret.aws_session_token.is_none() {
        return Err(FormatError::Missing {
            provider: bedrock,
            field: "the AWS session token that comes with temporary (`ASIA…`) credentials",
        });
    }
    let region = required(
        bedrock,
        "an AWS region (e.g. `us-east-1`)",
        secret.aws_region.as_deref(),
    )?;
    if !is_aws_region(region) {
        return Err(malformed(
            "AWS region",
            "an AWS region looks like `us-east-1` or `eu-central-1`".to_owned(),
        ));
    }
    Ok(())
}

/// `us-east-1`, `us-gov-west-1`, `ap-southeast-2`: lowercase words joined by `-`, ending in a number.
fn is_aws_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words.first().is_some_and(|w| w.len() == 2)
        && words
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "eu-central-1",
        ] {
            assert!(is_aws_region(ok), "{ok}");
        }
        for bad in [
            "us-east",
            "useast1",
            "US-EAST-1",
            "us-east-",
            "-east-1",
            "east-1",
        ] {
            assert!(!is_aws_region(bad), "{bad}");
        }
    }
}
