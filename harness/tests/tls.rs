//! TLS listeners (`SSL`, and other names mapped to it), as Kafka configures
//! them with PEM keystores and truststores: beside a PLAINTEXT listener,
//! each on its own port and advertising its own endpoint; the handshake
//! (a server trusted or not, client certificates none, requested or
//! required, TLS 1.2 and 1.3), keystores in files or inline, per-listener
//! overrides (`listener.name.<listener>.ssl.*`), and configuration that
//! stops the broker at start.
//!
//! The certificates are made anew by each test ([`harness::tls`]).

use anyhow::{Context, Result, bail, ensure};
use assert_cmd::Command;
use harness::admin::{self, CreatableTopic};
use harness::batch::{self, RecordBatch};
use harness::client::{TlsClientOptions, TlsVersions};
use harness::fixture::TopicSpec;
use harness::launcher::{BrokerBuilder, broker_binary};
use harness::tls::{self, CertificateFiles};
use harness::wire::uuid;
use harness::{Broker, Client, groups, or_skip, protocol};
use predicates::prelude::*;
use std::path::Path;
use std::time::Duration;

const T: [u8; 16] = uuid(0x71);

/// Certificates written to a directory that lives as long as the test.
struct Certs {
    _dir: tempfile::TempDir,
    files: CertificateFiles,
}

fn certs() -> Result<Certs> {
    let dir = tempfile::tempdir()?;
    let files = tls::generate_into(dir.path())?;
    Ok(Certs { _dir: dir, files })
}

impl Certs {
    /// The broker's PEM keystore and truststore, in files.
    fn store_files(&self) -> Vec<(String, String)> {
        vec![
            ("ssl.keystore.type".into(), "PEM".into()),
            (
                "ssl.keystore.location".into(),
                self.files.server.display().to_string(),
            ),
            ("ssl.truststore.type".into(), "PEM".into()),
            (
                "ssl.truststore.location".into(),
                self.files.ca.display().to_string(),
            ),
        ]
    }

    /// A client trusting the CA, without a certificate of its own.
    fn client(&self) -> TlsClientOptions {
        TlsClientOptions::trusting(&self.files.pem.ca_pem)
    }

    /// A client trusting the CA, with the CA's client certificate.
    fn client_with_cert(&self) -> TlsClientOptions {
        let pem = &self.files.pem;
        self.client()
            .with_client_cert(&pem.client_cert_pem, &pem.client_key_pem)
    }

    /// A client trusting the CA, with a certificate of the unrelated CA.
    fn client_with_stranger_cert(&self) -> TlsClientOptions {
        let pem = &self.files.pem;
        self.client()
            .with_client_cert(&pem.other_client_cert_pem, &pem.other_client_key_pem)
    }

    /// A client trusting only the unrelated CA.
    fn client_trusting_other_ca(&self) -> TlsClientOptions {
        TlsClientOptions::trusting(&self.files.pem.other_ca_pem)
    }
}

/// A broker holding topic `t` with PLAINTEXT and an SSL listener using the
/// keystore and truststore files, plus `extra` properties.
fn ssl_broker(certs: &Certs, extra: &[(&str, &str)]) -> BrokerBuilder {
    let mut builder = Broker::builder()
        .topics(&[TopicSpec::new("t", T, 1)])
        .listener("SSL");
    for (key, value) in certs.store_files() {
        builder = builder.property(&key, &value);
    }
    builder.properties(extra)
}

/// ApiVersions v3 round-trips on `client`: the connection serves Kafka.
fn serves(client: &mut Client) -> Result<()> {
    let raw = client.round_trip(&protocol::api_versions_request(3, 11))?;
    let versions = protocol::decode_api_versions_response(&raw, 3)?;
    ensure!(
        versions.correlation_id == 11 && versions.error_code == 0,
        "{versions:?}"
    );
    for api in [0, 1, 3] {
        ensure!(
            versions.versions_of(api).is_some(),
            "ApiVersions lacks api {api}: {versions:?}"
        );
    }
    Ok(())
}

