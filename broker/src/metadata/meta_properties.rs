//! `meta.properties`: the identity of a log directory (cluster id, node id,
//! directory id), as Kafka's storage tool or first start writes it. Every
//! log directory has its own; they share the cluster id and node id and
//! each has its own `directory.id` (KIP-858).

use crate::storage::log_manager::topic_id_to_string;
use anyhow::{Context, bail};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use uuid::Uuid;

pub const META_PROPERTIES_FILE: &str = "meta.properties";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaProperties {
    pub cluster_id: String,
    pub node_id: i32,
    pub directory_id: String,
}

impl MetaProperties {
    /// The directory id as a UUID.
    pub fn directory_uuid(&self) -> Option<Uuid> {
        decode_id(&self.directory_id)
    }
}

/// A UUID in Kafka's text form (URL-safe base64, no padding).
fn decode_id(encoded: &str) -> Option<Uuid> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim().trim_end_matches('='))
        .ok()
        .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok())
        .map(Uuid::from_bytes)
}

/// Kafka's reserved directory ids (`DirectoryId.UNASSIGNED`, `LOST`,
/// `MIGRATING` and the rest below 100), or no id at all: a directory
/// never has one.
fn is_reserved(id: &str) -> bool {
    decode_id(id).is_none_or(|u| u.as_u128() < 100)
}

/// A new directory id, never a reserved one.
fn new_directory_id() -> String {
    loop {
        let id = topic_id_to_string(Uuid::new_v4());
        if !is_reserved(&id) {
            return id;
        }
    }
}

