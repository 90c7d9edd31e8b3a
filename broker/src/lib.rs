//! A single-node, Kafka-compatible broker.
//!
//! * [`server`] and [`connection`] accept clients and frame requests;
//! * [`apis`] has one module per Kafka API;
//! * [`metadata`] is the catalog loaded from the KRaft metadata log;
//! * [`storage`] holds partition logs in Kafka's on-disk format;
//! * [`authorizer`] decides requests against ACLs as Kafka's StandardAuthorizer;
//! * [`metrics`] counts requests and traffic for Prometheus.

pub mod alloc;
pub mod apis;
pub mod authorizer;
pub mod broker;
pub mod byte_utils;
pub mod config;
pub mod connection;
pub mod coordinator;
pub mod fetch_session;
pub mod internal_topics;
pub mod listener_config;
pub mod metadata;
pub mod metrics;
pub mod metrics_endpoint;
pub mod producer_id_manager;
pub mod replica_manager;
pub mod response_buffer;
pub mod sasl;
pub mod server;
pub mod storage;
pub mod storage_io;
pub mod tls;