/// Connects to `listener` over TLS and checks that it serves.
fn serves_tls(broker: &Broker, listener: &str, options: &TlsClientOptions) -> Result<()> {
    let mut client = broker
        .connect_tls(listener, options)
        .with_context(|| format!("connecting to {listener} over TLS"))?;
    serves(&mut client).with_context(|| format!("a request to {listener} over TLS"))
}

/// Checks that `listener` refuses a TLS client: the handshake fails or,
/// under TLS 1.3 (where the client's handshake ends before the server has
/// checked the client's certificate), its first request gets no response.
fn refuses_tls(broker: &Broker, listener: &str, options: &TlsClientOptions) -> Result<()> {
    let mut client = match broker.connect_tls(listener, options) {
        Ok(client) => client,
        Err(_) => return Ok(()),
    };
    match client.round_trip(&protocol::api_versions_request(3, 12)) {
        Ok(response) => bail!(
            "{listener} served a client it should refuse ({} response bytes)",
            response.len()
        ),
        Err(_) => Ok(()),
    }
}

/// Metadata, FindCoordinator and DescribeCluster on `client`: the
/// (host, port) each gives for the broker.
fn advertised_endpoints(client: &mut Client) -> Result<Vec<(String, i32)>> {
    let metadata = admin::decode_metadata_response(
        &client.round_trip(&admin::metadata_request(1, Some(&[]), false, false))?,
    )?;
    ensure!(metadata.brokers.len() == 1, "{metadata:?}");
    let found = groups::decode_find_coordinator_response(&client.round_trip(
        &groups::find_coordinator_request(2, groups::KEY_TYPE_GROUP, &["g"]),
    )?)?;
    ensure!(
        found.coordinators.len() == 1 && found.coordinators[0].error_code == 0,
        "{found:?}"
    );
    let cluster = admin::decode_describe_cluster_response(&client.round_trip(
        &admin::describe_cluster_request(3, false, admin::ENDPOINT_TYPE_BROKERS),
    )?)?;
    ensure!(
        cluster.error_code == 0 && cluster.brokers.len() == 1,
        "{cluster:?}"
    );
    Ok(vec![
        (metadata.brokers[0].host.clone(), metadata.brokers[0].port),
        (
            found.coordinators[0].host.clone(),
            found.coordinators[0].port,
        ),
        (cluster.brokers[0].host.clone(), cluster.brokers[0].port),
    ])
}

/// Checks that every answer on `client` names (`host`, `port`).
fn advertises(client: &mut Client, host: &str, port: u16, over: &str) -> Result<()> {
    let endpoints = advertised_endpoints(client)?;
    ensure!(
        endpoints
            .iter()
            .all(|(h, p)| h == host && *p == i32::from(port)),
        "over {over}: Metadata, FindCoordinator and DescribeCluster gave {endpoints:?}, not {host}:{port}"
    );
    Ok(())
}

/// The properties that make FindCoordinator answer at once.
const GROUP_TUNING: &[(&str, &str)] = &[
    ("offsets.topic.num.partitions", "1"),
    ("group.initial.rebalance.delay.ms", "0"),
];

// ------------------------------------------------------------ two listeners

