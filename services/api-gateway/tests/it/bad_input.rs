//! Bad input on every endpoint gets a clear 4xx naming the problem, and changes nothing.

use serde_json::{Value, json};

use crate::harness::{Extra, Gw, PASSWORD};

/// (method, path, a valid body, required fields, a field and a value of the wrong type)
type BodyCase = (
    &'static str,
    String,
    Value,
    Vec<&'static str>,
    (&'static str, Value),
);

#[tokio::test]
async fn bad_input_on_every_endpoint_is_refused_and_changes_nothing() {
    // Cost and alert run too, so input that slipped through would show in the snapshot.
    let gw = Gw::start_full(&[Extra::Cost, Extra::Alert], |_| {}).await;
    let owner = gw.bootstrap("Acme", "owner@acme.test").await;
    let team = gw
        .create(&owner, "/api/v1/teams", json!({"name": "t"}))
        .await;
    let project = gw
        .create(&owner, "/api/v1/projects", json!({"name": "p"}))
        .await;
    let key = gw
        .create(&owner, "/api/v1/virtual-keys", json!({"name": "k"}))
        .await;
    let r = gw
        .req(
            "POST",
            "/api/v1/roles",
            Some(&owner.access),
            Some(json!({"name": "ops", "permissions": []})),
        )
        .await;
    assert_eq!(r.status, 201);
    let pk = gw
        .create(
            &owner,
            "/api/v1/provider-keys",
            json!({"name": "pk0", "provider": "openai", "secret": "sk-bad-input-original-01-0123456789-0123456789"}),
        )
        .await;
    let org = owner.org_id.clone();
    let uid = owner.user_id.clone();
    // Bodies are checked before any upstream call, so ids need not exist.
    let any = uuid::Uuid::now_v7();

    // (method, path, a valid body, required fields, a field and a value of the wrong type)
    let bodies: Vec<BodyCase> = vec![
        (
            "POST",
            "/api/v1/auth/login".into(),
            json!({"email": "owner@acme.test", "password": PASSWORD}),
            vec!["email", "password"],
            ("org_id", json!(12)),
        ),
        (
            "POST",
            "/api/v1/auth/refresh".into(),
            json!({"refresh_token": "kw_rt_x"}),
            vec!["refresh_token"],
            ("refresh_token", json!(["a"])),
        ),
        (
            "POST",
            "/api/v1/auth/logout".into(),
            json!({"all": false}),
            vec![],
            ("all", json!("yes")),
        ),
        (
            "POST",
            "/api/v1/me/totp/confirm".into(),
            json!({"code": "123456"}),
            vec!["code"],
            ("code", json!(123456)),
        ),
        (
            "POST",
            "/api/v1/me/totp/disable".into(),
            json!({"code": "123456"}),
            vec!["code"],
            ("code", json!(null)),
        ),
        (
            "POST",
            "/api/v1/me/password".into(),
            json!({"current_password": PASSWORD, "new_password": PASSWORD}),
            vec!["current_password", "new_password"],
            ("new_password", json!(1)),
        ),
        (
            "POST",
            "/api/v1/orgs".into(),
            json!({"name": "New"}),
            vec!["name"],
            ("name", json!(5)),
        ),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}"),
            json!({"name": "X"}),
            vec![],
            ("require_totp", json!("true")),
        ),
        (
            "POST",
            "/api/v1/teams".into(),
            json!({"name": "n"}),
            vec!["name"],
            ("description", json!({})),
        ),
        (
            "PATCH",
            format!("/api/v1/teams/{team}"),
            json!({"name": "n2"}),
            vec![],
            ("name", json!(false)),
        ),
        (
            "POST",
            "/api/v1/projects".into(),
            json!({"name": "n"}),
            vec!["name"],
            ("team_id", json!("not-a-uuid")),
        ),
        (
            "PATCH",
            format!("/api/v1/projects/{project}"),
            json!({"name": "n2"}),
            vec![],
            ("team_id", json!(7)),
        ),
        (
            "PATCH",
            format!("/api/v1/users/{uid}"),
            json!({"name": "N"}),
            vec!["name"],
            ("name", json!(1.5)),
        ),
        (
            "POST",
            "/api/v1/invitations".into(),
            json!({"email": "a@b.test", "role": "viewer"}),
            vec!["email", "role"],
            ("team_id", json!(true)),
        ),
        (
            "POST",
            "/api/v1/invitations/accept".into(),
            json!({"token": "kw_inv_x", "password": PASSWORD}),
            vec!["token", "password"],
            ("name", json!([])),
        ),
        (
            "POST",
            "/api/v1/roles".into(),
            json!({"name": "r2", "permissions": []}),
            vec!["name", "permissions"],
            (
                "permissions",
                json!([{"resource": "everything", "action": "read"}]),
            ),
        ),
        (
            "PUT",
            "/api/v1/roles/ops".into(),
            json!({"permissions": []}),
            vec!["permissions"],
            ("permissions", json!("all")),
        ),
        (
            "POST",
            "/api/v1/role-assignments".into(),
            json!({"user_id": uid, "role": "viewer"}),
            vec!["user_id", "role"],
            ("user_id", json!(1)),
        ),
        (
            "POST",
            "/api/v1/virtual-keys".into(),
            json!({"name": "k2"}),
            vec!["name"],
            ("rpm", json!("fast")),
        ),
        (
            "PATCH",
            format!("/api/v1/virtual-keys/{key}"),
            json!({"name": "k3"}),
            vec![],
            ("tpm", json!(-5)),
        ),
        (
            "POST",
            format!("/api/v1/virtual-keys/{key}/rotate"),
            json!({"grace_seconds": 10}),
            vec![],
            ("grace_seconds", json!("soon")),
        ),
        (
            "POST",
            format!("/api/v1/virtual-keys/{key}/revoke"),
            json!({}),
            vec![],
            ("bogus", json!(1)),
        ),
        (
            "POST",
            "/api/v1/provider-keys".into(),
            json!({"name": "pk", "provider": "openai", "secret": "sk-bad-input-0123456789-0123456789-0123456789"}),
            vec!["name", "provider", "secret"],
            ("validate", json!("yes")),
        ),
        (
            "POST",
            format!("/api/v1/provider-keys/{pk}/rotate"),
            json!({"secret": "sk-bad-input-rotated-0123-0123456789-0123456789"}),
            vec!["secret"],
            ("grace_seconds", json!("soon")),
        ),
        (
            "PATCH",
            format!("/api/v1/provider-keys/{pk}"),
            json!({"weight": 200}),
            vec![],
            ("weight", json!("heavy")),
        ),
        (
            "POST",
            format!("/api/v1/provider-keys/{pk}/validate"),
            json!({}),
            vec![],
            ("bogus", json!(1)),
        ),
        (
            "POST",
            format!("/api/v1/provider-keys/{pk}/revoke"),
            json!({}),
            vec![],
            ("bogus", json!(1)),
        ),
        (
            "POST",
            "/api/v1/budgets".into(),
            json!({"name": "b", "period": "month", "amount_micros": 1000}),
            vec!["name", "period", "amount_micros"],
            ("amount_micros", json!("lots")),
        ),
        (
            "PATCH",
            format!("/api/v1/budgets/{any}"),
            json!({"name": "b2"}),
            vec![],
            ("hard", json!("yes")),
        ),
        (
            "POST",
            "/api/v1/model-aliases".into(),
            json!({"alias": "fast", "target": "openai/gpt-4o-mini"}),
            vec!["alias", "target"],
            ("target", json!(4)),
        ),
        (
            "POST",
            "/api/v1/pricing/overrides".into(),
            json!({"provider": "openai", "model": "*", "discount_bps": 100}),
            vec!["provider", "model"],
            ("discount_bps", json!("ten")),
        ),
        (
            "POST",
            "/api/v1/alerts/rules".into(),
            json!({"name": "r", "rule_type": "budget"}),
            vec!["name", "rule_type"],
            ("channel_ids", json!("all")),
        ),
        (
            "PUT",
            format!("/api/v1/alerts/rules/{any}"),
            json!({"name": "r", "rule_type": "budget"}),
            vec!["name", "rule_type"],
            ("escalate_after_minutes", json!(-1)),
        ),
        (
            "POST",
            "/api/v1/alerts/channels".into(),
            json!({"name": "c", "kind": "webhook", "secrets": {"url": "https://hooks.example.com/x"}}),
            vec!["name", "kind"],
            ("enabled", json!("yes")),
        ),
        (
            "PUT",
            format!("/api/v1/alerts/channels/{any}"),
            json!({"name": "c2"}),
            vec!["name"],
            ("secrets", json!("https://hooks.example.com/x")),
        ),
        (
            "POST",
            format!("/api/v1/alerts/{any}/snooze"),
            json!({"minutes": 5}),
            vec!["minutes"],
            ("minutes", json!("an hour")),
        ),
        (
            "POST",
            format!("/api/v1/alerts/{any}/ack"),
            json!({}),
            vec![],
            ("comment", json!(1)),
        ),
    ];

    let before = gw.snapshot().await;
    let mut checked = 0;
    let token = Some(owner.access.as_str());
    let expect = |r: &crate::harness::Resp, status: u16, field: Option<&str>, what: &str| {
        assert_eq!(r.status, status, "{what}: {}", r.text);
        let code = if status == 413 {
            "payload_too_large"
        } else {
            "invalid_argument"
        };
        assert_eq!(r.code(), code, "{what}: {}", r.text);
        assert!(
            r.body["error"]["request_id"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{what}"
        );
        if let Some(f) = field {
            assert_eq!(r.field(), Some(f), "{what}: {}", r.text);
            assert!(
                r.body["error"]["message"].as_str().unwrap().contains(f),
                "{what}: message names the field"
            );
        }
    };
    for (method, path, valid, required, (typed, wrong)) in &bodies {
        for f in required {
            let mut b = valid.clone();
            b.as_object_mut().unwrap().remove(*f);
            let r = gw.req(method, path, token, Some(b)).await;
            expect(&r, 400, Some(f), &format!("{method} {path} missing {f}"));
            checked += 1;
        }
        let mut b = valid.clone();
        b[*typed] = wrong.clone();
        let r = gw.req(method, path, token, Some(b)).await;
        let field = if *typed == "permissions" && wrong.is_array() {
            "permissions[0].resource"
        } else {
            typed
        };
        expect(
            &r,
            400,
            Some(field),
            &format!("{method} {path} wrong type of {typed}"),
        );
        let mut b = valid.clone();
        b["surprise"] = json!(1);
        let r = gw.req(method, path, token, Some(b)).await;
        expect(
            &r,
            400,
            Some("surprise"),
            &format!("{method} {path} unknown field"),
        );
        let r = gw.raw(method, path, token, b"{\"name\": ".to_vec()).await;
        expect(&r, 400, None, &format!("{method} {path} malformed JSON"));
        let r = gw.raw(method, path, token, b"[1, 2]".to_vec()).await;
        expect(&r, 400, None, &format!("{method} {path} not an object"));
        let mut big = br#"{"name": ""#.to_vec();
        big.extend(std::iter::repeat_n(b'a', 1024 * 1024));
        big.extend(br#""}"#);
        let r = gw.raw(method, path, token, big).await;
        expect(&r, 413, None, &format!("{method} {path} oversized"));
        checked += 5;
    }

    // Values of the right type that are still wrong.
    let pk_body = |weight: Value| {
        json!({"name": "pkw", "provider": "openai", "weight": weight,
               "secret": "sk-bad-input-weight-0123456789-0123456789-01234"})
    };
    for (path, body, field) in [
        (
            "/api/v1/model-aliases",
            json!({"alias": "a/b", "target": "gpt-4o-mini"}),
            "alias",
        ),
        (
            "/api/v1/model-aliases",
            json!({"alias": "", "target": "gpt-4o-mini"}),
            "alias",
        ),
        (
            "/api/v1/model-aliases",
            json!({"alias": "-x", "target": "gpt-4o-mini"}),
            "alias",
        ),
        (
            "/api/v1/model-aliases",
            json!({"alias": "fast", "target": "no-such-model"}),
            "target",
        ),
        (
            "/api/v1/model-aliases",
            json!({"alias": "fast", "target": "nope/gpt-4o-mini"}),
            "target",
        ),
        (
            "/api/v1/model-aliases",
            json!({"alias": "fast", "target": ""}),
            "target",
        ),
        (
            "/api/v1/model-aliases",
            json!({"alias": "gpt-4o-mini", "target": "gpt-4o-mini"}),
            "target",
        ),
        ("/api/v1/provider-keys", pk_body(json!(0)), "weight"),
        ("/api/v1/provider-keys", pk_body(json!(1001)), "weight"),
        ("/api/v1/provider-keys", pk_body(json!(-5)), "weight"),
    ] {
        let r = gw.req("POST", path, token, Some(body.clone())).await;
        expect(&r, 400, Some(field), &format!("POST {path} {body}"));
        checked += 1;
    }
    // A provider key's routing: out-of-range values name their field; an empty change is refused.
    let pk_path = format!("/api/v1/provider-keys/{pk}");
    for (body, field) in [
        (json!({"weight": 0}), Some("weight")),
        (json!({"weight": 1001}), Some("weight")),
        (json!({"priority": 1001}), Some("priority")),
        (
            json!({"rotation_period_days": 0}),
            Some("rotation_period_days"),
        ),
        (json!({"name": " "}), Some("name")),
        (json!({}), None),
    ] {
        let r = gw.req("PATCH", &pk_path, token, Some(body.clone())).await;
        expect(&r, 400, field, &format!("PATCH {pk_path} {body}"));
        checked += 1;
    }
    let unchanged = gw.req("GET", &pk_path, token, None).await.body;
    assert_eq!(
        (
            &unchanged["name"],
            &unchanged["weight"],
            &unchanged["priority"]
        ),
        (&json!("pk0"), &json!(100), &json!(0))
    );

    // Ids and queries.
    for route in keyward_api_gateway::app::api().table().routes {
        let m = route.method.as_str();
        if route.path.contains("{id}") {
            let path = route.path.replace("{id}", "not-a-uuid");
            let r = gw.req(m, &path, token, None).await;
            expect(&r, 400, Some("id"), &format!("{m} {path}"));
            checked += 1;
        }
        if m == "GET" && !route.path.contains('{') {
            let r = gw
                .req(m, &format!("{}?bogus=1", route.path), token, None)
                .await;
            expect(&r, 400, Some("bogus"), &format!("{m} {}?bogus", route.path));
            checked += 1;
        }
    }
    for list in [
        "/api/v1/teams",
        "/api/v1/projects",
        "/api/v1/users",
        "/api/v1/virtual-keys",
    ] {
        for (q, field) in [
            ("limit=abc", "limit"),
            ("limit=0", "limit"),
            ("limit=100000", "limit"),
            ("after=zzz", "after"),
        ] {
            let r = gw.req("GET", &format!("{list}?{q}"), token, None).await;
            expect(&r, 400, Some(field), &format!("{list}?{q}"));
            checked += 1;
        }
    }
    let range = "from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z";
    for (q, field) in [
        (format!("/api/v1/usage/breakdown?{range}"), "group_by"),
        (format!("/api/v1/usage/breakdown?{range}&group_by=color"), "group_by"),
        (format!("/api/v1/usage/breakdown?{range}&group_by=a,b,c,d"), "group_by"),
        (format!("/api/v1/usage/breakdown?{range}&group_by=model,model"), "group_by"),
        ("/api/v1/usage/breakdown?to=2025-01-02T00:00:00Z&group_by=model".into(), "from"),
        ("/api/v1/usage/breakdown?from=yesterday&to=2025-01-02T00:00:00Z&group_by=model".into(), "from"),
        ("/api/v1/usage/breakdown?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z&group_by=model".into(), "to"),
        (format!("/api/v1/usage/breakdown?{range}&group_by=model&bucket=week"), "bucket"),
        (format!("/api/v1/usage/breakdown?{range}&group_by=model&page_size=0"), "page_size"),
        (format!("/api/v1/usage/breakdown?{range}&group_by=model&cursor=x"), "cursor"),
        (format!("/api/v1/usage/breakdown?{range}&group_by=model&team_id=zzz"), "team_id"),
        (format!("/api/v1/usage/breakdown?{range}&group_by=model&provider=a,,b"), "provider"),
        (format!("/api/v1/usage/timeseries?{range}&virtual_key_id=1"), "virtual_key_id"),
        (format!("/api/v1/usage/top?{range}"), "dimension"),
        (format!("/api/v1/usage/top?{range}&dimension=color"), "dimension"),
        (format!("/api/v1/usage/top?{range}&dimension=model&limit=0"), "limit"),
        (format!("/api/v1/usage/events?{range}&status=lost"), "status"),
        (format!("/api/v1/usage/events?{range}&page_size=5000"), "page_size"),
        ("/api/v1/cost/forecast?at=soon".into(), "at"),
        ("/api/v1/cost/chargeback.csv".into(), "month"),
        ("/api/v1/cost/chargeback.csv?month=2025-13".into(), "month"),
        ("/api/v1/cost/chargeback.csv?month=2025-01&by=org".into(), "by"),
        ("/api/v1/pricing?all_versions=maybe".into(), "all_versions"),
        ("/api/v1/alerts?state=open".into(), "state"),
        ("/api/v1/alerts?severity=loud".into(), "severity"),
        ("/api/v1/alerts?page_size=1000".into(), "page_size"),
        ("/api/v1/alerts?rule_id=1".into(), "rule_id"),
        ("/api/v1/alerts/deliveries?status=lost".into(), "status"),
        ("/api/v1/alerts/deliveries?channel_id=x".into(), "channel_id"),
    ] {
        let r = gw.req("GET", &q, token, None).await;
        expect(&r, 400, Some(field), &q);
        checked += 1;
    }
    assert!(checked > 150, "{checked}");
    assert_eq!(
        gw.snapshot().await,
        before,
        "bad input changed the database"
    );
}
