//! A blocking client speaking size-prefixed frames, strict about sizes.

use crate::admin::{self, InitProducerIdResponse};
use crate::protocol::{
    self, FetchPartitionRequest, FetchRequest, FetchResponse, FetchedPartition, ProducedPartition,
};
use crate::wire::Uuid;
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

    /// Sends `request` as Fetch v16 and decodes the response.
    pub fn fetch(&mut self, request: &FetchRequest) -> Result<FetchResponse> {
        protocol::decode_fetch_response_v16(&self.round_trip(&request.encode_v16(9))?)
    }

    /// Fetches one partition from `offset`, at most `max_bytes` of it
    /// (a broker returns at least one whole batch); its error code is for
    /// the caller to check.
    pub fn fetch_partition(
        &mut self,
        topic_id: Uuid,
        partition: i32,
        offset: i64,
        max_bytes: i32,
    ) -> Result<FetchedPartition> {
        let mut request = FetchPartitionRequest::new(partition, offset);
        request.partition_max_bytes = max_bytes;
        let response = self.fetch(&FetchRequest::new(vec![(topic_id, vec![request])]))?;
        ensure!(
            response.error_code == 0,
            "fetch error {}",
            response.error_code
        );
        let fetched = response.only_partition()?;
        ensure!(
            fetched.partition_index == partition,
            "asked for partition {partition}, answered for {}",
            fetched.partition_index
        );
        Ok(fetched.clone())
    }

    /// Fetches one partition from `offset` up to its high watermark, one
    /// response after another (a response may end at a segment's end, or
    /// with part of a batch): the high watermark and the whole batches.
    pub fn fetch_to_end(
        &mut self,
        topic_id: Uuid,
        partition: i32,
        mut offset: i64,
    ) -> Result<(i64, Vec<Vec<u8>>)> {
        let mut batches = Vec::new();
        loop {
            let fetched = self.fetch_partition(topic_id, partition, offset, i32::MAX)?;
            ensure!(
                fetched.error_code == 0,
                "fetch from {offset}: error {}",
                fetched.error_code
            );
            if offset >= fetched.high_watermark {
                return Ok((fetched.high_watermark, batches));
            }
            let mut records = fetched.records.as_deref().unwrap_or_default();
            let before = batches.len();
            while records.len() >= 12 {
                let length = i32::from_be_bytes(records[8..12].try_into()?);
                ensure!(length >= 0, "batch length {length} at offset {offset}");
                let Some(whole) = records.get(..12 + length as usize) else {
                    break;
                };
                let header = crate::batch::scan_batch_headers(whole)
                    .with_context(|| format!("fetched from {offset}"))?[0];
                offset = header.base_offset + i64::from(header.last_offset_delta) + 1;
                batches.push(whole.to_vec());
                records = &records[whole.len()..];
            }
            ensure!(
                batches.len() > before,
                "no whole batch fetched at offset {offset}, below the high watermark {}",
                fetched.high_watermark
            );
        }
    }

    /// Produces `records` (acks=-1) to one partition; what the broker
    /// answered for it.
    pub fn produce(
        &mut self,
        topic: &str,
        partition: i32,
        records: Vec<u8>,
    ) -> Result<ProducedPartition> {
        let raw = self.round_trip(&protocol::produce_request_v11(
            1,
            -1,
            &[(topic.to_string(), vec![(partition, Some(records))])],
        ))?;
        protocol::decode_produce_response_v11(&raw)?
            .partition(topic, partition)
            .cloned()
            .with_context(|| format!("no answer for {topic}-{partition}"))
    }

    /// InitProducerId for a new producer: idempotent without a
    /// transactional id.
    pub fn init_producer_id(
        &mut self,
        transactional_id: Option<&str>,
    ) -> Result<InitProducerIdResponse> {
        admin::decode_init_producer_id_response(&self.round_trip(
            &admin::init_producer_id_request(1, transactional_id, 60_000, -1, -1),
        )?)
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
