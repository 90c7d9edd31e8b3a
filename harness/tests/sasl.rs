//! SASL on a SASL_PLAINTEXT listener beside PLAINTEXT, on the wire:
//! SaslHandshake v0 and v1, SaslAuthenticate, PLAIN against the listener's
//! JAAS users, SCRAM-SHA-256/512 against credentials made over PLAINTEXT
//! with AlterUserScramCredentials (and described with
//! DescribeUserScramCredentials), what a connection may do before it is
//! authenticated, `connections.max.idle.ms`, credentials across restarts
//! and in the metadata log, and no secret in the broker's output.

use anyhow::{Context, Result, bail, ensure};
use harness::admin;
use harness::launcher::BrokerBuilder;
use harness::metadata_log::{self, MetadataRecord};
use harness::sasl::{
    self, ScramClient, ScramDeletion, ScramMechanism, ScramUpsertion, error, plain_token,
};
use harness::{Broker, Client, or_skip, protocol};
use std::time::{Duration, Instant};

const LISTENER: &str = "SASL_PLAINTEXT";
const ALICE_PASSWORD: &str = "alice-Pw-7f3kq9";
const ADMIN_PASSWORD: &str = "admin-Pw-x81zv2";
const SCRAM_PASSWORD: &str = "scram-Pw-m4n8c6";

fn jaas() -> String {
    format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required \
         username=\"admin\" password=\"{ADMIN_PASSWORD}\" \
         user_admin=\"{ADMIN_PASSWORD}\" user_alice=\"{ALICE_PASSWORD}\";"
    )
}

/// PLAINTEXT and SASL_PLAINTEXT (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512;
/// PLAIN users admin and alice), plus `extra` properties.
fn sasl_broker(extra: &[(&str, &str)]) -> BrokerBuilder {
    Broker::builder()
        .listener(LISTENER)
        .property(
            "sasl.enabled.mechanisms",
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        )
        .listener_property(LISTENER, "plain.sasl.jaas.config", &jaas())
        .properties(extra)
}

fn connect_sasl(broker: &Broker) -> Result<Client> {
    Client::connect(&broker.listener_address(LISTENER))
}

fn handshake(
    client: &mut Client,
    version: i16,
    mechanism: &str,
) -> Result<sasl::SaslHandshakeResponse> {
    let raw = client.round_trip(&sasl::sasl_handshake_request(version, 21, mechanism))?;
    let response = sasl::decode_sasl_handshake_response(&raw)?;
    protocol::ensure_correlation(response.correlation_id, 21)?;
    Ok(response)
}

fn authenticate(
    client: &mut Client,
    version: i16,
    token: &[u8],
) -> Result<sasl::SaslAuthenticateResponse> {
    let raw = client.round_trip(&sasl::sasl_authenticate_request(version, 22, token))?;
    let response = sasl::decode_sasl_authenticate_response(&raw, version)?;
    protocol::ensure_correlation(response.correlation_id, 22)?;
    Ok(response)
}

/// A v1 PLAIN handshake on a new connection, then SaslAuthenticate v2
/// with `user`'s `password`.
fn plain_login(
    broker: &Broker,
    user: &str,
    password: &str,
) -> Result<(Client, sasl::SaslAuthenticateResponse)> {
    let mut client = connect_sasl(broker)?;
    let shook = handshake(&mut client, 1, "PLAIN")?;
    ensure!(shook.error_code == 0, "{shook:?}");
    let response = authenticate(&mut client, 2, &plain_token("", user, password))?;
    Ok((client, response))
}

/// A whole SCRAM exchange on a new connection, the server's signature
/// checked: the authenticated connection.
fn scram_login(
    broker: &Broker,
    mechanism: ScramMechanism,
    user: &str,
    password: &str,
) -> Result<Client> {
    let mut client = connect_sasl(broker)?;
    let shook = handshake(&mut client, 1, mechanism.name())?;
    ensure!(shook.error_code == 0, "{shook:?}");
    let mut scram = ScramClient::new(mechanism, user, password);
    let first = authenticate(&mut client, 2, &scram.client_first())?;
    ensure!(first.error_code == 0, "client-first: {first:?}");
    let final_message = scram.client_final(&first.auth_bytes)?;
    let last = authenticate(&mut client, 2, &final_message)?;
    ensure!(last.error_code == 0, "client-final: {last:?}");
    scram
        .verify_server_final(&last.auth_bytes)
        .context("the server-final message")?;
    Ok(client)
}

