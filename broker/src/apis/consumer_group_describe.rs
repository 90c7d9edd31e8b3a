//! ConsumerGroupDescribe (key 69, v0-1): KIP-848 consumer groups with
//! their epochs, assignor, members, and each member's current and target
//! assignment (Kafka's `GroupMetadataManager.consumerGroupDescribe`). A
//! classic group, or no group, answers GROUP_ID_NOT_FOUND.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::coordinator::assignor::Assignment as TopicAssignment;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, GroupId, TopicName,
};
use kafka_protocol::protocol::StrBytes;

/// `MemberType` of a member using the consumer protocol (v1).
const CONSUMER_MEMBER: i8 = 1;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let auth = AuthHelper::new(broker, ctx);
    let image = broker.metadata.image();
    let assignment = |a: Option<&TopicAssignment>| {
        Assignment::default().with_topic_partitions(
            a.into_iter()
                .flatten()
                .map(|(topic_id, partitions)| {
                    let name = image
                        .topic_by_id(topic_id)
                        .map(|t| t.name.clone())
                        .unwrap_or_default();
                    TopicPartitions::default()
                        .with_topic_id(*topic_id)
                        .with_topic_name(TopicName(StrBytes::from_string(name)))
                        .with_partitions(partitions.iter().copied().collect())
                })
                .collect(),
        )
    };
    let groups = request
        .group_ids
        .iter()
        .map(|group_id| {
            let failed = |error: ResponseError, message: Option<String>| {
                DescribedGroup::default()
                    .with_group_id(group_id.clone())
                    .with_error_code(error.code())
                    .with_error_message(message.map(StrBytes::from_string))
                    .with_authorized_operations(i32::MIN)
            };
            if !auth.authorize(AclOperation::Describe, ResourceType::Group, group_id) {
                return failed(ResponseError::GroupAuthorizationFailed, None);
            }
            let Some(group) = broker.groups.consumer_group(group_id) else {
                return failed(
                    ResponseError::GroupIdNotFound,
                    Some(format!("Group {} not found.", group_id.as_str())),
                );
            };
            let assignor = group
                .assignor(&broker.config.group_consumer_assignors)
                .name();
            DescribedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(group.group_id.clone())))
                .with_group_state(StrBytes::from_static_str(group.state()))
                .with_group_epoch(group.group_epoch)
                .with_assignment_epoch(group.assignment_epoch)
                .with_assignor_name(StrBytes::from_string(assignor.to_string()))
                .with_authorized_operations(if request.include_authorized_operations {
                    auth.authorized_operations(ResourceType::Group, group_id)
                } else {
                    i32::MIN
                })
                .with_members(
                    group
                        .members
                        .values()
                        .map(|m| {
                            let s = &m.subscription;
                            Member::default()
                                .with_member_id(StrBytes::from_string(m.member_id.clone()))
                                .with_instance_id(s.instance_id.clone().map(StrBytes::from_string))
                                .with_rack_id(s.rack_id.clone().map(StrBytes::from_string))
                                .with_member_epoch(m.current.member_epoch)
                                .with_client_id(StrBytes::from_string(s.client_id.clone()))
                                .with_client_host(StrBytes::from_string(s.client_host.clone()))
                                .with_subscribed_topic_names(
                                    s.subscribed_topic_names
                                        .iter()
                                        .map(|n| TopicName(StrBytes::from_string(n.clone())))
                                        .collect(),
                                )
                                .with_subscribed_topic_regex(
                                    s.subscribed_topic_regex.clone().map(StrBytes::from_string),
                                )
                                .with_assignment(assignment(Some(&m.current.assigned)))
                                .with_target_assignment(assignment(group.target.get(&m.member_id)))
                                .with_member_type(CONSUMER_MEMBER)
                        })
                        .collect(),
                )
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}
