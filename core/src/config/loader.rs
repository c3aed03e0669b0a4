//! Reading config files: merge order, `${VAR}` substitution, `$env`, `$file`, `$include`.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

pub fn load(files: &[PathBuf], dir: &Path) -> Result<Config, ConfigError> {
    let _ = (files, dir);
    todo!("helper B")
}