/// Handshake and client-first for `mechanism`: the connection, the SCRAM
/// client and the server-first message.
fn scram_first(
    broker: &Broker,
    mechanism: ScramMechanism,
    user: &str,
    password: &str,
) -> Result<(Client, ScramClient, Vec<u8>)> {
    let mut client = connect_sasl(broker)?;
    let shook = handshake(&mut client, 1, mechanism.name())?;
    ensure!(shook.error_code == 0, "{shook:?}");
    let scram = ScramClient::new(mechanism, user, password);
    let first = authenticate(&mut client, 2, &scram.client_first())?;
    ensure!(first.error_code == 0, "client-first: {first:?}");
    Ok((client, scram, first.auth_bytes))
}

fn alter(
    broker: &Broker,
    deletions: &[ScramDeletion],
    upsertions: &[ScramUpsertion],
) -> Result<sasl::AlterUserScramCredentialsResponse> {
    let mut client = broker.connect()?;
    let raw = client.round_trip(&sasl::alter_user_scram_credentials_request(
        31, deletions, upsertions,
    ))?;
    let response = sasl::decode_alter_user_scram_credentials_response(&raw)?;
    protocol::ensure_correlation(response.correlation_id, 31)?;
    Ok(response)
}

fn describe(
    broker: &Broker,
    users: Option<&[&str]>,
) -> Result<sasl::DescribeUserScramCredentialsResponse> {
    let mut client = broker.connect()?;
    let raw = client.round_trip(&sasl::describe_user_scram_credentials_request(32, users))?;
    let response = sasl::decode_describe_user_scram_credentials_response(&raw)?;
    protocol::ensure_correlation(response.correlation_id, 32)?;
    Ok(response)
}

/// Creates `user`'s credential for each mechanism (4096 iterations) over
/// PLAINTEXT.
fn create_scram_user(
    broker: &Broker,
    user: &str,
    password: &str,
    mechanisms: &[ScramMechanism],
) -> Result<()> {
    let upsertions: Vec<ScramUpsertion> = mechanisms
        .iter()
        .map(|m| {
            ScramUpsertion::new(
                user,
                *m,
                password,
                format!("salt-of-{user}").as_bytes(),
                4096,
            )
        })
        .collect();
    // One user twice in a request is a duplicate: one request per mechanism.
    for upsertion in upsertions {
        let response = alter(broker, &[], std::slice::from_ref(&upsertion))?;
        ensure!(
            response.results.len() == 1
                && response.results[0].user == user
                && response.results[0].error_code == 0,
            "creating {user}'s credential: {response:?}"
        );
    }
    Ok(())
}

/// One alteration's error code for `user`, the only user of the response.
fn only_error(response: &sasl::AlterUserScramCredentialsResponse, user: &str) -> Result<i16> {
    ensure!(response.results.len() == 1, "{response:?}");
    let result = response
        .result(user)
        .with_context(|| format!("no result for {user:?}: {response:?}"))?;
    Ok(result.error_code)
}

/// ApiVersions v3 and Metadata v1 answer on `client`.
fn serves(client: &mut Client) -> Result<()> {
    let raw = client.round_trip(&protocol::api_versions_request(3, 11))?;
    let versions = protocol::decode_api_versions_response(&raw, 3)?;
    ensure!(versions.error_code == 0, "{versions:?}");
    let metadata = admin::decode_metadata_response(
        &client.round_trip(&admin::metadata_request(12, Some(&[]), false, false))?,
    )?;
    ensure!(metadata.brokers.len() == 1, "{metadata:?}");
    Ok(())
}

/// The connection is closed by the broker (within the client's I/O
/// timeout).
fn ensure_closed(client: &mut Client, what: &str) -> Result<()> {
    ensure!(
        client.is_closed_by_peer(),
        "{what}: the connection is still open"
    );
    Ok(())
}