#[test]
fn produce_and_fetch_over_ssl_beside_plaintext() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(ssl_broker(&certs, &[]).start());
    let ssl_port = broker.listener_port("SSL");
    ensure!(
        ssl_port != broker.port(),
        "SSL shares the PLAINTEXT port {ssl_port}"
    );

    let mut ssl = broker.connect_tls("SSL", &certs.client())?;
    ensure!(ssl.is_tls());
    serves(&mut ssl)?;

    // CreateTopics, then Produce and Fetch, all over TLS.
    let created = admin::decode_create_topics_response(&ssl.round_trip(
        &admin::create_topics_request(4, &[CreatableTopic::new("created", 1, 1)], 30_000, false),
    )?)?;
    let topic = created.topic("created").context("CreateTopics: no topic")?;
    ensure!(topic.error_code == 0, "{topic:?}");
    let sent = RecordBatch::plain(&["over", "tls"]).encode();
    let produced = ssl.produce("created", 0, sent.clone())?;
    ensure!(
        (produced.error_code, produced.base_offset) == (0, 0),
        "{produced:?}"
    );
    let (high_watermark, batches) = ssl.fetch_to_end(topic.topic_id, 0, 0)?;
    ensure!(high_watermark == 2, "high watermark {high_watermark}");
    ensure!(
        batches == [batch::as_stored(&sent, 0, 0)],
        "fetched {batches:?}"
    );

    // A seeded topic, written over PLAINTEXT and read over TLS (and back).
    let mut plain = broker.connect()?;
    let first = RecordBatch::plain(&["plain"]).encode();
    let produced = plain.produce("t", 0, first.clone())?;
    ensure!(produced.error_code == 0, "{produced:?}");
    let second = RecordBatch::plain(&["secure"]).encode();
    let produced = ssl.produce("t", 0, second.clone())?;
    ensure!(
        (produced.error_code, produced.base_offset) == (0, 1),
        "{produced:?}"
    );
    let expected = vec![
        batch::as_stored(&first, 0, 0),
        batch::as_stored(&second, 1, 0),
    ];
    for (over, client) in [("SSL", &mut ssl), ("PLAINTEXT", &mut plain)] {
        let (_, batches) = client.fetch_to_end(broker.topic_id("t"), 0, 0)?;
        ensure!(batches == expected, "over {over}: fetched {batches:?}");
    }
    Ok(())
}

#[test]
fn each_listener_advertises_its_own_endpoint() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(ssl_broker(&certs, GROUP_TUNING).start());
    let mut ssl = broker.connect_tls("SSL", &certs.client())?;
    advertises(&mut ssl, "127.0.0.1", broker.listener_port("SSL"), "SSL")?;
    let mut plain = broker.connect()?;
    advertises(&mut plain, "127.0.0.1", broker.port(), "PLAINTEXT")
}

#[test]
fn advertised_listeners_give_each_listener_its_host() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(
        ssl_broker(&certs, GROUP_TUNING)
            .advertised_host("SSL", "localhost")
            .start()
    );
    let mut ssl = broker.connect_tls("SSL", &certs.client())?;
    advertises(&mut ssl, "localhost", broker.listener_port("SSL"), "SSL")?;
    let mut plain = broker.connect()?;
    advertises(&mut plain, "127.0.0.1", broker.port(), "PLAINTEXT")
}

#[test]
fn tls_1_2_and_1_3_are_both_served() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(ssl_broker(&certs, &[]).start());
    for (versions, name) in [
        (TlsVersions::Tls12, "TLSv1_2"),
        (TlsVersions::Tls13, "TLSv1_3"),
    ] {
        let mut client = broker.connect_tls("SSL", &certs.client().with_versions(versions))?;
        ensure!(
            client.tls_version().as_deref() == Some(name),
            "{versions:?}: {:?}",
            client.tls_version()
        );
        serves(&mut client)?;
    }
    // The server's certificate names 127.0.0.1 too.
    serves_tls(
        &broker,
        "SSL",
        &certs.client().with_server_name("127.0.0.1"),
    )
}

#[test]
fn enabled_protocols_limit_the_tls_versions() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(ssl_broker(&certs, &[("ssl.enabled.protocols", "TLSv1.3")]).start());
    serves_tls(
        &broker,
        "SSL",
        &certs.client().with_versions(TlsVersions::Tls13),
    )?;
    refuses_tls(
        &broker,
        "SSL",
        &certs.client().with_versions(TlsVersions::Tls12),
    )
}

#[test]
fn every_listener_keeps_its_port_across_restarts() -> Result<()> {
    let certs = certs()?;
    let mut broker = or_skip!(ssl_broker(&certs, &[]).start());
    let ports = (broker.port(), broker.listener_port("SSL"));
    broker.restart()?;
    ensure!(
        (broker.port(), broker.listener_port("SSL")) == ports,
        "ports moved"
    );
    serves_tls(&broker, "SSL", &certs.client())?;
    broker.restart_after_stop()?;
    ensure!(
        (broker.port(), broker.listener_port("SSL")) == ports,
        "ports moved"
    );
    serves_tls(&broker, "SSL", &certs.client())?;
    serves(&mut broker.connect()?)
}

// -------------------------------------------------------- what is refused

