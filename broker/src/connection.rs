//! Framing on a client connection: `int32 size` then `size` bytes, in both
//! directions. Requests are read into one buffer and split off it without
//! copying; responses are gathered in a buffer written once per batch of
//! pipelined requests.

use crate::response_buffer::ResponseBuffer;
use bytes::{Buf, Bytes, BytesMut};
use std::io;
use std::io::IoSlice;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A client connection's byte stream: TCP, or TLS over it.
pub trait ClientStream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> ClientStream for T {}

#[derive(Debug, Error)]
pub enum FrameError {
    #[error("invalid request size {0}")]
    InvalidSize(i32),
    #[error("request of {size} bytes exceeds socket.request.max.bytes ({max})")]
    TooLarge { size: usize, max: usize },
    #[error("connection closed in the middle of a request")]
    Truncated,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Write buffers above this size are given back after a flush.
const RETAINED_WRITE_CAPACITY: usize = 1 << 20;

pub struct Connection {
    stream: Box<dyn ClientStream>,
    read_buf: BytesMut,
    pub write_buf: ResponseBuffer,
    max_request_size: usize,
}

impl Connection {
    pub fn new(stream: Box<dyn ClientStream>, max_request_size: usize) -> Self {
        Connection {
            stream,
            read_buf: BytesMut::with_capacity(64 * 1024),
            write_buf: ResponseBuffer::with_capacity(64 * 1024),
            max_request_size,
        }
    }

    /// Takes the next whole request out of the read buffer, if there is one.
    pub fn next_buffered_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        if self.read_buf.len() < 4 {
            return Ok(None);
        }
        let size = i32::from_be_bytes([
            self.read_buf[0],
            self.read_buf[1],
            self.read_buf[2],
            self.read_buf[3],
        ]);
        if size < 0 {
            return Err(FrameError::InvalidSize(size));
        }
        let size = size as usize;
        if size > self.max_request_size {
            return Err(FrameError::TooLarge {
                size,
                max: self.max_request_size,
            });
        }
        if self.read_buf.len() < 4 + size {
            self.read_buf.reserve(4 + size - self.read_buf.len());
            return Ok(None);
        }
        self.read_buf.advance(4);
        Ok(Some(self.read_buf.split_to(size).freeze()))
    }

    /// Reads more bytes from the socket. Returns false on a clean end of
    /// stream, an error if the peer left in the middle of a request.
    pub async fn fill(&mut self) -> Result<bool, FrameError> {
        if self.read_buf.capacity() - self.read_buf.len() < 4096 {
            self.read_buf.reserve(64 * 1024);
        }
        if self.stream.read_buf(&mut self.read_buf).await? == 0 {
            return if self.read_buf.is_empty() {
                Ok(false)
            } else {
                Err(FrameError::Truncated)
            };
        }
        Ok(true)
    }

    /// Writes out the gathered responses, record bytes from where they lie.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.write_buf.is_empty() {
            return Ok(());
        }
        let chunks = self.write_buf.take_chunks();
        let mut slices: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            let n = self.stream.write_vectored(slices).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut slices, n);
        }
        // A TLS stream holds the end of what it encrypted until flushed.
        self.stream.flush().await?;
        if self.write_buf_capacity_exceeded() {
            self.write_buf = ResponseBuffer::with_capacity(64 * 1024);
        }
        Ok(())
    }

    fn write_buf_capacity_exceeded(&self) -> bool {
        self.write_buf.capacity() > RETAINED_WRITE_CAPACITY
    }
}
