//! The records of `__transaction_state`, in Kafka's format
//! (`transaction-coordinator/src/main/resources/common/message/`
//! `TransactionLogKey.json` v0 and `TransactionLogValue.json` v0-1), for the
//! transaction coordinator, which writes value version 0 as Kafka does for
//! transaction version 1 and reads either. The key
//! is an INT16 version (0) and the transactional id; the value an INT16
//! version, then the transaction's metadata (version 1 is flexible: compact
//! strings and arrays, tagged fields). A null value is a tombstone: the
//! transactional id expired.

use crate::byte_utils::{DecodeError, Reader, Writer, put_uvarint};

/// Kafka's `TransactionState`, with its ids in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TransactionState {
    pub const ALL: [TransactionState; 8] = [
        TransactionState::Empty,
        TransactionState::Ongoing,
        TransactionState::PrepareCommit,
        TransactionState::PrepareAbort,
        TransactionState::CompleteCommit,
        TransactionState::CompleteAbort,
        TransactionState::Dead,
        TransactionState::PrepareEpochFence,
    ];

    /// The id the log stores (`TransactionStatus`).
    pub fn id(self) -> i8 {
        Self::ALL.iter().position(|&s| s == self).unwrap_or(0) as i8
    }

    pub fn from_id(id: i8) -> Option<Self> {
        usize::try_from(id)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The name DescribeTransactions and ListTransactions report.
    pub fn name(self) -> &'static str {
        match self {
            TransactionState::Empty => "Empty",
            TransactionState::Ongoing => "Ongoing",
            TransactionState::PrepareCommit => "PrepareCommit",
            TransactionState::PrepareAbort => "PrepareAbort",
            TransactionState::CompleteCommit => "CompleteCommit",
            TransactionState::CompleteAbort => "CompleteAbort",
            TransactionState::Dead => "Dead",
            TransactionState::PrepareEpochFence => "PrepareEpochFence",
        }
    }
}

/// A transactional id's metadata as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionLogValue {
    pub producer_id: i64,
    /// The producer id of the last committed transaction (v1, tagged; -1).
    pub previous_producer_id: i64,
    /// The latest producer id handed out for the transactional id (v1,
    /// tagged; -1).
    pub next_producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TransactionState,
    /// The partitions in the transaction, by topic; None (null) when the
    /// transactional id has none (Kafka writes null for `Empty`).
    pub partitions: Option<Vec<(String, Vec<i32>)>>,
    pub last_update_timestamp_ms: i64,
    pub start_timestamp_ms: i64,
    /// The transaction version the client uses (v1, tagged; 0).
    pub client_transaction_version: i16,
}

/// Why a record of `__transaction_state` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TransactionLogError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("unknown {what} version {version}")]
    UnknownVersion { what: &'static str, version: i16 },
    #[error("unknown transaction status {0}")]
    UnknownState(i8),
}

const KEY_VERSION: i16 = 0;

/// The key of `transactional_id`'s record.
pub fn key(transactional_id: &str) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(KEY_VERSION).string(transactional_id);
    w.into_bytes()
}

/// The transactional id of a key.
pub fn decode_key(bytes: &[u8]) -> Result<String, TransactionLogError> {
    let mut r = Reader::new(bytes);
    let version = r.read_i16()?;
    if version != KEY_VERSION {
        return Err(TransactionLogError::UnknownVersion {
            what: "TransactionLogKey",
            version,
        });
    }
    Ok(r.read_string()?.to_string())
}

