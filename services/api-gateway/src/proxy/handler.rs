//! The request path of `/v1/*`.

use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderName;
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt as _;
use keyward_providers::{
    ApiShape, ClientApi, ClientError, ErrorKind, PrepareError, Prepared, StreamObserver, Target,
    UpstreamError, UpstreamResponse, client_error, prepare,
};
use serde_json::{Value, json};

use super::ProxyState;
use super::budget::{self, BudgetScope};
use super::catalog::Route;
use super::meter::{End, Meter};
use super::reply::{self, COST, REQUEST_ID, reject, too_many, upstream_error};
use super::routing;
use super::secrets::{ResolveError, ResolvedKey};
use super::vkeys::{Refusal, VkeyRecord};

static X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Output tokens reserved when a chat request sets no `max_tokens`.
const DEFAULT_MAX_OUTPUT: u64 = 4096;

pub async fn chat(req: HttpRequest, body: Bytes, st: web::Data<ProxyState>) -> HttpResponse {
    boxed(ClientApi::OpenAiChat, req, body, st).await
}

pub async fn embeddings(req: HttpRequest, body: Bytes, st: web::Data<ProxyState>) -> HttpResponse {
    boxed(ClientApi::OpenAiEmbeddings, req, body, st).await
}

pub async fn responses(req: HttpRequest, body: Bytes, st: web::Data<ProxyState>) -> HttpResponse {
    boxed(ClientApi::OpenAiResponses, req, body, st).await
}

pub async fn messages(req: HttpRequest, body: Bytes, st: web::Data<ProxyState>) -> HttpResponse {
    boxed(ClientApi::AnthropicMessages, req, body, st).await
}

/// [`handle`], with its future boxed once: it holds the whole exchange (upstream call,
/// translation, metering) and runs to several kilobytes, which actix's service layers would
/// otherwise copy each time they move the future along (memmove was ~5% of the gateway's CPU).
async fn boxed(
    api: ClientApi,
    req: HttpRequest,
    body: Bytes,
    st: web::Data<ProxyState>,
) -> HttpResponse {
    Box::pin(handle(api, &req, &body, st.into_inner())).await
}

/// `GET /v1/models`: the org's model aliases and the catalog models this key may use, in
/// OpenAI's list shape.
pub async fn models(req: HttpRequest, st: web::Data<ProxyState>) -> HttpResponse {
    let request_id = request_id(&req);
    let vk = match authenticate(&st, &req).await {
        Ok(vk) => vk,
        Err((kind, msg)) => return reject(ApiShape::OpenAi, kind, msg, None, &request_id),
    };
    let aliases = match st.aliases.get(vk.org_id).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "model aliases could not be loaded");
            let msg = "the gateway cannot read model aliases right now; retry shortly";
            return reject(
                ApiShape::OpenAi,
                ErrorKind::Overloaded,
                msg,
                None,
                &request_id,
            );
        }
    };
    let mut named: Vec<(&String, Route)> = aliases
        .iter()
        .filter_map(|(alias, target)| st.catalog.route(target).map(|r| (alias, r)))
        .filter(|(alias, route)| allowed(&vk, alias, route).is_ok())
        .collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    let alias_entries = named.into_iter().map(|(alias, r)| {
        json!({"id": alias, "object": "model", "created": 0, "owned_by": r.provider.as_str(),
               "keyward_alias_of": format!("{}/{}", r.provider.as_str(), r.model)})
    });
    let data: Vec<Value> = alias_entries
        .chain(st
        .catalog
        .models()
        .filter(|(m, p)| {
            (vk.providers.is_empty() || vk.providers.iter().any(|x| x == p.as_str()))
                && (vk.models.is_empty() || vk.models.iter().any(|x| x == m))
        })
        .map(|(m, p)| json!({"id": m, "object": "model", "created": 0, "owned_by": p.as_str()})))
        .collect();
    HttpResponse::Ok()
        .insert_header((REQUEST_ID.clone(), request_id))
        .json(json!({"object": "list", "data": data}))
}

fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<crate::request_id::RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| keyward_core::id::uuid_v7().to_string())
}

fn presented_key(req: &HttpRequest) -> Option<&str> {
    let h = req.headers();
    h.get(&X_API_KEY)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            h.get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

fn client_ip(st: &ProxyState, req: &HttpRequest) -> Option<IpAddr> {
    let forwarded = st
        .trust_forwarded_for
        .then(|| {
            req.headers()
                .get(&X_FORWARDED_FOR)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok())
        })
        .flatten();
    forwarded.or_else(|| req.peer_addr().map(|a| a.ip()))
}

/// The virtual key of the request, checked (401/403/503 as `(kind, message)`).
async fn authenticate(
    st: &ProxyState,
    req: &HttpRequest,
) -> Result<Arc<VkeyRecord>, (ErrorKind, &'static str)> {
    let key = presented_key(req).ok_or((
        ErrorKind::Authentication,
        "missing API key: send a Keyward virtual key as `Authorization: Bearer` or `x-api-key`",
    ))?;
    let hash: [u8; 32] = st
        .keys
        .vkey_hash(key)
        .try_into()
        .map_err(|_| (ErrorKind::Api, "internal error"))?;
    let vk = st
        .vkeys
        .get(hash)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "virtual key lookup failed");
            (
                ErrorKind::Overloaded,
                "the gateway cannot check keys right now; retry shortly",
            )
        })?
        .ok_or((ErrorKind::Authentication, Refusal::Unknown.message()))?;
    vk.usable(Utc::now())
        .map_err(|r| (ErrorKind::Authentication, r.message()))?;
    if !vk.ip_allowed(client_ip(st, req)) {
        return Err((
            ErrorKind::PermissionDenied,
            "this virtual key may not be used from this address",
        ));
    }
    Ok(vk)
}

fn allowed(vk: &VkeyRecord, requested: &str, route: &Route) -> Result<(), &'static str> {
    if !vk.providers.is_empty() && !vk.providers.iter().any(|p| p == route.provider.as_str()) {
        return Err("this virtual key may not use this provider");
    }
    if !vk.models.is_empty() {
        let explicit = format!("{}/{}", route.provider.as_str(), route.model);
        let ok = vk.models.iter().any(|m| {
            m == requested
                || *m == route.model
                || route.canonical.as_deref() == Some(m.as_str())
                || *m == explicit
        });
        if !ok {
            return Err("this virtual key may not use this model");
        }
    }
    Ok(())
}

/// A generous estimate of prompt tokens: about three characters per token over every string
/// in the request, plus a few tokens of framing per message.
fn estimate_input(v: &Value) -> u64 {
    fn walk(v: &Value, chars: &mut u64, items: &mut u64) {
        match v {
            Value::String(s) => *chars += s.chars().count() as u64,
            Value::Array(a) => {
                *items += a.len() as u64;
                a.iter().for_each(|x| walk(x, chars, items));
            }
            Value::Object(o) => o
                .iter()
                .filter(|(k, _)| k.as_str() != "model")
                .for_each(|(_, x)| walk(x, chars, items)),
            _ => {}
        }
    }
    let (mut chars, mut items) = (0, 0);
    walk(v, &mut chars, &mut items);
    chars.div_ceil(3) + 4 * items + 8
}

fn max_output(api: ClientApi, v: &Value) -> u64 {
    if api == ClientApi::OpenAiEmbeddings {
        return 0;
    }
    ["max_completion_tokens", "max_tokens", "max_output_tokens"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_u64))
        .unwrap_or(DEFAULT_MAX_OUTPUT)
}