#[test]
fn a_client_trusting_another_ca_fails_the_handshake() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(ssl_broker(&certs, &[]).start());
    let error = match broker.connect_tls("SSL", &certs.client_trusting_other_ca()) {
        Ok(_) => bail!("the handshake succeeded with a client trusting another CA"),
        Err(error) => format!("{error:#}"),
    };
    ensure!(
        error.contains("UnknownIssuer") || error.contains("invalid peer certificate"),
        "{error}"
    );
    serves_tls(&broker, "SSL", &certs.client())?;
    serves(&mut broker.connect()?)
}

#[test]
fn plaintext_to_the_ssl_port_gets_no_kafka_response() -> Result<()> {
    let certs = certs()?;
    let mut broker = or_skip!(ssl_broker(&certs, &[]).start());
    let mut plain = Client::connect(&broker.listener_address("SSL"))?;
    plain.send(&protocol::api_versions_request(3, 13))?;
    // Whatever comes back (a TLS alert, if anything) is no ApiVersions
    // response.
    if let Ok(response) = plain.receive() {
        ensure!(
            !protocol::decode_api_versions_response(&response, 3)
                .is_ok_and(|versions| versions.correlation_id == 13),
            "the SSL port answered ApiVersions in plaintext"
        );
    }
    ensure!(
        plain.is_closed_by_peer(),
        "the SSL port left a plaintext connection open"
    );
    // The broker goes on serving, on both listeners.
    ensure!(broker.is_running(), "the broker stopped");
    serves_tls(&broker, "SSL", &certs.client())?;
    serves(&mut broker.connect()?)
}

#[test]
fn tls_to_the_plaintext_port_fails_the_handshake() -> Result<()> {
    let certs = certs()?;
    let mut broker = or_skip!(ssl_broker(&certs, &[]).start());
    refuses_tls(&broker, "PLAINTEXT", &certs.client())?;
    ensure!(broker.is_running(), "the broker stopped");
    serves(&mut broker.connect()?)?;
    serves_tls(&broker, "SSL", &certs.client())
}

// ------------------------------------------------------ client certificates

#[test]
fn client_auth_none_does_not_ask_for_a_certificate() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(ssl_broker(&certs, &[("ssl.client.auth", "none")]).start());
    serves_tls(&broker, "SSL", &certs.client())?;
    // A certificate the broker does not ask for is never sent, so even one
    // of a CA it does not trust does no harm.
    serves_tls(&broker, "SSL", &certs.client_with_cert())?;
    serves_tls(&broker, "SSL", &certs.client_with_stranger_cert())
}

#[test]
fn client_auth_required_needs_a_trusted_certificate() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(ssl_broker(&certs, &[("ssl.client.auth", "required")]).start());
    for versions in [TlsVersions::Tls12, TlsVersions::Tls13] {
        refuses_tls(&broker, "SSL", &certs.client().with_versions(versions))
            .with_context(|| format!("{versions:?}, no client certificate"))?;
        refuses_tls(
            &broker,
            "SSL",
            &certs.client_with_stranger_cert().with_versions(versions),
        )
        .with_context(|| format!("{versions:?}, a certificate of another CA"))?;
        serves_tls(
            &broker,
            "SSL",
            &certs.client_with_cert().with_versions(versions),
        )
        .with_context(|| format!("{versions:?}, the client certificate"))?;
    }
    // PLAINTEXT asks for nothing.
    serves(&mut broker.connect()?)
}

#[test]
fn client_auth_requested_takes_clients_with_or_without_a_certificate() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(ssl_broker(&certs, &[("ssl.client.auth", "requested")]).start());
    for versions in [TlsVersions::Tls12, TlsVersions::Tls13] {
        serves_tls(&broker, "SSL", &certs.client().with_versions(versions))
            .with_context(|| format!("{versions:?}, no client certificate"))?;
        serves_tls(
            &broker,
            "SSL",
            &certs.client_with_cert().with_versions(versions),
        )
        .with_context(|| format!("{versions:?}, the client certificate"))?;
        // A certificate that is sent must be trusted, as in Kafka.
        refuses_tls(
            &broker,
            "SSL",
            &certs.client_with_stranger_cert().with_versions(versions),
        )
        .with_context(|| format!("{versions:?}, a certificate of another CA"))?;
    }
    Ok(())
}

