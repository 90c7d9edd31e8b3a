//! Kafka's feature flags (KIP-584, KIP-1022) as this node supports them:
//! the levels it can run at, the rules of Kafka's `FeatureControlManager`
//! for changing a finalized level (UpdateFeatures), and the levels written
//! when a metadata log is formatted. Finalized levels live in the metadata
//! log as FeatureLevelRecords and in the [`MetadataImage`].
//!
//! A feature this node supports only at level 0 is one whose behaviour it
//! does not have (KIP-890's transaction version 2, eligible leader
//! replicas, streams groups, KIP-853's dynamic quorum):
//! raising it is refused as Kafka's controller refuses a level it does not
//! support.

use super::MetadataImage;
use super::records::{FeatureLevelRecord, MetadataRecord};

pub const METADATA_VERSION: &str = "metadata.version";
pub const KRAFT_VERSION: &str = "kraft.version";
pub const GROUP_VERSION: &str = "group.version";
/// Share groups (KIP-932): level 1 serves them (Kafka 4.2's `ShareVersion.SV_1`).
pub const SHARE_VERSION: &str = "share.version";

/// metadata.version levels from Kafka's `MetadataVersion`, from the oldest
/// a KRaft cluster can run at (3.3-IV3) to the newest of Kafka 4.2:
/// (feature level, release name, whether it changed the metadata format).
const METADATA_VERSIONS: &[(i16, &str, bool)] = &[
    (7, "3.3-IV3", true),
    (8, "3.4-IV0", true),
    (9, "3.5-IV0", false),
    (10, "3.5-IV1", false),
    (11, "3.5-IV2", true),
    (12, "3.6-IV0", false),
    (13, "3.6-IV1", true),
    (14, "3.6-IV2", true),
    (15, "3.7-IV0", true),
    (16, "3.7-IV1", false),
    (17, "3.7-IV2", true),
    (18, "3.7-IV3", false),
    (19, "3.7-IV4", false),
    (20, "3.8-IV0", false),
    (21, "3.9-IV0", false),
    (22, "4.0-IV0", false),
    (23, "4.0-IV1", true),
    (24, "4.0-IV2", false),
    (25, "4.0-IV3", false),
    (26, "4.1-IV0", false),
    (27, "4.1-IV1", false),
    (28, "4.2-IV0", false),
    (29, "4.2-IV1", false),
];

/// The oldest metadata.version that can be set (Kafka's
/// `MetadataVersion.MINIMUM_VERSION`).
pub const MINIMUM_METADATA_VERSION: i16 = 7;
/// The metadata.version a new metadata log starts at (Kafka 4.2's
/// `LATEST_PRODUCTION`).
pub const LATEST_METADATA_VERSION: i16 = 29;

/// Every feature Kafka 4.2 names, with the levels this node supports.
pub const SUPPORTED_FEATURES: &[(&str, i16, i16)] = &[
    (
        METADATA_VERSION,
        MINIMUM_METADATA_VERSION,
        LATEST_METADATA_VERSION,
    ),
    (KRAFT_VERSION, 0, 0),
    ("transaction.version", 0, 0),
    (GROUP_VERSION, 0, 1),
    ("eligible.leader.replicas.version", 0, 0),
    (SHARE_VERSION, 0, 1),
    ("streams.version", 0, 0),
];

/// How a level may change (Kafka's `FeatureUpdate.UpgradeType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeType {
    Upgrade,
    SafeDowngrade,
    UnsafeDowngrade,
    Unknown,
}

impl UpgradeType {
    /// UpdateFeatures v1+'s `upgrade_type`.
    pub fn from_code(code: i8) -> Self {
        match code {
            1 => UpgradeType::Upgrade,
            2 => UpgradeType::SafeDowngrade,
            3 => UpgradeType::UnsafeDowngrade,
            _ => UpgradeType::Unknown,
        }
    }
}

/// The release name of a metadata.version level ("4.2-IV1").
pub fn metadata_version_name(level: i16) -> Option<&'static str> {
    METADATA_VERSIONS
        .iter()
        .find(|(l, ..)| *l == level)
        .map(|(_, name, _)| *name)
}

/// The finalized level of every feature above 0, metadata.version
/// included (Kafka's `FinalizedFeatures`).
pub fn finalized(image: &MetadataImage) -> Vec<(String, i16)> {
    image
        .features()
        .iter()
        .filter(|(_, level)| **level > 0)
        .map(|(name, level)| (name.clone(), *level))
        .collect()
}

/// The levels written first to a new metadata log (what Kafka's storage
/// tool formats): the newest metadata.version, and every other feature
/// this node supports at its highest level.
pub fn bootstrap_records() -> Vec<MetadataRecord> {
    SUPPORTED_FEATURES
        .iter()
        .filter(|(name, _, max)| *max > 0 && *name != KRAFT_VERSION)
        .map(|(name, _, max)| {
            MetadataRecord::FeatureLevel(FeatureLevelRecord {
                name: (*name).to_string(),
                feature_level: *max,
            })
        })
        .collect()
}

