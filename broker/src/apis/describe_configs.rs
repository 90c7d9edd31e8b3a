//! DescribeConfigs (key 32): the effective configuration of topics, of
//! this broker and of groups, with where each value comes from.

use super::RequestContext;
use super::auth_helper::AuthHelper;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::metadata::records::{GROUP_RESOURCE, TOPIC_RESOURCE};
use crate::metadata::topic_config::{ConfigSource, DynamicBrokerConfigs, resolve_topic_configs};
use crate::metadata::validate_topic_name;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

/// Kafka's `ConfigResource.Type.BROKER`.
const BROKER_RESOURCE: i8 = 4;

pub fn handle(
    broker: &Broker,
    ctx: &RequestContext,
    request: &DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let auth = AuthHelper::new(broker, ctx);
    let mut response = DescribeConfigsResponse::default();
    response.results = request
        .resources
        .iter()
        .map(|resource| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            let wanted = |name: &str| {
                resource
                    .configuration_keys
                    .as_ref()
                    .is_none_or(|keys| keys.iter().any(|k| k.as_str() == name))
            };
            let authorized = auth.authorize_configs(
                AclOperation::DescribeConfigs,
                resource.resource_type,
                resource.resource_name.as_str(),
            );
            let configs = match (authorized, resource.resource_type) {
                (Err(error), _) => Err((error, "Authorization failed.".to_string())),
                (Ok(()), TOPIC_RESOURCE) => {
                    topic_configs(broker, request, resource.resource_name.as_str(), &wanted)
                }
                (Ok(()), BROKER_RESOURCE) => {
                    broker_configs(broker, request, resource.resource_name.as_str(), &wanted)
                }
                (Ok(()), GROUP_RESOURCE) => {
                    group_configs(broker, request, resource.resource_name.as_str(), &wanted)
                }
                (Ok(()), other) => Err((
                    ResponseError::InvalidRequest,
                    format!("Unsupported resource type {other}"),
                )),
            };
            match configs {
                Ok(configs) => result.with_configs(configs),
                Err((error, message)) => result
                    .with_error_code(error.code())
                    .with_error_message(Some(StrBytes::from_string(message))),
            }
        })
        .collect();
    response
}

type Described = Result<Vec<DescribeConfigsResourceResult>, (ResponseError, String)>;

fn topic_configs(
    broker: &Broker,
    request: &DescribeConfigsRequest,
    name: &str,
    wanted: &dyn Fn(&str) -> bool,
) -> Described {
    if validate_topic_name(name).is_err() {
        return Err((
            ResponseError::InvalidTopicException,
            format!("Invalid topic name {name:?}"),
        ));
    }
    let image = broker.metadata.image();
    if image.topic(name).is_none() {
        return Err((
            ResponseError::UnknownTopicOrPartition,
            format!("Topic {name} does not exist"),
        ));
    }
    let overrides = image.configs(TOPIC_RESOURCE, name);
    let dynamic = DynamicBrokerConfigs::of(&image, broker.config.node_id);
    Ok(resolve_topic_configs(&broker.config, dynamic, overrides)
        .into_iter()
        .filter(|c| wanted(c.def.name))
        .map(|c| {
            let mut synonyms = Vec::new();
            if request.include_synonyms {
                if let Some(value) = overrides.and_then(|o| o.get(c.def.name)) {
                    synonyms.push(synonym(c.def.name, value, ConfigSource::TopicConfig));
                }
                if let Some(broker_name) = c.def.broker_synonym {
                    if let Some((value, source)) = dynamic.get(broker_name) {
                        synonyms.push(synonym(broker_name, value, source));
                    }
                    if let Some(value) = broker.config.properties.get(broker_name) {
                        synonyms.push(synonym(
                            broker_name,
                            value,
                            ConfigSource::StaticBrokerConfig,
                        ));
                    }
                    synonyms.push(synonym(
                        broker_name,
                        c.def.default,
                        ConfigSource::DefaultConfig,
                    ));
                }
            }
            DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_static_str(c.def.name))
                .with_value(Some(StrBytes::from_string(c.value)))
                .with_config_source(c.source as i8)
                .with_synonyms(synonyms)
                .with_config_type(c.def.kind as i8)
                .with_documentation(
                    request
                        .include_documentation
                        .then(|| StrBytes::from_static_str(c.def.doc)),
                )
        })
        .collect())
}