// ------------------------------------------------------------- inline PEM

/// A broker whose SSL listener has its keystore and truststore inline,
/// each value written by `value`, and requires client certificates.
fn inline_broker(certs: &Certs, value: fn(&str) -> String) -> Result<Broker> {
    let pem = &certs.files.pem;
    Broker::builder()
        .listener("SSL")
        .property("ssl.keystore.type", "PEM")
        .property(
            "ssl.keystore.certificate.chain",
            &value(&pem.server_chain_pem),
        )
        .property("ssl.keystore.key", &value(&pem.server_key_pem))
        .property("ssl.truststore.type", "PEM")
        .property("ssl.truststore.certificates", &value(&pem.ca_pem))
        .property("ssl.client.auth", "required")
        .start()
}

#[test]
fn inline_pem_works_like_files() -> Result<()> {
    let certs = certs()?;
    // Each PEM line break written as the escape \n, on one properties line.
    let broker = or_skip!(inline_broker(&certs, tls::properties_value));
    serves_tls(&broker, "SSL", &certs.client_with_cert())?;
    refuses_tls(&broker, "SSL", &certs.client())?;
    refuses_tls(&broker, "SSL", &certs.client_with_stranger_cert())
}

#[test]
fn inline_pem_across_continued_lines_as_kafka_documents_it() -> Result<()> {
    let certs = certs()?;
    // Each PEM line on a properties line of its own ending in ` \`: the
    // value read back has the PEM lines joined by spaces, which Kafka's
    // PEM reader takes (it ignores whitespace in the base64 text).
    let broker = or_skip!(inline_broker(&certs, tls::properties_value_continued));
    serves_tls(&broker, "SSL", &certs.client_with_cert())?;
    refuses_tls(&broker, "SSL", &certs.client())
}

// ------------------------------------------------------ per-listener settings

#[test]
fn a_listener_override_applies_to_that_listener_alone() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(
        ssl_broker(&certs, GROUP_TUNING)
            .listener_as("EXTERNAL", "SSL")
            .listener_property("SSL", "ssl.client.auth", "required")
            .start()
    );
    let ports = [
        broker.port(),
        broker.listener_port("SSL"),
        broker.listener_port("EXTERNAL"),
    ];
    ensure!(
        ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2],
        "{ports:?}"
    );
    refuses_tls(&broker, "SSL", &certs.client())?;
    serves_tls(&broker, "SSL", &certs.client_with_cert())?;
    // EXTERNAL keeps the broker-wide ssl.client.auth: none.
    serves_tls(&broker, "EXTERNAL", &certs.client())?;
    let mut external = broker.connect_tls("EXTERNAL", &certs.client())?;
    advertises(
        &mut external,
        "127.0.0.1",
        broker.listener_port("EXTERNAL"),
        "EXTERNAL",
    )
}

#[test]
fn a_listener_may_have_a_keystore_of_its_own() -> Result<()> {
    let certs = certs()?;
    let broker = or_skip!(
        ssl_broker(&certs, &[])
            .listener_as("EXTERNAL", "SSL")
            .listener_property(
                "EXTERNAL",
                "ssl.keystore.location",
                &certs.files.other_server.display().to_string(),
            )
            .start()
    );
    serves_tls(&broker, "SSL", &certs.client())?;
    refuses_tls(&broker, "SSL", &certs.client_trusting_other_ca())?;
    serves_tls(&broker, "EXTERNAL", &certs.client_trusting_other_ca())?;
    refuses_tls(&broker, "EXTERNAL", &certs.client())
}

#[test]
fn with_listeners_takes_per_listener_settings() -> Result<()> {
    let certs = certs()?;
    let keystore = certs.files.server.display().to_string();
    let truststore = certs.files.ca.display().to_string();
    let stores: &[(&str, &str)] = &[
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.location", &keystore),
        ("ssl.truststore.type", "PEM"),
        ("ssl.truststore.location", &truststore),
    ];
    let required = [stores, &[("ssl.client.auth", "required")]].concat();
    let broker = or_skip!(Broker::with_listeners(
        &[TopicSpec::new("t", T, 1)],
        &[("SSL", &required[..]), ("EXTERNAL:SSL", stores)],
    ));
    refuses_tls(&broker, "SSL", &certs.client())?;
    serves_tls(&broker, "SSL", &certs.client_with_cert())?;
    serves_tls(&broker, "EXTERNAL", &certs.client())
}