/// An UpdateFeatures request refused: Kafka's INVALID_UPDATE_VERSION (or
/// INVALID_REQUEST) with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub invalid_request: bool,
    pub message: String,
}

/// Plans an UpdateFeatures request against `image` (Kafka's
/// `FeatureControlManager.updateFeatures`): every update is checked, the
/// first refusal refuses them all; otherwise the FeatureLevelRecords to
/// write, in request order.
pub fn plan_update(
    image: &MetadataImage,
    updates: &[(String, i16, UpgradeType)],
) -> Result<Vec<MetadataRecord>, Refused> {
    let mut seen = std::collections::HashSet::new();
    for (name, ..) in updates {
        if name.trim().is_empty() {
            return Err(Refused {
                invalid_request: true,
                message: "UpdateFeatures: the feature name must not be empty.".into(),
            });
        }
        if !seen.insert(name.as_str()) {
            return Err(Refused {
                invalid_request: true,
                message: format!("UpdateFeatures: feature {name} is updated more than once."),
            });
        }
    }
    // The levels as they would be with every update applied, for the
    // dependency checks.
    let mut proposed: std::collections::BTreeMap<String, i16> = image.features().clone();
    for (name, level, _) in updates {
        proposed.insert(name.clone(), *level);
    }
    let mut records = Vec::new();
    for (name, level, upgrade_type) in updates {
        update_feature(image, name, *level, *upgrade_type, &proposed)?;
        records.push(MetadataRecord::FeatureLevel(FeatureLevelRecord {
            name: name.clone(),
            feature_level: *level,
        }));
    }
    Ok(records)
}

fn invalid_update(name: &str, level: i16, why: &str) -> Refused {
    Refused {
        invalid_request: false,
        message: format!("Invalid update version {level} for feature {name}. {why}"),
    }
}

fn invalid_metadata_version(level: i16, why: &str) -> Refused {
    Refused {
        invalid_request: false,
        message: format!("Invalid metadata.version {level}. {why}"),
    }
}

fn update_feature(
    image: &MetadataImage,
    name: &str,
    level: i16,
    upgrade_type: UpgradeType,
    proposed: &std::collections::BTreeMap<String, i16>,
) -> Result<(), Refused> {
    if upgrade_type == UpgradeType::Unknown {
        return Err(invalid_update(
            name,
            level,
            "The controller does not support the given upgrade type.",
        ));
    }
    let current = image.features().get(name).copied().unwrap_or(0);
    if level < 0 {
        return Err(invalid_update(
            name,
            level,
            "A feature version cannot be less than 0.",
        ));
    }
    let (min, max) = SUPPORTED_FEATURES
        .iter()
        .find(|(n, ..)| *n == name)
        .map_or((0, 0), |(_, min, max)| (*min, *max));
    if !(min..=max).contains(&level) {
        let why = if max == 0 {
            "Local controller does not support this feature.".to_string()
        } else {
            format!("Local controller only supports versions {min}-{max}")
        };
        return Err(invalid_update(name, level, &why));
    }
    if level < current && upgrade_type == UpgradeType::Upgrade {
        return Err(invalid_update(
            name,
            level,
            "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.",
        ));
    }
    if level > current && upgrade_type != UpgradeType::Upgrade {
        return Err(invalid_update(
            name,
            level,
            "Can't downgrade to a newer version.",
        ));
    }
    if name == METADATA_VERSION {
        if level < current && metadata_changed_between(level, current) {
            return Err(invalid_metadata_version(
                level,
                if upgrade_type == UpgradeType::UnsafeDowngrade {
                    "Unsafe metadata downgrade is not supported in this version."
                } else {
                    "Refusing to perform the requested downgrade because it might delete metadata information."
                },
            ));
        }
        return Ok(());
    }
    if !SUPPORTED_FEATURES.iter().any(|(n, ..)| *n == name) {
        return Err(invalid_update(
            name,
            level,
            &format!("Feature {name} not found."),
        ));
    }
    // Kafka's `Feature.validateVersion`: a feature above level 0 needs a
    // metadata.version of at least the minimum.
    let metadata_version = proposed.get(METADATA_VERSION).copied().unwrap_or(0);
    if level >= 1 && metadata_version < MINIMUM_METADATA_VERSION {
        return Err(invalid_update(
            name,
            level,
            &format!(
                "{name} could not be set to {level} because it depends on metadata.version={MINIMUM_METADATA_VERSION} (3.3-IV3)"
            ),
        ));
    }
    Ok(())
}

