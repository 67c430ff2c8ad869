//! `relabel_configs`, `metric_relabel_configs` and `alert_relabel_configs` in Prometheus's
//! format, validated with Prometheus's rules (prometheus/model/relabel).

use serde::{Deserialize, Serialize};

use crate::regex::AnchoredRegex;

/// What a relabel step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RelabelAction {
    /// Set `target_label` to `replacement` with regex groups expanded.
    Replace,
    /// Drop targets/series whose joined source labels do not match.
    Keep,
    /// Drop targets/series whose joined source labels match.
    Drop,
    /// Keep when the joined source labels equal `target_label`'s value.
    KeepEqual,
    /// Drop when the joined source labels equal `target_label`'s value.
    DropEqual,
    /// Set `target_label` to the hash of the source labels modulo `modulus`.
    HashMod,
    /// Copy labels whose names match `regex` to the name given by `replacement`.
    LabelMap,
    /// Remove labels whose names match `regex`.
    LabelDrop,
    /// Remove labels whose names do not match `regex`.
    LabelKeep,
    /// Set `target_label` to the lower-cased joined source labels.
    Lowercase,
    /// Set `target_label` to the upper-cased joined source labels.
    Uppercase,
}

impl<'de> Deserialize<'de> for RelabelAction {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Prometheus accepts actions in any case.
        Ok(match text.to_ascii_lowercase().as_str() {
            "replace" => Self::Replace,
            "keep" => Self::Keep,
            "drop" => Self::Drop,
            "keepequal" => Self::KeepEqual,
            "dropequal" => Self::DropEqual,
            "hashmod" => Self::HashMod,
            "labelmap" => Self::LabelMap,
            "labeldrop" => Self::LabelDrop,
            "labelkeep" => Self::LabelKeep,
            "lowercase" => Self::Lowercase,
            "uppercase" => Self::Uppercase,
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "unknown relabel action {text:?}; use one of replace, keep, drop, keepequal, \
                     dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase"
                )));
            }
        })
    }
}

impl RelabelAction {
    fn name(self) -> &'static str {
        match self {
            Self::Replace => "replace",
            Self::Keep => "keep",
            Self::Drop => "drop",
            Self::KeepEqual => "keepequal",
            Self::DropEqual => "dropequal",
            Self::HashMod => "hashmod",
            Self::LabelMap => "labelmap",
            Self::LabelDrop => "labeldrop",
            Self::LabelKeep => "labelkeep",
            Self::Lowercase => "lowercase",
            Self::Uppercase => "uppercase",
        }
    }
}

/// One relabelling step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRelabelConfig")]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator` and matched against `regex`.
    pub source_labels: Vec<String>,
    /// Joins source label values.
    pub separator: String,
    /// Anchored regular expression.
    pub regex: AnchoredRegex,
    /// Modulus for `hashmod`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modulus: Option<u64>,
    /// Label written by `replace`, `hashmod`, `lowercase`, `uppercase`; compared by the
    /// `*equal` actions.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target_label: String,
    /// Value (or label name for `labelmap`) with `$1`/`${name}` references.
    pub replacement: String,
    /// What the step does.
    pub action: RelabelAction,
}

const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_REPLACEMENT: &str = "$1";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelabelConfig {
    #[serde(default)]
    source_labels: Vec<String>,
    separator: Option<String>,
    regex: Option<AnchoredRegex>,
    modulus: Option<u64>,
    target_label: Option<String>,
    replacement: Option<String>,
    action: Option<RelabelAction>,
}

impl TryFrom<RawRelabelConfig> for RelabelConfig {
    type Error = String;

    fn try_from(raw: RawRelabelConfig) -> Result<Self, Self::Error> {
        use RelabelAction::*;
        let action = raw.action.unwrap_or(Replace);
        let name = action.name();
        let target_label = raw.target_label.clone().unwrap_or_default();
        if action == HashMod && raw.modulus.unwrap_or(0) == 0 {
            return Err("relabel action hashmod needs a non-zero 'modulus'".to_owned());
        }
        if matches!(
            action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && target_label.is_empty()
        {
            return Err(format!("relabel action {name} needs a 'target_label'"));
        }
        if matches!(
            action,
            Lowercase | Uppercase | KeepEqual | DropEqual | HashMod
        ) && target_label.contains('$')
        {
            return Err(format!(
                "relabel action {name} needs a literal 'target_label', not the template {target_label:?}"
            ));
        }
        if matches!(action, LabelDrop | LabelKeep)
            && (!raw.source_labels.is_empty()
                || raw.target_label.is_some()
                || raw.modulus.is_some()
                || raw.separator.is_some()
                || raw.replacement.is_some())
        {
            return Err(format!(
                "relabel action {name} takes only 'regex'; remove source_labels, target_label, \
                 modulus, separator and replacement"
            ));
        }
        if matches!(action, KeepEqual | DropEqual)
            && (raw.regex.is_some()
                || raw.modulus.is_some()
                || raw.separator.is_some()
                || raw.replacement.is_some())
        {
            return Err(format!(
                "relabel action {name} takes only 'source_labels' and 'target_label'; remove \
                 regex, modulus, separator and replacement"
            ));
        }
        if matches!(action, Keep | Drop | KeepEqual | DropEqual) && raw.source_labels.is_empty() {
            return Err(format!("relabel action {name} needs 'source_labels'"));
        }
        let regex = match raw.regex {
            Some(regex) => regex,
            None => AnchoredRegex::new(DEFAULT_REGEX).map_err(|err| err.to_string())?,
        };
        Ok(Self {
            source_labels: raw.source_labels,
            separator: raw
                .separator
                .unwrap_or_else(|| DEFAULT_SEPARATOR.to_owned()),
            regex,
            modulus: raw.modulus,
            target_label,
            replacement: raw
                .replacement
                .unwrap_or_else(|| DEFAULT_REPLACEMENT.to_owned()),
            action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    fn parse(text: &str) -> Result<RelabelConfig, String> {
        yaml::from_str::<RelabelConfig>("r.yml", text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_match_prometheus() {
        let cfg = parse("target_label: job\n").unwrap();
        assert_eq!(cfg.action, RelabelAction::Replace);
        assert_eq!(cfg.separator, ";");
        assert_eq!(cfg.regex.as_str(), "(.*)");
        assert_eq!(cfg.replacement, "$1");
    }

    #[test]
    fn action_is_case_insensitive() {
        let cfg = parse("action: LabelDrop\nregex: tmp_.*\n").unwrap();
        assert_eq!(cfg.action, RelabelAction::LabelDrop);
    }

    #[test]
    fn refuses_invalid_combinations() {
        for (text, want) in [
            ("action: hashmod\ntarget_label: x\n", "non-zero 'modulus'"),
            ("action: replace\n", "needs a 'target_label'"),
            (
                "action: labeldrop\nregex: a\ntarget_label: x\n",
                "takes only 'regex'",
            ),
            (
                "action: keepequal\nsource_labels: [a]\ntarget_label: b\nregex: x\n",
                "takes only",
            ),
            ("action: keep\n", "needs 'source_labels'"),
            (
                "action: lowercase\ntarget_label: ${1}\nsource_labels: [a]\n",
                "literal",
            ),
            ("action: explode\n", "unknown relabel action"),
            (
                "regex: '(x'\ntarget_label: a\n",
                "invalid regular expression",
            ),
            ("target_label: a\nsource_label: [b]\n", "source_label"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(err.starts_with("r.yml:"), "{err}");
        }
    }
}
