//! A blocking client speaking size-prefixed frames, strict about sizes,
//! over plain TCP ([`Client::connect`]) or TLS ([`Client::connect_tls`]).

use crate::admin::{self, InitProducerIdResponse};
use crate::protocol::{
    self, FetchPartitionRequest, FetchRequest, FetchResponse, FetchedPartition, ProducedPartition,
};
use crate::wire::Uuid;
use anyhow::{Context, Result, ensure};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Client {
    stream: Transport,
}

/// The connection under the frames.
enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Transport {
    fn socket(&self) -> &TcpStream {
        match self {
            Transport::Plain(socket) => socket,
            Transport::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.read(buf),
            Transport::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.write(buf),
            Transport::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Transport::Plain(socket) => socket.flush(),
            Transport::Tls(tls) => tls.flush(),
        }
    }
}

/// The TLS protocol versions a client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersions {
    /// TLS 1.2 and 1.3.
    #[default]
    Any,
    /// TLS 1.2 only.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// How [`Client::connect_tls`] connects.
#[derive(Debug, Clone)]
pub struct TlsClientOptions {
    /// PEM text of the CA certificates the client trusts.
    pub ca_pem: String,
    /// PEM text of the client's certificate (chain) and private key, for a
    /// listener that asks for one.
    pub client_cert: Option<(String, String)>,
    /// The name the server's certificate must be valid for: a DNS name
    /// (`localhost`) or an IP address (`127.0.0.1`).
    pub server_name: String,
    /// The protocol versions offered.
    pub versions: TlsVersions,
}

impl TlsClientOptions {
    /// Trusting `ca_pem`, without a client certificate, checking the
    /// server's certificate for `localhost`.
    pub fn trusting(ca_pem: &str) -> TlsClientOptions {
        TlsClientOptions {
            ca_pem: ca_pem.to_string(),
            client_cert: None,
            server_name: "localhost".to_string(),
            versions: TlsVersions::Any,
        }
    }

    /// With a client certificate (chain) and its private key, as PEM text.
    pub fn with_client_cert(mut self, cert_pem: &str, key_pem: &str) -> TlsClientOptions {
        self.client_cert = Some((cert_pem.to_string(), key_pem.to_string()));
        self
    }

    /// Checking the server's certificate for `server_name`.
    pub fn with_server_name(mut self, server_name: &str) -> TlsClientOptions {
        self.server_name = server_name.to_string();
        self
    }

    /// Offering only `versions`.
    pub fn with_versions(mut self, versions: TlsVersions) -> TlsClientOptions {
        self.versions = versions;
        self
    }

    /// The rustls configuration (with the `ring` provider).
    pub fn client_config(&self) -> Result<ClientConfig> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots
                .add(cert.context("reading the trusted CA certificates")?)
                .context("adding a trusted CA certificate")?;
        }
        ensure!(!roots.is_empty(), "no CA certificate to trust");
        let versions: &[&'static rustls::SupportedProtocolVersion] = match self.versions {
            TlsVersions::Any => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersions::Tls12 => &[&rustls::version::TLS12],
            TlsVersions::Tls13 => &[&rustls::version::TLS13],
        };
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(versions)?
                .with_root_certificates(roots);
        Ok(match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert_pem, key_pem)) => {
                let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .context("reading the client certificate")?;
                ensure!(!chain.is_empty(), "no client certificate");
                let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                    .context("reading the client's private key")?;
                builder
                    .with_client_auth_cert(chain, key)
                    .context("the client certificate and key")?
            }
        })
    }
}

impl Client {
    pub fn connect(address: &str) -> Result<Client> {
        Ok(Client {
            stream: Transport::Plain(tcp_connect(address)?),
        })
    }

