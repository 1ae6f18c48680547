//! The HTTP clients provider calls use: [`http_client`] (reqwest) for occasional calls such as
//! key validation, and [`UpstreamClient`] for the proxy's hot path.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt as _, TryStreamExt as _};
use http::header::{HeaderMap, HeaderValue, USER_AGENT};
use http::{Request, StatusCode};
use http_body_util::{BodyDataStream, BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_platform_verifier::BuilderVerifierExt as _;

use crate::request::UpstreamRequest;

/// Idle connections kept per upstream host.
pub const IDLE_PER_HOST: usize = 128;
/// How long an idle upstream connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long establishing an upstream TCP connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// TCP keep-alive probes on upstream connections start after this much silence.
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
/// The user agent of every provider call.
const AGENT: &str = concat!("keyward/", env!("CARGO_PKG_VERSION"));

/// Builds the client Keyward uses for provider calls: rustls, proxies from the environment,
/// a 5 s connect timeout, a `keyward/<version>` user agent, and **no redirects**. At most
/// [`IDLE_PER_HOST`] idle connections per provider host are kept, for [`IDLE_TIMEOUT`]: a burst
/// that opened a thousand connections does not leave them (about 30 KB each) behind.
///
/// Redirects are off because reqwest only strips `Authorization` and cookies when a redirect
/// changes host: `x-api-key`, `api-key` and `x-goog-api-key` would be forwarded to wherever a
/// misconfigured (or hostile) base URL points. Provider APIs never redirect, so a 3xx is
/// reported as [`crate::Outcome::ProviderUnavailable`] instead.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(IDLE_PER_HOST)
        .pool_idle_timeout(IDLE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_keepalive(TCP_KEEPALIVE)
        .user_agent(AGENT)
        .build()
}

type Direct = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The proxy's upstream client. Requests go straight through hyper's pooled client (HTTP/1.1,
/// or HTTP/2 where TLS negotiates it; rustls with the platform's roots; the same pool limits,
/// connect timeout and user agent as [`http_client`]; redirects are never followed, so a 3xx
/// reaches the caller as it is).
///
/// A request that `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` (minus `NO_PROXY`) sends through
/// a proxy goes through [`http_client`] instead, which tunnels through it.
///
/// Why not reqwest for everything: per request it re-parses the URL twice (its redirect layer
/// does even with redirects off), passes through tower retry and redirect layers and copies the
/// header map. Replacing it on the proxy's path took 15% off the gateway's CPU per request
/// (bench/RESULTS.md, "LLM proxy").
///
/// Cloning shares the pool; [`UpstreamClient::with_own_pool`] does not. Each actix worker should
/// hold its own pool (see the gateway's `ProxyState::http`): a connection then only ever carries
/// its own worker's requests.
#[derive(Clone)]
pub struct UpstreamClient {
    direct: Direct,
    /// Kept to give [`UpstreamClient::with_own_pool`] the same TCP and TLS set-up.
    connector: HttpsConnector<HttpConnector>,
    proxies: Arc<Matcher>,
    via_proxy: reqwest::Client,
}

/// Why an upstream call failed. Never carries the URL or a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made (refused, DNS, TLS, connect timeout, proxy).
    #[error("the provider could not be reached")]
    Connect,
    /// The connection failed while the request was sent or the response head was read.
    #[error("the request to the provider failed")]
    Request,
    /// The response body broke off.
    #[error("the provider's answer was cut")]
    Body,
}

/// An upstream response: status and headers, then the body, read whole or as a stream.
#[derive(Debug)]
pub struct UpstreamResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    body: ResponseBody,
}

#[derive(Debug)]
enum ResponseBody {
    Direct(hyper::body::Incoming),
    Proxied(reqwest::Response),
}

impl UpstreamClient {
    /// A new client with its own connection pool. Errors name what could not be set up (the
    /// platform's TLS roots, or the reqwest client for proxied requests).
    pub fn new() -> Result<Self, String> {
        let via_proxy = http_client().map_err(|e| format!("HTTP client: {e}"))?;
        Self::build(Matcher::from_env(), via_proxy)
    }

    /// `proxies` decides which requests go through `via_proxy` (configured with the same
    /// proxies) instead of straight out.
    fn build(proxies: Matcher, via_proxy: reqwest::Client) -> Result<Self, String> {
        let crypto = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(crypto)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_platform_verifier())
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        tcp.set_keepalive(Some(TCP_KEEPALIVE));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(tcp);
        Ok(Self {
            direct: pool(connector.clone()),
            connector,
            proxies: Arc::new(proxies),
            via_proxy,
        })
    }

    /// The same client (TLS set-up, proxies) with a connection pool of its own, empty.
    pub fn with_own_pool(&self) -> Self {
        Self {
            direct: pool(self.connector.clone()),
            ..self.clone()
        }
    }

    /// Sends `request` and returns once the response head is in. Add a timeout around it.
    pub async fn send(&self, request: UpstreamRequest) -> Result<UpstreamResponse, UpstreamError> {
        if self.proxies.intercept(&request.uri).is_some() {
            let resp = request
                .into_reqwest(&self.via_proxy)
                .send()
                .await
                .map_err(|e| {
                    if e.is_connect() {
                        UpstreamError::Connect
                    } else {
                        UpstreamError::Request
                    }
                })?;
            return Ok(UpstreamResponse {
                status: resp.status(),
                headers: resp.headers().clone(),
                body: ResponseBody::Proxied(resp),
            });
        }
        let UpstreamRequest {
            method,
            uri,
            mut headers,
            body,
            ..
        } = request;
        headers
            .entry(USER_AGENT)
            .or_insert(HeaderValue::from_static(AGENT));
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;
        let resp = self.direct.request(req).await.map_err(|e| {
            if e.is_connect() {
                UpstreamError::Connect
            } else {
                UpstreamError::Request
            }
        })?;
        let (parts, body) = resp.into_parts();
        Ok(UpstreamResponse {
            status: parts.status,
            headers: parts.headers,
            body: ResponseBody::Direct(body),
        })
    }
}