async fn handle(
    api: ClientApi,
    req: &HttpRequest,
    body: &[u8],
    st: Arc<ProxyState>,
) -> HttpResponse {
    let started = Instant::now();
    let shape = api.shape();
    let request_id = request_id(req);
    let vk = match authenticate(&st, req).await {
        Ok(vk) => vk,
        Err((kind, msg)) => return reject(shape, kind, msg, None, &request_id),
    };
    let json: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let msg = "the request body must be a JSON object";
            return reject(shape, ErrorKind::InvalidRequest, msg, None, &request_id);
        }
    };
    let Some(requested) = json.get("model").and_then(Value::as_str) else {
        let msg = "`model` is required";
        return reject(shape, ErrorKind::InvalidRequest, msg, None, &request_id);
    };
    let aliases = match st.aliases.get(vk.org_id).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "model aliases could not be loaded");
            let msg = "the gateway cannot read model aliases right now; retry shortly";
            return reject(shape, ErrorKind::Overloaded, msg, None, &request_id);
        }
    };
    // An alias resolves to its target, which the catalog resolves (never another alias).
    let target = aliases
        .get(requested.trim())
        .map_or(requested, String::as_str);
    let Some(route) = st.catalog.route(target) else {
        let msg = "unknown model: use a catalog model name, `provider/model` or a model alias of \
                   your organization";
        return reject(
            shape,
            ErrorKind::NotFound,
            msg,
            Some("model_not_found"),
            &request_id,
        );
    };
    if let Err(msg) = allowed(&vk, requested, &route) {
        return reject(shape, ErrorKind::PermissionDenied, msg, None, &request_id);
    }
    if api == ClientApi::OpenAiResponses && !keyward_providers::serves_responses(route.provider) {
        let msg = format!(
            "/v1/responses is forwarded only to OpenAI and OpenAI-compatible providers, not {}; \
             use /v1/chat/completions for this model",
            route.provider.as_str()
        );
        return reject(shape, ErrorKind::InvalidRequest, &msg, None, &request_id);
    }
    let est_input = estimate_input(&json);
    let max_out = max_output(api, &json);
    let taken = match st
        .limiter
        .acquire(vk.id, vk.limits, est_input.saturating_add(max_out))
    {
        Ok(t) => t,
        Err(wait) => {
            let msg = "rate limit of this virtual key reached";
            return too_many(shape, msg, "rate_limit_exceeded", Some(wait), &request_id);
        }
    };
    let price = st.catalog.price(&route).cloned();
    let worst = price.as_ref().map_or(0, |p| {
        keyward_pricing::max_cost_micros(p, est_input, max_out)
    });
    let scope = BudgetScope {
        org: vk.org_id,
        team: vk.team_id,
        project: vk.project_id,
        virtual_key: vk.id,
    };
    if let Some(load) = st.budgets.prepare(&scope)
        && load.await.is_err()
    {
        st.limiter.settle(vk.id, taken, 0);
        let msg = "the budgets of this key could not be loaded from the cost service; try again";
        return reject(shape, ErrorKind::Overloaded, msg, None, &request_id);
    }
    let reservation = match budget::reserve(st.budgets.as_ref(), &scope, worst) {
        Ok(r) => r,
        Err(e) => {
            st.limiter.settle(vk.id, taken, 0);
            let msg = format!(
                "the {} budget cannot cover this request (up to {worst} micro-dollars)",
                e.level.as_str()
            );
            return too_many(shape, &msg, "budget_exceeded", None, &request_id);
        }
    };
    let meter = Meter::new(
        st.clone(),
        vk,
        api,
        request_id,
        route.provider,
        route.model.clone(),
        price,
        reservation,
        taken,
        started,
    );
    forward(st, meter, api, json, route).await
}

/// A failed attempt: the error and whether the next key may do better.
fn attempt_error(shape: ApiShape, kind: ErrorKind, msg: &str) -> ClientError {
    client_error(shape, kind, msg)
}

