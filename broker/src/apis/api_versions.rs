//! ApiVersions (key 18): the APIs and versions this broker implements.

use super::{RequestContext, SUPPORTED_APIS, supported};
use crate::metadata::{MetadataImage, features};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::StrBytes;

/// The APIs, and from v3 on the features: those this node supports above
/// level 0 (as Kafka's `BrokerFeatures` lists them) and the finalized
/// levels, with the metadata offset they are as of.
pub fn handle(
    ctx: &RequestContext,
    image: &MetadataImage,
    request: &ApiVersionsRequest,
) -> ApiVersionsResponse {
    let mut response = ApiVersionsResponse::default();
    if ctx.api_version >= 3
        && !(is_valid_client_software(&request.client_software_name)
            && is_valid_client_software(&request.client_software_version))
    {
        response.error_code = ResponseError::InvalidRequest.code();
        return response;
    }
    response.api_keys = SUPPORTED_APIS
        .iter()
        .map(|api| {
            ApiVersion::default()
                .with_api_key(api.key as i16)
                .with_min_version(api.advertised_min_version)
                .with_max_version(api.max_version)
        })
        .collect();
    if ctx.api_version >= 3 {
        response.supported_features = features::SUPPORTED_FEATURES
            .iter()
            .filter(|(_, _, max)| *max > 0)
            .map(|(name, min, max)| {
                SupportedFeatureKey::default()
                    .with_name(StrBytes::from_static_str(name))
                    .with_min_version(*min)
                    .with_max_version(*max)
            })
            .collect();
        response.finalized_features = features::finalized(image)
            .into_iter()
            .map(|(name, level)| {
                FinalizedFeatureKey::default()
                    .with_name(StrBytes::from_string(name))
                    .with_min_version_level(level)
                    .with_max_version_level(level)
            })
            .collect();
        response.finalized_features_epoch = image.offset();
    }
    response
}

/// The answer to an ApiVersions request newer than the broker knows:
/// UNSUPPORTED_VERSION with the versions of ApiVersions itself, to be
/// encoded as version 0 (Kafka's `ApiVersionsRequest.getErrorResponse`).
pub fn unsupported_version_response() -> ApiVersionsResponse {
    let mut response = ApiVersionsResponse::default();
    response.error_code = ResponseError::UnsupportedVersion.code();
    if let Some(api) = supported(ApiKey::ApiVersions) {
        response.api_keys = vec![
            ApiVersion::default()
                .with_api_key(api.key as i16)
                .with_min_version(api.min_version)
                .with_max_version(api.max_version),
        ];
    }
    response
}

/// Kafka's rule for client software names and versions:
/// `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
fn is_valid_client_software(value: &str) -> bool {
    let bytes = value.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_software_names_follow_kafkas_rule() {
        for ok in ["librdkafka", "2.0.2", "apache-kafka-java", "a"] {
            assert!(is_valid_client_software(ok), "{ok}");
        }
        for bad in ["", "-x", "x.", "has space", "ünïcode"] {
            assert!(!is_valid_client_software(bad), "{bad}");
        }
    }
}