/// An authentication failure: error 58 with a message.
fn ensure_auth_failed(response: &sasl::SaslAuthenticateResponse, what: &str) -> Result<()> {
    ensure!(
        response.error_code == error::SASL_AUTHENTICATION_FAILED,
        "{what}: expected SASL_AUTHENTICATION_FAILED, got {response:?}"
    );
    ensure!(
        response
            .error_message
            .as_deref()
            .is_some_and(|m| !m.is_empty()),
        "{what}: no error message: {response:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------- PLAIN

#[test]
fn plain_login_with_the_right_password_serves_requests() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    let shook = handshake(&mut client, 1, "PLAIN")?;
    ensure!(shook.error_code == 0, "{shook:?}");
    ensure!(
        shook.mechanisms == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"],
        "{shook:?}"
    );
    let response = authenticate(&mut client, 2, &plain_token("", "alice", ALICE_PASSWORD))?;
    // Kafka leaves the nullable message at its default, "", on success.
    ensure!(
        response.error_code == 0 && response.error_message.as_deref().unwrap_or("").is_empty(),
        "{response:?}"
    );
    ensure!(response.auth_bytes.is_empty(), "{response:?}");
    serves(&mut client)
}

#[test]
fn plain_login_with_saslauthenticate_v0_and_v1() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    for version in [0, 1] {
        let mut client = connect_sasl(&broker)?;
        ensure!(handshake(&mut client, 1, "PLAIN")?.error_code == 0);
        let response = authenticate(
            &mut client,
            version,
            &plain_token("alice", "alice", ALICE_PASSWORD),
        )?;
        ensure!(response.error_code == 0, "v{version}: {response:?}");
        ensure!(
            response.session_lifetime_ms.is_some() == (version >= 1),
            "v{version}: {response:?}"
        );
        serves(&mut client)?;
    }
    Ok(())
}

#[test]
fn plain_wrong_password_fails_then_closes() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let (mut client, response) = plain_login(&broker, "alice", "not-the-password")?;
    ensure_auth_failed(&response, "wrong password")?;
    ensure_closed(&mut client, "after a wrong password")
}

#[test]
fn plain_unknown_user_fails() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let (mut client, response) = plain_login(&broker, "mallory", ALICE_PASSWORD)?;
    ensure_auth_failed(&response, "unknown user")?;
    ensure_closed(&mut client, "after an unknown user")
}

#[test]
fn plain_malformed_token_fails_or_closes() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    ensure!(handshake(&mut client, 1, "PLAIN")?.error_code == 0);
    let token = format!("alice{ALICE_PASSWORD}");
    // An answer, if any, is SASL_AUTHENTICATION_FAILED; a close will do.
    if let Ok(raw) = client.round_trip(&sasl::sasl_authenticate_request(2, 22, token.as_bytes())) {
        let response = sasl::decode_sasl_authenticate_response(&raw, 2)?;
        ensure!(
            response.error_code == error::SASL_AUTHENTICATION_FAILED,
            "{response:?}"
        );
    }
    ensure_closed(&mut client, "after a malformed token")
}

#[test]
fn plain_authorization_id_of_another_user_fails() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    ensure!(handshake(&mut client, 1, "PLAIN")?.error_code == 0);
    let response = authenticate(
        &mut client,
        2,
        &plain_token("admin", "alice", ALICE_PASSWORD),
    )?;
    ensure_auth_failed(&response, "authzid admin for alice")?;
    ensure_closed(&mut client, "after a foreign authorization id")
}

#[test]
fn failed_authentication_closes_after_the_configured_delay() -> Result<()> {
    let broker =
        or_skip!(sasl_broker(&[("connection.failed.authentication.delay.ms", "1000")]).start());
    let mut client = connect_sasl(&broker)?;
    ensure!(handshake(&mut client, 1, "PLAIN")?.error_code == 0);
    // As in Kafka, the answer comes at once and the close after the delay,
    // so the client reads why it failed.
    let started = Instant::now();
    let response = authenticate(&mut client, 2, &plain_token("", "alice", "wrong"))?;
    ensure_auth_failed(&response, "wrong password")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !client.is_closed_by_peer() {
        ensure!(Instant::now() < deadline, "the connection stays open");
    }
    ensure!(
        started.elapsed() >= Duration::from_millis(900),
        "closed after {:?}",
        started.elapsed()
    );
    // A successful login is not delayed.
    let started = Instant::now();
    let (_, ok) = plain_login(&broker, "alice", ALICE_PASSWORD)?;
    ensure!(ok.error_code == 0, "{ok:?}");
    ensure!(
        started.elapsed() < Duration::from_millis(900),
        "login took {:?}",
        started.elapsed()
    );
    Ok(())
}

#[test]
fn plain_after_v0_handshake_uses_bare_tokens() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    let shook = handshake(&mut client, 0, "PLAIN")?;
    ensure!(shook.error_code == 0, "{shook:?}");
    // The token alone, size-prefixed, with no Kafka request header.
    client.send(&plain_token("", "alice", ALICE_PASSWORD))?;
    let answer = client.receive_sized()?;
    ensure!(
        answer.is_empty(),
        "PLAIN's bare answer is {answer:?}, not empty"
    );
    serves(&mut client)
}

