//! The web dashboard: the files of `web/dist` (built by Vite), held in memory and served at `/`.
//!
//! - Content-hashed files under `assets/` are cached for a year (`immutable`); `index.html` and
//!   other files are revalidated every time (`no-cache`).
//! - Every answer carries a strict Content-Security-Policy (no inline script, no third-party
//!   origin) and the other browser security headers.
//! - A path that is not a file and looks like a page (no extension) gets `index.html`, so
//!   the dashboard's client-side routes survive a reload. `/api/…` and `/v1/…` never do: they
//!   answer the API's JSON 404.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;

/// The dashboard's Content-Security-Policy.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Files larger than this are not served (a build output has no such file).
const MAX_FILE: u64 = 16 * 1024 * 1024;

struct Asset {
    bytes: web::Bytes,
    content_type: &'static str,
    immutable: bool,
}

/// The built dashboard, or nothing when it was not built.
#[derive(Default)]
pub struct WebAssets {
    files: HashMap<String, Asset>,
    dir: Option<PathBuf>,
}

impl WebAssets {
    /// Reads every file under `dir`. A missing directory gives an empty set (the gateway then
    /// answers `/` with a page saying how to build the dashboard).
    ///
    /// # Errors
    /// A directory that exists but cannot be read.
    pub fn load(dir: &Path) -> std::io::Result<Self> {
        if !dir.join("index.html").is_file() {
            return Ok(Self::default());
        }
        let mut files = HashMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d)? {
                let entry = entry?;
                let path = entry.path();
                let meta = entry.metadata()?;
                if meta.is_dir() {
                    stack.push(path);
                    continue;
                }
                if !meta.is_file() || meta.len() > MAX_FILE {
                    continue;
                }
                let Ok(rel) = path.strip_prefix(dir) else {
                    continue;
                };
                let Some(rel) = rel.to_str().map(|r| r.replace('\\', "/")) else {
                    continue;
                };
                let bytes = web::Bytes::from(std::fs::read(&path)?);
                files.insert(
                    rel.clone(),
                    Asset {
                        bytes,
                        content_type: content_type(&rel),
                        immutable: rel.starts_with("assets/"),
                    },
                );
            }
        }
        Ok(Self {
            files,
            dir: Some(dir.to_path_buf()),
        })
    }

    /// Number of files held.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the dashboard was built.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Where the files came from.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

fn secure(b: &mut actix_web::HttpResponseBuilder) {
    b.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header(("cross-origin-opener-policy", "same-origin"))
        .insert_header(("cross-origin-resource-policy", "same-origin"))
        .insert_header((
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=()",
        ));
}

fn serve(asset: &Asset, head: bool) -> HttpResponse {
    let mut b = HttpResponse::Ok();
    secure(&mut b);
    b.content_type(asset.content_type);
    b.insert_header((
        header::CACHE_CONTROL,
        if asset.immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        },
    ));
    if head {
        b.insert_header((header::CONTENT_LENGTH, asset.bytes.len()));
        return b.finish();
    }
    b.body(asset.bytes.clone())
}

const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Keyward</title></head><body><main><h1>Keyward</h1><p>The web dashboard is not built. \
Run <code>make web</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>) \
and restart the gateway. The API is at <a href=\"/docs\">/docs</a>.</p></main></body></html>";

/// The app's default service: the dashboard for page and file paths, the API's 404 elsewhere.
pub async fn fallback(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    let head = req.method() == Method::HEAD;
    let api = path.starts_with("/api/") || path == "/api" || path.starts_with("/v1/");
    if api || !(head || req.method() == Method::GET) {
        return Err(ApiError::not_found("route"));
    }
    let assets = req.app_data::<web::Data<WebAssets>>();
    let Some(assets) = assets.filter(|a| !a.is_empty()) else {
        if path == "/" {
            let mut b = HttpResponse::Ok();
            secure(&mut b);
            return Ok(b
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-cache"))
                .body(NOT_BUILT));
        }
        return Err(ApiError::not_found("route"));
    };
    let rel = path.trim_start_matches('/');
    if let Some(asset) = assets.files.get(rel) {
        return Ok(serve(asset, head));
    }
    let last = rel.rsplit('/').next().unwrap_or("");
    if last.contains('.') {
        // A missing file (an old hashed asset): no HTML in its place.
        return Err(ApiError::not_found("file"));
    }
    match assets.files.get("index.html") {
        Some(index) => Ok(serve(index, head)),
        None => Err(ApiError::not_found("route")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/app-3f2a.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("assets/x.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }

    #[test]
    fn csp_allows_no_inline_script_or_other_origin() {
        assert!(CSP.contains("script-src 'self';"));
        assert!(!CSP.contains("unsafe-eval"));
        assert!(!CSP.contains("http"));
        assert!(CSP.contains("frame-ancestors 'none'"));
    }
}
