//! A blocking client speaking size-prefixed frames, strict about sizes.

use anyhow::{Context, Result, ensure};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Client {
    stream: TcpStream,
}

impl Client {
    pub fn connect(address: &str) -> Result<Client> {
        let stream =
            TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Client { stream })
    }

    /// Sends one request (without its size prefix).
    pub fn send(&mut self, request: &[u8]) -> Result<()> {
        let mut frame = Vec::with_capacity(request.len() + 4);
        frame.extend_from_slice(&(request.len() as i32).to_be_bytes());
        frame.extend_from_slice(request);
        self.send_raw(&frame)
    }

    /// Sends bytes as they are, framing included.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes).context("sending request")
    }

    /// Receives one whole response frame, size prefix included.
    pub fn receive_frame(&mut self) -> Result<Vec<u8>> {
        let mut size = [0u8; 4];
        self.stream
            .read_exact(&mut size)
            .context("reading the response size")?;
        let len = i32::from_be_bytes(size);
        ensure!(len >= 4, "response size {len} cannot hold a correlation id");
        let mut frame = size.to_vec();
        frame.resize(4 + len as usize, 0);
        self.stream
            .read_exact(&mut frame[4..])
            .with_context(|| format!("reading a response of {len} bytes"))?;
        Ok(frame)
    }

    /// Receives one response, without its size prefix.
    pub fn receive(&mut self) -> Result<Vec<u8>> {
        Ok(self.receive_frame()?.split_off(4))
    }

    pub fn round_trip(&mut self, request: &[u8]) -> Result<Vec<u8>> {
        self.send(request)?;
        self.receive()
    }

    /// True when the broker has closed the connection (reads end of stream
    /// or a reset within the timeout).
    pub fn is_closed_by_peer(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
        }
    }

    /// Waits briefly and reports whether unexpected bytes arrived.
    pub fn has_unread_bytes(&mut self, wait: Duration) -> Result<bool> {
        self.stream.set_read_timeout(Some(wait))?;
        let mut byte = [0u8; 1];
        let result = match self.stream.read(&mut byte) {
            Ok(n) => Ok(n > 0),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        };
        self.stream.set_read_timeout(Some(IO_TIMEOUT))?;
        result
    }
}
