//! The alert lifecycle inside one transaction: fire, fold repeats, re-notify on a higher level,
//! reopen inside the dedup window, escalate, unsnooze, acknowledge, resolve, snooze. Every
//! state change queues its deliveries and its audit event in the same transaction.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit::{self, Change, Who};
use crate::error::{AlertError, Result};
use crate::model::{Alert, AlertState, ChannelKind, Delivery, Notice, Reason, Rule, Signal};
use crate::store::{alerts, channels, deliveries, outbox, rules};

/// What a signal did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fired {
    /// A new alert (notified unless silenced).
    New,
    /// An open alert reached a higher level or severity and notified again.
    Refired,
    /// A repeat folded into the open alert: nothing sent.
    Folded,
    /// A resolved alert came back inside its dedup window: reopened, nothing sent.
    Reopened,
}

fn snapshot(a: &Alert) -> serde_json::Value {
    json!({
        "state": a.state.as_str(), "severity": a.severity.as_str(), "level": a.level,
        "escalation_level": a.escalation_level,
        "snoozed_until": a.snoozed_until.map(|t| t.to_rfc3339()),
    })
}

/// Writes the audit event of an alert's state change to the outbox.
pub async fn audit_alert(
    conn: &mut PgConnection,
    who: &Who,
    action: &str,
    before: Option<&Alert>,
    after: &Alert,
    reason: &str,
) -> Result<()> {
    let ev = audit::event(
        who,
        Change {
            org_id: &after.org_id.to_string(),
            action,
            resource_type: "alert",
            resource_id: &after.id.to_string(),
            reason,
            before: before.map(snapshot),
            after: Some(snapshot(after)),
        },
    );
    outbox::push_audit(conn, &ev).await
}

/// Queues one delivery per target channel of `channel_ids` (empty: all the org's channels).
/// Returns how many were queued.
pub async fn notify(
    conn: &mut PgConnection,
    alert: &Alert,
    channel_ids: &[Uuid],
    reason: Reason,
    max_attempts: i32,
) -> Result<usize> {
    let targets = channels::targets(conn, alert.org_id, channel_ids).await?;
    let now = Utc::now();
    for ch in &targets {
        let d = pending(alert, (ch.id, ch.kind), reason, max_attempts, now);
        deliveries::insert(conn, &d).await?;
    }
    Ok(targets.len())
}

/// A delivery of `alert` to `channel` (id and kind), due now.
fn pending(
    alert: &Alert,
    channel: (Uuid, ChannelKind),
    reason: Reason,
    max_attempts: i32,
    now: DateTime<Utc>,
) -> Delivery {
    Delivery {
        id: Uuid::now_v7(),
        org_id: alert.org_id,
        alert_id: Some(alert.id),
        channel_id: channel.0,
        channel_kind: channel.1,
        reason,
        status: "pending".into(),
        attempts: 0,
        max_attempts,
        next_attempt_at: Some(now),
        last_error: String::new(),
        last_http_status: 0,
        payload: Notice::of(alert, reason),
        created_at: now,
        finished_at: None,
    }
}

fn new_alert(rule: &Rule, s: &Signal, now: DateTime<Utc>) -> Alert {
    let silenced = rule.silenced_at(now);
    Alert {
        id: Uuid::now_v7(),
        org_id: s.org_id,
        rule_id: rule.id,
        rule_name: rule.name.clone(),
        rule_type: rule.rule_type,
        fingerprint: s.fingerprint.clone(),
        state: AlertState::Firing,
        severity: s.severity,
        level: s.level,
        title: s.title.clone(),
        detail: s.detail.clone(),
        labels: s.labels.clone(),
        occurrences: 1,
        fired_at: now,
        last_seen_at: now,
        last_notified_at: (!silenced).then_some(now),
        acknowledged_at: None,
        acknowledged_by: String::new(),
        resolved_at: None,
        resolved_by: String::new(),
        snoozed_until: None,
        escalation_level: 0,
        escalate_at: if silenced {
            None
        } else {
            rule.first_escalation(now)
        },
        silenced,
    }
}