/// The value in `version` (0, or 1: flexible with the tagged fields).
pub fn value(v: &TransactionLogValue, version: i16) -> Vec<u8> {
    let flexible = version >= 1;
    let mut w = Writer::new();
    w.i16(version)
        .i64(v.producer_id)
        .i16(v.producer_epoch)
        .i32(v.timeout_ms)
        .i8(v.state.id());
    match (&v.partitions, flexible) {
        (None, true) => {
            w.uvarint(0);
        }
        (None, false) => {
            w.i32(-1);
        }
        (Some(topics), true) => {
            w.compact_array_len(topics.len());
            for (topic, partitions) in topics {
                w.compact_string(topic)
                    .compact_i32_array(partitions)
                    .no_tags();
            }
        }
        (Some(topics), false) => {
            w.i32(topics.len() as i32);
            for (topic, partitions) in topics {
                w.string(topic).i32(partitions.len() as i32);
                for &p in partitions {
                    w.i32(p);
                }
            }
        }
    }
    w.i64(v.last_update_timestamp_ms).i64(v.start_timestamp_ms);
    let mut bytes = w.into_bytes();
    if flexible {
        // Tagged fields that differ from their defaults, by tag.
        let mut tagged: Vec<(u32, Vec<u8>)> = Vec::new();
        if v.previous_producer_id != -1 {
            tagged.push((0, v.previous_producer_id.to_be_bytes().to_vec()));
        }
        if v.next_producer_id != -1 {
            tagged.push((1, v.next_producer_id.to_be_bytes().to_vec()));
        }
        if v.client_transaction_version != 0 {
            tagged.push((2, v.client_transaction_version.to_be_bytes().to_vec()));
        }
        put_uvarint(&mut bytes, tagged.len() as u32);
        for (tag, data) in tagged {
            put_uvarint(&mut bytes, tag);
            put_uvarint(&mut bytes, data.len() as u32);
            bytes.extend_from_slice(&data);
        }
    }
    bytes
}