fn broker_configs(
    broker: &Broker,
    request: &DescribeConfigsRequest,
    name: &str,
    wanted: &dyn Fn(&str) -> bool,
) -> Described {
    if !name.is_empty() && name != broker.config.node_id.to_string() {
        return Err((
            ResponseError::InvalidRequest,
            format!(
                "Unexpected broker id, expected {} but received {name}",
                broker.config.node_id
            ),
        ));
    }
    let image = broker.metadata.image();
    let mut dynamic = DynamicBrokerConfigs::of(&image, broker.config.node_id);
    let effective = broker
        .config
        .with_dynamic(dynamic.cluster_default, dynamic.own)
        .unwrap_or_else(|_| broker.config.clone());
    // The cluster-wide default resource ("") holds only the dynamic
    // defaults, as in Kafka.
    let default_only = name.is_empty();
    if default_only {
        dynamic.own = None;
    }
    let described = effective.described();
    // Dynamic keys this broker does not read (Kafka's, without effect
    // here) are described as set, as Kafka describes them.
    let unread: Vec<DescribeConfigsResourceResult> = dynamic
        .cluster_default
        .into_iter()
        .chain(dynamic.own)
        .flat_map(|overrides| overrides.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|name| wanted(name) && !described.iter().any(|d| d.0 == name.as_str()))
        .filter_map(|name| {
            use crate::config::keys::ValueType;
            use crate::config::listeners;
            let (value_type, doc) = if listeners::is_reconfigurable_listener_key(name) {
                let value_type = if listeners::is_secret_ssl_key(name) {
                    ValueType::Password
                } else {
                    ValueType::String
                };
                (value_type, "A listener's keystore or truststore setting.")
            } else {
                let key = crate::config::keys::find(name)?;
                (key.value_type?, key.doc)
            };
            let (value, source) = dynamic.get(name)?;
            let sensitive = value_type == ValueType::Password;
            let value = (!sensitive).then(|| StrBytes::from_string(value.clone()));
            let synonyms = if request.include_synonyms {
                vec![
                    DescribeConfigsSynonym::default()
                        .with_name(StrBytes::from_string(name.clone()))
                        .with_value(value.clone())
                        .with_source(source as i8),
                ]
            } else {
                vec![]
            };
            Some(
                DescribeConfigsResourceResult::default()
                    .with_name(StrBytes::from_string(name.clone()))
                    .with_value(value)
                    .with_read_only(false)
                    .with_is_sensitive(sensitive)
                    .with_config_source(source as i8)
                    .with_synonyms(synonyms)
                    .with_config_type(value_type as i8)
                    .with_documentation(
                        request
                            .include_documentation
                            .then(|| StrBytes::from_static_str(doc)),
                    ),
            )
        })
        .collect();
    Ok(described
        .into_iter()
        .filter(|(name, ..)| wanted(name))
        .filter_map(|(name, value, _, kind, doc)| {
            let source = match dynamic.get(name) {
                Some((_, source)) => source,
                None if default_only => return None,
                None if broker.config.properties.contains_key(name)
                    || (name == "log.dirs" && broker.config.properties.contains_key("log.dir")) =>
                {
                    ConfigSource::StaticBrokerConfig
                }
                None => ConfigSource::DefaultConfig,
            };
            let synonyms = if request.include_synonyms {
                vec![synonym(name, &value, source)]
            } else {
                vec![]
            };
            let result = DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_static_str(name))
                .with_value(Some(StrBytes::from_string(value)))
                .with_read_only(!crate::config::is_dynamic_key(name))
                .with_config_source(source as i8)
                .with_synonyms(synonyms)
                .with_config_type(kind)
                .with_documentation(
                    request
                        .include_documentation
                        .then(|| StrBytes::from_static_str(doc)),
                );
            Some(result)
        })
        .chain(unread)
        .collect())
}

/// Every group config key (Kafka's `ConfigHelper.createGroupConfigEntry`):
/// the group's own value (GROUP_CONFIG), else the broker's setting it
/// falls back to or the key's default (DEFAULT_CONFIG). The group need not
/// exist.
fn group_configs(
    broker: &Broker,
    request: &DescribeConfigsRequest,
    name: &str,
    wanted: &dyn Fn(&str) -> bool,
) -> Described {
    if name.is_empty() {
        return Err((
            ResponseError::InvalidRequest,
            "Group name must not be empty".to_string(),
        ));
    }
    let image = broker.metadata.image();
    let overrides = image.configs(GROUP_RESOURCE, name);
    Ok(crate::config::group::describe(overrides, &broker.config)
        .into_iter()
        .filter(|c| wanted(c.def.name))
        .map(|c| {
            let source = if c.set_by_group {
                ConfigSource::GroupConfig
            } else {
                ConfigSource::DefaultConfig
            };
            let synonyms = if request.include_synonyms {
                vec![synonym(c.def.name, &c.value, source)]
            } else {
                vec![]
            };
            DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_static_str(c.def.name))
                .with_value(Some(StrBytes::from_string(c.value)))
                .with_read_only(false)
                .with_is_sensitive(false)
                .with_config_source(source as i8)
                .with_synonyms(synonyms)
                .with_config_type(c.def.kind as i8)
                .with_documentation(
                    request
                        .include_documentation
                        .then(|| StrBytes::from_static_str(c.def.doc)),
                )
        })
        .collect())
}

fn synonym(name: &str, value: &str, source: ConfigSource) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(StrBytes::from_string(name.to_string()))
        .with_value(Some(StrBytes::from_string(value.to_string())))
        .with_source(source as i8)
}