#[test]
fn plain_after_v0_handshake_wrong_password_closes() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    ensure!(handshake(&mut client, 0, "PLAIN")?.error_code == 0);
    client.send(&plain_token("", "alice", "wrong"))?;
    ensure_closed(&mut client, "a wrong bare PLAIN token")
}

// ---------------------------------------------------------------------- SCRAM

#[test]
fn scram_sha_256_and_512_logins_succeed_and_the_server_signature_verifies() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(&broker, "carol", SCRAM_PASSWORD, &ScramMechanism::ALL)?;
    for mechanism in ScramMechanism::ALL {
        let mut client = scram_login(&broker, mechanism, "carol", SCRAM_PASSWORD)
            .with_context(|| mechanism.name())?;
        serves(&mut client).with_context(|| mechanism.name())?;
    }
    Ok(())
}

#[test]
fn scram_user_name_with_comma_and_equals_is_escaped() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(&broker, "d=a,n", SCRAM_PASSWORD, &[ScramMechanism::Sha256])?;
    scram_login(&broker, ScramMechanism::Sha256, "d=a,n", SCRAM_PASSWORD)?;
    Ok(())
}

#[test]
fn scram_wrong_password_fails_then_closes() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(&broker, "carol", SCRAM_PASSWORD, &ScramMechanism::ALL)?;
    for mechanism in ScramMechanism::ALL {
        let (mut client, mut scram, server_first) =
            scram_first(&broker, mechanism, "carol", "wrong-password")?;
        let final_message = scram.client_final(&server_first)?;
        let response = authenticate(&mut client, 2, &final_message)?;
        ensure_auth_failed(&response, mechanism.name())?;
        ensure_closed(&mut client, mechanism.name())?;
    }
    Ok(())
}

#[test]
fn scram_final_nonce_not_the_servers_fails() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(&broker, "carol", SCRAM_PASSWORD, &[ScramMechanism::Sha256])?;
    // The client's own nonce (not extended by the server's), and a nonce
    // of neither, each with a proof computed over what is sent.
    for bad in ["ours", "other"] {
        let (mut client, mut scram, server_first) =
            scram_first(&broker, ScramMechanism::Sha256, "carol", SCRAM_PASSWORD)?;
        let nonce = match bad {
            "ours" => scram.nonce().to_string(),
            _ => "b2dVc0JvZ3VzTm9uY2U".to_string(),
        };
        let final_message = scram.client_final_with_nonce(&server_first, &nonce)?;
        let response = authenticate(&mut client, 2, &final_message)?;
        ensure_auth_failed(&response, bad)?;
        ensure_closed(&mut client, bad)?;
    }
    Ok(())
}

#[test]
fn scram_unknown_user_fails_at_the_first_message() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    for mechanism in ScramMechanism::ALL {
        let mut client = connect_sasl(&broker)?;
        ensure!(handshake(&mut client, 1, mechanism.name())?.error_code == 0);
        let scram = ScramClient::new(mechanism, "nobody", SCRAM_PASSWORD);
        let response = authenticate(&mut client, 2, &scram.client_first())?;
        ensure_auth_failed(&response, mechanism.name())?;
        ensure_closed(&mut client, mechanism.name())?;
    }
    Ok(())
}

#[test]
fn scram_credential_of_the_other_mechanism_does_not_authenticate() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(
        &broker,
        "only256",
        SCRAM_PASSWORD,
        &[ScramMechanism::Sha256],
    )?;
    let mut client = connect_sasl(&broker)?;
    ensure!(handshake(&mut client, 1, "SCRAM-SHA-512")?.error_code == 0);
    let scram = ScramClient::new(ScramMechanism::Sha512, "only256", SCRAM_PASSWORD);
    let response = authenticate(&mut client, 2, &scram.client_first())?;
    ensure_auth_failed(&response, "SHA-512 without a SHA-512 credential")
}

#[test]
fn scram_garbage_client_first_fails() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(&broker, "carol", SCRAM_PASSWORD, &[ScramMechanism::Sha256])?;
    for garbage in [
        &b"garbage"[..],
        b"n,,",
        b"x,,n=carol,r=abc",
        b"n,,r=abc,n=carol",
    ] {
        let mut client = connect_sasl(&broker)?;
        ensure!(handshake(&mut client, 1, "SCRAM-SHA-256")?.error_code == 0);
        let response = authenticate(&mut client, 2, garbage)?;
        ensure_auth_failed(&response, &String::from_utf8_lossy(garbage))?;
        ensure_closed(&mut client, &String::from_utf8_lossy(garbage))?;
    }
    Ok(())
}

