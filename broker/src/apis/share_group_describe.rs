//! ShareGroupDescribe (key 77, v1): share groups with their epochs, the
//! assignor ("simple"), members and each member's assignment (KIP-932,
//! Kafka's `handleShareGroupDescribe` and `GroupMetadataManager.
//! shareGroupDescribe`). A group needs DESCRIBE (GROUP_AUTHORIZATION_FAILED
//! otherwise, answered first); a classic or consumer group, or none, is
//! GROUP_ID_NOT_FOUND with Kafka's message. With an authorizer, a group one
//! of whose members is assigned a topic the request may not DESCRIBE is
//! TOPIC_AUTHORIZATION_FAILED, without its members.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    GroupId, ShareGroupDescribeRequest, ShareGroupDescribeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeSet;

/// Kafka's `SimpleAssignor`, the share groups' only assignor.
pub const SHARE_ASSIGNOR: &str = "simple";

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ShareGroupDescribeRequest,
) -> ShareGroupDescribeResponse {
    let failed = |group_id: &GroupId, error: ResponseError, message: Option<String>| {
        DescribedGroup::default()
            .with_group_id(group_id.clone())
            .with_error_code(error.code())
            .with_error_message(message.map(StrBytes::from_string))
    };
    if !broker.share_groups_enabled() {
        return ShareGroupDescribeResponse::default().with_groups(
            request
                .group_ids
                .iter()
                .map(|id| failed(id, ResponseError::UnsupportedVersion, None))
                .collect(),
        );
    }
    let auth = AuthHelper::new(broker, ctx);
    let image = broker.metadata.image();
    let (authorized, denied): (Vec<&GroupId>, Vec<&GroupId>) = request
        .group_ids
        .iter()
        .partition(|id| auth.authorize(AclOperation::Describe, ResourceType::Group, id));
    let mut groups: Vec<DescribedGroup> = denied
        .into_iter()
        .map(|id| failed(id, ResponseError::GroupAuthorizationFailed, None))
        .collect();
    // An empty id is answered before the others, with an empty id, as
    // Kafka's GroupCoordinatorService answers it.
    let (invalid, valid): (Vec<&GroupId>, Vec<&GroupId>) =
        authorized.into_iter().partition(|id| id.is_empty());
    groups.extend(invalid.into_iter().map(|id| {
        failed(id, ResponseError::InvalidGroupId, None).with_group_id(GroupId::default())
    }));
    for group_id in valid {
        let group = match broker.groups.share_group_or_not_found(group_id) {
            Ok(group) => group,
            Err((error, message)) => {
                groups.push(failed(group_id, error, Some(message)));
                continue;
            }
        };
        let members = group
            .members()
            .map(|m| {
                let topics = m
                    .assignment
                    .iter()
                    .filter_map(|(topic_id, partitions)| {
                        let topic = image.topic_by_id(topic_id)?;
                        Some(
                            TopicPartitions::default()
                                .with_topic_id(*topic_id)
                                .with_topic_name(TopicName(StrBytes::from_string(
                                    topic.name.clone(),
                                )))
                                .with_partitions(partitions.clone()),
                        )
                    })
                    .collect();
                Member::default()
                    .with_member_id(StrBytes::from_string(m.member_id.clone()))
                    .with_rack_id(m.rack_id.clone().map(StrBytes::from_string))
                    .with_member_epoch(m.member_epoch)
                    .with_client_id(StrBytes::from_string(m.client_id.clone()))
                    .with_client_host(StrBytes::from_string(m.client_host.clone()))
                    .with_subscribed_topic_names(
                        m.subscribed_topic_names
                            .iter()
                            .map(|n| TopicName(StrBytes::from_string(n.clone())))
                            .collect(),
                    )
                    .with_assignment(Assignment::default().with_topic_partitions(topics))
            })
            .collect();
        groups.push(
            DescribedGroup::default()
                .with_group_id(group_id.clone())
                .with_group_state(StrBytes::from_static_str(group.state()))
                .with_group_epoch(group.group_epoch)
                .with_assignment_epoch(group.assignment_epoch)
                .with_assignor_name(StrBytes::from_static_str(SHARE_ASSIGNOR))
                .with_members(members)
                .with_authorized_operations(if request.include_authorized_operations {
                    auth.authorized_operations(ResourceType::Group, group_id)
                } else {
                    i32::MIN
                }),
        );
    }
    if auth.enabled() {
        // Clients may not see the topics they may not describe.
        let topics: BTreeSet<&str> = groups
            .iter()
            .flat_map(|g| &g.members)
            .flat_map(|m| &m.assignment.topic_partitions)
            .map(|t| t.topic_name.as_str())
            .collect();
        let allowed = auth.filter(AclOperation::Describe, ResourceType::Topic, topics);
        let hidden: Vec<bool> = groups
            .iter()
            .map(|g| {
                g.members
                    .iter()
                    .flat_map(|m| &m.assignment.topic_partitions)
                    .any(|t| !allowed.contains(t.topic_name.as_str()))
            })
            .collect();
        for (group, hide) in groups.iter_mut().zip(hidden) {
            if hide {
                *group = failed(
                    &group.group_id,
                    ResponseError::TopicAuthorizationFailed,
                    Some(
                        "The group has described topic(s) that the client is not authorized to describe."
                            .into(),
                    ),
                );
            }
        }
    }
    ShareGroupDescribeResponse::default().with_groups(groups)
}
