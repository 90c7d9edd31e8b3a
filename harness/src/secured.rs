//! A broker with ACL authorization for tests: PLAINTEXT (whose clients are
//! `User:ANONYMOUS`) beside SASL_PLAINTEXT with PLAIN users `admin` (the
//! one super user), `alice` and `bob`; Kafka's StandardAuthorizer with
//! `allow.everyone.if.no.acl.found=false` unless a test says otherwise.
//! Helpers log users in and make ACLs with the harness's own CreateAcls.

use crate::acls::{self, AclBinding, pattern_type, permission_type};
use crate::launcher::{Broker, BrokerBuilder};
use crate::sasl::{self, plain_token};
use crate::{Client, protocol};
use anyhow::{Result, ensure};

pub const SASL_LISTENER: &str = "SASL_PLAINTEXT";
pub const AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// The fixture's users and their passwords.
pub const USERS: &[(&str, &str)] = &[
    ("admin", "admin-Acl-pw-41x"),
    ("alice", "alice-Acl-pw-77q"),
    ("bob", "bob-Acl-pw-09m"),
];

fn jaas() -> String {
    let users: String = USERS
        .iter()
        .map(|(user, password)| format!(" user_{user}=\"{password}\""))
        .collect();
    format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required \
         username=\"admin\" password=\"{}\"{users};",
        USERS[0].1
    )
}

/// The secured broker, not started: add properties and start it.
pub fn broker() -> BrokerBuilder {
    Broker::builder()
        .listener(SASL_LISTENER)
        .property("sasl.enabled.mechanisms", "PLAIN")
        .listener_property(SASL_LISTENER, "plain.sasl.jaas.config", &jaas())
        .property("authorizer.class.name", AUTHORIZER)
        .property("super.users", "User:admin")
}

/// A connection authenticated as `user` (one of [`USERS`]) with PLAIN.
pub fn login(broker: &Broker, user: &str) -> Result<Client> {
    let password = USERS
        .iter()
        .find(|(name, _)| *name == user)
        .map(|(_, password)| *password)
        .ok_or_else(|| anyhow::anyhow!("{user} is not a user of the fixture"))?;
    let mut client = Client::connect(&broker.listener_address(SASL_LISTENER))?;
    let raw = client.round_trip(&sasl::sasl_handshake_request(1, 1, "PLAIN"))?;
    let shook = sasl::decode_sasl_handshake_response(&raw)?;
    protocol::ensure_correlation(shook.correlation_id, 1)?;
    ensure!(shook.error_code == 0, "handshake: {shook:?}");
    let raw = client.round_trip(&sasl::sasl_authenticate_request(
        2,
        2,
        &plain_token("", user, password),
    ))?;
    let authenticated = sasl::decode_sasl_authenticate_response(&raw, 2)?;
    ensure!(
        authenticated.error_code == 0,
        "authenticating {user}: {authenticated:?}"
    );
    Ok(client)
}

/// A literal ALLOW of `operation` on a resource for `principal` from any
/// host (codes from [`acls`]'s modules).
pub fn allow(resource_type: i8, name: &str, principal: &str, operation: i8) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.to_string(),
        pattern_type: pattern_type::LITERAL,
        principal: principal.to_string(),
        host: "*".to_string(),
        operation,
        permission_type: permission_type::ALLOW,
    }
}

/// As [`allow`], a DENY.
pub fn deny(resource_type: i8, name: &str, principal: &str, operation: i8) -> AclBinding {
    AclBinding {
        permission_type: permission_type::DENY,
        ..allow(resource_type, name, principal, operation)
    }
}

/// The same ACL on a PREFIXED pattern.
pub fn prefixed(acl: AclBinding) -> AclBinding {
    AclBinding {
        pattern_type: pattern_type::PREFIXED,
        ..acl
    }
}

/// Creates ACLs with CreateAcls v3 on `client` (a super user's, say) and
/// checks each was accepted.
pub fn create(client: &mut Client, bindings: &[AclBinding]) -> Result<()> {
    let raw = client.round_trip(&acls::create_acls_request(3, 7, bindings))?;
    let response = acls::decode_create_acls_response(&raw, 3)?;
    protocol::ensure_correlation(response.correlation_id, 7)?;
    ensure!(
        response.results.len() == bindings.len(),
        "{} results for {} ACLs",
        response.results.len(),
        bindings.len()
    );
    for (binding, (code, message)) in bindings.iter().zip(&response.results) {
        ensure!(*code == 0, "creating {binding:?}: error {code} {message:?}");
    }
    Ok(())
}

/// As the super user: logs in as admin and creates the ACLs.
pub fn grant(broker: &Broker, bindings: &[AclBinding]) -> Result<()> {
    create(&mut login(broker, "admin")?, bindings)
}