// --------------------------------------------------- handshake and its states

#[test]
fn handshake_with_an_unsupported_mechanism_lists_the_enabled_ones() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    for version in [0, 1] {
        let mut client = connect_sasl(&broker)?;
        let shook = handshake(&mut client, version, "GSSAPI")?;
        ensure!(
            shook.error_code == error::UNSUPPORTED_SASL_MECHANISM,
            "v{version}: {shook:?}"
        );
        ensure!(
            shook.mechanisms == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"],
            "v{version}: {shook:?}"
        );
    }
    Ok(())
}

/// Kafka's `SaslServerAuthenticator.handleHandshakeRequest` sends the
/// UNSUPPORTED_SASL_MECHANISM response, then throws
/// `UnsupportedSaslMechanismException`: the authentication fails and the
/// connection is closed.
#[test]
fn handshake_with_an_unsupported_mechanism_closes_the_connection() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    let shook = handshake(&mut client, 1, "GSSAPI")?;
    ensure!(
        shook.error_code == error::UNSUPPORTED_SASL_MECHANISM,
        "{shook:?}"
    );
    ensure_closed(&mut client, "after UNSUPPORTED_SASL_MECHANISM")
}

#[test]
fn before_authentication_api_versions_is_answered() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    let raw = client.round_trip(&protocol::api_versions_request(3, 5))?;
    let versions = protocol::decode_api_versions_response(&raw, 3)?;
    ensure!(versions.error_code == 0, "{versions:?}");
    for api in [sasl::SASL_HANDSHAKE, sasl::SASL_AUTHENTICATE] {
        ensure!(
            versions.versions_of(api).is_some(),
            "ApiVersions lacks {api}: {versions:?}"
        );
    }
    // And the handshake still works after it.
    ensure!(handshake(&mut client, 1, "PLAIN")?.error_code == 0);
    let response = authenticate(&mut client, 2, &plain_token("", "admin", ADMIN_PASSWORD))?;
    ensure!(response.error_code == 0, "{response:?}");
    serves(&mut client)
}

#[test]
fn before_authentication_metadata_closes_the_connection() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    if let Ok(raw) = client.round_trip(&admin::metadata_request(6, Some(&[]), false, false)) {
        bail!(
            "Metadata before authentication was answered ({} bytes)",
            raw.len()
        );
    }
    // After a v1 handshake, before SaslAuthenticate: Kafka may answer with
    // the request's error response (ILLEGAL_SASL_STATE), then closes.
    let mut client = connect_sasl(&broker)?;
    ensure!(handshake(&mut client, 1, "PLAIN")?.error_code == 0);
    let _ = client.round_trip(&admin::metadata_request(7, Some(&[]), false, false));
    ensure_closed(&mut client, "Metadata after the handshake")?;
    Ok(())
}

/// Kafka's `SaslServerAuthenticator.handleApiVersionsRequest` takes
/// ApiVersions only in state HANDSHAKE_OR_VERSIONS_REQUEST and moves on to
/// HANDSHAKE_REQUEST: a second ApiVersions throws IllegalStateException
/// and the connection is closed.
#[test]
fn second_api_versions_before_the_handshake_closes_the_connection() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    let raw = client.round_trip(&protocol::api_versions_request(3, 5))?;
    ensure!(protocol::decode_api_versions_response(&raw, 3)?.error_code == 0);
    if let Ok(raw) = client.round_trip(&protocol::api_versions_request(3, 6)) {
        bail!("a second ApiVersions was answered ({} bytes)", raw.len());
    }
    Ok(())
}

/// After a v1 handshake Kafka's `handleSaslToken` takes only
/// SaslAuthenticate: any other request is answered with its error
/// response (ILLEGAL_SASL_STATE) and the connection is closed.
#[test]
fn api_versions_after_a_v1_handshake_is_illegal_sasl_state_then_closes() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    ensure!(handshake(&mut client, 1, "PLAIN")?.error_code == 0);
    let raw = client
        .round_trip(&protocol::api_versions_request(3, 9))
        .context("no answer to ApiVersions after the handshake")?;
    let versions = protocol::decode_api_versions_response(&raw, 3)?;
    ensure!(
        versions.error_code == error::ILLEGAL_SASL_STATE,
        "{versions:?}"
    );
    ensure_closed(&mut client, "after ILLEGAL_SASL_STATE")
}

