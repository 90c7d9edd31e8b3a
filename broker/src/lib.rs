//! A single-node, Kafka-compatible broker.
//!
//! The modules stand in layers, and the arrows point one way: a module
//! imports only the modules its line below names, all of them in lower
//! layers, so that no two modules import each other, directly or through
//! others. `tests/module_layers.rs` reads this map and every `crate::` path
//! outside `#[cfg(test)]`, and fails on an import the map does not allow.
//!
//! ## Layer 0: configuration and utilities
//! * [`config`]: `server.properties` as plain values (listeners, TLS and
//!   SASL settings, log and cleaner settings, the key reference). May
//!   import: nothing.
//! * [`alloc`]: the global allocator. May import: nothing.
//! * [`byte_utils`]: readers of the stored byte formats. May import:
//!   nothing.
//! * [`response_buffer`]: where encoded responses gather. May import:
//!   nothing.
//! * [`storage_io`]: where disk work runs, off the async threads. May
//!   import: nothing.
//! * [`metrics`]: the Prometheus counters. May import: nothing.
//!
//! ## Layer 1: storage and security primitives
//! * [`storage`]: partition logs in Kafka's on-disk format (Kafka's
//!   `UnifiedLog`, `LogManager`, `LogCleaner`). May import: `config`,
//!   `byte_utils`, `response_buffer`, `storage_io`.
//! * [`authorizer`]: ACL decisions as Kafka's `StandardAuthorizer`. May
//!   import: `config`.
//! * [`sasl`]: the SASL mechanisms, PLAIN and SCRAM. May import: `config`.
//! * [`tls`]: TLS acceptors and certificate principals. May import:
//!   `config`.
//! * [`fetch_session`]: incremental fetch sessions (KIP-227). May import:
//!   nothing.
//!
//! ## Layer 2: the metadata catalog
//! * [`metadata`]: the KRaft metadata log, its image and the controller
//!   that writes it. May import: `config`, `byte_utils`, `storage`,
//!   `storage_io`, `authorizer`.
//!
//! ## Layer 3: partitions and producer ids
//! * [`replica_manager`]: the partitions this broker leads, between the
//!   APIs and storage. May import: `config`, `storage`, `storage_io`,
//!   `metadata`.
//! * [`producer_id_manager`]: producer id blocks from the metadata log. May
//!   import: `metadata`.
//!
//! ## Layer 4: the internal topics
//! * [`internal_topics`]: the one interface through which coordinators
//!   reach `__consumer_offsets`, `__transaction_state` and
//!   `__share_group_state`. May import:
//!   `storage`, `metadata`, `replica_manager`.
//!
//! ## Layer 5: coordinators
//! * [`coordinator`]: the group coordinator (classic, KIP-848 and share
//!   groups), the share coordinator and share partitions (KIP-932), and the
//!   transaction coordinator. May import: `config`, `byte_utils`,
//!   `storage`, `storage_io`, `metadata`, `internal_topics`.
//!
//! ## Layer 6: the broker's shared state
//! * [`broker`]: configuration, metadata, logs and coordinators together,
//!   the listeners' TLS acceptors, and the operations that span them. May
//!   import: `config`, `metrics`, `storage`, `authorizer`, `tls`,
//!   `fetch_session`, `metadata`, `replica_manager`, `producer_id_manager`,
//!   `internal_topics`, `coordinator`.
//!
//! ## Layer 7: request handlers and framing
//! * [`apis`]: one module per Kafka API, and the request dispatch. May
//!   import: `config`, `metrics`, `response_buffer`, `storage_io`,
//!   `storage`, `authorizer`, `sasl`, `fetch_session`, `metadata`,
//!   `internal_topics`, `coordinator`, `broker`.
//! * [`connection`]: request and response framing on a socket. May import:
//!   `response_buffer`.
//!
//! ## Layer 8: the server
//! * [`server`]: listeners, connections, SASL authentication, shutdown. May
//!   import: `response_buffer`, `sasl`, `tls`, `broker`, `apis`,
//!   `connection`.
//!
//! ## Layer 9: the metrics endpoint
//! * [`metrics_endpoint`]: `GET /metrics`, beside the Kafka listeners. May
//!   import: `metrics`, `broker`, `server`.

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
