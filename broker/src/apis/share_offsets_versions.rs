//! DescribeShareGroupOffsetsResponse v1 (KIP-1226), which the
//! `kafka-protocol` crate does not have yet. Kafka 4.2's
//! `DescribeShareGroupOffsetsResponse.json` adds `Lag` (INT64, not a
//! tagged field) to each partition right after `LeaderEpoch`:
//!
//! ```text
//! ThrottleTimeMs INT32, Groups [GroupId, Topics [TopicName, TopicId,
//!   Partitions [PartitionIndex INT32, StartOffset INT64, LeaderEpoch INT32,
//!   Lag INT64 (v1), ErrorCode INT16, ErrorMessage, _tags], _tags],
//!   ErrorCode, ErrorMessage, _tags], _tags
//! ```
//!
//! The request of v1 is v0's. The response is v0's encoding with the lags
//! put in, partition by partition, in the order they are encoded.

use super::share_versions::EncodedBody;
use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::DescribeShareGroupOffsetsResponse;
use kafka_protocol::protocol::Encodable;

/// Reads the v0 encoding, copying it to `out` with each lag put in.
struct Splice<'a> {
    v0: &'a [u8],
    at: usize,
    out: BytesMut,
}

impl Splice<'_> {
    /// Copies `n` bytes.
    fn copy(&mut self, n: usize) -> anyhow::Result<()> {
        let end = self.at + n;
        let bytes = self
            .v0
            .get(self.at..end)
            .ok_or_else(|| anyhow::anyhow!("the v0 encoding ends early"))?;
        self.out.put_slice(bytes);
        self.at = end;
        Ok(())
    }

    /// Copies an unsigned varint and returns it.
    fn uvarint(&mut self) -> anyhow::Result<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = *self
                .v0
                .get(self.at)
                .ok_or_else(|| anyhow::anyhow!("the v0 encoding ends early"))?;
            self.copy(1)?;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        anyhow::bail!("a malformed varint")
    }

    /// Copies a COMPACT_(NULLABLE_)STRING.
    fn compact_string(&mut self) -> anyhow::Result<()> {
        let len_plus_one = self.uvarint()?;
        self.copy(len_plus_one.saturating_sub(1) as usize)
    }

    /// Copies a COMPACT_ARRAY's length and returns its element count.
    fn compact_array_len(&mut self) -> anyhow::Result<u64> {
        Ok(self.uvarint()?.saturating_sub(1))
    }

    /// Copies a tagged-field section.
    fn tags(&mut self) -> anyhow::Result<()> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let size = self.uvarint()?;
            self.copy(size as usize)?;
        }
        Ok(())
    }
}

/// DescribeShareGroupOffsetsResponse v1: `response` encoded as v0, with
/// `lags` (one per partition, in encoding order) put in.
pub fn describe_share_group_offsets_response_v1(
    response: &DescribeShareGroupOffsetsResponse,
    lags: &[i64],
) -> anyhow::Result<EncodedBody> {
    let mut v0 = BytesMut::with_capacity(response.compute_size(0)?);
    response.encode(&mut v0, 0)?;
    let mut s = Splice {
        v0: &v0,
        at: 0,
        out: BytesMut::with_capacity(v0.len() + 8 * lags.len()),
    };
    let mut lags = lags.iter();
    s.copy(4)?; // ThrottleTimeMs
    for _ in 0..s.compact_array_len()? {
        s.compact_string()?; // GroupId
        for _ in 0..s.compact_array_len()? {
            s.compact_string()?; // TopicName
            s.copy(16)?; // TopicId
            for _ in 0..s.compact_array_len()? {
                s.copy(4 + 8 + 4)?; // PartitionIndex, StartOffset, LeaderEpoch
                let lag = lags
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("fewer lags than partitions"))?;
                s.out.put_i64(*lag);
                s.copy(2)?; // ErrorCode
                s.compact_string()?; // ErrorMessage
                s.tags()?;
            }
            s.tags()?;
        }
        s.copy(2)?; // ErrorCode
        s.compact_string()?; // ErrorMessage
        s.tags()?;
    }
    s.tags()?;
    if s.at != v0.len() || lags.next().is_some() {
        anyhow::bail!("the v0 encoding and the lags do not match");
    }
    Ok(EncodedBody(s.out.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::describe_share_group_offsets_response::{
        DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponsePartition,
        DescribeShareGroupOffsetsResponseTopic,
    };
    use kafka_protocol::messages::{GroupId, TopicName};
    use kafka_protocol::protocol::StrBytes;

    #[test]
    fn lag_goes_after_the_leader_epoch_of_each_partition() {
        let partition = |index: i32| {
            DescribeShareGroupOffsetsResponsePartition::default()
                .with_partition_index(index)
                .with_start_offset(5)
                .with_leader_epoch(0)
        };
        let response = DescribeShareGroupOffsetsResponse::default().with_groups(vec![
            DescribeShareGroupOffsetsResponseGroup::default()
                .with_group_id(GroupId(StrBytes::from_static_str("g")))
                .with_topics(vec![
                    DescribeShareGroupOffsetsResponseTopic::default()
                        .with_topic_name(TopicName(StrBytes::from_static_str("t")))
                        .with_partitions(vec![
                            partition(0),
                            partition(1).with_error_message(Some(StrBytes::from_static_str("x"))),
                        ]),
                ]),
        ]);
        let v1 = describe_share_group_offsets_response_v1(&response, &[7, -1]).unwrap();
        let mut expected: Vec<u8> = vec![0, 0, 0, 0, 2, 2, b'g', 2, 2, b't'];
        expected.extend([0u8; 16]);
        expected.push(3); // two partitions
        for (index, lag, message) in [(0u8, 7i64, &[0u8][..]), (1, -1, &[2, b'x'][..])] {
            expected.extend([0, 0, 0, index]);
            expected.extend(5i64.to_be_bytes());
            expected.extend(0i32.to_be_bytes());
            expected.extend(lag.to_be_bytes());
            expected.extend([0, 0]);
            expected.extend(message);
            expected.push(0);
        }
        expected.extend([0, 0, 0, 0, 0, 0]); // topic tags, group error, message, tags, tags
        assert_eq!(&v1.0[..], &expected[..]);
        assert!(describe_share_group_offsets_response_v1(&response, &[7]).is_err());
        assert!(describe_share_group_offsets_response_v1(&response, &[7, 1, 2]).is_err());
    }
}
