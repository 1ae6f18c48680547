//! Request bodies, path ids and query strings: size-limited, strictly typed, and every failure an
//! [`ApiError`] that names the field at fault.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures::StreamExt as _;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY: usize = 1024 * 1024;

/// A JSON body of type `T` (whose fields are `deny_unknown_fields`).
pub struct Json<T>(pub T);

/// A JSON body that may also be empty (then `T::default()`).
pub struct JsonOrEmpty<T>(pub T);

async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            keyward_core::ErrorCode::PayloadTooLarge,
            format!("request body is larger than {MAX_BODY} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(MAX_BODY));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::invalid("", "the request body could not be read"))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses JSON, naming the field at fault in the error.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let message = clean_serde_message(&inner.to_string());
            // A missing field is reported at its parent; name the field itself.
            let field = match message.strip_prefix("missing field `") {
                Some(rest) => {
                    let name = rest.split('`').next().unwrap_or_default();
                    if path == "." {
                        name.to_string()
                    } else {
                        format!("{path}.{name}")
                    }
                }
                None if path == "." => unknown_field(&message).unwrap_or_default(),
                None => path,
            };
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::invalid(
                    "",
                    format!("body is not valid JSON: {message}"),
                ));
            }
            Err(ApiError::invalid(field, message))
        }
    }
}

fn unknown_field(message: &str) -> Option<String> {
    message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
        .map(str::to_string)
}

/// serde_json appends " at line 1 column 7"; the field name says more.
fn clean_serde_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let bytes = read_body(&req, &mut payload).await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Err(ApiError::invalid("", "a JSON request body is required"));
            }
            parse(&bytes).map(Json)
        })
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for JsonOrEmpty<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let bytes = read_body(&req, &mut payload).await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(JsonOrEmpty(T::default()));
            }
            parse(&bytes).map(JsonOrEmpty)
        })
    }
}

/// The `{id}` path segment as a UUID.
pub struct PathId(pub uuid::Uuid);

impl FromRequest for PathId {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let res = req
            .match_info()
            .get("id")
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .map(PathId)
            .ok_or_else(|| ApiError::invalid("id", "not a valid id (expected a UUID)"));
        std::future::ready(res)
    }
}

/// A query string of type `T` (`deny_unknown_fields`).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let res = serde_urlencoded_compat(req.query_string()).map(Query);
        std::future::ready(res)
    }
}

/// Query strings are decoded into a JSON object of strings first, so one code path (and one
/// error style) serves bodies and queries; numeric fields use `crate::body::num` adapters.
fn serde_urlencoded_compat<T: DeserializeOwned>(qs: &str) -> Result<T, ApiError> {
    parse_map(query_map(qs)?)
}

/// A query string as a JSON object of strings; a key given twice is refused.
pub fn query_map(qs: &str) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(qs)
        .map_err(|_| ApiError::invalid("", "the query string is malformed"))?
        .into_inner();
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        if map
            .insert(k.clone(), serde_json::Value::String(v))
            .is_some()
        {
            return Err(ApiError::invalid(k, "given more than once"));
        }
    }
    Ok(map)
}

/// Parses a JSON object (e.g. from [`query_map`]), naming the field at fault.
pub fn parse_map<T: DeserializeOwned>(
    map: serde_json::Map<String, serde_json::Value>,
) -> Result<T, ApiError> {
    let bytes = serde_json::to_vec(&map).map_err(|e| ApiError::internal(&e))?;
    parse(&bytes)
}

/// Deserializes a number given as a string (query strings) or as a number.
pub mod num {
    use serde::{Deserialize, Deserializer, de::Error as _};

    pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        opt_whole(d)
    }

    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        opt_whole(d)
    }

    fn opt_whole<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + std::str::FromStr,
    {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<T> {
            N(T),
            S(String),
        }
        match Option::<Raw<T>>::deserialize(d)? {
            None => Ok(None),
            Some(Raw::N(n)) => Ok(Some(n)),
            Some(Raw::S(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("`{s}` is not a whole number in range"))),
        }
    }
}

/// For `PATCH` fields that may be set to `null`: absent → `None`, `null` → `Some(None)`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialized")]
    struct Body {
        name: String,
        #[serde(default)]
        rpm: Option<u32>,
        #[serde(default)]
        scope: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialized")]
    struct Inner {
        team_id: uuid::Uuid,
    }

    fn field_of(json: &str) -> (Option<String>, String) {
        let err = parse::<Body>(json.as_bytes()).err().unwrap_or_else(|| {
            ApiError::new(keyward_core::ErrorCode::Internal, "parsed unexpectedly")
        });
        (err.field, err.message)
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of("{}").0.as_deref(), Some("name"));
        assert_eq!(
            field_of(r#"{"name":"a","rpm":"x"}"#).0.as_deref(),
            Some("rpm")
        );
        assert_eq!(
            field_of(r#"{"name":"a","bogus":1}"#).0.as_deref(),
            Some("bogus")
        );
        assert_eq!(
            field_of(r#"{"name":"a","scope":{"team_id":"nope"}}"#)
                .0
                .as_deref(),
            Some("scope.team_id")
        );
        assert_eq!(
            field_of(r#"{"name":"a","scope":{}}"#).0.as_deref(),
            Some("scope.team_id")
        );
        let (field, message) = field_of("{not json");
        assert_eq!(field, None);
        assert!(message.contains("not valid JSON"), "{message}");
    }
}
