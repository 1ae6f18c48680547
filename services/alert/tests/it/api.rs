//! The gRPC API: defaults of a new org, validation that changes nothing, callers, audit.

use keyward_proto::v1 as pb;
use tonic::Code;

use crate::harness::{Options, connect, meta, secrets, start};

fn rule(org: &str, name: &str, rule_type: &str) -> pb::AlertRule {
    pb::AlertRule {
        org_id: org.into(),
        name: name.into(),
        rule_type: rule_type.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_org_gets_default_rules_and_bad_input_changes_nothing() {
    let t = start(Options::default()).await;
    let defaults = t.rules().await;
    let mut types: Vec<&str> = defaults.iter().map(|r| r.rule_type.as_str()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "access_anomaly",
            "budget",
            "error_rate",
            "key_health",
            "latency_p95",
            "spend_spike"
        ]
    );
    assert!(
        defaults
            .iter()
            .all(|r| r.is_default && r.enabled == Some(true) && r.channel_ids.is_empty())
    );
    let budget = defaults.iter().find(|r| r.rule_type == "budget").unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&budget.conditions_json).unwrap()["min_percent"],
        50
    );
    assert_eq!(budget.dedup_window_minutes, 60);
    assert_eq!(t.rules().await.len(), 6, "seeded once");

    let mut c = t.client.clone();
    let create = |r: pb::AlertRule| pb::RuleRequest {
        rule: Some(r),
        meta: meta(),
    };
    let bad = [
        (rule(&t.org, "x", "weather"), "rule_type"),
        (rule("not-a-uuid", "x", "budget"), "org_id"),
        (rule(&t.org, " ", "budget"), "name"),
        (
            pb::AlertRule {
                conditions_json: r#"{"min_percent": 0}"#.into(),
                ..rule(&t.org, "x", "budget")
            },
            "min_percent",
        ),
        (
            pb::AlertRule {
                conditions_json: "{".into(),
                ..rule(&t.org, "x", "budget")
            },
            "conditions_json",
        ),
        (
            pb::AlertRule {
                severity: "doom".into(),
                ..rule(&t.org, "x", "budget")
            },
            "severity",
        ),
        (
            pb::AlertRule {
                channel_ids: vec![uuid::Uuid::now_v7().to_string()],
                ..rule(&t.org, "x", "budget")
            },
            "not found",
        ),
        (
            pb::AlertRule {
                escalation_channel_ids: vec![uuid::Uuid::now_v7().to_string()],
                ..rule(&t.org, "x", "budget")
            },
            "escalate_after",
        ),
    ];
    for (r, needle) in bad {
        let e = c.create_rule(create(r)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{needle}: {e:?}");
        assert!(e.message().contains(needle), "{needle}: {}", e.message());
    }
    assert_eq!(t.rules().await.len(), 6, "nothing was created");

    // A duplicate name conflicts.
    let e = c
        .create_rule(create(rule(&t.org, "budget thresholds", "budget")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);

    // Update replaces; the type is fixed.
    let mut r = budget.clone();
    r.conditions_json = r#"{"min_percent": 80}"#.into();
    r.enabled = Some(false);
    let updated = c.update_rule(create(r.clone())).await.unwrap().into_inner();
    assert_eq!(updated.enabled, Some(false));
    assert!(updated.is_default, "still a default rule");
    r.rule_type = "key_health".into();
    assert_eq!(
        c.update_rule(create(r)).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    t.audits_with("alert_rule.created", 6).await;
    let upd = t.audits_with("alert_rule.updated", 1).await;
    assert!(
        upd[0].before_json.contains("\"enabled\":true")
            && upd[0].after_json.contains("\"enabled\":false")
    );
    assert_eq!(upd[0].actor.as_ref().unwrap().id, "user-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_are_validated_their_secrets_never_come_back_and_callers_are_checked() {
    let t = start(Options::default()).await;
    let mut c = t.client.clone();
    let make = |kind: &str, settings: serde_json::Value, secret: serde_json::Value| {
        pb::CreateChannelRequest {
            channel: Some(pb::AlertChannel {
                org_id: t.org.clone(),
                name: format!("c-{}", uuid::Uuid::now_v7()),
                kind: kind.into(),
                settings_json: settings.to_string(),
                ..Default::default()
            }),
            secrets: secrets(secret),
            meta: meta(),
        }
    };
    let bad = [
        make("fax", serde_json::json!({}), serde_json::json!({})),
        make(
            "webhook",
            serde_json::json!({}),
            serde_json::json!({"url": "ftp://x"}),
        ),
        make("slack", serde_json::json!({}), serde_json::json!({})),
        make("pagerduty", serde_json::json!({}), serde_json::json!({})),
        make(
            "email",
            serde_json::json!({"host": "h", "from": "bad", "to": ["a@b.c"]}),
            serde_json::json!({}),
        ),
        make(
            "email",
            serde_json::json!({"host": "h", "from": "a@b.c", "to": ["a@b.c"], "username": "u"}),
            serde_json::json!({}),
        ),
    ];
    for req in bad {
        let e = c.create_channel(req).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert!(
            !e.message().contains("ftp://"),
            "secrets never echo: {}",
            e.message()
        );
    }
    let list = |c: &mut crate::harness::Client| {
        let mut c = c.clone();
        let org = t.org.clone();
        async move {
            c.list_channels(pb::OrgRef { org_id: org })
                .await
                .unwrap()
                .into_inner()
                .channels
        }
    };
    assert!(list(&mut c).await.is_empty(), "nothing was created");

    let secret_url = "https://hooks.example.com/services/T0/B0/sEcReTtOkEn123";
    let created = c
        .create_channel(make(
            "slack",
            serde_json::json!({}),
            serde_json::json!({"webhook_url": secret_url}),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(created.generated_signing_secret.is_none());
    let ch = created.channel.unwrap();
    let printed = format!("{ch:?} {:?}", list(&mut c).await);
    assert!(!printed.contains("sEcReTtOkEn"), "{printed}");
    assert_eq!(ch.secret_hint, "https://hooks.example.com/…");

    // A rule whose only channel it is keeps it alive.
    let rule = c
        .create_rule(pb::RuleRequest {
            rule: Some(pb::AlertRule {
                channel_ids: vec![ch.id.clone()],
                ..rule(&t.org, "slack only", "key_health")
            }),
            meta: meta(),
        })
        .await
        .unwrap()
        .into_inner();
    let del = pb::ChannelRef {
        org_id: t.org.clone(),
        id: ch.id.clone(),
        meta: meta(),
    };
    let e = c.delete_channel(del.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    assert!(e.message().contains("slack only"), "{}", e.message());
    c.delete_rule(pb::RuleRef {
        org_id: t.org.clone(),
        id: rule.id,
        meta: meta(),
    })
    .await
    .unwrap();
    c.delete_channel(del.clone()).await.unwrap();
    assert!(list(&mut c).await.is_empty());
    assert_eq!(c.get_channel(del).await.unwrap_err().code(), Code::NotFound);
    t.audits_with("alert_channel.deleted", 1).await;

    // Another org sees nothing of this one.
    let other = pb::OrgRef {
        org_id: uuid::Uuid::now_v7().to_string(),
    };
    assert!(
        c.list_channels(other)
            .await
            .unwrap()
            .into_inner()
            .channels
            .is_empty()
    );

    // Only the gateway and the operator may call; the vault identity may not.
    let mut vault = connect(&t.tp, &t.cfg.grpc_url, "vault");
    let e = vault
        .list_rules(pb::OrgRef {
            org_id: t.org.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
}
