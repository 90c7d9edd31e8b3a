//! `meta.properties`: the identity of a log directory (cluster id, node id,
//! directory id), as Kafka's storage tool or first start writes it.

use crate::storage::log_manager::topic_id_to_string;
use anyhow::{Context, bail};
use std::collections::HashMap;
use std::path::Path;
use uuid::Uuid;

pub const META_PROPERTIES_FILE: &str = "meta.properties";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaProperties {
    pub cluster_id: String,
    pub node_id: i32,
    pub directory_id: String,
}

/// Reads `meta.properties` from `log_dir`, or writes a new one with a fresh
/// cluster id when there is none. A file that names another node is an
/// error, as in Kafka.
pub fn load_or_create(log_dir: &Path, node_id: i32) -> anyhow::Result<MetaProperties> {
    let path = log_dir.join(META_PROPERTIES_FILE);
    if path.exists() {
        let file =
            std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
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
        let directory_id = props
            .get("directory.id")
            .cloned()
            .unwrap_or_else(|| topic_id_to_string(Uuid::new_v4()));
        return Ok(MetaProperties {
            cluster_id,
            node_id,
            directory_id,
        });
    }

    let meta = MetaProperties {
        cluster_id: topic_id_to_string(Uuid::new_v4()),
        node_id,
        directory_id: topic_id_to_string(Uuid::new_v4()),
    };
    let content = format!(
        "#\n#Written by the broker on first start\ncluster.id={}\ndirectory.id={}\nnode.id={}\nversion=1\n",
        meta.cluster_id, meta.directory_id, meta.node_id
    );
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(meta)
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
}
