//! The gateway serves the built dashboard: hashed assets cached for good, `index.html` never,
//! client routes fall back to `index.html`, API paths keep their JSON 404, and every answer has
//! the security headers.

use keyward_testkit::tempfile_dir::TempDir;

use crate::harness::Gw;

async fn get(gw: &Gw, path: &str) -> reqwest::Response {
    gw.http
        .get(format!("{}{path}", gw.base))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn serves_the_built_dashboard_with_caching_and_security_headers() {
    let dist = TempDir::new();
    std::fs::create_dir_all(dist.path().join("assets")).unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>Keyward</title><script type=module src=./assets/app-1a2b3c.js></script>",
    )
    .unwrap();
    std::fs::write(
        dist.path().join("assets/app-1a2b3c.js"),
        "console.log('hi')",
    )
    .unwrap();
    let dir = dist.path().to_path_buf();
    let gw = Gw::start_with(move |c| c.web_dir = dir).await;

    let r = get(&gw, "/").await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["cache-control"], "no-cache");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(r.text().await.unwrap().contains("<title>Keyward</title>"));

    let r = get(&gw, "/assets/app-1a2b3c.js").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(r.text().await.unwrap(), "console.log('hi')");

    // A client-side route reloads into the app; a missing asset does not.
    let r = get(&gw, "/usage/breakdown").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("<title>Keyward</title>"));
    assert_eq!(get(&gw, "/assets/app-old.js").await.status(), 404);

    // API paths keep the API's JSON 404; traversal finds nothing.
    let r = get(&gw, "/api/v1/nothing-here").await;
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(get(&gw, "/v1/nothing").await.status(), 404);
    assert_eq!(get(&gw, "/../Cargo.toml").await.status(), 404);
    let r = get(&gw, "/assets/../../etc/passwd").await;
    assert!(
        !r.text().await.unwrap().contains("root:"),
        "a file outside the build was served"
    );
    let r = gw.http.post(format!("{}/", gw.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn without_a_build_the_root_says_how_to_build_it() {
    let empty = TempDir::new();
    let dir = empty.path().to_path_buf();
    let gw = Gw::start_with(move |c| c.web_dir = dir).await;
    let r = get(&gw, "/").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("content-security-policy"));
    assert!(r.text().await.unwrap().contains("make web"));
    assert_eq!(get(&gw, "/usage").await.status(), 404);
}