/// What `meta.properties` in `log_dir` says, if it exists; a file that
/// names another node is an error, as in Kafka.
fn read(log_dir: &Path, node_id: i32) -> anyhow::Result<Option<(MetaProperties, bool)>> {
    let path = log_dir.join(META_PROPERTIES_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let file = std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
    let props: HashMap<String, String> =
        java_properties::read(file).with_context(|| format!("parsing {}", path.display()))?;
    let cluster_id = props
        .get("cluster.id")
        .filter(|id| !id.is_empty())
        .with_context(|| format!("{} has no cluster.id", path.display()))?
        .clone();
    if let Some(stored) = props.get("node.id") {
        let stored: i32 = stored
            .trim()
            .parse()
            .with_context(|| format!("{} has an invalid node.id {stored:?}", path.display()))?;
        if stored != node_id {
            bail!(
                "{} belongs to node {stored}, but this broker is configured as node.id={node_id}",
                path.display()
            );
        }
    }
    let (directory_id, missing) = match props.get("directory.id") {
        Some(id) if !is_reserved(id) => (id.clone(), false),
        Some(id) => bail!("{} has a reserved directory.id {id}", path.display()),
        // Written by a Kafka before KIP-858: one is given, and kept.
        None => (new_directory_id(), true),
    };
    Ok(Some((
        MetaProperties {
            cluster_id,
            node_id,
            directory_id,
        },
        missing,
    )))
}

fn write(log_dir: &Path, meta: &MetaProperties) -> anyhow::Result<()> {
    let path = log_dir.join(META_PROPERTIES_FILE);
    let content = format!(
        "#\n#Written by the broker\ncluster.id={}\ndirectory.id={}\nnode.id={}\nversion=1\n",
        meta.cluster_id, meta.directory_id, meta.node_id
    );
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reads `meta.properties` from `log_dir`, or writes a new one with a fresh
/// cluster id when there is none.
pub fn load_or_create(log_dir: &Path, node_id: i32) -> anyhow::Result<MetaProperties> {
    let mut all = load_or_create_all(&[log_dir.to_path_buf()], node_id)?;
    Ok(all.remove(0))
}

/// The `meta.properties` of every log directory, in order: the ones that
/// exist must agree on the cluster id and have distinct directory ids (as
/// Kafka's `MetaPropertiesEnsemble.verify` requires); a directory without
/// one gets a new one with the cluster id of the others (a fresh one when
/// no directory has any) and a new directory id, as Kafka formats an
/// empty log directory of a formatted broker.
pub fn load_or_create_all(
    log_dirs: &[PathBuf],
    node_id: i32,
) -> anyhow::Result<Vec<MetaProperties>> {
    let mut found = Vec::with_capacity(log_dirs.len());
    for dir in log_dirs {
        found.push(read(dir, node_id)?);
    }
    let cluster_id = match found.iter().flatten().next() {
        Some((meta, _)) => meta.cluster_id.clone(),
        None => topic_id_to_string(Uuid::new_v4()),
    };
    let mut seen: HashMap<String, &Path> = HashMap::new();
    let mut all = Vec::with_capacity(log_dirs.len());
    for (dir, found) in log_dirs.iter().zip(found) {
        let meta = match found {
            Some((meta, missing)) => {
                if meta.cluster_id != cluster_id {
                    bail!(
                        "Invalid cluster.id in {}: expected {cluster_id}, but read {}",
                        dir.join(META_PROPERTIES_FILE).display(),
                        meta.cluster_id
                    );
                }
                if missing {
                    write(dir, &meta)?;
                }
                meta
            }
            None => {
                let meta = MetaProperties {
                    cluster_id: cluster_id.clone(),
                    node_id,
                    directory_id: new_directory_id(),
                };
                write(dir, &meta)?;
                meta
            }
        };
        if let Some(other) = seen.insert(meta.directory_id.clone(), dir) {
            bail!(
                "{} and {} have the same directory.id {}",
                other.display(),
                dir.display(),
                meta.directory_id
            );
        }
        all.push(meta);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kafka_files_and_writes_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(META_PROPERTIES_FILE),
            "#\n#Mon Sep 02 15:43:32 IST 2024\ncluster.id=rwd2jqiwRaCycLq7mKVHXA\ndirectory.id=AiSXPLrdRM-HREWplhnaNA\nnode.id=1\nversion=1\n",
        )
        .unwrap();
        let meta = load_or_create(dir.path(), 1).unwrap();
        assert_eq!(meta.cluster_id, "rwd2jqiwRaCycLq7mKVHXA");
        assert!(load_or_create(dir.path(), 2).is_err());

        let fresh = tempfile::tempdir().unwrap();
        let created = load_or_create(fresh.path(), 3).unwrap();
        assert_eq!(created.cluster_id.len(), 22);
        assert_eq!(load_or_create(fresh.path(), 3).unwrap(), created);
    }

    #[test]
    fn every_log_directory_gets_its_own_directory_id() {
        let root = tempfile::tempdir().unwrap();
        let dirs = [root.path().join("a"), root.path().join("b")];
        std::fs::create_dir_all(&dirs[0]).unwrap();
        std::fs::create_dir_all(&dirs[1]).unwrap();
        std::fs::write(
            dirs[0].join(META_PROPERTIES_FILE),
            "cluster.id=rwd2jqiwRaCycLq7mKVHXA\nnode.id=1\nversion=1\n",
        )
        .unwrap();
        let all = load_or_create_all(&dirs, 1).unwrap();
        assert_eq!(all[0].cluster_id, "rwd2jqiwRaCycLq7mKVHXA");
        assert_eq!(all[1].cluster_id, "rwd2jqiwRaCycLq7mKVHXA");
        assert_ne!(all[0].directory_id, all[1].directory_id);
        // Both written, and read back the same.
        assert_eq!(load_or_create_all(&dirs, 1).unwrap(), all);

        std::fs::write(
            dirs[1].join(META_PROPERTIES_FILE),
            format!(
                "cluster.id=AAAAAAAAAAAAAAAAAAAAAQ\ndirectory.id={}\nnode.id=1\n",
                all[1].directory_id
            ),
        )
        .unwrap();
        let err = load_or_create_all(&dirs, 1).unwrap_err().to_string();
        assert!(err.starts_with("Invalid cluster.id in"), "{err}");
    }
}
