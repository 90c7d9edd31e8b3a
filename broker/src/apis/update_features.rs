//! UpdateFeatures (key 57): changes finalized feature levels, written as
//! FeatureLevelRecords to `__cluster_metadata`, with the rules of Kafka's
//! `FeatureControlManager` (`metadata::features::plan_update`): a level this node
//! does not support, a downgrade without a downgrade type, an upgrade with
//! one, or a metadata.version downgrade across a metadata change is
//! INVALID_UPDATE_VERSION; the first refusal refuses every update.
//!
//! As Kafka's controller: ALTER on the cluster, or
//! CLUSTER_AUTHORIZATION_FAILED. Up to v1 each feature's result repeats
//! the request's outcome; v2 answers with the top-level error only.

use super::auth_helper::AuthHelper;
use super::{RequestContext, controller_error};
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::metadata::features::UpgradeType;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::update_features_response::UpdatableFeatureResult;
use kafka_protocol::messages::{UpdateFeaturesRequest, UpdateFeaturesResponse};
use kafka_protocol::protocol::StrBytes;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &UpdateFeaturesRequest,
) -> UpdateFeaturesResponse {
    let auth = AuthHelper::new(broker, ctx);
    if !auth.authorize_cluster(AclOperation::Alter) {
        return respond(
            ctx,
            request,
            ResponseError::ClusterAuthorizationFailed.code(),
            Some("Cluster authorization failed.".into()),
        );
    }
    let updates: Vec<(String, i16, UpgradeType)> = request
        .feature_updates
        .iter()
        .map(|update| {
            let upgrade_type = if ctx.api_version == 0 {
                if update.allow_downgrade {
                    UpgradeType::SafeDowngrade
                } else {
                    UpgradeType::Upgrade
                }
            } else {
                UpgradeType::from_code(update.upgrade_type)
            };
            (
                update.feature.to_string(),
                update.max_version_level,
                upgrade_type,
            )
        })
        .collect();
    let validate_only = ctx.api_version >= 1 && request.validate_only;
    match broker
        .controller
        .update_features(&broker.metadata, &updates, validate_only)
    {
        Ok(Ok(())) => respond(ctx, request, 0, None),
        Ok(Err(refused)) => {
            let error = if refused.invalid_request {
                ResponseError::InvalidRequest
            } else {
                ResponseError::InvalidUpdateVersion
            };
            respond(ctx, request, error.code(), Some(refused.message))
        }
        Err(e) => {
            let (error, message) = controller_error(&e);
            respond(ctx, request, error.code(), Some(message))
        }
    }
}

/// The response with the request's outcome, repeated for each feature up
/// to v1 (Kafka's `UpdateFeaturesResponse.createWithErrors`).
fn respond(
    ctx: &RequestContext,
    request: &UpdateFeaturesRequest,
    error_code: i16,
    message: Option<String>,
) -> UpdateFeaturesResponse {
    let message = message.map(StrBytes::from_string);
    let mut response = UpdateFeaturesResponse::default()
        .with_error_code(error_code)
        .with_error_message(message.clone());
    if ctx.api_version < 2 {
        response.results = request
            .feature_updates
            .iter()
            .map(|update| {
                UpdatableFeatureResult::default()
                    .with_feature(update.feature.clone())
                    .with_error_code(error_code)
                    .with_error_message(message.clone())
            })
            .collect();
    }
    response
}
