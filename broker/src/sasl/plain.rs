//! SASL/PLAIN (RFC 4616) as Kafka's `PlainServerCallbackHandler` checks it:
//! `[authzid] NUL authcid NUL passwd` against the JAAS configuration's
//! `user_<name>="<password>"` options, an authorization id (if any) the
//! same as the user.

use std::collections::HashMap;
use subtle::ConstantTimeEq;

const INVALID: &str = "Authentication failed: Invalid username or password";

/// The authenticated user, or the message for the client.
pub fn authenticate(token: &[u8], users: &HashMap<String, String>) -> Result<String, String> {
    let text = std::str::from_utf8(token)
        .map_err(|_| "Invalid SASL/PLAIN response: not UTF-8".to_string())?;
    let mut parts = text.split('\u{0}');
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("Invalid SASL/PLAIN response: expected 3 tokens".into());
    };
    if user.is_empty() {
        return Err("Authentication failed: username not specified".into());
    }
    if password.is_empty() {
        return Err("Authentication failed: password not specified".into());
    }
    if !authzid.is_empty() && authzid != user {
        return Err(
            "Authentication failed: Client requested an authorization id that is different from username".into(),
        );
    }
    // Every user's comparison takes as long, known or not.
    let expected = users.get(user);
    let given = password.as_bytes();
    let matches = match expected {
        Some(expected) => bool::from(expected.as_bytes().ct_eq(given)),
        None => {
            let _ = given.ct_eq(given);
            false
        }
    };
    if matches {
        Ok(user.to_string())
    } else {
        Err(INVALID.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sasl::jaas_users;

    #[test]
    fn jaas_users_and_plain_tokens() {
        let users = jaas_users(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required
                username="admin" password="admin-secret"
                user_admin="admin-secret" user_alice="alice secret";"#,
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users["alice"], "alice secret");
        assert_eq!(
            authenticate(b"\0alice\0alice secret", &users),
            Ok("alice".into())
        );
        assert_eq!(
            authenticate(b"alice\0alice\0alice secret", &users),
            Ok("alice".into())
        );
        assert_eq!(authenticate(b"\0alice\0wrong", &users), Err(INVALID.into()));
        assert_eq!(authenticate(b"\0bob\0x", &users), Err(INVALID.into()));
        assert!(authenticate(b"admin\0alice\0alice secret", &users).is_err());
        assert!(authenticate(b"no nul", &users).is_err());
        assert!(authenticate(b"\0\0", &users).is_err());
        assert!(jaas_users("SomethingElse required user_a=\"b\";").is_err());
        assert!(jaas_users("x.PlainLoginModule required user_a=\"b").is_err());
    }
}