/// Reads a value of version 0 or 1.
pub fn decode_value(bytes: &[u8]) -> Result<TransactionLogValue, TransactionLogError> {
    let mut r = Reader::new(bytes);
    let version = r.read_i16()?;
    if !(0..=1).contains(&version) {
        return Err(TransactionLogError::UnknownVersion {
            what: "TransactionLogValue",
            version,
        });
    }
    let flexible = version >= 1;
    let producer_id = r.read_i64()?;
    let producer_epoch = r.read_i16()?;
    let timeout_ms = r.read_i32()?;
    let status = r.read_i8()?;
    let state =
        TransactionState::from_id(status).ok_or(TransactionLogError::UnknownState(status))?;
    let count = if flexible {
        r.read_compact_array_len(2)?
    } else {
        r.read_array_len(6)?
    };
    let partitions = match count {
        None => None,
        Some(count) => {
            let mut topics = Vec::with_capacity(count);
            for _ in 0..count {
                if flexible {
                    let topic = r.read_compact_string()?.to_string();
                    let ids = r.read_compact_i32_array()?.unwrap_or_default();
                    r.read_tagged_fields(|_, _| Ok(()))?;
                    topics.push((topic, ids));
                } else {
                    let topic = r.read_string()?.to_string();
                    let n = r.read_array_len(4)?.unwrap_or(0);
                    let ids = (0..n).map(|_| r.read_i32()).collect::<Result<_, _>>()?;
                    topics.push((topic, ids));
                }
            }
            Some(topics)
        }
    };
    let last_update_timestamp_ms = r.read_i64()?;
    let start_timestamp_ms = r.read_i64()?;
    let mut value = TransactionLogValue {
        producer_id,
        previous_producer_id: -1,
        next_producer_id: -1,
        producer_epoch,
        timeout_ms,
        state,
        partitions,
        last_update_timestamp_ms,
        start_timestamp_ms,
        client_transaction_version: 0,
    };
    if flexible {
        r.read_tagged_fields(|tag, data| {
            let mut field = Reader::new(data);
            match tag {
                0 => value.previous_producer_id = field.read_i64()?,
                1 => value.next_producer_id = field.read_i64()?,
                2 => value.client_transaction_version = field.read_i16()?,
                _ => {}
            }
            Ok(())
        })?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ongoing() -> TransactionLogValue {
        TransactionLogValue {
            producer_id: 1000,
            previous_producer_id: -1,
            next_producer_id: -1,
            producer_epoch: 3,
            timeout_ms: 60_000,
            state: TransactionState::Ongoing,
            partitions: Some(vec![("orders".into(), vec![0, 2])]),
            last_update_timestamp_ms: 1_700_000_000_123,
            start_timestamp_ms: 1_700_000_000_100,
            client_transaction_version: 0,
        }
    }

    #[test]
    fn keys_are_a_version_and_the_transactional_id() {
        let bytes = key("tx-1");
        assert_eq!(bytes, [0, 0, 0, 4, b't', b'x', b'-', b'1']);
        assert_eq!(decode_key(&bytes).unwrap(), "tx-1");
        assert!(decode_key(&[0, 1, 0, 0]).is_err());
    }

    #[test]
    fn version_0_is_laid_out_as_the_schema_says() {
        let bytes = value(&ongoing(), 0);
        let mut expected = vec![0, 0];
        expected.extend_from_slice(&1000i64.to_be_bytes());
        expected.extend_from_slice(&3i16.to_be_bytes());
        expected.extend_from_slice(&60_000i32.to_be_bytes());
        expected.push(1);
        expected.extend_from_slice(&1i32.to_be_bytes());
        expected.extend_from_slice(&[0, 6]);
        expected.extend_from_slice(b"orders");
        expected.extend_from_slice(&2i32.to_be_bytes());
        expected.extend_from_slice(&0i32.to_be_bytes());
        expected.extend_from_slice(&2i32.to_be_bytes());
        expected.extend_from_slice(&1_700_000_000_123i64.to_be_bytes());
        expected.extend_from_slice(&1_700_000_000_100i64.to_be_bytes());
        assert_eq!(bytes, expected);
        assert_eq!(decode_value(&bytes).unwrap(), ongoing());
    }

    #[test]
    fn version_1_is_flexible_with_tagged_fields() {
        let v = TransactionLogValue {
            previous_producer_id: 999,
            client_transaction_version: 2,
            ..ongoing()
        };
        let bytes = value(&v, 1);
        let mut expected = vec![0, 1];
        expected.extend_from_slice(&1000i64.to_be_bytes());
        expected.extend_from_slice(&3i16.to_be_bytes());
        expected.extend_from_slice(&60_000i32.to_be_bytes());
        expected.push(1);
        // One topic (compact length 2), its name, two partitions, no tags.
        expected.extend_from_slice(&[2, 7]);
        expected.extend_from_slice(b"orders");
        expected.push(3);
        expected.extend_from_slice(&0i32.to_be_bytes());
        expected.extend_from_slice(&2i32.to_be_bytes());
        expected.push(0);
        expected.extend_from_slice(&1_700_000_000_123i64.to_be_bytes());
        expected.extend_from_slice(&1_700_000_000_100i64.to_be_bytes());
        // Tags 0 (previous producer id) and 2 (client transaction version).
        expected.extend_from_slice(&[2, 0, 8]);
        expected.extend_from_slice(&999i64.to_be_bytes());
        expected.extend_from_slice(&[2, 2]);
        expected.extend_from_slice(&2i16.to_be_bytes());
        assert_eq!(bytes, expected);
        assert_eq!(decode_value(&bytes).unwrap(), v);
    }

    #[test]
    fn empty_transactions_have_null_partitions_and_bad_values_are_refused() {
        let empty = TransactionLogValue {
            state: TransactionState::Empty,
            partitions: None,
            ..ongoing()
        };
        for version in [0, 1] {
            assert_eq!(decode_value(&value(&empty, version)).unwrap(), empty);
        }
        let mut bad = value(&ongoing(), 0);
        bad[16] = 9;
        assert!(matches!(
            decode_value(&bad),
            Err(TransactionLogError::UnknownState(9))
        ));
        assert!(decode_value(&[0, 2]).is_err());
        assert!(decode_value(&value(&ongoing(), 1)[..20]).is_err());
        for state in TransactionState::ALL {
            assert_eq!(TransactionState::from_id(state.id()), Some(state));
        }
    }
}