// ------------------------------------------------------- bad configuration

/// Long enough for any failure; a broker that starts instead is killed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A temporary directory for `server.properties` with PLAINTEXT and SSL
/// listeners on any free port and `log.dirs` below the directory.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn log_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("logs")
    }

    /// The broker on `server.properties` holding the PLAINTEXT and SSL
    /// listeners and the log directory, then `properties`.
    fn broker(&self, properties: &str) -> Command {
        self.broker_listening("PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", properties)
    }

    /// [`Setup::broker`] with other `listeners`.
    fn broker_listening(&self, listeners: &str, properties: &str) -> Command {
        let path = self.dir.path().join("server.properties");
        std::fs::write(
            &path,
            format!(
                "node.id=1\nlisteners={listeners}\nlog.dirs={}\n{properties}",
                self.log_dir().display()
            ),
        )
        .unwrap();
        let mut command = Command::new(broker_binary());
        command.arg(path).env_remove("RUST_LOG").timeout(TIMEOUT);
        command
    }
}

/// Runs `command`, which must fail with exactly one line on stderr
/// (`error: ...`), nothing on stdout and nothing in `log_dir`; returns the
/// line.
fn fails_with_one_line(command: &mut Command, log_dir: &Path) -> String {
    let output = command
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.trim().lines().collect();
    assert_eq!(lines.len(), 1, "stderr is not one line:\n{stderr}");
    let line = lines[0].trim();
    assert!(line.starts_with("error: "), "{line}");
    if log_dir.exists() {
        let entries: Vec<_> = std::fs::read_dir(log_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            entries.is_empty(),
            "{} holds {entries:?}",
            log_dir.display()
        );
    }
    line.to_string()
}

/// The broker-wide stores, in files.
fn store_properties(certs: &Certs) -> String {
    certs
        .store_files()
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
}

/// Checks that the broker does not start with `properties` and says so in
/// one line naming `key`.
fn refuses_to_start(properties: &str, key: &str) -> Result<()> {
    let setup = Setup::new();
    let line = fails_with_one_line(&mut setup.broker(properties), &setup.log_dir());
    ensure!(line.contains(key), "the error does not name {key}: {line}");
    Ok(())
}

#[test]
fn a_keystore_file_without_a_private_key_stops_the_start() -> Result<()> {
    // ssl.keystore.location holds key and chain in one file: the chain
    // alone leaves the listener without a key.
    let certs = certs()?;
    refuses_to_start(
        &format!(
            "ssl.keystore.type=PEM\nssl.keystore.location={}\n",
            certs.files.server_cert.display()
        ),
        "ssl.keystore.location",
    )
}

#[test]
fn a_missing_keystore_file_stops_the_start() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("nowhere.pem");
    let properties = format!(
        "ssl.keystore.type=PEM\nssl.keystore.location={}\n",
        missing.display()
    );
    refuses_to_start(&properties, "ssl.keystore.location")?;
    refuses_to_start(&properties, "nowhere.pem")
}

#[test]
fn an_ssl_listener_without_a_keystore_stops_the_start() -> Result<()> {
    let certs = certs()?;
    refuses_to_start(
        &format!(
            "ssl.truststore.type=PEM\nssl.truststore.location={}\n",
            certs.files.ca.display()
        ),
        "ssl.keystore",
    )?;
    refuses_to_start("", "ssl.keystore")
}

#[test]
fn a_jks_keystore_stops_the_start() -> Result<()> {
    let certs = certs()?;
    let stores = store_properties(&certs);
    refuses_to_start(
        &format!("{stores}ssl.keystore.type=JKS\n"),
        "ssl.keystore.type",
    )?;
    refuses_to_start(
        &format!("{stores}ssl.truststore.type=PKCS12\n"),
        "ssl.truststore.type",
    )
}