#[test]
fn sasl_authenticate_before_a_handshake_closes_the_connection() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = connect_sasl(&broker)?;
    let token = plain_token("", "alice", ALICE_PASSWORD);
    if let Ok(raw) = client.round_trip(&sasl::sasl_authenticate_request(2, 8, &token)) {
        bail!(
            "SaslAuthenticate before a handshake was answered ({} bytes)",
            raw.len()
        );
    }
    Ok(())
}

#[test]
fn sasl_handshake_on_plaintext_is_illegal_sasl_state() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let mut client = broker.connect()?;
    let shook = handshake(&mut client, 1, "PLAIN")?;
    ensure!(shook.error_code == error::ILLEGAL_SASL_STATE, "{shook:?}");
    Ok(())
}

#[test]
fn second_handshake_after_authentication_is_illegal_sasl_state() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let (mut client, response) = plain_login(&broker, "alice", ALICE_PASSWORD)?;
    ensure!(response.error_code == 0, "{response:?}");
    let shook = handshake(&mut client, 1, "PLAIN")?;
    ensure!(shook.error_code == error::ILLEGAL_SASL_STATE, "{shook:?}");
    Ok(())
}

#[test]
fn unauthenticated_connection_is_closed_after_connections_max_idle_ms() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[("connections.max.idle.ms", "500")]).start());
    for handshaken in [false, true] {
        let mut client = connect_sasl(&broker)?;
        if handshaken {
            ensure!(handshake(&mut client, 1, "PLAIN")?.error_code == 0);
        }
        let started = Instant::now();
        let closed = client.is_closed_by_peer();
        let waited = started.elapsed();
        ensure!(
            closed,
            "handshake {handshaken}: still open after {waited:?}"
        );
        ensure!(
            waited < Duration::from_secs(5),
            "handshake {handshaken}: closed only after {waited:?}"
        );
    }
    Ok(())
}

// ------------------------------------------------ SCRAM credentials managed

fn upsert(user: &str, mechanism: i8, iterations: i32) -> ScramUpsertion {
    ScramUpsertion {
        name: user.to_string(),
        mechanism,
        iterations,
        salt: b"some-salt".to_vec(),
        salted_password: vec![7; 32],
    }
}

#[test]
fn alter_scram_too_few_iterations_is_unacceptable_credential() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let response = alter(&broker, &[], &[upsert("eve", 1, 1000)])?;
    ensure!(
        only_error(&response, "eve")? == error::UNACCEPTABLE_CREDENTIAL,
        "{response:?}"
    );
    let response = alter(&broker, &[], &[upsert("eve", 2, 16385)])?;
    ensure!(
        only_error(&response, "eve")? == error::UNACCEPTABLE_CREDENTIAL,
        "{response:?}"
    );
    let described = describe(&broker, Some(&["eve"]))?;
    ensure!(
        described
            .user("eve")
            .is_some_and(|u| u.error_code == error::RESOURCE_NOT_FOUND),
        "{described:?}"
    );
    Ok(())
}

#[test]
fn alter_scram_unknown_mechanism_is_unsupported_sasl_mechanism() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let response = alter(&broker, &[], &[upsert("eve", 9, 4096)])?;
    ensure!(
        only_error(&response, "eve")? == error::UNSUPPORTED_SASL_MECHANISM,
        "{response:?}"
    );
    let response = alter(
        &broker,
        &[ScramDeletion {
            name: "eve".into(),
            mechanism: 9,
        }],
        &[],
    )?;
    ensure!(
        only_error(&response, "eve")? == error::UNSUPPORTED_SASL_MECHANISM,
        "{response:?}"
    );
    Ok(())
}

#[test]
fn alter_scram_same_user_twice_is_duplicate_resource() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let response = alter(
        &broker,
        &[],
        &[
            upsert("frank", 1, 4096),
            upsert("frank", 2, 4096),
            upsert("grace", 1, 4096),
        ],
    )?;
    ensure!(response.results.len() == 2, "{response:?}");
    let frank = response.result("frank").context("no frank")?;
    ensure!(
        frank.error_code == error::DUPLICATE_RESOURCE,
        "{response:?}"
    );
    let grace = response.result("grace").context("no grace")?;
    ensure!(grace.error_code == 0, "{response:?}");
    // A deletion and an upsertion of one user are a duplicate too.
    let response = alter(
        &broker,
        &[ScramDeletion {
            name: "grace".into(),
            mechanism: 1,
        }],
        &[upsert("grace", 2, 4096)],
    )?;
    ensure!(
        only_error(&response, "grace")? == error::DUPLICATE_RESOURCE,
        "{response:?}"
    );
    // Neither of frank's alterations was applied, nor grace's second ones.
    let described = describe(&broker, Some(&["frank"]))?;
    ensure!(
        described
            .user("frank")
            .is_some_and(|u| u.error_code == error::RESOURCE_NOT_FOUND),
        "{described:?}"
    );
    Ok(())
}