    /// Connects over TLS and completes the handshake, which fails when the
    /// server's certificate is not trusted (or not valid for
    /// `options.server_name`), or when the server rejects the client's
    /// certificate before the handshake ends (TLS 1.2). Under TLS 1.3 the
    /// client's handshake ends before the server has checked its
    /// certificate: a rejection shows on the first request instead.
    pub fn connect_tls(address: &str, options: &TlsClientOptions) -> Result<Client> {
        let server_name = ServerName::try_from(options.server_name.clone())
            .with_context(|| format!("server name {:?}", options.server_name))?;
        let connection = ClientConnection::new(Arc::new(options.client_config()?), server_name)
            .context("starting a TLS connection")?;
        let mut tls = StreamOwned::new(connection, tcp_connect(address)?);
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .with_context(|| format!("TLS handshake with {address}"))?;
        }
        Ok(Client {
            stream: Transport::Tls(Box::new(tls)),
        })
    }

    /// Whether this connection is over TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Transport::Tls(_))
    }

    /// The TLS version negotiated (`TLSv1_3`, `TLSv1_2`); `None` on plain
    /// TCP.
    pub fn tls_version(&self) -> Option<String> {
        match &self.stream {
            Transport::Plain(_) => None,
            Transport::Tls(tls) => tls.conn.protocol_version().map(|v| format!("{v:?}")),
        }
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
        self.stream.write_all(bytes).context("sending request")?;
        // Over TLS a failed write to the socket shows only on a flush.
        self.stream.flush().context("sending request")
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

    /// Receives one size-prefixed frame of any size (empty included), without
    /// its size prefix: the bare tokens of a SASL exchange after a v0
    /// SaslHandshake.
    pub fn receive_sized(&mut self) -> Result<Vec<u8>> {
        let mut size = [0u8; 4];
        self.stream
            .read_exact(&mut size)
            .context("reading the frame size")?;
        let len = i32::from_be_bytes(size);
        ensure!(len >= 0, "frame size {len}");
        let mut frame = vec![0u8; len as usize];
        self.stream
            .read_exact(&mut frame)
            .with_context(|| format!("reading a frame of {len} bytes"))?;
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
    /// or a reset within the timeout). Over TLS, a TCP end of stream
    /// without a `close_notify` and a fatal alert from the broker count as
    /// closed too.
    pub fn is_closed_by_peer(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => {
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ) || (self.is_tls() && tls_ended(&e))
            }
        }
    }

    /// Waits briefly and reports whether unexpected bytes arrived (over
    /// TLS: application data; TLS's own messages, such as session tickets,
    /// do not count).
    pub fn has_unread_bytes(&mut self, wait: Duration) -> Result<bool> {
        self.stream.socket().set_read_timeout(Some(wait))?;
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
        self.stream.socket().set_read_timeout(Some(IO_TIMEOUT))?;
        result
    }
}

fn tcp_connect(address: &str) -> Result<TcpStream> {
    let stream = TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Whether a read error over TLS means the peer ended the connection: a
/// TCP end of stream without `close_notify`, or a fatal alert received.
fn tls_ended(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::UnexpectedEof
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|e| matches!(e, rustls::Error::AlertReceived(_)))
}

#[cfg(test)]
mod tests {
    //! The TLS transport against a rustls server in the test itself.

    use super::*;
    use crate::tls::Certificates;
    use rustls::server::WebPkiClientVerifier;
    use rustls::{ServerConfig, ServerConnection};
    use std::net::TcpListener;
    use std::sync::OnceLock;
    use std::thread::JoinHandle;

