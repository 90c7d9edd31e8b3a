//! What every row needs from the broker: client configs, topic creation and
//! configuration through the AdminClient, and reading metadata and end
//! offsets.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewTopic, ResourceSpecifier, TopicReplication,
    TopicResult,
};
use rdkafka::client::{Client, ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer};

/// The bootstrap addresses of SSL listeners ([`use_tls`]), with the CA
/// certificate their clients trust.
static TLS: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// From now on every client of `bootstrap` ([`base_config`]: producers,
/// consumers, admin and metadata clients alike) connects with TLS
/// (`security.protocol=ssl`) and trusts the CA certificate in `ca`.
pub fn use_tls(bootstrap: &str, ca: &Path) {
    TLS.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashMap::new)
        .insert(bootstrap.to_string(), ca.to_path_buf());
}

/// A client config with the bootstrap address and settings every client of
/// the bench shares: quick reconnects (the restart rows measure how soon a
/// broker is back, so backoff must not hide it); TLS for a bootstrap given
/// to [`use_tls`].
pub fn base_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("client.id", "bench")
        .set("reconnect.backoff.ms", "10")
        .set("reconnect.backoff.max.ms", "100");
    let tls = TLS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(ca) = tls.as_ref().and_then(|t| t.get(bootstrap)) {
        // librdkafka checks the certificate's names against the broker's
        // host (ssl.endpoint.identification.algorithm=https, its default).
        config
            .set("security.protocol", "ssl")
            .set("ssl.ca.location", ca.to_string_lossy());
    }
    config
}

/// Fails unless the broker answers a Metadata request with at least one
/// broker in it.
pub fn check_metadata(bootstrap: &str) -> Result<()> {
    let consumer: BaseConsumer = base_config(bootstrap)
        .create()
        .context("creating a metadata client")?;
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(30))
        .with_context(|| format!("Metadata request to {bootstrap}"))?;
    if metadata.brokers().is_empty() {
        bail!("the Metadata response from {bootstrap} lists no broker");
    }
    Ok(())
}

/// Creates a topic with replication factor 1 and waits until its metadata
/// shows every partition with a leader.
pub fn create_topic(bootstrap: &str, name: &str, partitions: i32) -> Result<()> {
    create_topic_with(bootstrap, name, partitions, &[])
}

/// [`create_topic`] with topic configs (`cleanup.policy`, ...).
pub fn create_topic_with(
    bootstrap: &str,
    name: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> Result<()> {
    let topic = configs.iter().fold(
        NewTopic::new(name, partitions, TopicReplication::Fixed(1)),
        |topic, (key, value)| topic.set(key, value),
    );
    let (admin, options, runtime) = admin_client(bootstrap)?;
    let what = format!("CreateTopics {name}");
    check_topics(
        &what,
        runtime.block_on(within_a_minute(admin.create_topics([&topic], &options))),
    )?;
    wait_for_leaders(admin.inner(), name, partitions, Duration::from_secs(60))?;
    Ok(())
}

/// Deletes a topic (DeleteTopics).
pub fn delete_topic(bootstrap: &str, name: &str) -> Result<()> {
    let (admin, options, runtime) = admin_client(bootstrap)?;
    let what = format!("DeleteTopics {name}");
    check_topics(
        &what,
        runtime.block_on(within_a_minute(admin.delete_topics(&[name], &options))),
    )
}

/// An AdminClient whose connection is up, for calls that are timed.
pub struct Admin {
    admin: AdminClient<DefaultClientContext>,
    options: AdminOptions,
    runtime: tokio::runtime::Runtime,
}

impl Admin {
    /// Creates the client and reads `topic`'s configs through it
    /// (DescribeConfigs), so that its next call does not wait for a
    /// connection.
    pub fn connect(bootstrap: &str, topic: &str) -> Result<Self> {
        let (admin, options, runtime) = admin_client(bootstrap)?;
        let what = format!("DescribeConfigs {topic}");
        let specifier = ResourceSpecifier::Topic(topic);
        let results = runtime
            .block_on(within_a_minute(
                admin.describe_configs([&specifier], &options),
            ))
            .ok_or_else(|| anyhow!("{what} timed out"))?
            .with_context(|| what.clone())?;
        for result in results {
            result.map_err(|code| anyhow!("{what}: {code}"))?;
        }
        Ok(Admin {
            admin,
            options,
            runtime,
        })
    }

    /// Sets a topic's configs with AlterConfigs, the legacy whole-resource
    /// form (the rdkafka crate has no IncrementalAlterConfigs): every config
    /// not in `configs` goes back to its default, so pass all of them.
    pub fn alter_topic_configs(&self, name: &str, configs: &[(&str, &str)]) -> Result<()> {
        let alter = configs.iter().fold(
            AlterConfig::new(ResourceSpecifier::Topic(name)),
            |alter, (key, value)| alter.set(key, value),
        );
        let what = format!("AlterConfigs {name}");
        let results = self
            .runtime
            .block_on(within_a_minute(
                self.admin.alter_configs([&alter], &self.options),
            ))
            .ok_or_else(|| anyhow!("{what} timed out"))?
            .with_context(|| what.clone())?;
        for result in results {
            if let Err((resource, code)) = result {
                bail!("{what}: {resource:?}: {code}");
            }
        }
        Ok(())
    }
}

/// An AdminClient, the options of its calls, and a runtime to wait on them.
fn admin_client(
    bootstrap: &str,
) -> Result<(
    AdminClient<DefaultClientContext>,
    AdminOptions,
    tokio::runtime::Runtime,
)> {
    let admin = base_config(bootstrap)
        .create()
        .context("creating the AdminClient")?;
    let options = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(30)))
        .request_timeout(Some(Duration::from_secs(30)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .context("building a tokio runtime")?;
    Ok((admin, options, runtime))
}

async fn within_a_minute<T>(call: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .ok()
}

/// Fails on a timed-out call, a failed call or any topic's error.
fn check_topics(
    what: &str,
    results: Option<rdkafka::error::KafkaResult<Vec<TopicResult>>>,
) -> Result<()> {
    let results = results
        .ok_or_else(|| anyhow!("{what} timed out"))?
        .with_context(|| what.to_string())?;
    for result in results {
        if let Err((topic, code)) = result {
            bail!("{what}: {topic}: {code}");
        }
    }
    Ok(())
}

/// Polls metadata every 10 ms until `topic` has `partitions` partitions, each
/// with a leader.
pub fn wait_for_leaders<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<()> {
    let start = Instant::now();
    loop {
        let last = match client.fetch_metadata(Some(topic), Duration::from_millis(500)) {
            Ok(metadata) => {
                let ready = metadata.topics().iter().any(|t| {
                    t.name() == topic
                        && t.error().is_none()
                        && t.partitions().len() == partitions as usize
                        && t.partitions()
                            .iter()
                            .all(|p| p.error().is_none() && p.leader() >= 0)
                });
                if ready {
                    return Ok(());
                }
                "not all partitions have a leader yet".to_string()
            }
            Err(err) => err.to_string(),
        };
        if start.elapsed() > timeout {
            bail!("metadata of {topic} not ready within {timeout:?}: {last}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Sum over `partitions` of each partition's end offset (high watermark).
pub fn end_offsets(bootstrap: &str, topic: &str, partitions: i32) -> Result<i64> {
    let consumer: BaseConsumer = base_config(bootstrap)
        .create()
        .context("creating a consumer")?;
    let mut total = 0;
    for partition in 0..partitions {
        let (_, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(30))
            .with_context(|| format!("end offset of {topic}-{partition}"))?;
        total += high;
    }
    Ok(total)
}
