use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::bail;
use tocsin_config::{Config, DEFAULT_FILE_NAME, YamlError};

/// Where the configuration comes from, decided once at start; reloads re-read the same place.
#[derive(Debug, Clone)]
pub(crate) enum ConfigSource {
    /// A file named with `--config` or found as ./tocsin.yml.
    File(PathBuf),
    /// No file: the built-in defaults.
    Embedded,
}

impl ConfigSource {
    pub(crate) fn resolve(explicit: Option<&Path>) -> anyhow::Result<Self> {
        match explicit {
            Some(path) if !path.is_file() => bail!(
                "configuration file {} does not exist or is not a file; fix --config, or omit it \
                 to run on the embedded default",
                path.display()
            ),
            Some(path) => Ok(Self::File(path.to_path_buf())),
            None if Path::new(DEFAULT_FILE_NAME).is_file() => {
                Ok(Self::File(PathBuf::from(DEFAULT_FILE_NAME)))
            }
            None => Ok(Self::Embedded),
        }
    }

    pub(crate) fn load(&self) -> Result<Config, YamlError> {
        match self {
            Self::File(path) => Config::load(path),
            Self::Embedded => Ok(Config::default()),
        }
    }

    /// Relative paths in the configuration are relative to the file's directory.
    pub(crate) fn base_dir(&self) -> &Path {
        match self {
            Self::File(path) => path.parent().unwrap_or(Path::new(".")),
            Self::Embedded => Path::new("."),
        }
    }
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Embedded => f.write_str("(embedded default)"),
        }
    }
}
