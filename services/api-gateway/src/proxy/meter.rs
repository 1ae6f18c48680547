//! The end of a request: settle the budget reservation and the TPM bucket, publish the usage
//! event. Runs exactly once, also when a streaming client goes away (`Drop`).

use std::sync::Arc;
use std::time::Instant;

use keyward_pricing::ModelPrice;
use keyward_providers::{ClientApi, Provider, Usage};

use super::ProxyState;
use super::budget::Reservation;
use super::reply::{self, Outcome};
use super::vkeys::VkeyRecord;

/// One request's accounting.
pub struct Meter {
    pub st: Arc<ProxyState>,
    pub vk: Arc<VkeyRecord>,
    pub api: ClientApi,
    pub request_id: String,
    pub provider: Provider,
    pub model: String,
    pub price: Option<ModelPrice>,
    pub reservation: Option<Reservation>,
    pub tokens_taken: u64,
    pub started: Instant,
    pub provider_key_id: Option<String>,
    pub streamed: bool,
    done: bool,
}

/// How a request ended.
pub struct End {
    pub usage: Option<Usage>,
    pub http_status: u16,
    pub status: &'static str,
    /// Upstream may have generated tokens we could not count (a cut stream): charge the
    /// reservation rather than nothing.
    pub maybe_spent: bool,
}

impl Meter {
    #[expect(
        clippy::too_many_arguments,
        reason = "one plain constructor of a plain record"
    )]
    pub fn new(
        st: Arc<ProxyState>,
        vk: Arc<VkeyRecord>,
        api: ClientApi,
        request_id: String,
        provider: Provider,
        model: String,
        price: Option<ModelPrice>,
        reservation: Reservation,
        tokens_taken: u64,
        started: Instant,
    ) -> Self {
        Self {
            st,
            vk,
            api,
            request_id,
            provider,
            model,
            price,
            reservation: Some(reservation),
            tokens_taken,
            started,
            provider_key_id: None,
            streamed: false,
            done: false,
        }
    }

    /// The cost of `usage` in micro-dollars (0 when the model is unpriced).
    pub fn cost(&self, usage: &Usage) -> i64 {
        self.price.as_ref().map_or(0, |p| {
            keyward_pricing::cost_micros(p, &reply::priced(usage))
        })
    }

    /// Settles and publishes; returns the cost. Later calls do nothing.
    pub fn finish(&mut self, end: &End) -> i64 {
        if self.done {
            return 0;
        }
        self.done = true;
        let cost = match (&end.usage, self.reservation.take()) {
            (Some(u), Some(r)) => {
                let c = self.cost(u);
                r.settle(c);
                c
            }
            (None, Some(r)) if end.maybe_spent => {
                let c = r.amount();
                r.settle(c);
                c
            }
            (None, Some(r)) => {
                r.release();
                0
            }
            (Some(u), None) => self.cost(u),
            (None, None) => 0,
        };
        let usage = end.usage.unwrap_or_default();
        self.st
            .limiter
            .settle(self.vk.id, self.tokens_taken, usage.total());
        let event = reply::usage_event(
            &self.vk,
            self.api,
            &self.request_id,
            &Outcome {
                provider: self.provider,
                model: &self.model,
                provider_key_id: self.provider_key_id.as_deref(),
                usage,
                latency: self.started.elapsed(),
                http_status: end.http_status,
                status: end.status,
                streamed: self.streamed,
            },
        );
        if let Err(e) = self.st.publisher.usage(&event) {
            tracing::error!(error = %e, request_id = %self.request_id, "usage event not queued");
        }
        cost
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if !self.done {
            self.finish(&End {
                usage: None,
                http_status: 499,
                status: "cancelled",
                maybe_spent: self.provider_key_id.is_some(),
            });
        }
    }
}
