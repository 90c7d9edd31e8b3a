//! Where encoded responses gather before they are written to a client:
//! small fields are copied into a buffer, but record bytes handed in with
//! [`ResponseBuffer::share`] (a fetch's batches, mapped straight from the
//! segment file) are kept as chunks of their own and written to the socket
//! from where they are, so they are never copied through user space.

use bytes::buf::UninitSlice;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;
use std::ops::Range;

/// Record bytes at least this large are written from where they are.
pub const SHARE_MIN_BYTES: usize = 16 * 1024;

#[derive(Default)]
pub struct ResponseBuffer {
    /// Written, in order, before `tail`.
    chunks: Vec<Bytes>,
    chunks_len: usize,
    tail: BytesMut,
    /// Bytes that, when the encoder writes them, become chunks.
    shared: Vec<Bytes>,
}

impl ResponseBuffer {
    pub fn with_capacity(capacity: usize) -> Self {
        ResponseBuffer {
            tail: BytesMut::with_capacity(capacity),
            ..Default::default()
        }
    }

    /// Room the copy buffer has.
    pub fn capacity(&self) -> usize {
        self.tail.capacity()
    }

    /// Total bytes gathered.
    pub fn len(&self) -> usize {
        self.chunks_len + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Marks `bytes` to be written from where they are when the encoder
    /// puts exactly them (same address and length) into the buffer.
    pub fn share(&mut self, bytes: &Bytes) {
        if bytes.len() >= SHARE_MIN_BYTES {
            self.shared.push(bytes.clone());
        }
    }

    /// Cuts what was gathered back to `len` bytes (a failed encoding).
    pub fn truncate(&mut self, len: usize) {
        self.shared.clear();
        while len < self.chunks_len {
            let Some(last) = self.chunks.pop() else { break };
            self.chunks_len -= last.len();
            if len > self.chunks_len {
                self.tail = BytesMut::from(&last[..len - self.chunks_len]);
                self.chunks_len = len - self.tail.len();
                return;
            }
            self.tail.clear();
        }
        self.tail.truncate(len - self.chunks_len);
    }

    /// Everything gathered, in order, leaving the buffer empty.
    pub fn take_chunks(&mut self) -> Vec<Bytes> {
        self.shared.clear();
        let mut chunks = std::mem::take(&mut self.chunks);
        self.chunks_len = 0;
        if !self.tail.is_empty() {
            chunks.push(self.tail.split().freeze());
        }
        chunks
    }

    /// The gathered bytes as one copy (for tests and small responses).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.len());
        for chunk in &self.chunks {
            all.extend_from_slice(chunk);
        }
        all.extend_from_slice(&self.tail);
        all
    }

    fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            let sealed = self.tail.split().freeze();
            self.chunks_len += sealed.len();
            self.chunks.push(sealed);
        }
    }
}

// SAFETY: every method delegates to `tail`, a BytesMut, except `put_slice`,
// which only adds whole initialised chunks.
unsafe impl BufMut for ResponseBuffer {
    fn remaining_mut(&self) -> usize {
        self.tail.remaining_mut()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller initialised `cnt` bytes of `chunk_mut`, which
        // is the tail's.
        unsafe { self.tail.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.tail.chunk_mut()
    }

    fn put_slice(&mut self, src: &[u8]) {
        if src.len() >= SHARE_MIN_BYTES
            && let Some(i) = self
                .shared
                .iter()
                .position(|b| b.as_ptr() == src.as_ptr() && b.len() == src.len())
        {
            let shared = self.shared.swap_remove(i);
            self.seal_tail();
            self.chunks_len += shared.len();
            self.chunks.push(shared);
            return;
        }
        self.tail.put_slice(src);
    }
}

impl ByteBufMut for ResponseBuffer {
    fn offset(&self) -> usize {
        self.len()
    }

    // Gaps (which only record encoding uses) work within the tail.
    fn seek(&mut self, offset: usize) {
        let within = offset.saturating_sub(self.chunks_len);
        self.tail.resize(within, 0);
    }

    fn range(&mut self, r: Range<usize>) -> &mut [u8] {
        let start = r.start.saturating_sub(self.chunks_len).min(self.tail.len());
        let end = r.end.saturating_sub(self.chunks_len).min(self.tail.len());
        &mut self.tail[start..end.max(start)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_bytes_become_chunks_and_the_rest_is_copied() {
        let records = Bytes::from(vec![7u8; SHARE_MIN_BYTES]);
        let mut buf = ResponseBuffer::with_capacity(64);
        buf.share(&records);
        buf.put_i32(5);
        buf.put_slice(&records);
        buf.put_slice(&records.clone()[..]); // same bytes again: copied now
        buf.put_u8(1);
        assert_eq!(buf.len(), 4 + 2 * SHARE_MIN_BYTES + 1);
        let all = buf.to_vec();
        let chunks = buf.take_chunks();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1].as_ptr(), records.as_ptr());
        assert_eq!(chunks.concat(), all);
        assert!(buf.is_empty());
    }

    #[test]
    fn truncate_cuts_across_chunks() {
        let records = Bytes::from(vec![7u8; SHARE_MIN_BYTES]);
        let mut buf = ResponseBuffer::default();
        buf.put_slice(b"head");
        let mark = buf.len();
        buf.share(&records);
        buf.put_i32(1);
        buf.put_slice(&records);
        buf.put_slice(b"tail");
        buf.truncate(mark + 2);
        assert_eq!(buf.to_vec(), [b'h', b'e', b'a', b'd', 0, 0]);
        buf.truncate(mark);
        assert_eq!(buf.to_vec(), b"head");
    }
}
