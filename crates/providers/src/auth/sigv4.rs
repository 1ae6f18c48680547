//! AWS Signature Version 4 for Bedrock, through the official `aws-sigv4` crate.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::ExposeSecret;

use crate::secret::ProviderSecret;

/// The SigV4 service name of Bedrock's control plane and runtime.
/// Source: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonbedrock.html>
pub(crate) const BEDROCK_SERVICE: &str = "bedrock";

/// Signs an empty-bodied GET of `url` and returns the headers to add (`x-amz-date`,
/// `authorization`, and `x-amz-security-token` for temporary credentials).
pub(crate) fn sign_get(
    url: &Url,
    secret: &ProviderSecret,
    time: SystemTime,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    sign_request("GET", url, &[], &[], secret, time)
}

/// Signs a request whose `headers` (besides `host`) and `body` are sent exactly as given, and
/// returns the headers to add.
pub(crate) fn sign_request(
    method: &str,
    url: &Url,
    headers: &[(&str, &str)],
    body: &[u8],
    secret: &ProviderSecret,
    time: SystemTime,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let incomplete = || "the AWS credentials are incomplete".to_owned();
    let access_key_id = secret.aws_access_key_id.clone().ok_or_else(incomplete)?;
    let secret_access_key = secret
        .aws_secret_access_key
        .as_ref()
        .ok_or_else(incomplete)?
        .expose_secret()
        .to_owned();
    let region = secret.aws_region.as_deref().ok_or_else(incomplete)?;
    let session_token = secret
        .aws_session_token
        .as_ref()
        .map(|t| t.expose_secret().to_owned());

    let identity = Credentials::new(
        access_key_id,
        secret_access_key,
        session_token,
        None,
        "keyward-vault",
    )
    .into();
    // The signing errors below carry no secret, but their text is not ours: say what failed.
    let failed = |_| "could not sign the Bedrock request with SigV4".to_owned();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(BEDROCK_SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| failed(()))?
        .into();
    let request = SignableRequest::new(
        method,
        url.as_str(),
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|_| failed(()))?;
    let (instructions, _signature) = sign(request, &params).map_err(|_| failed(()))?.into_parts();
    instructions
        .headers()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| failed(()))?;
            let mut value = HeaderValue::from_str(value).map_err(|_| failed(()))?;
            value.set_sensitive(true);
            Ok((name, value))
        })
        .collect()
}
