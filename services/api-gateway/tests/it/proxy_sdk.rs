//! The official `openai` and `anthropic` Python SDKs, unchanged, against the gateway. The venv
//! lives in `$KEYWARD_SDK_VENV` (default `~/.cache/keyward/sdk-venv`) and is created with
//! `python3 -m venv` + `pip install openai anthropic` when missing (`make test` prepares it).

use std::path::PathBuf;
use std::process::Command;

use keyward_providers::Provider;
use keyward_testkit::mock_providers::{KeyKind, fixture_key};
use serde_json::json;

use crate::proxy_harness::Px;

fn venv() -> PathBuf {
    std::env::var_os("KEYWARD_SDK_VENV").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
            PathBuf::from(home).join(".cache/keyward/sdk-venv")
        },
        PathBuf::from,
    )
}

fn ensure_venv() -> PathBuf {
    let dir = venv();
    let python = dir.join("bin/python");
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", "import openai, anthropic"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "python3 -m venv failed");
        let ok = Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "openai", "anthropic"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "pip install openai anthropic failed");
    }
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_official_python_sdks() {
    let python = tokio::task::spawn_blocking(ensure_venv).await.unwrap();
    let px = Px::start().await;
    px.store_key(
        Provider::OpenAi,
        &fixture_key(Provider::OpenAi, KeyKind::Valid),
        0,
    )
    .await;
    px.store_key(
        Provider::Anthropic,
        &fixture_key(Provider::Anthropic, KeyKind::Valid),
        0,
    )
    .await;
    let (_, key) = px.vkey(json!({"name": "sdk"})).await;
    let script = keyward_testkit::repo_root().join("tests/sdk/check_sdks.py");
    let base = px.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("KEYWARD_BASE", base)
            .env("KEYWARD_KEY", key)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("all SDK checks passed"), "{stdout}");
    // Six proxied SDK calls were metered (the refused one is not).
    px.wait_usage(6, std::time::Duration::from_secs(15)).await;
}
