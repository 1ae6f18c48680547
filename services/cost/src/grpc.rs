//! The tonic adapter of `CostService`: parsing and mapping only; the work is in `analytics`,
//! `budgets` and `prices`.

use std::pin::Pin;

use futures::Stream;
use keyward_proto::v1::cost_service_server::CostService;
use keyward_proto::v1::{self as pb};
use tonic::{Request, Response, Status};

use crate::analytics::Analytics;
use crate::budgets::Budgets;
use crate::error::CostError;
use crate::prices::Prices;

/// gRPC front of the cost service.
pub struct CostGrpc {
    pub analytics: Analytics,
    pub budgets: Budgets,
    pub prices: Prices,
}

fn st(e: CostError) -> Status {
    e.status()
}

type Res<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl CostService for CostGrpc {
    async fn breakdown(&self, req: Request<pb::BreakdownRequest>) -> Res<pb::BreakdownResponse> {
        Ok(Response::new(
            self.analytics.breakdown(req.get_ref()).await.map_err(st)?,
        ))
    }

    async fn time_series(&self, req: Request<pb::BreakdownRequest>) -> Res<pb::BreakdownResponse> {
        Ok(Response::new(
            self.analytics
                .time_series(req.get_ref())
                .await
                .map_err(st)?,
        ))
    }

    async fn top(&self, req: Request<pb::TopRequest>) -> Res<pb::BreakdownResponse> {
        Ok(Response::new(
            self.analytics.top(req.get_ref()).await.map_err(st)?,
        ))
    }

    async fn usage_events(
        &self,
        req: Request<pb::UsageEventsRequest>,
    ) -> Res<pb::UsageEventsResponse> {
        let out = crate::analytics::events::events(self.analytics.pool(), req.get_ref())
            .await
            .map_err(st)?;
        Ok(Response::new(out))
    }

    async fn forecast(&self, req: Request<pb::ForecastRequest>) -> Res<pb::ForecastResponse> {
        Ok(Response::new(
            self.analytics.forecast(req.get_ref()).await.map_err(st)?,
        ))
    }

    async fn recommendations(
        &self,
        req: Request<pb::RecommendationsRequest>,
    ) -> Res<pb::RecommendationsResponse> {
        let out = self
            .analytics
            .recommendations(self.prices.book(), req.get_ref())
            .await
            .map_err(st)?;
        Ok(Response::new(out))
    }

    type ChargebackStream = Pin<Box<dyn Stream<Item = Result<pb::ExportChunkCsv, Status>> + Send>>;

    async fn chargeback(&self, req: Request<pb::ChargebackRequest>) -> Res<Self::ChargebackStream> {
        let chunks = self.analytics.chargeback(req.get_ref()).await.map_err(st)?;
        let stream = futures::stream::iter(
            chunks
                .into_iter()
                .map(|data| Ok(pb::ExportChunkCsv { data })),
        );
        Ok(Response::new(Box::pin(stream)))
    }

    async fn create_budget(&self, req: Request<pb::Budget>) -> Res<pb::Budget> {
        Ok(Response::new(
            self.budgets.create(req.get_ref()).await.map_err(st)?,
        ))
    }

    async fn update_budget(&self, req: Request<pb::Budget>) -> Res<pb::Budget> {
        Ok(Response::new(
            self.budgets.update(req.get_ref()).await.map_err(st)?,
        ))
    }

    async fn get_budget(&self, req: Request<pb::BudgetRef>) -> Res<pb::Budget> {
        Ok(Response::new(
            self.budgets.get(req.get_ref()).await.map_err(st)?,
        ))
    }

    async fn list_budgets(
        &self,
        req: Request<pb::ListBudgetsRequest>,
    ) -> Res<pb::ListBudgetsResponse> {
        let budgets = self.budgets.list(&req.get_ref().org_id).await.map_err(st)?;
        Ok(Response::new(pb::ListBudgetsResponse { budgets }))
    }

    async fn delete_budget(&self, req: Request<pb::BudgetRef>) -> Res<pb::DeleteBudgetResponse> {
        let deleted = self.budgets.delete(req.get_ref()).await.map_err(st)?;
        Ok(Response::new(pb::DeleteBudgetResponse { deleted }))
    }

    async fn active_budgets(
        &self,
        req: Request<pb::ActiveBudgetsRequest>,
    ) -> Res<pb::ListBudgetsResponse> {
        let budgets = self
            .budgets
            .active(req.get_ref().scope.as_ref())
            .await
            .map_err(st)?;
        Ok(Response::new(pb::ListBudgetsResponse { budgets }))
    }

    async fn report_reservations(
        &self,
        req: Request<pb::ReportReservationsRequest>,
    ) -> Res<pb::ListBudgetsResponse> {
        let budgets = self.budgets.report(req.get_ref()).await.map_err(st)?;
        Ok(Response::new(pb::ListBudgetsResponse { budgets }))
    }

    async fn list_prices(&self, req: Request<pb::PricesRequest>) -> Res<pb::PricesResponse> {
        Ok(Response::new(
            self.prices.list(req.get_ref()).await.map_err(st)?,
        ))
    }

    async fn list_price_overrides(
        &self,
        req: Request<pb::ListPriceOverridesRequest>,
    ) -> Res<pb::ListPriceOverridesResponse> {
        let overrides = self
            .prices
            .overrides(&req.get_ref().org_id)
            .await
            .map_err(st)?;
        Ok(Response::new(pb::ListPriceOverridesResponse { overrides }))
    }

    async fn set_price_override(&self, req: Request<pb::PriceOverride>) -> Res<pb::PriceOverride> {
        Ok(Response::new(
            self.prices.set(req.get_ref()).await.map_err(st)?,
        ))
    }

    async fn delete_price_override(
        &self,
        req: Request<pb::PriceOverrideRef>,
    ) -> Res<pb::DeleteBudgetResponse> {
        let deleted = self.prices.delete(req.get_ref()).await.map_err(st)?;
        Ok(Response::new(pb::DeleteBudgetResponse { deleted }))
    }
}
