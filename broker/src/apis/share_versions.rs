//! The versions of the share-group APIs that the `kafka-protocol` crate
//! does not have yet, as Kafka 4.2's JSON schemas define them
//! (`clients/src/main/resources/common/message/`):
//!
//! * ShareFetchRequest v2 (KIP-1206, KIP-1222) adds `ShareAcquireMode`
//!   (INT8) and `IsRenewAck` (BOOL) right after `BatchSize`;
//! * ShareAcknowledgeRequest v2 adds `IsRenewAck` (BOOL) after
//!   `ShareSessionEpoch`;
//! * ShareAcknowledgeResponse v2 adds `AcquisitionLockTimeoutMs` (INT32)
//!   after the top-level `ErrorMessage`;
//! * ShareFetchResponse v2 is v1's layout.
//!
//! None of them is a tagged field, so a v2 request is read by taking its
//! fields out of the body and decoding the rest as v1, and a v2 response
//! is v1's bytes with the field put in.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;
use kafka_protocol::protocol::{Encodable, HeaderVersion};

/// ShareFetch v2's own fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShareFetchV2 {
    /// 0: batch_optimized, 1: record_limit.
    pub share_acquire_mode: i8,
    pub is_renew_ack: bool,
}

/// Bytes taken by an unsigned varint at the start of `buf`, and its value.
fn unsigned_varint(buf: &[u8]) -> Result<(usize, u64), String> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().enumerate().take(5) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((i + 1, value));
        }
    }
    Err("a malformed varint".into())
}

/// The length of the COMPACT_NULLABLE_STRING at the start of `buf`.
fn compact_string_len(buf: &[u8]) -> Result<usize, String> {
    let (n, len_plus_one) = unsigned_varint(buf)?;
    let len = (len_plus_one as usize).saturating_sub(1);
    if buf.len() < n + len {
        return Err("a string longer than the request".into());
    }
    Ok(n + len)
}

/// Takes `count` bytes out of `body` at `at`.
fn take_out(body: &Bytes, at: usize, count: usize) -> Result<(Bytes, Bytes), String> {
    if body.len() < at + count {
        return Err("the request ends early".into());
    }
    let taken = body.slice(at..at + count);
    let mut rest = BytesMut::with_capacity(body.len() - count);
    rest.put_slice(&body[..at]);
    rest.put_slice(&body[at + count..]);
    Ok((rest.freeze(), taken))
}

/// A ShareFetchRequest v2 body as v1's, and v2's fields.
pub fn share_fetch_request_v2(body: &Bytes) -> Result<(Bytes, ShareFetchV2), String> {
    // GroupId, MemberId, then six INT32s up to BatchSize.
    let group = compact_string_len(body)?;
    let member = compact_string_len(body.get(group..).unwrap_or_default())?;
    let at = group + member + 6 * 4;
    let (rest, mut taken) = take_out(body, at, 2)?;
    let mode = taken.get_i8();
    let renew = taken.get_u8() != 0;
    Ok((
        rest,
        ShareFetchV2 {
            share_acquire_mode: mode,
            is_renew_ack: renew,
        },
    ))
}

/// A ShareAcknowledgeRequest v2 body as v1's, and its `IsRenewAck`.
pub fn share_acknowledge_request_v2(body: &Bytes) -> Result<(Bytes, bool), String> {
    // GroupId, MemberId, ShareSessionEpoch.
    let group = compact_string_len(body)?;
    let member = compact_string_len(body.get(group..).unwrap_or_default())?;
    let at = group + member + 4;
    let (rest, mut taken) = take_out(body, at, 1)?;
    Ok((rest, taken.get_u8() != 0))
}

/// A response body already encoded (a v2 body made from v1's bytes).
pub struct EncodedBody(pub Bytes);

impl Encodable for EncodedBody {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, _version: i16) -> anyhow::Result<()> {
        buf.put_slice(&self.0);
        Ok(())
    }

    fn compute_size(&self, _version: i16) -> anyhow::Result<usize> {
        Ok(self.0.len())
    }
}

impl HeaderVersion for EncodedBody {
    fn header_version(_version: i16) -> i16 {
        // Every share API is flexible: response header v1.
        1
    }
}

/// ShareAcknowledgeResponse v2 from v1's encoding: `AcquisitionLockTimeoutMs`
/// put in after ThrottleTimeMs, ErrorCode and ErrorMessage.
pub fn share_acknowledge_response_v2(
    v1: &impl Encodable,
    acquisition_lock_timeout_ms: i32,
) -> anyhow::Result<EncodedBody> {
    let mut body = BytesMut::with_capacity(v1.compute_size(1)? + 4);
    v1.encode(&mut body, 1)?;
    let at = 4
        + 2
        + compact_string_len(body.get(6..).unwrap_or_default()).map_err(anyhow::Error::msg)?;
    let tail = body.split_off(at);
    body.put_i32(acquisition_lock_timeout_ms);
    body.unsplit(tail);
    Ok(EncodedBody(body.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_fields_come_out_and_go_in_where_the_schemas_put_them() {
        // GroupId "g", MemberId "m", six INT32s, mode 1, renew true, then
        // one byte of the rest.
        let mut body = BytesMut::new();
        body.put_slice(&[2, b'g', 2, b'm']);
        for i in 0..6 {
            body.put_i32(i);
        }
        body.put_slice(&[1, 1, 0xee]);
        let (v1, fields) = share_fetch_request_v2(&body.freeze()).unwrap();
        assert_eq!(
            fields,
            ShareFetchV2 {
                share_acquire_mode: 1,
                is_renew_ack: true
            }
        );
        assert_eq!(v1.len(), 4 + 24 + 1);
        assert_eq!(v1[v1.len() - 1], 0xee);
        let short = Bytes::from_static(&[2, b'g', 2, b'm', 0, 0]);
        assert!(share_fetch_request_v2(&short).is_err());

        let ack = Bytes::from_static(&[2, b'g', 0, 0, 0, 0, 9, 1, 0xee]);
        let (v1, renew) = share_acknowledge_request_v2(&ack).unwrap();
        assert!(renew);
        assert_eq!(&v1[..], &[2, b'g', 0, 0, 0, 0, 9, 0xee]);

        let response = kafka_protocol::messages::ShareAcknowledgeResponse::default();
        let v2 = share_acknowledge_response_v2(&response, 30_000).unwrap();
        // INT32 throttle, INT16 error, null message (0), then the field.
        assert_eq!(&v2.0[6..11], &[0, 0, 0, 0x75, 0x30]);
        assert_eq!(v2.0.len(), response.compute_size(1).unwrap() + 4);
    }
}
