//! DescribeUserScramCredentials (key 50): which SCRAM mechanisms each user
//! has a credential for, and its iterations (never the keys).

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashSet};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    if !AuthHelper::new(broker, ctx).authorize_cluster(AclOperation::Describe) {
        return DescribeUserScramCredentialsResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
            .with_error_message(Some(StrBytes::from_static_str(
                "Cluster authorization failed.",
            )));
    }
    let image = broker.metadata.image();
    let mut by_user: BTreeMap<String, Vec<CredentialInfo>> = BTreeMap::new();
    for credential in image.scram_credentials() {
        by_user.entry(credential.name.clone()).or_default().push(
            CredentialInfo::default()
                .with_mechanism(credential.mechanism)
                .with_iterations(credential.iterations),
        );
    }
    let result = |user: &str, infos: Vec<CredentialInfo>| {
        DescribeUserScramCredentialsResult::default()
            .with_user(StrBytes::from_string(user.to_string()))
            .with_credential_infos(infos)
    };
    let results = match request.users.as_deref() {
        // Null or empty: every user with a credential.
        None | Some([]) => by_user
            .into_iter()
            .map(|(user, infos)| result(&user, infos))
            .collect(),
        Some(users) => {
            let mut seen = HashSet::new();
            let duplicated: HashSet<&str> = users
                .iter()
                .map(|u| u.name.as_str())
                .filter(|name| !seen.insert(*name))
                .collect();
            let mut answered = HashSet::new();
            users
                .iter()
                .map(|u| u.name.as_str())
                .filter(|name| answered.insert(*name))
                .map(|name| {
                    if duplicated.contains(name) {
                        return result(name, Vec::new())
                            .with_error_code(ResponseError::DuplicateResource.code())
                            .with_error_message(Some(StrBytes::from_string(format!(
                                "Cannot describe SCRAM credentials for the same user twice in a single request: {name}"
                            ))));
                    }
                    match by_user.get(name) {
                        Some(infos) => result(name, infos.clone()),
                        None => result(name, Vec::new())
                            .with_error_code(ResponseError::ResourceNotFound.code())
                            .with_error_message(Some(StrBytes::from_string(format!(
                                "Attempt to describe a user credential that does not exist: {name}"
                            )))),
                    }
                })
                .collect()
        }
    };
    DescribeUserScramCredentialsResponse::default().with_results(results)
}
