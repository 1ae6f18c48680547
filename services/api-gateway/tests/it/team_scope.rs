//! Team-scoped grants: a developer of team A manages only team A's virtual keys.

use serde_json::json;

use crate::harness::Gw;

#[tokio::test]
async fn a_team_developer_manages_only_its_teams_keys() {
    let gw = Gw::start().await;
    let owner = gw.bootstrap("Acme", "owner@acme.test").await;
    let team_a = gw
        .create(&owner, "/api/v1/teams", json!({"name": "a"}))
        .await;
    let team_b = gw
        .create(&owner, "/api/v1/teams", json!({"name": "b"}))
        .await;
    let key_b = gw
        .create(
            &owner,
            "/api/v1/virtual-keys",
            json!({"name": "b1", "scope": {"team_id": team_b}}),
        )
        .await;
    let key_org = gw
        .create(&owner, "/api/v1/virtual-keys", json!({"name": "org"}))
        .await;

    let dev = gw
        .member(&owner, "dev@acme.test", "developer", Some(&team_a))
        .await;
    let key_a = gw
        .create(
            &dev,
            "/api/v1/virtual-keys",
            json!({"name": "a1", "scope": {"team_id": team_a}}),
        )
        .await;

    // Other teams' keys and org keys are invisible and untouchable.
    let in_b = gw
        .req(
            "POST",
            "/api/v1/virtual-keys",
            Some(&dev.access),
            Some(json!({"name": "x", "scope": {"team_id": team_b}})),
        )
        .await;
    assert_eq!(in_b.status, 404, "{}", in_b.text);
    let org_wide = gw
        .req(
            "POST",
            "/api/v1/virtual-keys",
            Some(&dev.access),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(
        (org_wide.status, org_wide.code()),
        (403, "permission_denied")
    );
    for k in [&key_b, &key_org] {
        assert_eq!(
            gw.req(
                "GET",
                &format!("/api/v1/virtual-keys/{k}"),
                Some(&dev.access),
                None
            )
            .await
            .status,
            404
        );
        assert_eq!(
            gw.req(
                "POST",
                &format!("/api/v1/virtual-keys/{k}/revoke"),
                Some(&dev.access),
                None
            )
            .await
            .status,
            404
        );
    }
    let list = gw
        .req("GET", "/api/v1/virtual-keys", Some(&dev.access), None)
        .await;
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [key_a.as_str()]);
    let teams = gw
        .req("GET", "/api/v1/teams", Some(&dev.access), None)
        .await;
    assert_eq!(teams.body["items"].as_array().unwrap().len(), 1);

    // Its own team's key: full control.
    let r = gw
        .req(
            "POST",
            &format!("/api/v1/virtual-keys/{key_a}/rotate"),
            Some(&dev.access),
            Some(json!({"grace_seconds": 0})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = gw
        .req(
            "POST",
            &format!("/api/v1/virtual-keys/{key_a}/revoke"),
            Some(&dev.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200);

    // With org-wide viewer on top, other keys become readable, still not writable (403).
    gw.create(
        &owner,
        "/api/v1/role-assignments",
        json!({"user_id": dev.user_id, "role": "viewer"}),
    )
    .await;
    let r = gw
        .req(
            "GET",
            &format!("/api/v1/virtual-keys/{key_b}"),
            Some(&dev.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let r = gw
        .req(
            "POST",
            &format!("/api/v1/virtual-keys/{key_b}/revoke"),
            Some(&dev.access),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "permission_denied"));
    let r = gw
        .req("GET", "/api/v1/virtual-keys", Some(&dev.access), None)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);

    // Custom roles are per org and take effect at once.
    let role = gw.req("POST", "/api/v1/roles", Some(&owner.access), Some(json!({
        "name": "key-admin", "permissions": [{"resource": "virtual_keys", "action": "write"}]
    }))).await;
    assert_eq!(role.status, 201, "{}", role.text);
    gw.create(
        &owner,
        "/api/v1/role-assignments",
        json!({"user_id": dev.user_id, "role": "key-admin"}),
    )
    .await;
    let r = gw
        .req(
            "POST",
            &format!("/api/v1/virtual-keys/{key_b}/revoke"),
            Some(&dev.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let del = gw
        .req(
            "DELETE",
            "/api/v1/roles/key-admin",
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(del.status, 409, "an assigned role cannot be deleted");
}