#[test]
fn an_unknown_client_auth_stops_the_start() -> Result<()> {
    let certs = certs()?;
    let stores = store_properties(&certs);
    refuses_to_start(
        &format!("{stores}ssl.client.auth=maybe\n"),
        "ssl.client.auth",
    )?;
    refuses_to_start(
        &format!("{stores}listener.name.ssl.ssl.client.auth=maybe\n"),
        "listener.name.ssl.ssl.client.auth",
    )
}

#[test]
fn a_listener_without_a_security_protocol_stops_the_start() -> Result<()> {
    let certs = certs()?;
    let stores = store_properties(&certs);
    // EXTERNAL is no security protocol: it needs a map entry.
    let setup = Setup::new();
    let line = fails_with_one_line(
        &mut setup.broker_listening(
            "PLAINTEXT://127.0.0.1:0,EXTERNAL://127.0.0.1:0",
            &format!("{stores}listener.security.protocol.map=PLAINTEXT:PLAINTEXT\n"),
        ),
        &setup.log_dir(),
    );
    ensure!(
        line.contains("listener.security.protocol.map") && line.contains("EXTERNAL"),
        "{line}"
    );
    Ok(())
}

// ------------------------------------------------------ changed at runtime

/// A listener's keystore changes at runtime, as Kafka's dynamic
/// `listener.name.<listener>.ssl.keystore.location` does it: new
/// connections get the new certificate, the change is refused as the
/// cluster-wide default or with a keystore that cannot serve, and it holds
/// across a restart.
#[test]
fn a_listeners_keystore_changes_at_runtime() -> Result<()> {
    use harness::admin::{RESOURCE_BROKER, config_op};

    let certs = certs()?;
    let mut broker = or_skip!(ssl_broker(&certs, &[]).start());
    serves_tls(&broker, "SSL", &certs.client())?;
    refuses_tls(&broker, "SSL", &certs.client_trusting_other_ca())?;
    let key = "listener.name.ssl.ssl.keystore.location";
    let other = certs.files.other_server.display().to_string();
    let set = |broker: &Broker, name: &str, value: &str| -> Result<(i16, Option<String>)> {
        let mut client = broker.connect()?;
        let changes = [(key, config_op::SET, Some(value))];
        let raw = client.round_trip(&admin::incremental_alter_configs_request(
            1,
            &[(RESOURCE_BROKER, name, &changes[..])],
            false,
        ))?;
        let response = admin::decode_alter_configs_response(&raw)?;
        let r = &response.responses[0];
        Ok((r.error_code, r.error_message.clone()))
    };
    // Kafka takes it only as a broker's own config.
    let (code, message) = set(&broker, "", &other)?;
    ensure!(
        code == admin::error::INVALID_CONFIG
            && message
                .as_deref()
                .is_some_and(|m| m.contains("broker id must be specified")),
        "{code} {message:?}"
    );
    // A file that is not a keystore is refused; the listener keeps serving.
    let (code, _) = set(&broker, "1", &certs.files.ca.display().to_string())?;
    ensure!(
        code == admin::error::INVALID_CONFIG,
        "a keystore without a key: {code}"
    );
    serves_tls(&broker, "SSL", &certs.client())?;

    let (code, message) = set(&broker, "1", &other)?;
    ensure!(code == 0, "{code} {message:?}");
    serves_tls(&broker, "SSL", &certs.client_trusting_other_ca())?;
    refuses_tls(&broker, "SSL", &certs.client())?;
    // Described as this broker's dynamic config.
    let mut client = broker.connect()?;
    let keys = [key];
    let raw = client.round_trip(&admin::describe_configs_request(
        2,
        &[(RESOURCE_BROKER, "1", Some(&keys[..]))],
        false,
        false,
    ))?;
    let described = admin::decode_describe_configs_response(&raw)?;
    let entry = described.results[0]
        .config(key)
        .with_context(|| format!("{described:?}"))?;
    ensure!(
        entry.value.as_deref() == Some(other.as_str())
            && entry.config_source == admin::config_source::DYNAMIC_BROKER_CONFIG
            && !entry.read_only
            && !entry.is_sensitive,
        "{entry:?}"
    );
    broker.restart()?;
    serves_tls(&broker, "SSL", &certs.client_trusting_other_ca())?;
    refuses_tls(&broker, "SSL", &certs.client())
}
