//! The tonic adapter: request in, [`Api`] call, response out. No logic lives here.

use std::sync::Arc;

use keyward_proto::v1::alert_service_server::AlertService;
use keyward_proto::v1::{self as pb};
use tonic::{Request, Response, Status};

use crate::api::Api;
use crate::convert;
use crate::error::AlertError;
use crate::lifecycle::Action;

/// gRPC front of the alert service.
pub struct AlertGrpc {
    api: Arc<Api>,
}

impl AlertGrpc {
    /// Serves `api`.
    pub fn new(api: Arc<Api>) -> Self {
        Self { api }
    }
}

fn status(e: AlertError) -> Status {
    if matches!(e, AlertError::Db(_) | AlertError::Internal(_)) {
        tracing::warn!(error = %e, "alert request failed");
    }
    e.status()
}

type Res<T> = Result<Response<T>, Status>;

fn ok<T>(v: T) -> Res<T> {
    Ok(Response::new(v))
}

fn channel_response(
    c: &crate::model::Channel,
    generated: Option<keyward_crypto::SecretString>,
) -> pb::ChannelResponse {
    pb::ChannelResponse {
        channel: Some(convert::channel(c)),
        generated_signing_secret: generated.map(|s| pb::SecretMaterial {
            api_key: s.expose().to_string(),
            ..Default::default()
        }),
    }
}

#[tonic::async_trait]
impl AlertService for AlertGrpc {
    async fn create_rule(&self, req: Request<pb::RuleRequest>) -> Res<pb::AlertRule> {
        let r = self.api.create_rule(req.get_ref()).await.map_err(status)?;
        ok(convert::rule(&r))
    }

    async fn update_rule(&self, req: Request<pb::RuleRequest>) -> Res<pb::AlertRule> {
        let r = self.api.update_rule(req.get_ref()).await.map_err(status)?;
        ok(convert::rule(&r))
    }

    async fn get_rule(&self, req: Request<pb::RuleRef>) -> Res<pb::AlertRule> {
        let r = self.api.get_rule(req.get_ref()).await.map_err(status)?;
        ok(convert::rule(&r))
    }

    async fn delete_rule(&self, req: Request<pb::RuleRef>) -> Res<pb::Empty> {
        self.api.delete_rule(req.get_ref()).await.map_err(status)?;
        ok(pb::Empty {})
    }

    async fn list_rules(&self, req: Request<pb::OrgRef>) -> Res<pb::ListRulesResponse> {
        let rules = self
            .api
            .list_rules(&req.get_ref().org_id)
            .await
            .map_err(status)?;
        ok(pb::ListRulesResponse {
            rules: rules.iter().map(convert::rule).collect(),
        })
    }

    async fn create_channel(
        &self,
        req: Request<pb::CreateChannelRequest>,
    ) -> Res<pb::ChannelResponse> {
        let (c, generated) = self
            .api
            .create_channel(req.get_ref())
            .await
            .map_err(status)?;
        ok(channel_response(&c, generated))
    }

    async fn update_channel(
        &self,
        req: Request<pb::UpdateChannelRequest>,
    ) -> Res<pb::ChannelResponse> {
        let (c, generated) = self
            .api
            .update_channel(req.get_ref())
            .await
            .map_err(status)?;
        ok(channel_response(&c, generated))
    }

    async fn get_channel(&self, req: Request<pb::ChannelRef>) -> Res<pb::AlertChannel> {
        let c = self.api.get_channel(req.get_ref()).await.map_err(status)?;
        ok(convert::channel(&c))
    }

    async fn delete_channel(&self, req: Request<pb::ChannelRef>) -> Res<pb::Empty> {
        self.api
            .delete_channel(req.get_ref())
            .await
            .map_err(status)?;
        ok(pb::Empty {})
    }

    async fn list_channels(&self, req: Request<pb::OrgRef>) -> Res<pb::ListChannelsResponse> {
        let cs = self
            .api
            .list_channels(&req.get_ref().org_id)
            .await
            .map_err(status)?;
        ok(pb::ListChannelsResponse {
            channels: cs.iter().map(convert::channel).collect(),
        })
    }

    async fn test_channel(&self, req: Request<pb::ChannelRef>) -> Res<pb::TestChannelResponse> {
        let (delivered, detail, d) = self.api.test_channel(req.get_ref()).await.map_err(status)?;
        ok(pb::TestChannelResponse {
            delivered,
            detail,
            delivery: Some(convert::delivery(&d, &[])),
        })
    }

    async fn list_alerts(
        &self,
        req: Request<pb::ListAlertsRequest>,
    ) -> Res<pb::ListAlertsResponse> {
        let (alerts, next) = self.api.list_alerts(req.get_ref()).await.map_err(status)?;
        ok(pb::ListAlertsResponse {
            alerts: alerts.iter().map(convert::alert).collect(),
            page: Some(pb::PageResponse { next_cursor: next }),
        })
    }

    async fn get_alert(&self, req: Request<pb::AlertRef>) -> Res<pb::AlertDetail> {
        let (a, ds) = self.api.get_alert(req.get_ref()).await.map_err(status)?;
        ok(pb::AlertDetail {
            alert: Some(convert::alert(&a)),
            deliveries: ds.iter().map(|(d, at)| convert::delivery(d, at)).collect(),
        })
    }

    async fn acknowledge(&self, req: Request<pb::AlertAction>) -> Res<pb::Alert> {
        let a = self
            .api
            .act(req.get_ref(), Action::Acknowledge)
            .await
            .map_err(status)?;
        ok(convert::alert(&a))
    }

    async fn resolve(&self, req: Request<pb::AlertAction>) -> Res<pb::Alert> {
        let a = self
            .api
            .act(req.get_ref(), Action::Resolve)
            .await
            .map_err(status)?;
        ok(convert::alert(&a))
    }

    async fn snooze(&self, req: Request<pb::AlertAction>) -> Res<pb::Alert> {
        let action = Api::snooze_of(req.get_ref()).map_err(status)?;
        let a = self.api.act(req.get_ref(), action).await.map_err(status)?;
        ok(convert::alert(&a))
    }

    async fn list_deliveries(
        &self,
        req: Request<pb::ListDeliveriesRequest>,
    ) -> Res<pb::ListDeliveriesResponse> {
        let (ds, next) = self
            .api
            .list_deliveries(req.get_ref())
            .await
            .map_err(status)?;
        ok(pb::ListDeliveriesResponse {
            deliveries: ds.iter().map(|d| convert::delivery(d, &[])).collect(),
            page: Some(pb::PageResponse { next_cursor: next }),
        })
    }

    async fn get_delivery(&self, req: Request<pb::DeliveryRef>) -> Res<pb::Delivery> {
        let (d, attempts) = self.api.get_delivery(req.get_ref()).await.map_err(status)?;
        ok(convert::delivery(&d, &attempts))
    }

    async fn retry_delivery(&self, req: Request<pb::DeliveryRef>) -> Res<pb::Delivery> {
        let d = self
            .api
            .retry_delivery(req.get_ref())
            .await
            .map_err(status)?;
        ok(convert::delivery(&d, &[]))
    }
}
