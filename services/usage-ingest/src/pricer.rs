//! Prices events at ingest: the built-in price book, with each org's overrides from the `cost`
//! schema folded in. The override version is checked in every batch's transaction, so an
//! override applies from the very next batch after it is written.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use keyward_pricing::{Adjustment, PriceBook, PriceOverride, cost_micros};
use uuid::Uuid;

use crate::event::EventRow;

/// An override as stored in `cost.price_overrides`.
#[derive(sqlx::FromRow)]
pub struct StoredOverride {
    pub org_id: Uuid,
    pub provider: String,
    pub model: String,
    pub effective_from: DateTime<Utc>,
    pub adjustment: sqlx::types::Json<Adjustment>,
}

/// The books events are priced with.
pub struct Pricer {
    list: Arc<PriceBook>,
    orgs: HashMap<Uuid, Arc<PriceBook>>,
    version: Option<i64>,
}

impl Pricer {
    /// List prices only, until [`Pricer::load`] brings the overrides.
    pub fn new(list: PriceBook) -> Self {
        Self {
            list: Arc::new(list),
            orgs: HashMap::new(),
            version: None,
        }
    }

    /// The override version these books were built from (`None`: never loaded).
    pub fn version(&self) -> Option<i64> {
        self.version
    }

    /// Rebuilds the per-org books from every stored override. An org whose overrides do not
    /// validate (the cost service rejects such writes, so this means a bad manual edit) is
    /// priced at list prices and logged.
    pub fn load(&mut self, version: i64, overrides: Vec<StoredOverride>) {
        let mut by_org: HashMap<Uuid, Vec<PriceOverride>> = HashMap::new();
        for o in overrides {
            by_org.entry(o.org_id).or_default().push(PriceOverride {
                provider: o.provider,
                model: o.model,
                effective_from: o.effective_from,
                adjustment: o.adjustment.0,
            });
        }
        let mut orgs = HashMap::with_capacity(by_org.len());
        for (org, list) in by_org {
            match self.list.with_overrides(&list) {
                Ok(book) => {
                    orgs.insert(org, Arc::new(book));
                }
                Err(e) => {
                    tracing::error!(org = %org, error = %e, "invalid price overrides; using list prices");
                }
            }
        }
        self.orgs = orgs;
        self.version = Some(version);
    }

    /// Sets `cost_micros` and `priced` on every row from the price in force at its `ts`.
    pub fn price(&self, rows: &mut [EventRow]) {
        for row in rows {
            let book = self.orgs.get(&row.org_id).unwrap_or(&self.list);
            match book.lookup(&row.provider, &row.model, row.ts) {
                Some(price) => {
                    row.cost_micros = cost_micros(price, &row.usage());
                    row.priced = true;
                }
                None => {
                    row.cost_micros = 0;
                    row.priced = false;
                }
            }
        }
    }
}
