//! ApiVersions (key 18): the APIs and versions this broker implements.

use super::{RequestContext, SUPPORTED_APIS, supported};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

pub fn handle(ctx: &RequestContext, request: &ApiVersionsRequest) -> ApiVersionsResponse {
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
