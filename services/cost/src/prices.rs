//! The price book and org overrides: list, set, delete. An override is validated by folding it
//! into the book with the org's others; writes bump `cost.price_override_version`, which
//! usage-ingest checks in every batch.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use keyward_pricing::{Adjustment, ModelPrice, PriceBook, PriceOverride, ReplacementPrices};
use keyward_proto::v1::{self as pb, price_override::Adjustment as PbAdjustment};
use sqlx::PgPool;
use uuid::Uuid;

use crate::analytics::query::{to_ts, ts};
use crate::error::{CostError, Result, invalid, uuid};

/// How far in the past an override may start (clock skew); older would be retroactive.
const SKEW: Duration = Duration::seconds(60);

/// Prices and overrides.
#[derive(Clone)]
pub struct Prices {
    pool: PgPool,
    book: Arc<PriceBook>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    org_id: Uuid,
    provider: String,
    model: String,
    effective_from: DateTime<Utc>,
    adjustment: sqlx::types::Json<Adjustment>,
}

impl Row {
    fn domain(&self) -> PriceOverride {
        PriceOverride {
            provider: self.provider.clone(),
            model: self.model.clone(),
            effective_from: self.effective_from,
            adjustment: self.adjustment.0.clone(),
        }
    }

    fn proto(&self) -> pb::PriceOverride {
        let adjustment = match &self.adjustment.0 {
            Adjustment::DiscountBps(bps) => PbAdjustment::DiscountBps(*bps),
            Adjustment::Replace(r) => PbAdjustment::Replace(pb::ReplacementPrices {
                input: r.input,
                output: r.output,
                cached_input: r.cached_input,
                cache_write_5m: r.cache_write_5m,
                cache_write_1h: r.cache_write_1h,
                reasoning: r.reasoning,
                request_fee: r.request_fee,
            }),
        };
        pb::PriceOverride {
            id: self.id.to_string(),
            org_id: self.org_id.to_string(),
            provider: self.provider.clone(),
            model: self.model.clone(),
            effective_from: Some(to_ts(self.effective_from)),
            adjustment: Some(adjustment),
        }
    }
}

fn price_proto(p: &ModelPrice) -> pb::ModelPrice {
    pb::ModelPrice {
        provider: p.provider.to_owned(),
        model: p.model.clone(),
        effective_from: Some(to_ts(p.effective_from)),
        input: p.rates.input,
        cached_input: p.rates.cached_input,
        cache_write_5m: p.rates.cache_write_5m,
        cache_write_1h: p.rates.cache_write_1h,
        output: p.rates.output,
        reasoning: p.rates.reasoning,
        request_fee: p.request_fee,
        long_context_threshold: p.long_context.map(|l| l.threshold),
        discount_bps: p.discount_bps,
        org_override: p.org_override,
        source: p.source.clone(),
        note: p.note.clone().unwrap_or_default(),
    }
}

impl Prices {
    /// Over `pool`, with the built-in `book`.
    pub fn new(pool: PgPool, book: Arc<PriceBook>) -> Self {
        Self { pool, book }
    }

    /// The list-price book.
    pub fn book(&self) -> &PriceBook {
        &self.book
    }

    async fn rows(&self, org: Uuid) -> Result<Vec<Row>> {
        Ok(sqlx::query_as(
            "SELECT id, org_id, provider, model, effective_from, adjustment \
             FROM cost.price_overrides WHERE org_id = $1 ORDER BY provider, model, effective_from",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The book as an org sees it (with its overrides), or the list book without an org.
    pub async fn list(&self, req: &pb::PricesRequest) -> Result<pb::PricesResponse> {
        let book = if req.org_id.is_empty() {
            (*self.book).clone()
        } else {
            let rows = self.rows(uuid("org_id", &req.org_id)?).await?;
            let overrides: Vec<PriceOverride> = rows.iter().map(Row::domain).collect();
            self.book
                .with_overrides(&overrides)
                .map_err(|e| CostError::Pricing(e.to_string()))?
        };
        let at = match &req.at {
            Some(t) => ts(t)?,
            None => Utc::now(),
        };
        let mut prices: Vec<pb::ModelPrice> = book
            .entries()
            .filter(|p| {
                req.provider
                    .as_deref()
                    .is_none_or(|want| p.provider == want)
            })
            .filter(|p| {
                req.all_versions
                    || book
                        .lookup(p.provider, &p.model, at)
                        .is_some_and(|cur| cur.effective_from == p.effective_from)
            })
            .map(price_proto)
            .collect();
        prices.sort_by(|a, b| (&a.provider, &a.model).cmp(&(&b.provider, &b.model)));
        Ok(pb::PricesResponse { prices })
    }

    pub async fn overrides(&self, org: &str) -> Result<Vec<pb::PriceOverride>> {
        Ok(self
            .rows(uuid("org_id", org)?)
            .await?
            .iter()
            .map(Row::proto)
            .collect())
    }

    /// Adds an override (never retroactive) after checking it folds into the book.
    pub async fn set(&self, o: &pb::PriceOverride) -> Result<pb::PriceOverride> {
        let org = uuid("org_id", &o.org_id)?;
        let effective_from = match &o.effective_from {
            Some(t) => ts(t)?,
            None => Utc::now(),
        };
        if effective_from < Utc::now() - SKEW {
            return Err(invalid(
                "effective_from is in the past: costs are computed once, at ingest, so an \
                 override can only apply from now on",
            ));
        }
        let adjustment = match &o.adjustment {
            Some(PbAdjustment::DiscountBps(bps)) => Adjustment::DiscountBps(*bps),
            Some(PbAdjustment::Replace(r)) => Adjustment::Replace(ReplacementPrices {
                input: r.input,
                output: r.output,
                cached_input: r.cached_input,
                cache_write_5m: r.cache_write_5m,
                cache_write_1h: r.cache_write_1h,
                reasoning: r.reasoning,
                request_fee: r.request_fee,
            }),
            None => return Err(invalid("adjustment (discount_bps or replace) is required")),
        };
        let row = Row {
            id: Uuid::now_v7(),
            org_id: org,
            provider: o.provider.trim().to_ascii_lowercase(),
            model: o.model.trim().to_owned(),
            effective_from,
            adjustment: sqlx::types::Json(adjustment),
        };
        let mut all: Vec<PriceOverride> = self.rows(org).await?.iter().map(Row::domain).collect();
        all.push(row.domain());
        self.book
            .with_overrides(&all)
            .map_err(|e| CostError::Pricing(e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO cost.price_overrides (id, org_id, provider, model, effective_from, adjustment) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(row.id)
        .bind(row.org_id)
        .bind(&row.provider)
        .bind(&row.model)
        .bind(row.effective_from)
        .bind(&row.adjustment)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE cost.price_override_version SET version = version + 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.proto())
    }

    /// Deletes an override: events ingested from now on are priced without it.
    pub async fn delete(&self, r: &pb::PriceOverrideRef) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM cost.price_overrides WHERE id = $1 AND org_id = $2")
            .bind(uuid("id", &r.id)?)
            .bind(uuid("org_id", &r.org_id)?)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE cost.price_override_version SET version = version + 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}