/// Whether some metadata.version above `low` up to `high` changed the
/// metadata format (Kafka's `MetadataVersion.checkIfMetadataChanged`), so
/// that a downgrade from `high` to `low` could lose information.
fn metadata_changed_between(low: i16, high: i16) -> bool {
    METADATA_VERSIONS
        .iter()
        .any(|(level, _, changed)| *level > low && *level <= high && *changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::image::MetadataDelta;

    fn image_with(features: &[(&str, i16)]) -> MetadataImage {
        let mut delta = MetadataDelta::new(&MetadataImage::default());
        for (i, (name, level)) in features.iter().enumerate() {
            delta.replay(
                MetadataRecord::FeatureLevel(FeatureLevelRecord {
                    name: (*name).into(),
                    feature_level: *level,
                }),
                i as i64,
            );
        }
        delta.apply()
    }

    fn update(
        image: &MetadataImage,
        name: &str,
        level: i16,
        kind: UpgradeType,
    ) -> Result<(), String> {
        plan_update(image, &[(name.into(), level, kind)])
            .map(|_| ())
            .map_err(|r| r.message)
    }

    #[test]
    fn metadata_version_downgrades_only_across_unchanged_versions() {
        let image = image_with(&[(METADATA_VERSION, 25)]);
        // 24 and 25 changed nothing: down to 23 is safe, to 22 is not.
        assert_eq!(
            update(&image, METADATA_VERSION, 23, UpgradeType::SafeDowngrade),
            Ok(())
        );
        let refused = update(&image, METADATA_VERSION, 22, UpgradeType::SafeDowngrade).unwrap_err();
        assert!(
            refused.contains("might delete metadata information"),
            "{refused}"
        );
        let unsafe_ =
            update(&image, METADATA_VERSION, 22, UpgradeType::UnsafeDowngrade).unwrap_err();
        assert!(unsafe_.contains("Unsafe metadata downgrade"), "{unsafe_}");
        // A downgrade needs a downgrade type, an upgrade the upgrade type.
        assert!(update(&image, METADATA_VERSION, 24, UpgradeType::Upgrade).is_err());
        assert!(update(&image, METADATA_VERSION, 29, UpgradeType::SafeDowngrade).is_err());
        assert_eq!(
            update(&image, METADATA_VERSION, 29, UpgradeType::Upgrade),
            Ok(())
        );
        // Out of range either way.
        assert!(
            update(&image, METADATA_VERSION, 30, UpgradeType::Upgrade)
                .unwrap_err()
                .contains("7-29")
        );
        assert!(update(&image, METADATA_VERSION, 6, UpgradeType::SafeDowngrade).is_err());
        assert!(update(&image, METADATA_VERSION, 25, UpgradeType::Unknown).is_err());
    }

    #[test]
    fn other_features_follow_their_supported_ranges() {
        let image = image_with(&[(METADATA_VERSION, 29)]);
        assert_eq!(
            update(&image, GROUP_VERSION, 1, UpgradeType::Upgrade),
            Ok(())
        );
        assert!(
            update(&image, "streams.version", 1, UpgradeType::Upgrade)
                .unwrap_err()
                .contains("does not support")
        );
        assert!(update(&image, "no.such.feature", 1, UpgradeType::Upgrade).is_err());
        assert!(
            update(&image, "no.such.feature", 0, UpgradeType::Upgrade)
                .unwrap_err()
                .contains("not found")
        );
        assert!(update(&image, GROUP_VERSION, -1, UpgradeType::SafeDowngrade).is_err());
        let with_group = image_with(&[(METADATA_VERSION, 29), (GROUP_VERSION, 1)]);
        assert_eq!(
            update(&with_group, GROUP_VERSION, 0, UpgradeType::SafeDowngrade),
            Ok(())
        );
        // One refusal refuses the whole request; names must be distinct.
        let both = plan_update(
            &image,
            &[
                (GROUP_VERSION.into(), 1, UpgradeType::Upgrade),
                ("streams.version".into(), 1, UpgradeType::Upgrade),
            ],
        );
        assert!(both.is_err());
        let twice = plan_update(
            &image,
            &[
                (GROUP_VERSION.into(), 1, UpgradeType::Upgrade),
                (GROUP_VERSION.into(), 1, UpgradeType::Upgrade),
            ],
        );
        assert!(twice.unwrap_err().invalid_request);
    }

    #[test]
    fn a_new_log_starts_at_the_newest_levels() {
        let names: Vec<(String, i16)> = bootstrap_records()
            .into_iter()
            .map(|r| match r {
                MetadataRecord::FeatureLevel(f) => (f.name, f.feature_level),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            [
                (METADATA_VERSION.to_string(), 29),
                (GROUP_VERSION.to_string(), 1),
                (SHARE_VERSION.to_string(), 1)
            ]
        );
        assert_eq!(metadata_version_name(29), Some("4.2-IV1"));
    }
}
