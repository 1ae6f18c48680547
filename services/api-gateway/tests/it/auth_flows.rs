//! Sign-in, refresh rotation, reuse detection, sign-out, lockout, rate limiting and TOTP.

use serde_json::json;

use crate::harness::{Gw, PASSWORD};

#[tokio::test]
async fn login_refresh_rotation_reuse_detection_and_logout() {
    let gw = Gw::start().await;
    let owner = gw.bootstrap("Acme", "owner@acme.test").await;
    let login = gw
        .wait_audit(|e| e.action == "auth.login" && e.outcome == "success")
        .await;
    let actor = login.actor.unwrap();
    assert_eq!(actor.email.as_deref(), Some("owner@acme.test"));
    assert!(actor.ip.is_some());

    // Refresh rotates: a new pair each time, the old refresh token is spent.
    let r1 = gw
        .req(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": owner.refresh})),
        )
        .await;
    assert_eq!(r1.status, 200, "{}", r1.text);
    let (access2, refresh2) = (
        r1.body["access_token"].as_str().unwrap(),
        r1.body["refresh_token"].as_str().unwrap(),
    );
    assert_ne!(refresh2, owner.refresh);
    assert_eq!(r1.body["expires_in"], 900);
    assert_eq!(
        gw.req("GET", "/api/v1/me", Some(access2), None)
            .await
            .status,
        200
    );
    let r2 = gw
        .req(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh2})),
        )
        .await;
    assert_eq!(r2.status, 200);
    let (access3, refresh3) = (
        r2.body["access_token"].as_str().unwrap().to_string(),
        r2.body["refresh_token"].as_str().unwrap().to_string(),
    );

    // Reuse of a spent token revokes the whole family: the newest tokens die too.
    let reuse = gw
        .req(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": owner.refresh})),
        )
        .await;
    assert_eq!((reuse.status, reuse.code()), (401, "unauthenticated"));
    let after = gw
        .req(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh3})),
        )
        .await;
    assert_eq!(after.status, 401, "family must be revoked");
    assert_eq!(
        gw.req("GET", "/api/v1/me", Some(&access3), None)
            .await
            .status,
        401
    );
    let ev = gw.wait_audit(|e| e.action == "auth.refresh_reuse").await;
    assert_eq!(ev.outcome, "denied");

    // Logout ends the session at once (access and refresh).
    let s = gw.login("owner@acme.test", None).await;
    let out = gw
        .req("POST", "/api/v1/auth/logout", Some(&s.access), None)
        .await;
    assert_eq!(out.status, 204, "{}", out.text);
    assert_eq!(
        gw.req("GET", "/api/v1/me", Some(&s.access), None)
            .await
            .status,
        401
    );
    let r = gw
        .req(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": s.refresh})),
        )
        .await;
    assert_eq!(r.status, 401);
    gw.wait_audit(|e| e.action == "auth.logout").await;

    // Logout everywhere.
    let a = gw.login("owner@acme.test", None).await;
    let b = gw.login("owner@acme.test", None).await;
    assert_eq!(
        gw.req(
            "POST",
            "/api/v1/auth/logout",
            Some(&a.access),
            Some(json!({"all": true}))
        )
        .await
        .status,
        204
    );
    assert_eq!(
        gw.req("GET", "/api/v1/me", Some(&b.access), None)
            .await
            .status,
        401
    );

    // Garbage and missing credentials.
    assert_eq!(
        gw.req("GET", "/api/v1/me", Some("not-a-jwt"), None)
            .await
            .status,
        401
    );
    let none = gw.req("GET", "/api/v1/me", None, None).await;
    assert_eq!((none.status, none.code()), (401, "unauthenticated"));
    assert!(
        none.body["error"]["request_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    let r = gw
        .req(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": "kw_rt_nope"})),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_are_audited() {
    let gw = Gw::start_with(|c| {
        c.auth.lockout_threshold = 3;
        c.auth.lockout_secs = 60;
    })
    .await;
    gw.bootstrap("Acme", "owner@acme.test").await;
    let bad = json!({"email": "owner@acme.test", "password": "wrong password!!"});
    for _ in 0..3 {
        let r = gw
            .req("POST", "/api/v1/auth/login", None, Some(bad.clone()))
            .await;
        assert_eq!((r.status, r.code()), (401, "unauthenticated"));
        assert_eq!(r.body["error"]["message"], "invalid email or password");
    }
    // Locked: even the right password is refused, with Retry-After.
    let good = json!({"email": "owner@acme.test", "password": PASSWORD});
    let r = gw.req("POST", "/api/v1/auth/login", None, Some(good)).await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    gw.wait_audit(|e| e.action == "auth.lockout").await;
    gw.wait_audit(|e| e.action == "auth.login" && e.outcome == "denied" && e.reason == "locked")
        .await;
    let failure = gw
        .wait_audit(|e| e.action == "auth.login" && e.outcome == "failure")
        .await;
    assert_eq!(
        failure.actor.unwrap().email.as_deref(),
        Some("owner@acme.test")
    );

    // An unknown e-mail behaves the same (no existence oracle).
    let ghost = json!({"email": "ghost@acme.test", "password": "whatever password"});
    for _ in 0..3 {
        let r = gw
            .req("POST", "/api/v1/auth/login", None, Some(ghost.clone()))
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["error"]["message"], "invalid email or password");
    }
    assert_eq!(
        gw.req("POST", "/api/v1/auth/login", None, Some(ghost))
            .await
            .status,
        429
    );
}

#[tokio::test]
async fn sign_ins_are_rate_limited_per_address() {
    let gw = Gw::start_with(|c| c.auth.login_per_ip_per_minute = 4).await;
    let body = json!({"email": "someone@acme.test", "password": "whatever password"});
    for _ in 0..4 {
        assert_eq!(
            gw.req("POST", "/api/v1/auth/login", None, Some(body.clone()))
                .await
                .status,
            401
        );
    }
    let r = gw.req("POST", "/api/v1/auth/login", None, Some(body)).await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    assert!(r.headers.contains_key("retry-after"));
    gw.wait_audit(|e| e.action == "auth.login" && e.reason == "rate_limited")
        .await;
}

fn totp_from(url: &str) -> totp_rs::TOTP {
    totp_rs::TOTP::from_url_unchecked(url).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn totp_enrolment_verification_and_org_requirement() {
    let gw = Gw::start().await;
    let owner = gw.bootstrap("Acme", "owner@acme.test").await;
    let org_path = format!("/api/v1/orgs/{}", owner.org_id);

    // Requiring TOTP without having it yourself is refused (no self-lockout).
    let r = gw
        .req(
            "PATCH",
            &org_path,
            Some(&owner.access),
            Some(json!({"require_totp": true})),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "unprocessable"), "{}", r.text);

    let e = gw
        .req("POST", "/api/v1/me/totp/enroll", Some(&owner.access), None)
        .await;
    assert_eq!(e.status, 200, "{}", e.text);
    let totp = totp_from(e.body["otpauth_url"].as_str().unwrap());
    assert_eq!(e.body["secret"].as_str().unwrap(), totp.get_secret_base32());
    let wrong = gw
        .req(
            "POST",
            "/api/v1/me/totp/confirm",
            Some(&owner.access),
            Some(json!({"code": "000000"})),
        )
        .await;
    let wrong = if totp.generate(now()) == "000000" {
        gw.req(
            "POST",
            "/api/v1/me/totp/confirm",
            Some(&owner.access),
            Some(json!({"code": "111111"})),
        )
        .await
    } else {
        wrong
    };
    assert_eq!((wrong.status, wrong.field()), (422, Some("code")));
    let ok = gw
        .req(
            "POST",
            "/api/v1/me/totp/confirm",
            Some(&owner.access),
            Some(json!({"code": totp.generate(now())})),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    gw.wait_audit(|e| e.action == "auth.totp.enable").await;
    // Enrolling again while enabled is a conflict.
    assert_eq!(
        gw.req("POST", "/api/v1/me/totp/enroll", Some(&owner.access), None)
            .await
            .status,
        409
    );

    // Sign-in now needs a code; a code is good once.
    let no_code = gw
        .req(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "owner@acme.test", "password": PASSWORD})),
        )
        .await;
    assert_eq!(no_code.status, 401);
    assert!(no_code.text.contains("totp_code"));
    let next = totp.generate(now() + 30);
    let body = json!({"email": "owner@acme.test", "password": PASSWORD, "totp_code": next});
    let with_code = gw
        .req("POST", "/api/v1/auth/login", None, Some(body.clone()))
        .await;
    assert_eq!(with_code.status, 200, "{}", with_code.text);
    assert_eq!(
        gw.req("POST", "/api/v1/auth/login", None, Some(body))
            .await
            .status,
        401,
        "replayed code"
    );
    let owner_mfa = with_code.body["access_token"].as_str().unwrap().to_string();
    let me = gw.req("GET", "/api/v1/me", Some(&owner_mfa), None).await;
    assert_eq!(me.body["mfa"], true);

    // The org requires TOTP of owners and admins.
    let r = gw
        .req(
            "PATCH",
            &org_path,
            Some(&owner_mfa),
            Some(json!({"require_totp": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["require_totp"], true);
    let update = gw.wait_audit(|e| e.action == "org.update").await;
    assert!(update.after_json.contains("\"require_totp\":true"));

    // An admin without TOTP may only enrol until then …
    let admin = gw
        .member(
            &owner_mfa_session(&owner, &owner_mfa),
            "admin@acme.test",
            "admin",
            None,
        )
        .await;
    let blocked = gw
        .req("GET", "/api/v1/teams", Some(&admin.access), None)
        .await;
    assert_eq!((blocked.status, blocked.code()), (403, "permission_denied"));
    assert!(blocked.text.contains("TOTP"));
    let me = gw.req("GET", "/api/v1/me", Some(&admin.access), None).await;
    assert_eq!(me.body["totp_pending"], true);
    let e = gw
        .req("POST", "/api/v1/me/totp/enroll", Some(&admin.access), None)
        .await;
    let admin_totp = totp_from(e.body["otpauth_url"].as_str().unwrap());
    let ok = gw
        .req(
            "POST",
            "/api/v1/me/totp/confirm",
            Some(&admin.access),
            Some(json!({"code": admin_totp.generate(now())})),
        )
        .await;
    assert_eq!(ok.status, 204);
    // … then works, and cannot turn TOTP off while the org requires it.
    assert_eq!(
        gw.req("GET", "/api/v1/teams", Some(&admin.access), None)
            .await
            .status,
        200
    );
    let off = gw
        .req(
            "POST",
            "/api/v1/me/totp/disable",
            Some(&admin.access),
            Some(json!({"code": admin_totp.generate(now() + 30)})),
        )
        .await;
    assert_eq!(off.status, 422);

    // A developer is not privileged: no TOTP needed.
    let dev = gw
        .member(
            &owner_mfa_session(&owner, &owner_mfa),
            "dev@acme.test",
            "developer",
            None,
        )
        .await;
    assert_eq!(
        gw.req("GET", "/api/v1/teams", Some(&dev.access), None)
            .await
            .status,
        200
    );
}

fn owner_mfa_session(owner: &crate::harness::Session, access: &str) -> crate::harness::Session {
    crate::harness::Session {
        access: access.to_string(),
        ..owner.clone()
    }
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let gw = Gw::start().await;
    let r = gw
        .http
        .get(format!("{}/api/v1/me", gw.base))
        .header("x-request-id", "client-id-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["x-request-id"], "client-id-42");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["request_id"], "client-id-42");
    assert_eq!(body["error"]["code"], "unauthenticated");
    // A malformed id is replaced, never echoed.
    let r = gw
        .http
        .get(format!("{}/api/v1/me", gw.base))
        .header("x-request-id", "bad id <script>")
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["request_id"], id.as_str());
    // Successful answers carry one too.
    let r = gw
        .http
        .get(format!("{}/openapi.json", gw.base))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("x-request-id"));
}