/// A connection pool over `connector`.
fn pool(connector: HttpsConnector<HttpConnector>) -> Direct {
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_max_idle_per_host(IDLE_PER_HOST)
        .pool_idle_timeout(IDLE_TIMEOUT)
        .build(connector)
}

impl UpstreamResponse {
    /// The whole body. Add a timeout around it.
    pub async fn bytes(self) -> Result<Bytes, UpstreamError> {
        match self.body {
            ResponseBody::Direct(body) => body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .map_err(|_| UpstreamError::Body),
            ResponseBody::Proxied(resp) => resp.bytes().await.map_err(|_| UpstreamError::Body),
        }
    }

    /// The body as it arrives, chunk by chunk.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes, UpstreamError>> {
        match self.body {
            ResponseBody::Direct(body) => BodyDataStream::new(body)
                .map_err(|_| UpstreamError::Body)
                .boxed(),
            ResponseBody::Proxied(resp) => {
                resp.bytes_stream().map_err(|_| UpstreamError::Body).boxed()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;
    use crate::Call;
    use crate::request::{Target, build_upstream};
    use crate::{Provider, ProviderSecret};

    /// A one-request-per-connection HTTP server answering every request with `answer`; the
    /// request heads it received are kept, in order.
    async fn server(answer: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0_u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = socket.read(&mut chunk).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    log.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf).into_owned());
                    socket.write_all(answer.as_bytes()).await.unwrap();
                    socket.shutdown().await.unwrap();
                });
            }
        });
        (addr, seen)
    }

    fn request(base: &str) -> UpstreamRequest {
        let secret = ProviderSecret::from_api_key("sk-test-0123456789abcdefghij");
        let target = Target {
            provider: Provider::OpenAiCompatible,
            model: "m",
            base_url: Some(base),
            secret: &secret,
        };
        build_upstream(&target, Call::Chat, b"{}".to_vec()).unwrap()
    }

    fn direct_only() -> UpstreamClient {
        let no_proxies = Matcher::builder().build();
        UpstreamClient::build(no_proxies, http_client().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn sends_the_request_and_reads_the_answer_whole_or_streamed() {
        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-up: 1\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}";
        let (base, seen) = server(answer).await;
        let client = direct_only();
        let resp = client.send(request(&format!("{base}/v1"))).await.unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.headers["x-up"], "1");
        assert_eq!(resp.bytes().await.unwrap(), &b"{\"ok\":true}"[..]);
        // A copy with a pool of its own works the same.
        let resp = client
            .with_own_pool()
            .send(request(&format!("{base}/v1")))
            .await
            .unwrap();
        let chunks: Vec<Bytes> = resp.into_stream().try_collect().await.unwrap();
        assert_eq!(chunks.concat(), b"{\"ok\":true}");
        let head = seen.lock().unwrap()[0].to_lowercase();
        assert!(
            head.starts_with("post /v1/chat/completions http/1.1\r\n"),
            "{head}"
        );
        assert!(head.contains(&format!("user-agent: {AGENT}\r\n")), "{head}");
        assert!(head.contains("authorization: bearer sk-test-"), "{head}");
    }

    #[tokio::test]
    async fn a_redirect_is_answered_as_it_is_never_followed() {
        let answer = "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:9/steal\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        let (base, seen) = server(answer).await;
        let resp = direct_only().send(request(&base)).await.unwrap();
        assert_eq!(resp.status, 307);
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    /// A port that was bound, then released: nothing listens there.
    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn an_unreachable_provider_is_a_connect_error_without_the_url() {
        let port = closed_port().await;
        let err = direct_only()
            .send(request(&format!("http://127.0.0.1:{port}")))
            .await
            .unwrap_err();
        assert_eq!(err, UpstreamError::Connect);
        assert!(!err.to_string().contains("127.0.0.1"));
    }

    #[tokio::test]
    async fn requests_the_environment_sends_through_a_proxy_go_through_it() {
        // The "proxy" answers for every host; the provider's own address is never reached.
        let answer = "HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\nvia proxy";
        let (proxy, seen) = server(answer).await;
        let matcher = Matcher::builder()
            .http(proxy.clone())
            .no("127.0.0.1")
            .build();
        let via_proxy = reqwest::Client::builder()
            .proxy(reqwest::Proxy::http(&proxy).unwrap())
            .build()
            .unwrap();
        let client = UpstreamClient::build(matcher, via_proxy).unwrap();
        let resp = client
            .send(request("http://provider.example/v1"))
            .await
            .unwrap();
        assert_eq!(resp.bytes().await.unwrap(), &b"via proxy"[..]);
        let head = seen.lock().unwrap()[0].to_lowercase();
        assert!(
            head.starts_with("post http://provider.example/v1/chat/completions http/1.1\r\n"),
            "absolute-form request line of a proxied request: {head}"
        );
        // NO_PROXY hosts go straight out (here: to a port nothing listens on).
        let err = client
            .send(request(&format!(
                "http://127.0.0.1:{}/v1",
                closed_port().await
            )))
            .await
            .unwrap_err();
        assert_eq!(err, UpstreamError::Connect);
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
}
