//! Our own tester for the broker. Everything on the wire and on disk is
//! encoded and decoded here by hand, independently of the `kafka-protocol`
//! crate the broker uses, so a bug in the broker's codec cannot hide itself.
//!
//! * [`wire`]: primitives of the wire format;
//! * [`acls`]: the ACL APIs (CreateAcls, DescribeAcls, DeleteAcls);
//! * [`protocol`]: requests and responses of the APIs under test;
//! * [`batch`]: record batches;
//! * [`fixture`]: log directories as Kafka lays them out;
//! * [`metadata_log`]: the records of a KRaft metadata log;
//! * [`log_files`]: indexes, checkpoints, the clean shutdown marker and
//!   producer snapshots around the logs;
//! * [`transactions`]: the transaction APIs, markers and `.txnindex` files;
//! * [`cluster_admin`]: DescribeQuorum, UpdateFeatures, ListConfigResources;
//! * [`consumer_groups`]: the consumer-group APIs of KIP-848
//!   (ConsumerGroupHeartbeat, ConsumerGroupDescribe);
//! * [`share_groups`]: the share-group APIs of KIP-932
//!   (ShareGroupHeartbeat, ShareFetch, ShareAcknowledge);
//! * [`launcher`] and [`client`]: a broker process and a connection to it
//!   (plain or TLS);
//! * [`sasl`]: the SASL APIs, the SCRAM credential APIs and a SCRAM
//!   client;
//! * [`tls`]: certificates for TLS listeners, made at test time;
//! * [`secured`]: a broker with ACL authorization and SASL users.

pub mod acls;
pub mod admin;
pub mod batch;
pub mod client;
pub mod cluster_admin;
pub mod consumer_groups;
pub mod fixture;
pub mod groups;
pub mod launcher;
pub mod log_files;
pub mod metadata_log;
pub mod protocol;
pub mod sasl;
pub mod secured;
pub mod share_groups;
pub mod tls;
pub mod transactions;
mod versioned;
pub mod wire;

pub use client::Client;
pub use launcher::Broker;

/// A hex dump (offset, 16 bytes in hex, printable ASCII), as used in the
/// response snapshots.
pub fn hexdump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "{:08x}  {:<47}  {ascii}\n",
            line * 16,
            hex.join(" ")
        ));
    }
    out
}
