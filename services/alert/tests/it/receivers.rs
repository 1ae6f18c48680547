//! Local HTTP receivers (actix-web on 127.0.0.1) standing in for a customer's webhook endpoint,
//! Slack and PagerDuty. The webhook receiver checks signatures with its own HMAC code, as a
//! customer would, not with the service's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One request the receiver got, and what it answered.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Answer this status to every request while set.
    fail_with: Option<u16>,
    /// Answer `fail_with` this many more times, then succeed (0 with fail_with: always).
    fail_times: u32,
    secret: Option<Vec<u8>>,
}

/// A receiver's verification of a webhook signature: `t=<unix>,v1=<hex>` over `"<t>." ‖ body`,
/// within five minutes.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64) -> Result<(), &'static str> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (t, v1) = (t.ok_or("no timestamp")?, v1.ok_or("no signature")?);
    if (now - t).abs() > 300 {
        return Err("timestamp outside the replay window");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).map_err(|_| "bad signature")
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let headers: BTreeMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let path = req.path().to_string();
    let mut st = state.lock().unwrap();
    let (status, text): (u16, String) = if path == "/redirect" {
        (302, String::new())
    } else if let Some(code) = st.fail_with {
        if st.fail_times > 0 {
            st.fail_times -= 1;
            if st.fail_times == 0 {
                st.fail_with = None;
            }
        }
        (code, "receiver is failing on purpose".into())
    } else if let Some(secret) = &st.secret {
        let sig = headers
            .get("x-keyward-signature")
            .cloned()
            .unwrap_or_default();
        match verify(secret, &sig, &body, chrono::Utc::now().timestamp()) {
            Ok(()) => (200, "ok".into()),
            Err(why) => (401, why.into()),
        }
    } else if path == "/pagerduty" {
        (
            202,
            r#"{"status":"success","message":"Event processed"}"#.into(),
        )
    } else {
        (200, "ok".into())
    };
    st.received.push(Received {
        path,
        headers,
        body: body.to_vec(),
        at: Instant::now(),
        status,
    });
    let mut resp = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if status == 302 {
        resp.insert_header(("location", "/hook"));
    }
    resp.body(text)
}

/// A local HTTP receiver.
pub struct Receiver {
    pub base: String,
    state: Arc<Mutex<State>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(handle))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base: format!("http://{addr}"),
            state,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Verify signatures with `secret` (401 when they do not verify).
    pub fn verify_with(&self, secret: &str) {
        self.state.lock().unwrap().secret = Some(secret.as_bytes().to_vec());
    }

    /// Answer `status` to every request from now on.
    pub fn fail_always(&self, status: u16) {
        let mut s = self.state.lock().unwrap();
        s.fail_with = Some(status);
        s.fail_times = 0;
    }

    /// Answer `status` to the next `n` requests, then succeed.
    pub fn fail_times(&self, n: u32, status: u16) {
        let mut s = self.state.lock().unwrap();
        s.fail_with = Some(status);
        s.fail_times = n;
    }

    pub fn recover(&self) {
        self.state.lock().unwrap().fail_with = None;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until at least `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if Instant::now() > deadline {
                panic!(
                    "receiver {}: expected {n} requests, got {}",
                    self.base,
                    got.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits `quiet`, then returns everything: for asserting nothing more arrives.
    pub async fn settle(&self, quiet: Duration) -> Vec<Received> {
        tokio::time::sleep(quiet).await;
        self.received()
    }
}
