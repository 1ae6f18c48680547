//! What each channel says about a notice: webhook JSON, Slack blocks, an e-mail with a
//! plain-text and an HTML part, a PagerDuty Events v2 event.

use serde_json::json;

use crate::model::{Notice, Reason};

/// The event type of a notice: `alert.fired`, `alert.refired`, `alert.escalation`,
/// `alert.reminder` or `alert.test`.
pub fn event_type(n: &Notice) -> String {
    format!("alert.{}", n.reason)
}

/// The webhook body.
pub fn webhook(delivery_id: &str, n: &Notice) -> serde_json::Value {
    json!({
        "id": delivery_id,
        "type": event_type(n),
        "created_at": chrono::Utc::now().to_rfc3339(),
        "alert": {
            "id": n.alert_id,
            "org_id": n.org_id,
            "rule_id": n.rule_id,
            "rule_name": n.rule_name,
            "rule_type": n.rule_type,
            "fingerprint": n.fingerprint,
            "state": n.state,
            "severity": n.severity,
            "level": n.level,
            "title": n.title,
            "detail": n.detail,
            "labels": n.labels,
            "fired_at": n.fired_at.to_rfc3339(),
            "occurrences": n.occurrences,
            "escalation_level": n.escalation_level,
        },
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes the three characters Slack's mrkdwn treats as markup.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn headline(n: &Notice) -> String {
    let tag = match n.reason.as_str() {
        "escalation" => format!("ESCALATED {}", n.severity.to_uppercase()),
        "reminder" => format!("REMINDER {}", n.severity.to_uppercase()),
        "test" => "TEST".to_string(),
        _ => n.severity.to_uppercase(),
    };
    format!("[{tag}] {}", n.title)
}

/// A Slack incoming-webhook message.
pub fn slack(n: &Notice) -> serde_json::Value {
    let labels: Vec<String> = n
        .labels
        .iter()
        .map(|(k, v)| format!("{k}=`{}`", slack_escape(v)))
        .collect();
    json!({
        "text": slack_escape(&headline(n)),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(&headline(n), 150)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(&slack_escape(&n.detail), 3000)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&format!(
                "rule *{}* · {} · state {} · fired {} · {}",
                slack_escape(&n.rule_name), n.rule_type, n.state, n.fired_at.to_rfc3339(),
                labels.join(" ")
            ), 3000)}]},
        ],
    })
}

/// An e-mail: subject, plain text, HTML.
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The e-mail of a notice.
pub fn email(n: &Notice) -> Email {
    let subject = truncate(&format!("[Keyward] {}", headline(n)), 200).replace(['\r', '\n'], " ");
    let labels_text: String = n
        .labels
        .iter()
        .map(|(k, v)| format!("  {k}: {v}\n"))
        .collect();
    let text = format!(
        "{}\n\n{}\n\nRule: {} ({})\nSeverity: {}\nState: {}\nFired: {}\nOccurrences: {}\nAlert: {}\n\n{labels_text}",
        headline(n),
        n.detail,
        n.rule_name,
        n.rule_type,
        n.severity,
        n.state,
        n.fired_at.to_rfc3339(),
        n.occurrences,
        n.alert_id,
    );
    let rows: String = [
        ("Rule", format!("{} ({})", n.rule_name, n.rule_type)),
        ("Severity", n.severity.clone()),
        ("State", n.state.clone()),
        ("Fired", n.fired_at.to_rfc3339()),
        ("Occurrences", n.occurrences.to_string()),
        ("Alert", n.alert_id.clone()),
    ]
    .iter()
    .chain(
        n.labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect::<Vec<_>>()
            .iter(),
    )
    .map(|(k, v)| {
        format!(
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            html_escape(k),
            html_escape(v)
        )
    })
    .collect();
    let html = format!(
        "<!doctype html><html><body><h2>{}</h2><p>{}</p><table>{rows}</table></body></html>",
        html_escape(&headline(n)),
        html_escape(&n.detail),
    );
    Email {
        subject,
        text,
        html,
    }
}

/// A PagerDuty Events API v2 `trigger` event; the dedup key is the alert's fingerprint so
/// PagerDuty groups repeats and escalations into one incident.
pub fn pagerduty(routing_key: &str, n: &Notice) -> serde_json::Value {
    // https://developer.pagerduty.com/docs/send-alert-event (Events API v2): `acknowledge` and
    // `resolve` name the incident by `dedup_key` and carry no payload.
    let follow_up = match Reason::parse(&n.reason) {
        Some(Reason::Acknowledged) => Some("acknowledge"),
        Some(Reason::Resolved) => Some("resolve"),
        _ => None,
    };
    if let Some(action) = follow_up {
        return json!({
            "routing_key": routing_key,
            "event_action": action,
            "dedup_key": n.fingerprint,
        });
    }
    let severity = match n.severity.as_str() {
        "critical" => "critical",
        "warning" => "warning",
        _ => "info",
    };
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": n.fingerprint,
        "client": "Keyward",
        "payload": {
            "summary": truncate(&headline(n), 1024),
            "source": format!("keyward/org/{}", n.org_id),
            "severity": severity,
            "timestamp": n.fired_at.to_rfc3339(),
            "component": n.rule_type,
            "group": n.org_id,
            "class": n.rule_type,
            "custom_details": {
                "detail": n.detail,
                "rule": n.rule_name,
                "alert_id": n.alert_id,
                "level": n.level,
                "reason": n.reason,
                "labels": n.labels,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn notice() -> Notice {
        Notice {
            alert_id: "a1".into(),
            org_id: "o1".into(),
            rule_id: "r1".into(),
            rule_name: "Budgets <main>".into(),
            rule_type: "budget".into(),
            fingerprint: "f".repeat(64),
            state: "firing".into(),
            severity: "critical".into(),
            level: 100,
            title: "Budget at 100% & <b>".into(),
            detail: "spent \"all\"".into(),
            labels: BTreeMap::from([("budget_id".into(), "b<1>".into())]),
            fired_at: chrono::Utc::now(),
            reason: "fired".into(),
            escalation_level: 0,
            occurrences: 1,
        }
    }

    #[test]
    fn markup_is_escaped_in_every_channel() {
        let n = notice();
        let e = email(&n);
        assert!(
            e.html.contains("Budget at 100% &amp; &lt;b&gt;"),
            "{}",
            e.html
        );
        assert!(e.html.contains("b&lt;1&gt;"));
        assert!(e.text.contains("Budget at 100% & <b>"));
        assert!(!e.subject.contains('\n'));
        let s = slack(&n);
        // mrkdwn fields are escaped; the header is plain_text, shown literally by Slack.
        assert_eq!(s["text"], "[CRITICAL] Budget at 100% &amp; &lt;b&gt;");
        assert_eq!(
            s["blocks"][0]["text"]["text"],
            "[CRITICAL] Budget at 100% & <b>"
        );
        assert!(s["blocks"][2].to_string().contains("b&lt;1&gt;"));
        let pd = pagerduty("rk", &n);
        assert_eq!(pd["payload"]["severity"], "critical");
        assert_eq!(pd["dedup_key"], n.fingerprint);
        assert_eq!(webhook("d1", &n)["type"], "alert.fired");
    }
}
