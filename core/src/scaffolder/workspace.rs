//! A task's workspace: the one directory its actions may read and write. Every path an action is given goes
//! through here, and anything that would leave it (`..`, an absolute path, a symlink that points out, a
//! chain of symlinks or a dangling one) is refused with Backstage's `NotAllowedError` message.

use std::path::{Path, PathBuf};

/// The directory a task's actions work in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// A workspace rooted at `root`, which must exist.
    pub fn new(root: PathBuf) -> Workspace {
        Workspace { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}
