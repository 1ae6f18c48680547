//! Events against rules, without a database.

use keyward_proto::v1 as pb;
use pb::domain_event::Payload;
use uuid::Uuid;

use super::*;
use crate::defaults;

fn event(org: Uuid, p: Payload) -> DomainEvent {
    DomainEvent {
        event_id: Uuid::now_v7().to_string(),
        occurred_at: Some(keyward_proto::time::now()),
        org_id: org.to_string(),
        payload: Some(p),
    }
}

fn threshold(org: Uuid, budget: &str, team: Option<&str>, percent: u32) -> Payload {
    Payload::BudgetThreshold(pb::BudgetThreshold {
        budget_id: budget.into(),
        scope: Some(pb::Scope {
            org_id: org.to_string(),
            team_id: team.map(str::to_string),
            ..Default::default()
        }),
        percent,
        spent: Some(pb::Money {
            micros: i64::from(percent) * 1_000_000,
        }),
        amount: Some(pb::Money {
            micros: 100_000_000,
        }),
        period_start: Some(prost_types::Timestamp {
            seconds: 1_767_225_600,
            nanos: 0,
        }),
    })
}

#[test]
fn budget_levels_share_one_fingerprint_and_exhausted_is_the_100_level() {
    let org = Uuid::now_v7();
    let rules = defaults::rules_for(org);
    let fire = |p| evaluate(&event(org, p), org, &rules).0;
    let s50 = fire(threshold(org, "b1", None, 50));
    let s80 = fire(threshold(org, "b1", None, 80));
    let s100 = fire(threshold(org, "b1", None, 100));
    let exhausted = fire(Payload::BudgetExhausted(pb::BudgetExhausted {
        budget_id: "b1".into(),
        scope: None,
        spent: Some(pb::Money {
            micros: 100_000_000,
        }),
        amount: Some(pb::Money {
            micros: 100_000_000,
        }),
        hard: true,
        period_start: Some(prost_types::Timestamp {
            seconds: 1_767_225_600,
            nanos: 0,
        }),
    }));
    assert_eq!(s50.len(), 1);
    let fps: Vec<&str> = [&s50, &s80, &s100, &exhausted]
        .iter()
        .map(|s| s[0].fingerprint.as_str())
        .collect();
    assert!(
        fps.iter().all(|f| *f == fps[0]),
        "one alert per budget period"
    );
    assert_eq!(
        (
            s50[0].level,
            s80[0].level,
            s100[0].level,
            exhausted[0].level
        ),
        (50, 80, 100, 100)
    );
    assert_eq!(s50[0].severity, Severity::Info);
    assert_eq!(s80[0].severity, Severity::Warning);
    assert_eq!(exhausted[0].severity, Severity::Critical);
    assert!(
        exhausted[0].title.contains("hard limit"),
        "{}",
        exhausted[0].title
    );
    assert!(
        s80[0].title.contains("$80.00 of $100.00"),
        "{}",
        s80[0].title
    );
    // Another budget, another alert.
    assert_ne!(fire(threshold(org, "b2", None, 50))[0].fingerprint, fps[0]);
    // Below the rule's minimum: nothing.
    assert!(fire(threshold(org, "b1", None, 25)).is_empty());
}

#[test]
fn rule_scope_and_filters_narrow_what_matches() {
    let org = Uuid::now_v7();
    let team = Uuid::now_v7();
    let mut rules = defaults::rules_for(org);
    for r in &mut rules {
        r.scope.team_id = Some(team);
    }
    let on_team = evaluate(
        &event(org, threshold(org, "b1", Some(&team.to_string()), 80)),
        org,
        &rules,
    )
    .0;
    assert_eq!(on_team.len(), 1);
    let other = evaluate(
        &event(org, threshold(org, "b1", Some("x"), 80)),
        org,
        &rules,
    )
    .0;
    assert!(other.is_empty(), "another team's budget");
    let org_wide = evaluate(&event(org, threshold(org, "b1", None, 80)), org, &rules).0;
    assert!(org_wide.is_empty(), "an org budget is not this team's");
    for r in &mut rules {
        r.enabled = false;
    }
    assert!(
        evaluate(
            &event(org, threshold(org, "b1", Some(&team.to_string()), 80)),
            org,
            &rules
        )
        .0
        .is_empty()
    );
}

#[test]
fn key_events_fire_key_rules_and_recoveries_clear_them() {
    let org = Uuid::now_v7();
    let rules = defaults::rules_for(org);
    let invalid = Payload::KeyInvalid(pb::KeyInvalid {
        key_id: "k1".into(),
        provider: "openai".into(),
        outcome: "invalid".into(),
        reason: "401 from provider for sk-proj-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    });
    let (s, c) = evaluate(&event(org, invalid), org, &rules);
    assert_eq!(s.len(), 1);
    assert!(c.is_empty());
    assert_eq!(s[0].severity, Severity::Critical);
    assert_eq!(s[0].labels["kind"], "invalid");
    assert!(
        !s[0].detail.contains("sk-proj-AAAA"),
        "redacted: {}",
        s[0].detail
    );

    let anomaly = Payload::KeyAccessAnomaly(pb::KeyAccessAnomaly {
        key_id: "k1".into(),
        window: "minute".into(),
        count: 500,
        threshold: 100,
    });
    let (a, _) = evaluate(&event(org, anomaly), org, &rules);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].labels["window"], "minute");
    assert_ne!(a[0].fingerprint, s[0].fingerprint);

    let (s, c) = evaluate(
        &event(
            org,
            Payload::KeyValidated(pb::KeyValidated {
                key_id: "k1".into(),
                provider: "openai".into(),
            }),
        ),
        org,
        &rules,
    );
    assert!(s.is_empty());
    assert_eq!(c[0].labels["key_id"], "k1");
    assert_eq!(c[0].kinds, vec!["invalid".to_string()]);
    assert_eq!(rule_types_for("key.revoked").len(), 2);
    assert!(rule_types_for("virtual_key.changed").is_empty());
}

#[test]
fn dollars_format() {
    assert_eq!(dollars(0), "$0.00");
    assert_eq!(dollars(12_345_678), "$12.34");
    assert_eq!(dollars(-1_500_000), "-$1.50");
}