#[test]
fn alter_scram_deleting_a_missing_credential_is_resource_not_found() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let response = alter(
        &broker,
        &[ScramDeletion {
            name: "nobody".into(),
            mechanism: 1,
        }],
        &[],
    )?;
    ensure!(
        only_error(&response, "nobody")? == error::RESOURCE_NOT_FOUND,
        "{response:?}"
    );
    Ok(())
}

#[test]
fn alter_scram_empty_user_name_is_unacceptable_credential() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    let response = alter(&broker, &[], &[upsert("", 1, 4096)])?;
    ensure!(
        only_error(&response, "")? == error::UNACCEPTABLE_CREDENTIAL,
        "{response:?}"
    );
    Ok(())
}

#[test]
fn describe_scram_lists_mechanisms_and_iterations() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(&broker, "carol", SCRAM_PASSWORD, &ScramMechanism::ALL)?;
    let response = alter(
        &broker,
        &[],
        &[ScramUpsertion::new(
            "dave",
            ScramMechanism::Sha512,
            SCRAM_PASSWORD,
            b"dave-salt",
            8192,
        )],
    )?;
    ensure!(only_error(&response, "dave")? == 0, "{response:?}");

    for users in [None, Some(&[][..])] {
        let all = describe(&broker, users)?;
        ensure!(all.error_code == 0, "{all:?}");
        let mut names: Vec<&str> = all.results.iter().map(|r| r.user.as_str()).collect();
        names.sort();
        ensure!(names == ["carol", "dave"], "{all:?}");
    }
    let some = describe(&broker, Some(&["carol", "dave", "nobody"]))?;
    ensure!(some.error_code == 0 && some.results.len() == 3, "{some:?}");
    let carol = some.user("carol").context("no carol")?;
    let mut infos: Vec<(i8, i32)> = carol
        .credential_infos
        .iter()
        .map(|i| (i.mechanism, i.iterations))
        .collect();
    infos.sort();
    ensure!(
        carol.error_code == 0 && infos == [(1, 4096), (2, 4096)],
        "{carol:?}"
    );
    let dave = some.user("dave").context("no dave")?;
    ensure!(
        dave.error_code == 0
            && dave.credential_infos
                == [sasl::CredentialInfo {
                    mechanism: 2,
                    iterations: 8192
                }],
        "{dave:?}"
    );
    let twice = describe(&broker, Some(&["carol", "carol"]))?;
    ensure!(
        twice.results.len() == 1 && twice.results[0].error_code == error::DUPLICATE_RESOURCE,
        "{twice:?}"
    );
    let nobody = some.user("nobody").context("no nobody")?;
    ensure!(
        nobody.error_code == error::RESOURCE_NOT_FOUND && nobody.credential_infos.is_empty(),
        "{nobody:?}"
    );
    Ok(())
}

#[test]
fn deleted_scram_credential_no_longer_authenticates() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(&broker, "carol", SCRAM_PASSWORD, &ScramMechanism::ALL)?;
    scram_login(&broker, ScramMechanism::Sha256, "carol", SCRAM_PASSWORD)?;
    let response = alter(
        &broker,
        &[ScramDeletion {
            name: "carol".into(),
            mechanism: 1,
        }],
        &[],
    )?;
    ensure!(only_error(&response, "carol")? == 0, "{response:?}");
    ensure!(
        scram_login(&broker, ScramMechanism::Sha256, "carol", SCRAM_PASSWORD).is_err(),
        "SHA-256 still authenticates after its deletion"
    );
    // The other mechanism's credential is untouched.
    scram_login(&broker, ScramMechanism::Sha512, "carol", SCRAM_PASSWORD)?;
    let described = describe(&broker, Some(&["carol"]))?;
    let carol = described.user("carol").context("no carol")?;
    ensure!(
        carol.credential_infos
            == [sasl::CredentialInfo {
                mechanism: 2,
                iterations: 4096
            }],
        "{carol:?}"
    );
    Ok(())
}

