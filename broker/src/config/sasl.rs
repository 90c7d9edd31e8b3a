//! SASL settings as plain data: the mechanisms a listener enables
//! (`sasl.enabled.mechanisms`) and PLAIN's users from its JAAS
//! configuration. The mechanisms themselves run in the `sasl` module.

use std::collections::HashMap;
use std::sync::Arc;

/// A mechanism this broker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Scram(ScramMechanism),
}

impl Mechanism {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            other => ScramMechanism::from_name(other).map(Mechanism::Scram),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(m) => m.name(),
        }
    }
}

/// Kafka's `ScramMechanism` (the `Mechanism` of the metadata records and
/// the scram APIs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    pub fn from_type(t: i8) -> Option<Self> {
        match t {
            1 => Some(ScramMechanism::Sha256),
            2 => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    pub fn type_id(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "SCRAM-SHA-256" => Some(ScramMechanism::Sha256),
            "SCRAM-SHA-512" => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }
}

/// A SASL listener's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct SaslSettings {
    /// `sasl.enabled.mechanisms`, in order.
    pub mechanisms: Vec<Mechanism>,
    /// PLAIN's users and passwords, from the JAAS configuration.
    pub plain_users: Arc<HashMap<String, String>>,
}

impl std::fmt::Debug for SaslSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslSettings")
            .field("mechanisms", &self.mechanisms)
            .field("plain_users", &self.plain_users.len())
            .finish()
    }
}

/// The `user_<name>="<password>"` options of a JAAS configuration
/// (`org.apache.kafka.common.security.plain.PlainLoginModule required
/// username="admin" password="..." user_admin="..." user_alice="...";`).
pub fn jaas_users(jaas: &str) -> Result<HashMap<String, String>, String> {
    let body = jaas.trim().trim_end_matches(';').trim();
    let (module, options) = body
        .split_once(char::is_whitespace)
        .ok_or_else(|| "no login module and flag".to_string())?;
    if !module.ends_with("PlainLoginModule") {
        return Err(format!("{module} is not PlainLoginModule"));
    }
    let options = options.trim_start();
    let (flag, mut rest) = options
        .split_once(char::is_whitespace)
        .unwrap_or((options, ""));
    if !matches!(flag, "required" | "requisite" | "sufficient" | "optional") {
        return Err(format!("{flag} is not a login module control flag"));
    }
    let mut users = HashMap::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (key, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("option {rest:?} has no value"))?;
        let after = after.trim_start();
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted
                    .find('"')
                    .ok_or_else(|| format!("option {} is not closed", key.trim()))?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_once(char::is_whitespace).unwrap_or((after, "")),
        };
        if let Some(user) = key.trim().strip_prefix("user_") {
            users.insert(user.to_string(), value.to_string());
        }
        rest = remaining;
    }
    Ok(users)
}