async fn forward(
    st: Arc<ProxyState>,
    mut meter: Meter,
    api: ClientApi,
    json: Value,
    route: Route,
) -> HttpResponse {
    let shape = api.shape();
    let vk = meter.vk.clone();
    let rid = meter.request_id.clone();
    let mut candidates: VecDeque<String> = VecDeque::new();
    let mut tried: HashSet<String> = HashSet::new();
    let mut attempts = 0;
    let mut last: Option<ClientError> = None;
    // The vault's pick for this scope and provider, with every candidate's routing data.
    let primary = match st.secrets.primary(&vk, route.provider, &rid).await {
        Ok(k) => {
            candidates.extend(routing::order(&k.candidates, &mut rand::rng()));
            if candidates.is_empty() {
                candidates.push_back(k.id.clone());
            }
            Some(k)
        }
        Err(ResolveError::NotFound) => {
            let msg = format!(
                "no {} provider key is available to this virtual key",
                route.provider.as_str()
            );
            let resp = reject(shape, ErrorKind::NotFound, &msg, None, &rid);
            meter.finish(&End {
                usage: None,
                http_status: 404,
                status: "error",
                maybe_spent: false,
            });
            return resp;
        }
        Err(ResolveError::Unavailable) => {
            last = Some(attempt_error(
                shape,
                ErrorKind::Overloaded,
                "the key vault is unavailable",
            ));
            None
        }
    };
    // Keys in the weighted order of their tier, then failover through the rest.
    while let Some(primary) = &primary
        && attempts < st.opts.max_attempts
    {
        let Some(id) = candidates.pop_front() else {
            break;
        };
        if tried.contains(&id) {
            continue;
        }
        let key: Arc<ResolvedKey> = if id == primary.id {
            primary.clone()
        } else {
            match st.secrets.by_id(&vk, &id, &rid).await {
                Ok(k) => k,
                Err(_) => continue,
            }
        };
        if !tried.insert(key.id.clone()) || key.provider != route.provider {
            continue;
        }
        if !st.breakers.allow(&key.id) {
            last.get_or_insert_with(|| {
                attempt_error(
                    shape,
                    ErrorKind::Overloaded,
                    "every provider key for this model is cooling down",
                )
            });
            continue;
        }
        attempts += 1;
        let target = Target {
            provider: route.provider,
            model: &route.model,
            base_url: key.base_url.as_deref(),
            secret: &key.secret,
        };
        let Prepared { upstream, exchange } = match prepare(api, &json, &target) {
            Ok(p) => p,
            Err(e @ PrepareError::Build(_)) => {
                st.breakers.failure(&key.id);
                last = Some(e.to_client_error(shape));
                continue;
            }
            Err(e) => {
                let err = e.to_client_error(shape);
                meter.finish(&End {
                    usage: None,
                    http_status: err.status,
                    status: "error",
                    maybe_spent: false,
                });
                return upstream_error(&err, &rid);
            }
        };
        meter.provider_key_id = Some(key.id.clone());
        let timeout = st.opts.upstream_timeout;
        let sent = tokio::time::timeout(timeout, st.http().send(upstream)).await;
        let mut resp = match sent {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => {
                st.breakers.failure(&key.id);
                last = Some(attempt_error(
                    shape,
                    ErrorKind::Api,
                    "the provider could not be reached",
                ));
                continue;
            }
            Err(_) => {
                st.breakers.failure(&key.id);
                last = Some(attempt_error(
                    shape,
                    ErrorKind::Timeout,
                    "the provider did not answer in time",
                ));
                continue;
            }
        };
        let status = resp.status.as_u16();
        let headers = std::mem::take(&mut resp.headers);
        if !(200..300).contains(&status) {
            let body = tokio::time::timeout(timeout, resp.bytes())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            let err = exchange.error(status, &headers, &body, &key.secret);
            if err.retryable {
                st.breakers.failure(&key.id);
                last = Some(err);
                continue;
            }
            meter.finish(&End {
                usage: None,
                http_status: err.status,
                status: reply::status_word(err.status),
                maybe_spent: false,
            });
            return upstream_error(&err, &rid);
        }
        if exchange.is_stream() {
            st.breakers.success(&key.id);
            meter.streamed = true;
            let observer = exchange.stream();
            return stream_response(meter, observer, resp, st.opts.stream_idle_timeout);
        }
        let body = match tokio::time::timeout(timeout, resp.bytes()).await {
            Ok(Ok(b)) => b,
            _ => {
                st.breakers.failure(&key.id);
                last = Some(attempt_error(
                    shape,
                    ErrorKind::Timeout,
                    "the provider's answer was cut",
                ));
                continue;
            }
        };
        st.breakers.success(&key.id);
        return match exchange.response(&headers, &body) {
            Ok(t) => {
                let cost = meter.finish(&End {
                    usage: t.usage,
                    http_status: 200,
                    status: "ok",
                    maybe_spent: true,
                });
                HttpResponse::Ok()
                    .insert_header((REQUEST_ID.clone(), rid))
                    .insert_header((COST.clone(), cost.to_string()))
                    .content_type("application/json")
                    .body(t.body)
            }
            Err(_) => {
                let err = attempt_error(
                    shape,
                    ErrorKind::Api,
                    "the provider's answer could not be read",
                );
                meter.finish(&End {
                    usage: None,
                    http_status: 502,
                    status: "error",
                    maybe_spent: true,
                });
                upstream_error(&err, &rid)
            }
        };
    }
    let err = last.unwrap_or_else(|| {
        attempt_error(
            shape,
            ErrorKind::Api,
            "no provider key could serve this request",
        )
    });
    meter.finish(&End {
        usage: None,
        http_status: err.status,
        status: reply::status_word(err.status),
        maybe_spent: false,
    });
    upstream_error(&err, &rid)
}