#[test]
fn replaced_scram_credential_takes_the_new_password() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(&broker, "carol", SCRAM_PASSWORD, &[ScramMechanism::Sha256])?;
    create_scram_user(
        &broker,
        "carol",
        "new-password-1",
        &[ScramMechanism::Sha256],
    )?;
    ensure!(scram_login(&broker, ScramMechanism::Sha256, "carol", SCRAM_PASSWORD).is_err());
    scram_login(&broker, ScramMechanism::Sha256, "carol", "new-password-1")?;
    Ok(())
}

// ---------------------------------------------------------- across restarts

#[test]
fn scram_credentials_survive_restarts_and_are_logged_without_the_password() -> Result<()> {
    let mut broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(&broker, "carol", SCRAM_PASSWORD, &ScramMechanism::ALL)?;
    broker.restart()?;
    for mechanism in ScramMechanism::ALL {
        scram_login(&broker, mechanism, "carol", SCRAM_PASSWORD)
            .with_context(|| format!("{} after kill -9", mechanism.name()))?;
    }
    broker.restart_after_stop()?;
    for mechanism in ScramMechanism::ALL {
        scram_login(&broker, mechanism, "carol", SCRAM_PASSWORD)
            .with_context(|| format!("{} after a stop", mechanism.name()))?;
    }

    let records = metadata_log::read(broker.log_dir())?;
    let mut found = Vec::new();
    for logged in &records {
        if let MetadataRecord::UserScramCredential {
            name,
            mechanism,
            salt,
            stored_key,
            server_key,
            iterations,
        } = &logged.record
            && name == "carol"
        {
            ensure!(
                salt == b"salt-of-carol" && *iterations == 4096,
                "{logged:?}"
            );
            let m = if *mechanism == 1 {
                ScramMechanism::Sha256
            } else {
                ScramMechanism::Sha512
            };
            let salted = m.salted_password(SCRAM_PASSWORD.as_bytes(), salt, 4096);
            ensure!(
                *stored_key == m.hash(&m.hmac(&salted, b"Client Key")),
                "stored key of {mechanism}"
            );
            ensure!(
                *server_key == m.hmac(&salted, b"Server Key"),
                "server key of {mechanism}"
            );
            found.push(*mechanism);
        }
    }
    found.sort();
    ensure!(
        found == [1, 2],
        "UserScramCredentialRecords of carol: {found:?}"
    );

    let dir = broker.log_dir().join(metadata_log::METADATA_LOG_DIR);
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.is_file() {
            let bytes = std::fs::read(&path)?;
            let salted: Vec<Vec<u8>> = ScramMechanism::ALL
                .iter()
                .map(|m| m.salted_password(SCRAM_PASSWORD.as_bytes(), b"salt-of-carol", 4096))
                .collect();
            ensure!(
                !contains(&bytes, SCRAM_PASSWORD.as_bytes()),
                "{} holds the password",
                path.display()
            );
            for s in &salted {
                ensure!(
                    !contains(&bytes, s),
                    "{} holds the salted password",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------- no secret logged

#[test]
fn broker_output_holds_no_password() -> Result<()> {
    let broker = or_skip!(sasl_broker(&[]).start());
    create_scram_user(&broker, "carol", SCRAM_PASSWORD, &ScramMechanism::ALL)?;
    let (_, ok) = plain_login(&broker, "alice", ALICE_PASSWORD)?;
    ensure!(ok.error_code == 0, "{ok:?}");
    let wrong_plain = "wrong-plain-Pw-q2w9";
    let (_, failed) = plain_login(&broker, "alice", wrong_plain)?;
    ensure_auth_failed(&failed, "wrong PLAIN password")?;
    for mechanism in ScramMechanism::ALL {
        scram_login(&broker, mechanism, "carol", SCRAM_PASSWORD)?;
    }
    let wrong_scram = "wrong-scram-Pw-z7x3";
    let (mut client, mut scram, server_first) =
        scram_first(&broker, ScramMechanism::Sha512, "carol", wrong_scram)?;
    let response = authenticate(&mut client, 2, &scram.client_final(&server_first)?)?;
    ensure_auth_failed(&response, "wrong SCRAM password")?;
    // Let the broker write what it writes about the closed connections.
    std::thread::sleep(Duration::from_millis(300));
    let output = broker.output();
    for secret in [
        ALICE_PASSWORD,
        ADMIN_PASSWORD,
        SCRAM_PASSWORD,
        wrong_plain,
        wrong_scram,
    ] {
        ensure!(
            !output.contains(secret),
            "the broker's output holds {secret:?}"
        );
    }
    Ok(())
}