/// Applies `s` (from `rule`) in the caller's transaction.
pub async fn fire(
    conn: &mut PgConnection,
    rule: &Rule,
    s: &Signal,
    max_attempts: i32,
) -> Result<Fired> {
    let now = Utc::now();
    if let Some(open) = alerts::open_for_update(conn, s.org_id, &s.fingerprint).await? {
        return fold(conn, rule, s, open, now, max_attempts).await;
    }
    if let Some(latest) = alerts::latest_for_update(conn, s.org_id, &s.fingerprint).await? {
        if latest.state != AlertState::Resolved {
            // Another transaction reopened it while we waited for its lock.
            return fold(conn, rule, s, latest, now, max_attempts).await;
        }
        let window = Duration::seconds(i64::from(rule.dedup_window_secs));
        let last = latest.last_notified_at.unwrap_or(latest.fired_at);
        if now - last < window {
            let before = latest.clone();
            let mut a = latest;
            a.state = AlertState::Firing;
            a.resolved_at = None;
            a.resolved_by.clear();
            a.escalation_level = 0;
            a.escalate_at = rule.first_escalation(now);
            alerts::save(conn, &a).await?;
            audit_alert(
                conn,
                &Who::system(),
                "alert.reopened",
                Some(&before),
                &a,
                "repeat inside the dedup window",
            )
            .await?;
            let folded = fold(conn, rule, s, a, now, max_attempts).await?;
            return Ok(if folded == Fired::Refired {
                Fired::Refired
            } else {
                Fired::Reopened
            });
        }
    }
    let a = new_alert(rule, s, now);
    if !alerts::insert(conn, &a).await? {
        // Lost a race with a concurrent insert of the same fingerprint: fold into the winner.
        let open = alerts::open_for_update(conn, s.org_id, &s.fingerprint)
            .await?
            .ok_or_else(|| AlertError::Internal("open alert vanished".into()))?;
        return fold(conn, rule, s, open, now, max_attempts).await;
    }
    if !a.silenced {
        notify(conn, &a, &rule.channel_ids, Reason::Fired, max_attempts).await?;
    }
    let why = if a.silenced {
        "inside a silence window: nobody notified"
    } else {
        ""
    };
    audit_alert(conn, &Who::system(), "alert.fired", None, &a, why).await?;
    Ok(Fired::New)
}

async fn fold(
    conn: &mut PgConnection,
    rule: &Rule,
    s: &Signal,
    mut a: Alert,
    now: DateTime<Utc>,
    max_attempts: i32,
) -> Result<Fired> {
    a.occurrences = a.occurrences.saturating_add(1);
    a.last_seen_at = now;
    let higher = s.level > a.level || s.severity > a.severity;
    if !higher {
        // The latest word on the same level (budget.exhausted after the 100 % threshold, a new
        // anomaly count) replaces the text; a lower level (spend dipping back) does not.
        if s.level == a.level && s.severity == a.severity {
            a.title = s.title.clone();
            a.detail = s.detail.clone();
            a.labels = s.labels.clone();
        }
        alerts::save(conn, &a).await?;
        return Ok(Fired::Folded);
    }
    let before = a.clone();
    a.level = a.level.max(s.level);
    a.severity = a.severity.max(s.severity);
    a.title = s.title.clone();
    a.detail = s.detail.clone();
    a.labels = s.labels.clone();
    if rule.silenced_at(now) {
        alerts::save(conn, &a).await?;
        return Ok(Fired::Folded);
    }
    // A higher level needs attention again, whoever acknowledged or snoozed the lower one.
    a.state = AlertState::Firing;
    a.snoozed_until = None;
    a.silenced = false;
    a.escalation_level = 0;
    a.escalate_at = rule.first_escalation(now);
    a.last_notified_at = Some(now);
    alerts::save(conn, &a).await?;
    notify(conn, &a, &rule.channel_ids, Reason::Refired, max_attempts).await?;
    audit_alert(
        conn,
        &Who::system(),
        "alert.refired",
        Some(&before),
        &a,
        "higher level or severity",
    )
    .await?;
    Ok(Fired::Refired)
}

/// Notifies the next escalation channel of a firing alert whose escalation is due.
pub async fn escalate(conn: &mut PgConnection, mut a: Alert, max_attempts: i32) -> Result<bool> {
    let rule = rules::get_any(conn, a.rule_id).await?;
    let before = a.clone();
    let next = usize::try_from(a.escalation_level).unwrap_or(usize::MAX);
    let Some((rule, channel)) = rule
        .filter(|r| r.enabled)
        .and_then(|r| r.escalation_channel_ids.get(next).copied().map(|c| (r, c)))
    else {
        a.escalate_at = None;
        alerts::save(conn, &a).await?;
        return Ok(false);
    };
    a.escalation_level += 1;
    let more = rule.escalation_channel_ids.len() > next + 1;
    a.escalate_at =
        more.then(|| Utc::now() + Duration::seconds(i64::from(rule.escalate_after_secs)));
    a.last_notified_at = Some(Utc::now());
    alerts::save(conn, &a).await?;
    notify(conn, &a, &[channel], Reason::Escalation, max_attempts).await?;
    let why = format!(
        "not acknowledged within {} s: notified channel {channel}",
        rule.escalate_after_secs
    );
    audit_alert(
        conn,
        &Who::system(),
        "alert.escalated",
        Some(&before),
        &a,
        &why,
    )
    .await?;
    Ok(true)
}