/// A stream being relayed; its `Drop` settles a stream the client abandoned.
struct Relay {
    meter: Meter,
    observer: StreamObserver,
    upstream: futures::stream::BoxStream<'static, Result<Bytes, UpstreamError>>,
    idle: Duration,
    done: bool,
}

impl Relay {
    fn end(&mut self, cut: bool) {
        let summary = self.observer.summary();
        let ok = summary.completed && summary.error.is_none() && !cut;
        let end = End {
            usage: summary.usage,
            http_status: 200,
            status: if ok { "ok" } else { "error" },
            maybe_spent: true,
        };
        self.meter.finish(&end);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if !self.done {
            let summary = self.observer.summary();
            let end = End {
                usage: summary.usage,
                http_status: 499,
                status: "cancelled",
                maybe_spent: true,
            };
            self.meter.finish(&end);
        }
    }
}

fn stream_response(
    meter: Meter,
    observer: StreamObserver,
    resp: UpstreamResponse,
    idle: Duration,
) -> HttpResponse {
    let rid = meter.request_id.clone();
    let relay = Relay {
        meter,
        observer,
        upstream: resp.into_stream(),
        idle,
        done: false,
    };
    let body = futures::stream::unfold(relay, |mut r| async move {
        loop {
            if r.done {
                return None;
            }
            let out = match tokio::time::timeout(r.idle, r.upstream.next()).await {
                Ok(Some(Ok(chunk))) => r.observer.feed(chunk),
                Ok(None) => {
                    let tail = r.observer.finish();
                    r.end(false);
                    r.done = true;
                    tail
                }
                Ok(Some(Err(_))) | Err(_) => {
                    let tail = r.observer.finish();
                    r.end(true);
                    r.done = true;
                    tail
                }
            };
            if !out.is_empty() {
                return Some((Ok::<_, std::io::Error>(out), r));
            }
        }
    });
    HttpResponse::Ok()
        .insert_header((REQUEST_ID.clone(), rid))
        .insert_header(("cache-control", "no-cache"))
        .content_type("text/event-stream")
        .streaming(body)
}