    fn certificates() -> &'static Certificates {
        static CERTIFICATES: OnceLock<Certificates> = OnceLock::new();
        CERTIFICATES.get_or_init(|| Certificates::generate().unwrap())
    }

    #[derive(Clone, Copy, PartialEq)]
    enum ClientAuth {
        None,
        Requested,
        Required,
    }

    fn server_config(client_auth: ClientAuth) -> ServerConfig {
        let certs = certificates();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth == ClientAuth::None {
            builder.with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(certs.ca_pem.as_bytes()) {
                roots.add(cert.unwrap()).unwrap();
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match client_auth {
                ClientAuth::Requested => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            builder.with_client_cert_verifier(verifier.build().unwrap())
        };
        let chain = CertificateDer::pem_slice_iter(certs.server_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(certs.server_key_pem.as_bytes()).unwrap();
        builder.with_single_cert(chain, key).unwrap()
    }

    /// How the test server ends a connection after its one response.
    #[derive(Clone, Copy)]
    enum End {
        CloseNotify,
        TcpClose,
        StayOpen,
    }

    /// A server that answers one request with its correlation id alone,
    /// then ends as `end` says; its thread returns the
    /// client's certificate chain length, or the error it met.
    fn serve(client_auth: ClientAuth, end: End) -> (String, JoinHandle<Result<usize>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let config = Arc::new(server_config(client_auth));
        let handle = std::thread::spawn(move || -> Result<usize> {
            let (socket, _) = listener.accept()?;
            socket.set_read_timeout(Some(IO_TIMEOUT))?;
            let mut tls = StreamOwned::new(ServerConnection::new(config)?, socket);
            let mut size = [0u8; 4];
            tls.read_exact(&mut size)?;
            let mut request = vec![0u8; i32::from_be_bytes(size) as usize];
            tls.read_exact(&mut request)?;
            let peer_certs = tls.conn.peer_certificates().map_or(0, |c| c.len());
            tls.write_all(&4i32.to_be_bytes())?;
            tls.write_all(&request[4..8])?;
            tls.flush()?;
            match end {
                End::CloseNotify => {
                    tls.conn.send_close_notify();
                    tls.flush()?;
                }
                End::TcpClose => {}
                End::StayOpen => std::thread::sleep(Duration::from_millis(500)),
            }
            Ok(peer_certs)
        });
        (address, handle)
    }

    fn request() -> Vec<u8> {
        crate::protocol::api_versions_request(0, 42)
    }

    fn options() -> TlsClientOptions {
        TlsClientOptions::trusting(&certificates().ca_pem)
    }

    fn with_client_cert() -> TlsClientOptions {
        let certs = certificates();
        options().with_client_cert(&certs.client_cert_pem, &certs.client_key_pem)
    }

    #[test]
    fn round_trips_over_tls_then_sees_close_notify() -> Result<()> {
        for versions in [TlsVersions::Tls12, TlsVersions::Tls13] {
            let (address, server) = serve(ClientAuth::None, End::CloseNotify);
            let mut client = Client::connect_tls(&address, &options().with_versions(versions))?;
            assert!(client.is_tls());
            let expected = match versions {
                TlsVersions::Tls12 => "TLSv1_2",
                _ => "TLSv1_3",
            };
            assert_eq!(client.tls_version().as_deref(), Some(expected));
            assert_eq!(client.round_trip(&request())?, 42i32.to_be_bytes());
            assert!(client.is_closed_by_peer());
            assert_eq!(server.join().unwrap()?, 0);
        }
        Ok(())
    }

    #[test]
    fn a_tcp_close_without_close_notify_is_a_close() -> Result<()> {
        let (address, server) = serve(ClientAuth::None, End::TcpClose);
        let mut client = Client::connect_tls(&address, &options())?;
        assert_eq!(client.round_trip(&request())?, 42i32.to_be_bytes());
        server.join().unwrap()?;
        assert!(client.is_closed_by_peer());
        Ok(())
    }

    #[test]
    fn no_unread_bytes_after_a_response() -> Result<()> {
        let (address, server) = serve(ClientAuth::None, End::StayOpen);
        let mut client = Client::connect_tls(&address, &options())?;
        assert_eq!(client.round_trip(&request())?, 42i32.to_be_bytes());
        assert!(!client.has_unread_bytes(Duration::from_millis(100))?);
        server.join().unwrap()?;
        Ok(())
    }

    #[test]
    fn the_server_name_may_be_its_ip_address() -> Result<()> {
        let (address, server) = serve(ClientAuth::None, End::TcpClose);
        let mut client = Client::connect_tls(&address, &options().with_server_name("127.0.0.1"))?;
        assert_eq!(client.round_trip(&request())?, 42i32.to_be_bytes());
        server.join().unwrap()?;
        Ok(())
    }

    #[test]
    fn an_untrusted_or_misnamed_server_fails_the_handshake() {
        let (address, _server) = serve(ClientAuth::None, End::TcpClose);
        let other = TlsClientOptions::trusting(&certificates().other_ca_pem);
        let error = Client::connect_tls(&address, &other)
            .err()
            .expect("connected");
        assert!(format!("{error:#}").contains("UnknownIssuer"), "{error:#}");

        let (address, _server) = serve(ClientAuth::None, End::TcpClose);
        let misnamed = options().with_server_name("elsewhere.example");
        let error = Client::connect_tls(&address, &misnamed)
            .err()
            .expect("connected");
        assert!(
            format!("{error:#}").contains("not valid for name"),
            "{error:#}"
        );
    }

    #[test]
    fn a_required_client_certificate() -> Result<()> {
        // TLS 1.2: the server refuses before the handshake ends.
        let (address, server) = serve(ClientAuth::Required, End::TcpClose);
        let tls12 = options().with_versions(TlsVersions::Tls12);
        assert!(Client::connect_tls(&address, &tls12).is_err());
        assert!(server.join().unwrap().is_err());
        // TLS 1.3: the first request fails.
        let (address, server) = serve(ClientAuth::Required, End::TcpClose);
        let tls13 = options().with_versions(TlsVersions::Tls13);
        let mut client = Client::connect_tls(&address, &tls13)?;
        assert!(client.round_trip(&request()).is_err());
        assert!(server.join().unwrap().is_err());

        let (address, server) = serve(ClientAuth::Required, End::TcpClose);
        let mut client = Client::connect_tls(&address, &with_client_cert())?;
        assert_eq!(client.round_trip(&request())?, 42i32.to_be_bytes());
        assert_eq!(server.join().unwrap()?, 1);
        Ok(())
    }

    #[test]
    fn a_requested_client_certificate() -> Result<()> {
        for (options, certs) in [(options(), 0), (with_client_cert(), 1)] {
            let (address, server) = serve(ClientAuth::Requested, End::TcpClose);
            let mut client = Client::connect_tls(&address, &options)?;
            assert_eq!(client.round_trip(&request())?, 42i32.to_be_bytes());
            assert_eq!(server.join().unwrap()?, certs);
        }
        Ok(())
    }

    #[test]
    fn plain_connections_still_work() -> Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let server = std::thread::spawn(move || -> Result<()> {
            let (mut socket, _) = listener.accept()?;
            let mut frame = [0u8; 4 + 4];
            socket.read_exact(&mut frame[..4])?;
            let mut request = vec![0u8; i32::from_be_bytes(frame[..4].try_into()?) as usize];
            socket.read_exact(&mut request)?;
            frame[..4].copy_from_slice(&4i32.to_be_bytes());
            frame[4..].copy_from_slice(&request[4..8]);
            socket.write_all(&frame)?;
            Ok(())
        });
        let mut client = Client::connect(&address)?;
        assert!(!client.is_tls() && client.tls_version().is_none());
        assert_eq!(client.round_trip(&request())?, 42i32.to_be_bytes());
        server.join().unwrap()?;
        assert!(client.is_closed_by_peer());
        Ok(())
    }
}
