//! Escalation: an alert nobody acknowledges reaches the next channel; an acknowledged one does not.

use std::time::Duration;

use keyward_proto::v1 as pb;

use crate::harness::{Options, key_invalid, meta, start, until};
use crate::receivers::Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_alerts_escalate_and_acknowledged_ones_do_not() {
    let t = start(Options::default()).await;
    let (team, pager) = (Receiver::start().await, Receiver::start().await);
    let team_ch = t.webhook(&team.url("/team"), "whsec_team").await;
    let pager_ch = t.webhook(&pager.url("/pager"), "whsec_pager").await;
    t.drop_default("key_health").await;
    let rule = t
        .client
        .clone()
        .create_rule(pb::RuleRequest {
            rule: Some(pb::AlertRule {
                org_id: t.org.clone(),
                name: "Invalid keys page after 2 s".into(),
                rule_type: "key_health".into(),
                conditions_json: r#"{"events": ["invalid"]}"#.into(),
                severity: "critical".into(),
                channel_ids: vec![team_ch.id.clone()],
                escalation_channel_ids: vec![pager_ch.id.clone()],
                escalate_after_seconds: 2,
                ..Default::default()
            }),
            meta: meta(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rule.escalate_after_seconds, 2);
    assert_eq!(rule.escalate_after_minutes, 0);

    // Nobody acknowledges this one.
    t.publish(key_invalid("0193f3c4-0000-7000-8000-00000000aa01"))
        .await;
    team.wait_for(1).await;
    // This one is acknowledged at once.
    t.publish(key_invalid("0193f3c4-0000-7000-8000-00000000aa02"))
        .await;
    team.wait_for(2).await;
    let acked = t
        .alerts()
        .await
        .into_iter()
        .find(|a| a.labels["key_id"].ends_with("aa02"))
        .unwrap();
    let a = t
        .client
        .clone()
        .acknowledge(pb::AlertAction {
            org_id: t.org.clone(),
            alert_id: acked.id.clone(),
            actor: meta().unwrap().actor,
            request_id: "req-ack".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (a.state.as_str(), a.acknowledged_by.as_str()),
        ("acknowledged", "user-1")
    );
    assert!(a.escalate_at.is_none());

    let paged = pager.wait_for(1).await;
    let body = paged[0].json();
    assert_eq!(body["type"], "alert.escalation");
    assert!(
        body["alert"]["labels"]["key_id"]
            .as_str()
            .unwrap()
            .ends_with("aa01")
    );
    // Wait well past the second alert's escalation time: the pager hears nothing more.
    let later = pager.settle(Duration::from_secs(3)).await;
    assert_eq!(later.len(), 1, "the acknowledged alert did not escalate");
    assert_eq!(
        team.received().len(),
        2,
        "the team channel was notified once per alert"
    );

    let escalated = t
        .alerts()
        .await
        .into_iter()
        .find(|a| a.labels["key_id"].ends_with("aa01"))
        .unwrap();
    assert_eq!(
        (escalated.state.as_str(), escalated.escalation_level),
        ("firing", 1)
    );
    assert!(
        escalated.escalate_at.is_none(),
        "no further escalation channel"
    );
    let audits = t.audits_with("alert.escalated", 1).await;
    assert_eq!(audits[0].resource_id, escalated.id);
    assert_eq!(
        t.audits_with("alert.acknowledged", 1).await[0].request_id,
        "req-ack"
    );

    // Resolving and snoozing follow the same rules and are audited.
    let err = t
        .client
        .clone()
        .snooze(pb::AlertAction {
            org_id: t.org.clone(),
            alert_id: escalated.id.clone(),
            snooze_minutes: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let s = t
        .client
        .clone()
        .snooze(pb::AlertAction {
            org_id: t.org.clone(),
            alert_id: escalated.id.clone(),
            snooze_minutes: 30,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.state, "snoozed");
    assert!(s.snoozed_until.is_some());
    let r = t
        .client
        .clone()
        .resolve(pb::AlertAction {
            org_id: t.org.clone(),
            alert_id: escalated.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.state, "resolved");
    let err = t
        .client
        .clone()
        .acknowledge(pb::AlertAction {
            org_id: t.org.clone(),
            alert_id: escalated.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    t.audits_with("alert.snoozed", 1).await;
    t.audits_with("alert.resolved", 1).await;
    until("history filters by state", || async {
        let req = pb::ListAlertsRequest {
            org_id: t.org.clone(),
            state: Some("resolved".into()),
            ..Default::default()
        };
        t.client
            .clone()
            .list_alerts(req)
            .await
            .unwrap()
            .into_inner()
            .alerts
            .len()
            == 1
    })
    .await;
}
