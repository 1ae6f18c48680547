//! Verifying AWS SigV4 `Authorization` headers, the way Bedrock does: parse the credential scope,
//! re-sign the received request with the registered secret, and compare signatures.

use std::time::SystemTime;

use actix_web::HttpRequest;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use chrono::NaiveDateTime;

/// The parts of `AWS4-HMAC-SHA256 Credential=…/date/region/service/aws4_request,
/// SignedHeaders=…, Signature=…`.
pub(crate) struct SigV4Header {
    pub(crate) access_key_id: String,
    region: String,
    service: String,
    signed_headers: String,
    signature: String,
}

/// Parses a SigV4 `Authorization` header; `None` when it is not one.
pub(crate) fn parse(authorization: &str) -> Option<SigV4Header> {
    let rest = authorization.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => {}
        }
    }
    let scope: Vec<&str> = credential?.split('/').collect();
    let [access_key_id, _date, region, service, "aws4_request"] = scope.as_slice() else {
        return None;
    };
    Some(SigV4Header {
        access_key_id: (*access_key_id).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers: signed_headers?.to_owned(),
        signature: signature?.to_owned(),
    })
}

/// Whether `header` is a correct signature of `req` with `body` under `secret_access_key`.
pub(crate) fn verify(
    header: &SigV4Header,
    secret_access_key: &str,
    req: &HttpRequest,
    body: &[u8],
    expected_service: &str,
) -> bool {
    if header.service != expected_service {
        return false;
    }
    let text = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let (Some(host), Some(amz_date)) = (text("host"), text("x-amz-date")) else {
        return false;
    };
    let Some(time) = parse_amz_date(amz_date) else {
        return false;
    };
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
    let url = format!("http://{host}{path_and_query}");
    // The signer adds host, x-amz-date and x-amz-security-token itself.
    let extra: Vec<(&str, &str)> = header
        .signed_headers
        .split(';')
        .filter(|name| !matches!(*name, "host" | "x-amz-date" | "x-amz-security-token"))
        .filter_map(|name| Some((name, text(name)?)))
        .collect();
    let session_token = text("x-amz-security-token").map(str::to_owned);

    let identity = Credentials::new(
        header.access_key_id.clone(),
        secret_access_key.to_owned(),
        session_token,
        None,
        "keyward-mock",
    )
    .into();
    let Ok(params) = v4::SigningParams::builder()
        .identity(&identity)
        .region(&header.region)
        .name(&header.service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
    else {
        return false;
    };
    let Ok(request) = SignableRequest::new(
        req.method().as_str(),
        url,
        extra.into_iter(),
        SignableBody::Bytes(body),
    ) else {
        return false;
    };
    let Ok(output) = sign(request, &params.into()) else {
        return false;
    };
    let (instructions, _) = output.into_parts();
    instructions
        .headers()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| parse(value))
        .is_some_and(|expected| {
            expected.signature == header.signature
                && expected.signed_headers == header.signed_headers
        })
}

/// `20240101T120000Z` → time.
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let naive = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%SZ").ok()?;
    Some(SystemTime::from(naive.and_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_credential_scope() {
        let header = parse(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        )
        .unwrap();
        assert_eq!(header.access_key_id, "AKIDEXAMPLE");
        assert_eq!(header.region, "us-east-1");
        assert_eq!(header.service, "bedrock");
        assert_eq!(header.signed_headers, "host;x-amz-date");
        assert!(parse("Bearer abc").is_none());
        assert!(parse("AWS4-HMAC-SHA256 Credential=AKID/2015/us-east-1").is_none());
        assert!(parse_amz_date("20150830T123600Z").is_some());
    }
}
