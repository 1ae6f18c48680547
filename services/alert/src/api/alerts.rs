//! Alerts (history, ack, resolve, snooze) and the delivery log.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use keyward_proto::v1 as pb;
use serde_json::json;
use uuid::Uuid;

use super::{Api, audit_change, org_id};
use crate::audit::Who;
use crate::error::{AlertError, Result, parse_id, parse_opt_id};
use crate::lifecycle::{self, Action};
use crate::model::{Alert, AlertState, Attempt, Delivery, RuleType, Severity};
use crate::store::{alerts, deliveries};

fn invalid(m: impl Into<String>) -> AlertError {
    AlertError::Invalid(m.into())
}

fn time(t: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
}

fn range(r: Option<&pb::TimeRange>) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    r.map_or((None, None), |r| {
        (time(r.from.as_ref()), time(r.to.as_ref()))
    })
}

fn parse_opt<T>(
    field: &str,
    v: Option<&String>,
    parse: fn(&str) -> Option<T>,
    names: String,
) -> Result<Option<T>> {
    match v.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse(s)
            .map(Some)
            .ok_or_else(|| invalid(format!("{field} must be one of {names}"))),
    }
}

impl Api {
    /// `ListAlerts`: newest first.
    pub async fn list_alerts(&self, r: &pb::ListAlertsRequest) -> Result<(Vec<Alert>, String)> {
        let (from, to) = range(r.range.as_ref());
        let page = r.page.clone().unwrap_or_default();
        let f = alerts::Filter {
            org: org_id(&r.org_id)?,
            state: parse_opt(
                "state",
                r.state.as_ref(),
                AlertState::parse,
                AlertState::names(),
            )?,
            rule_id: parse_opt_id("rule_id", r.rule_id.as_ref())?,
            severity: parse_opt(
                "severity",
                r.severity.as_ref(),
                Severity::parse,
                Severity::names(),
            )?,
            rule_type: parse_opt(
                "rule_type",
                r.rule_type.as_ref(),
                RuleType::parse,
                RuleType::names(),
            )?,
            from,
            to,
            page_size: page.page_size,
            cursor: page.cursor,
        };
        alerts::list(&self.pool, &f).await
    }

    /// `GetAlert`: with its deliveries and their attempts.
    pub async fn get_alert(
        &self,
        r: &pb::AlertRef,
    ) -> Result<(Alert, Vec<(Delivery, Vec<Attempt>)>)> {
        let (org, id) = (org_id(&r.org_id)?, parse_id("id", &r.id)?);
        let alert = alerts::get(&self.pool, org, id)
            .await?
            .ok_or(AlertError::NotFound("alert"))?;
        let f = deliveries::Filter {
            org,
            alert_id: Some(id),
            page_size: 500,
            ..Default::default()
        };
        let (ds, _) = deliveries::list(&self.pool, &f).await?;
        let with = self.with_attempts(ds).await?;
        Ok((alert, with))
    }

    async fn with_attempts(&self, ds: Vec<Delivery>) -> Result<Vec<(Delivery, Vec<Attempt>)>> {
        let ids: Vec<Uuid> = ds.iter().map(|d| d.id).collect();
        let mut log: BTreeMap<Uuid, Vec<Attempt>> = deliveries::attempts(&self.pool, &ids).await?;
        Ok(ds
            .into_iter()
            .map(|d| {
                let a = log.remove(&d.id).unwrap_or_default();
                (d, a)
            })
            .collect())
    }

    /// `Acknowledge`, `Resolve`, `Snooze`.
    pub async fn act(&self, r: &pb::AlertAction, action: Action) -> Result<Alert> {
        let (org, id) = (org_id(&r.org_id)?, parse_id("alert_id", &r.alert_id)?);
        let who = Who {
            actor: r.actor.clone(),
            request_id: r.request_id.clone(),
        };
        let mut tx = self.pool.begin().await?;
        let a = alerts::get_for_update(&mut tx, org, id)
            .await?
            .ok_or(AlertError::NotFound("alert"))?;
        let a = lifecycle::act(&mut tx, a, action, &who, &r.comment).await?;
        tx.commit().await?;
        self.wake.audit.notify_one();
        Ok(a)
    }

    /// The snooze of an `AlertAction`.
    pub fn snooze_of(r: &pb::AlertAction) -> Result<Action> {
        if !(1..=7 * 24 * 60).contains(&r.snooze_minutes) {
            return Err(invalid("snooze_minutes must be 1 to 10080 (7 days)"));
        }
        Ok(Action::Snooze(chrono::Duration::minutes(i64::from(
            r.snooze_minutes,
        ))))
    }

    /// `ListDeliveries`: the delivery log, newest first.
    pub async fn list_deliveries(
        &self,
        r: &pb::ListDeliveriesRequest,
    ) -> Result<(Vec<Delivery>, String)> {
        let (from, to) = range(r.range.as_ref());
        let page = r.page.clone().unwrap_or_default();
        let status = r.status.clone().filter(|s| !s.is_empty());
        if let Some(s) = &status
            && !["pending", "delivered", "failed"].contains(&s.as_str())
        {
            return Err(invalid("status must be one of pending, delivered, failed"));
        }
        let f = deliveries::Filter {
            org: org_id(&r.org_id)?,
            alert_id: parse_opt_id("alert_id", r.alert_id.as_ref())?,
            channel_id: parse_opt_id("channel_id", r.channel_id.as_ref())?,
            status,
            from,
            to,
            page_size: page.page_size,
            cursor: page.cursor,
        };
        deliveries::list(&self.pool, &f).await
    }

    /// `GetDelivery`: with its attempt log.
    pub async fn get_delivery(&self, r: &pb::DeliveryRef) -> Result<(Delivery, Vec<Attempt>)> {
        let (org, id) = (org_id(&r.org_id)?, parse_id("id", &r.id)?);
        let d = deliveries::get(&self.pool, org, id)
            .await?
            .ok_or(AlertError::NotFound("delivery"))?;
        let mut with = self.with_attempts(vec![d]).await?;
        with.pop().ok_or(AlertError::NotFound("delivery"))
    }

    /// `RetryDelivery`: a failed delivery gets a fresh attempt budget.
    pub async fn retry_delivery(&self, r: &pb::DeliveryRef) -> Result<Delivery> {
        let (org, id) = (org_id(&r.org_id)?, parse_id("id", &r.id)?);
        let who = super::who(r.meta.as_ref());
        let mut tx = self.pool.begin().await?;
        let d = deliveries::retry(&mut tx, org, id, self.max_attempts)
            .await?
            .ok_or_else(|| {
                AlertError::Precondition("only a failed delivery can be retried".into())
            })?;
        let after = Some(json!({"status": "pending", "max_attempts": d.max_attempts}));
        audit_change(
            &mut tx,
            &who,
            org,
            "alert_delivery.retried",
            ("alert_delivery", id),
            None,
            after,
        )
        .await?;
        tx.commit().await?;
        self.wake.all();
        Ok(d)
    }
}
