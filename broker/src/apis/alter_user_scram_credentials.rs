//! AlterUserScramCredentials (key 51): adds, replaces and deletes users'
//! SCRAM credentials, kept as `UserScramCredentialRecord`s in the metadata
//! log. The client sends the salted password; the broker keeps the stored
//! and server keys derived from it (Kafka's `ScramControlManager`).

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::metadata::records::{
    MetadataRecord, RemoveUserScramCredentialRecord, UserScramCredentialRecord,
};
use crate::sasl::scram::{MAX_ITERATIONS, MIN_ITERATIONS, ScramMechanism};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap};

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let authorized = AuthHelper::new(broker, ctx).authorize_cluster(AclOperation::Alter);
    // One result per user; the first error of a user's alterations wins.
    let mut results: BTreeMap<String, Option<(ResponseError, String)>> = BTreeMap::new();
    let mut times: HashMap<String, usize> = HashMap::new();
    for user in request
        .deletions
        .iter()
        .map(|d| d.name.to_string())
        .chain(request.upsertions.iter().map(|u| u.name.to_string()))
    {
        *times.entry(user.clone()).or_default() += 1;
        results.entry(user).or_insert(None);
    }
    let fail = |results: &mut BTreeMap<String, Option<(ResponseError, String)>>,
                user: &str,
                error: ResponseError,
                message: &str| {
        if let Some(slot) = results.get_mut(user)
            && slot.is_none()
        {
            *slot = Some((error, message.to_string()));
        }
    };
    for (user, n) in &times {
        if !authorized {
            fail(
                &mut results,
                user,
                ResponseError::ClusterAuthorizationFailed,
                "Cluster authorization failed.",
            );
        } else if user.is_empty() {
            fail(
                &mut results,
                user,
                ResponseError::UnacceptableCredential,
                "Username must not be empty",
            );
        } else if *n > 1 {
            fail(
                &mut results,
                user,
                ResponseError::DuplicateResource,
                "A user credential cannot be altered twice in the same request",
            );
        }
    }
    let answer = broker
        .controller
        .plan_and_commit(&broker.metadata, |image| {
            let mut records = Vec::new();
            for deletion in &request.deletions {
                let user = deletion.name.as_str();
                if ScramMechanism::from_type(deletion.mechanism).is_none() {
                    fail(
                        &mut results,
                        user,
                        ResponseError::UnsupportedSaslMechanism,
                        "Unknown SCRAM mechanism",
                    );
                } else if image.scram_credential(user, deletion.mechanism).is_none() {
                    fail(
                        &mut results,
                        user,
                        ResponseError::ResourceNotFound,
                        "Attempt to delete a user credential that does not exist",
                    );
                } else if results.get(user).is_some_and(Option::is_none) {
                    records.push((
                        user.to_string(),
                        MetadataRecord::RemoveUserScramCredential(
                            RemoveUserScramCredentialRecord {
                                name: user.to_string(),
                                mechanism: deletion.mechanism,
                            },
                        ),
                    ));
                }
            }
            for upsertion in &request.upsertions {
                let user = upsertion.name.as_str();
                let Some(mechanism) = ScramMechanism::from_type(upsertion.mechanism) else {
                    fail(
                        &mut results,
                        user,
                        ResponseError::UnsupportedSaslMechanism,
                        "Unknown SCRAM mechanism",
                    );
                    continue;
                };
                if upsertion.iterations < MIN_ITERATIONS {
                    fail(
                        &mut results,
                        user,
                        ResponseError::UnacceptableCredential,
                        "Too few iterations",
                    );
                } else if upsertion.iterations > MAX_ITERATIONS {
                    fail(
                        &mut results,
                        user,
                        ResponseError::UnacceptableCredential,
                        "Too many iterations",
                    );
                } else if upsertion.salt.is_empty() || upsertion.salted_password.is_empty() {
                    fail(
                        &mut results,
                        user,
                        ResponseError::UnacceptableCredential,
                        "Salt and salted password must not be empty",
                    );
                } else if results.get(user).is_some_and(Option::is_none) {
                    let credential = mechanism.credential(
                        &upsertion.salt,
                        &upsertion.salted_password,
                        upsertion.iterations,
                    );
                    records.push((
                        user.to_string(),
                        MetadataRecord::UserScramCredential(UserScramCredentialRecord {
                            name: user.to_string(),
                            mechanism: upsertion.mechanism,
                            salt: credential.salt,
                            stored_key: credential.stored_key,
                            server_key: credential.server_key,
                            iterations: credential.iterations,
                        }),
                    ));
                }
            }
            // A user with an error gets none of its alterations.
            let records: Vec<MetadataRecord> = records
                .into_iter()
                .filter(|(user, _)| results.get(user).is_some_and(Option::is_none))
                .map(|(_, r)| r)
                .collect();
            (records, ())
        });
    if let Err(e) = answer {
        let (error, message) = super::controller_error(&e);
        for slot in results.values_mut().filter(|s| s.is_none()) {
            *slot = Some((error, message.clone()));
        }
    }
    AlterUserScramCredentialsResponse::default().with_results(
        results
            .into_iter()
            .map(|(user, outcome)| {
                let result = AlterUserScramCredentialsResult::default()
                    .with_user(StrBytes::from_string(user));
                match outcome {
                    None => result,
                    Some((error, message)) => result
                        .with_error_code(error.code())
                        .with_error_message(Some(StrBytes::from_string(message))),
                }
            })
            .collect(),
    )
}