/// Ends a due snooze: the alert fires again and reminds its channels.
pub async fn unsnooze(conn: &mut PgConnection, mut a: Alert, max_attempts: i32) -> Result<()> {
    let before = a.clone();
    let now = Utc::now();
    let rule = rules::get_any(conn, a.rule_id).await?;
    a.state = AlertState::Firing;
    a.snoozed_until = None;
    a.escalation_level = 0;
    a.escalate_at = rule.as_ref().and_then(|r| r.first_escalation(now));
    let remind = rule.as_ref().filter(|r| r.enabled && !r.silenced_at(now));
    if remind.is_some() {
        a.last_notified_at = Some(now);
    }
    alerts::save(conn, &a).await?;
    if let Some(r) = remind {
        notify(conn, &a, &r.channel_ids, Reason::Reminder, max_attempts).await?;
    }
    audit_alert(
        conn,
        &Who::system(),
        "alert.unsnoozed",
        Some(&before),
        &a,
        "snooze ended",
    )
    .await
}

/// A person's (or the system's) action on an alert.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    Acknowledge,
    Resolve,
    Snooze(Duration),
}

/// Applies `action` to a locked alert and audits it. Repeating an action is a no-op.
pub async fn act(
    conn: &mut PgConnection,
    mut a: Alert,
    action: Action,
    who: &Who,
    reason: &str,
) -> Result<Alert> {
    let before = a.clone();
    let now = Utc::now();
    let verb = match action {
        Action::Acknowledge => {
            match a.state {
                AlertState::Acknowledged => return Ok(a),
                AlertState::Resolved => {
                    return Err(AlertError::Precondition(
                        "a resolved alert cannot be acknowledged".into(),
                    ));
                }
                AlertState::Firing | AlertState::Snoozed => {}
            }
            a.state = AlertState::Acknowledged;
            a.acknowledged_at = Some(now);
            a.acknowledged_by = who.label();
            "alert.acknowledged"
        }
        Action::Resolve => {
            if a.state == AlertState::Resolved {
                return Ok(a);
            }
            a.state = AlertState::Resolved;
            a.resolved_at = Some(now);
            a.resolved_by = who.label();
            "alert.resolved"
        }
        Action::Snooze(d) => {
            if a.state == AlertState::Resolved {
                return Err(AlertError::Precondition(
                    "a resolved alert cannot be snoozed".into(),
                ));
            }
            a.state = AlertState::Snoozed;
            a.snoozed_until = Some(now + d);
            "alert.snoozed"
        }
    };
    if !matches!(action, Action::Snooze(_)) {
        a.snoozed_until = None;
    }
    a.escalate_at = None;
    alerts::save(conn, &a).await?;
    audit_alert(conn, who, verb, Some(&before), &a, reason).await?;
    match action {
        Action::Acknowledge => sync_pagerduty(conn, &a, Reason::Acknowledged).await?,
        Action::Resolve => sync_pagerduty(conn, &a, Reason::Resolved).await?,
        Action::Snooze(_) => {}
    }
    Ok(a)
}

/// Queues an `acknowledge` or `resolve` event for every PagerDuty channel that was sent this
/// alert's trigger, so the incident there follows the alert (same `dedup_key`, the alert's
/// fingerprint). Other channel kinds are not notified of acknowledgements and resolutions.
async fn sync_pagerduty(conn: &mut PgConnection, alert: &Alert, reason: Reason) -> Result<()> {
    let now = Utc::now();
    for (channel_id, max_attempts) in deliveries::pagerduty_triggers(conn, alert.id).await? {
        let channel = (channel_id, ChannelKind::Pagerduty);
        let d = pending(alert, channel, reason, max_attempts, now);
        deliveries::insert(conn, &d).await?;
    }
    Ok(())
}
