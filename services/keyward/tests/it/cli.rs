//! The admin CLI against a real `keyward up`: login writes a 0600 credentials file; keys,
//! vkeys, users and teams commands print tables (or JSON with `--json`); a provider secret goes
//! in through the environment or stdin and never comes out of any command or log.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use keyward_providers::Provider;
use keyward_testkit::mock_providers::MockProviders;
use keyward_testkit::tempfile_dir::TempDir;

use crate::harness::{Deps, Instance, broker_url, database_url, start, wait_for};

const PASSWORD: &str = "correct horse battery staple";
const CANARY: &str = "sk-cli-canary-0f1e2d3c4b5a69788796a5b4c3d2e1f0aa";
const ROTATED: &str = "sk-cli-rotated-aa11bb22cc33dd44ee55ff66aa77bb88";

struct Cli<'a> {
    inst: &'a Instance,
    home: &'a Path,
    url: String,
    transcript: std::cell::RefCell<String>,
}

impl Cli<'_> {
    /// Runs `keyward ARGS`, with `stdin` piped in and `env` set; returns the output.
    fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        cmd.args(args)
            .env("XDG_CONFIG_HOME", self.home)
            .env("KEYWARD_URL", &self.url)
            .env("KEYWARD_CONFIG", &self.inst.config)
            .env_remove("KEYWARD_PROVIDER_SECRET")
            .env_remove("KEYWARD_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        {
            let mut input = child.stdin.take().unwrap();
            if let Some(text) = stdin {
                input.write_all(text.as_bytes()).unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        let mut t = self.transcript.borrow_mut();
        t.push_str(&String::from_utf8_lossy(&out.stdout));
        t.push_str(&String::from_utf8_lossy(&out.stderr));
        out
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> String {
        let out = self.run(args, env, stdin);
        assert!(
            out.status.success(),
            "keyward {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> serde_json::Value {
        let text = self.ok(args, env, stdin);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }
}

#[tokio::test]
async fn login_keys_vkeys_users_teams_through_the_cli() {
    let mocks = MockProviders::start().await.unwrap();
    mocks.register_key(Provider::OpenAi, CANARY);
    mocks.register_key(Provider::OpenAi, ROTATED);
    let db = crate::platform::empty_db().await;
    let deps = Deps {
        database_url: database_url(&db, None),
        broker_url: broker_url(None),
    };
    let inst = start(&db, &deps, &["up"]);
    let base = format!("http://127.0.0.1:{}", inst.ports.http[0]);
    wait_for(&format!("{base}/readyz"), 200, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("gateway not ready: {e:?}\n{}", inst.logs()));
    let home = TempDir::new();
    let cli = Cli {
        inst: &inst,
        home: home.path(),
        url: base.clone(),
        transcript: Default::default(),
    };
    let config = inst.config.to_str().unwrap().to_string();
    cli.ok(
        &[
            "--config",
            &config,
            "admin",
            "bootstrap",
            "--org",
            "Acme",
            "--email",
            "owner@acme.test",
        ],
        &[("KEYWARD_BOOTSTRAP_PASSWORD", PASSWORD)],
        None,
    );

    // Not signed in yet: a clear message, non-zero exit.
    let out = cli.run(&["keys", "list"], &[], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("keyward login"));

    // Login: password from stdin; the file is the owner's only.
    cli.ok(
        &["login", "--email", "owner@acme.test"],
        &[],
        Some(PASSWORD),
    );
    let creds = home.path().join("keyward/credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let wrong = cli.run(
        &["login", "--email", "owner@acme.test"],
        &[],
        Some("not the password"),
    );
    assert!(!wrong.status.success());

    // The running gateway picks up the bootstrapped owner's role at its next policy poll
    // (api_gateway.auth.policy_poll_ms): wait for it.
    for _ in 0..50 {
        if cli.run(&["teams", "list"], &[], None).status.success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Teams and users.
    let team = cli.json(&["teams", "create", "Backend", "--json"], &[], None);
    let team_id = team["id"].as_str().unwrap().to_string();
    let teams = cli.ok(&["teams", "list"], &[], None);
    assert!(teams.starts_with("ID"), "a table with a header: {teams}");
    assert!(teams.contains("Backend") && teams.contains(&team_id));
    let users = cli.ok(&["users", "list"], &[], None);
    assert!(users.contains("owner@acme.test"), "{users}");
    let inv = cli.json(
        &[
            "users",
            "invite",
            "dev@acme.test",
            "--role",
            "developer",
            "--team",
            &team_id,
            "--json",
        ],
        &[],
        None,
    );
    assert!(inv["token"].as_str().is_some_and(|t| !t.is_empty()));

    // Provider keys: the secret from the environment, validated against the mock provider.
    let openai = mocks.base_url(Provider::OpenAi);
    let added = cli.json(
        &[
            "keys",
            "add",
            "--name",
            "main",
            "--provider",
            "openai",
            "--base-url",
            &openai,
            "--json",
        ],
        &[("KEYWARD_PROVIDER_SECRET", CANARY)],
        None,
    );
    assert_eq!(added["validation"]["outcome"], "valid", "{added}");
    let key_id = added["key"]["id"].as_str().unwrap().to_string();
    let list = cli.ok(&["keys", "list"], &[], None);
    assert!(
        list.contains("main") && list.contains(&key_id) && list.contains("openai"),
        "{list}"
    );
    assert!(
        list.contains(&CANARY[CANARY.len() - 4..]),
        "the masked hint: {list}"
    );
    let v = cli.json(&["keys", "validate", &key_id, "--json"], &[], None);
    assert_eq!(v["outcome"], "valid", "{v}");
    // Rotation reads the new secret from stdin.
    let rotated = cli.json(
        &["keys", "rotate", &key_id, "--grace-seconds", "60", "--json"],
        &[],
        Some(ROTATED),
    );
    assert_eq!(rotated["key"]["version"], 2, "{rotated}");
    // Routing changes without touching the secret; a negative priority is a value, not a flag.
    let updated = cli.json(
        &[
            "keys",
            "update",
            &key_id,
            "--priority",
            "-5",
            "--weight",
            "40",
            "--json",
        ],
        &[],
        None,
    );
    assert_eq!(
        (
            &updated["priority"],
            &updated["weight"],
            &updated["version"]
        ),
        (
            &serde_json::json!(-5),
            &serde_json::json!(40),
            &serde_json::json!(2)
        ),
        "{updated}"
    );
    let nothing = cli.run(&["keys", "update", &key_id], &[], None);
    assert!(!nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing to change"));
    // An empty secret is refused before anything is sent.
    let empty = cli.run(&["keys", "rotate", &key_id], &[], Some(""));
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no secret"));
    let bad_id = cli.run(&["keys", "revoke", "not-a-uuid"], &[], None);
    assert!(String::from_utf8_lossy(&bad_id.stderr).contains("not an id"));
    let revoked = cli.json(&["keys", "revoke", &key_id, "--json"], &[], None);
    assert_eq!(revoked["status"], "revoked", "{revoked}");
    // The access log shows what happened to the key (the audit service consumes asynchronously).
    let mut log = String::new();
    for _ in 0..100 {
        log = cli.ok(&["keys", "access-log", &key_id], &[], None);
        if log.contains("revoke") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        log.contains("revoke") && log.contains("rotate") && log.contains("update"),
        "{log}"
    );

    // Virtual keys: shown once, then only their hint.
    let vk = cli.json(
        &["vkeys", "create", "--name", "app", "--rpm", "60", "--json"],
        &[],
        None,
    );
    let secret = vk["key"].as_str().unwrap().to_string();
    assert!(secret.starts_with("kw_"));
    let vk_id = vk["id"].as_str().unwrap().to_string();
    let vlist = cli.ok(&["vkeys", "list"], &[], None);
    assert!(
        vlist.contains(&vk_id) && !vlist.contains(&secret),
        "{vlist}"
    );
    let vlist_json = cli.json(&["vkeys", "list", "--json"], &[], None);
    assert!(
        vlist_json
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == vk_id.as_str())
    );
    cli.ok(&["vkeys", "revoke", &vk_id], &[], None);

    // Sign-out removes the file.
    cli.ok(&["logout"], &[], None);
    assert!(!creds.exists());

    // The provider secrets never came out of any command, nor into any log line.
    let transcript = cli.transcript.borrow();
    for s in [CANARY, ROTATED] {
        assert!(!transcript.contains(s), "a secret reached CLI output");
        assert!(
            !inst.logs().contains(s),
            "a secret reached the service logs"
        );
    }
}
