//! A task's workspace: the one directory its actions may read and write. Every path an action is given goes
//! through here, and anything that would leave it (`..`, an absolute path, a symlink that points out, a
//! chain of symlinks or a dangling one) is refused with Backstage's `NotAllowedError` message.
//!
//! Resolution walks the relative path one component at a time from the canonical root: a component that is a
//! symlink is resolved completely (through any chain) and must land inside the root; a dangling link is
//! refused because what it will point to once written is not known (CVE-2024-26150, CVE-2026-24047). The
//! first component that does not exist ends the walk: nothing below it can be a link yet. The same type
//! confines reads from a template directory ([`Workspace::new`] on that directory).
//!
//! Listing ([`Workspace::entries`]) never follows a symlink: links are reported as links, so `debug:log` and
//! copies cannot be pointed at host files (GHSA-rq6q-wr2q-7pgp).

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use super::actions::ActionError;

/// Backstage's message for a path that leaves its directory (`resolveSafeChildPath`).
pub const OUTSIDE_PARENT: &str =
    "Relative path is not allowed to refer to a directory outside its parent";

fn outside() -> ActionError {
    ActionError::NotAllowed(OUTSIDE_PARENT.to_string())
}

fn io(what: &str, path: &str) -> impl FnOnce(std::io::Error) -> ActionError {
    let what = what.to_string();
    let path = path.to_string();
    move |e| ActionError::Failed(format!("could not {what} {path}: {e}"))
}

/// What one entry of a directory listing is (links are never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One entry of [`Workspace::entries`]: its `/`-separated path relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
}

/// The directory a task's actions work in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    root: PathBuf,
}

/// Normalizes a relative path lexically; `None` if it is absolute or climbs above its start.
pub fn normalize_relative(path: &str) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

impl Workspace {
    /// A workspace rooted at `root`, which must exist.
    pub fn new(root: PathBuf) -> Workspace {
        Workspace { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn canonical_root(&self) -> Result<PathBuf, ActionError> {
        self.root.canonicalize().map_err(|e| {
            ActionError::Failed(format!(
                "the directory {} is not usable: {e}",
                self.root.display()
            ))
        })
    }

    /// Where `rel` lives, with every symlink on the way resolved and checked; the path may not exist yet. A
    /// final component that is a symlink is resolved too, so a write through it stays inside.
    pub fn resolve_for_write(&self, rel: &str) -> Result<PathBuf, ActionError> {
        self.resolve(rel)
    }

    /// Like [`Workspace::resolve_for_write`], but the path must exist (NotFound otherwise).
    pub fn resolve_for_read(&self, rel: &str) -> Result<PathBuf, ActionError> {
        let path = self.resolve(rel)?;
        if std::fs::symlink_metadata(&path).is_err() {
            return Err(ActionError::NotFound(format!("{rel} does not exist")));
        }
        Ok(path)
    }

    /// Where the entry `rel` itself is: its parent is resolved and checked, the last component is not followed,
    /// but a symlink there must still point inside (a dangling or escaping link is refused, as Backstage does
    /// since GHSA-rq6q-wr2q-7pgp). For deleting and renaming.
    pub fn resolve_entry(&self, rel: &str) -> Result<PathBuf, ActionError> {
        let normalized = normalize_relative(rel).ok_or_else(outside)?;
        let Some(name) = normalized.file_name().map(|n| n.to_os_string()) else {
            // The root itself is never an entry one may delete or rename.
            return Err(outside());
        };
        let parent = normalized.parent().unwrap_or(Path::new(""));
        let parent = self.resolve(&parent.to_string_lossy())?;
        let path = parent.join(name);
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            if meta.file_type().is_symlink() {
                let root = self.canonical_root()?;
                let target = path.canonicalize().map_err(|_| outside())?;
                if !target.starts_with(&root) {
                    return Err(outside());
                }
            }
        }
        Ok(path)
    }

    fn resolve(&self, rel: &str) -> Result<PathBuf, ActionError> {
        let root = self.canonical_root()?;
        let normalized = normalize_relative(rel).ok_or_else(outside)?;
        let parts: Vec<_> = normalized.components().collect();
        let mut current = root.clone();
        for (i, part) in parts.iter().enumerate() {
            let candidate = current.join(part);
            match std::fs::symlink_metadata(&candidate) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    // canonicalize follows the whole chain; it fails on a dangling link.
                    let target = candidate.canonicalize().map_err(|_| outside())?;
                    if !target.starts_with(&root) {
                        return Err(outside());
                    }
                    current = target;
                }
                Ok(_) => current = candidate,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    // Nothing below a missing component can be a link yet.
                    for rest in &parts[i..] {
                        current.push(rest);
                    }
                    return Ok(current);
                }
                Err(e) => {
                    return Err(ActionError::Failed(format!("could not read {rel}: {e}")));
                }
            }
        }
        Ok(current)
    }

    /// Whether `rel` names an existing entry (a dangling link counts) inside the workspace.
    pub fn exists(&self, rel: &str) -> Result<bool, ActionError> {
        let normalized = normalize_relative(rel).ok_or_else(outside)?;
        let parent = normalized.parent().unwrap_or(Path::new(""));
        let parent = self.resolve(&parent.to_string_lossy())?;
        Ok(match normalized.file_name() {
            Some(name) => std::fs::symlink_metadata(parent.join(name)).is_ok(),
            None => parent.exists(),
        })
    }

    /// Reads the file `rel` (following links only inside the workspace).
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, ActionError> {
        let path = self.resolve_for_read(rel)?;
        std::fs::read(&path).map_err(io("read", rel))
    }

    /// Creates the directory `rel` and its parents.
    pub fn create_dir_all(&self, rel: &str) -> Result<PathBuf, ActionError> {
        let path = self.resolve_for_write(rel)?;
        std::fs::create_dir_all(&path).map_err(io("create", rel))?;
        // Creating parents cannot create links, but check again so a race with another writer is caught.
        self.resolve_for_write(rel)
    }

    /// Writes `bytes` to `rel`, creating parent directories; `mode` (Unix permission bits) is applied when given.
    pub fn write(&self, rel: &str, bytes: &[u8], mode: Option<u32>) -> Result<(), ActionError> {
        let normalized = normalize_relative(rel).ok_or_else(outside)?;
        if let Some(parent) = normalized.parent() {
            self.create_dir_all(&parent.to_string_lossy())?;
        }
        let path = self.resolve_for_write(rel)?;
        if path.is_dir() {
            return Err(ActionError::Input(format!("{rel} is a directory")));
        }
        std::fs::write(&path, bytes).map_err(io("write", rel))?;
        set_mode(&path, mode).map_err(io("set the mode of", rel))
    }

    /// Creates a symlink at `rel` whose text is `link`; the link must resolve inside the workspace (lexically
    /// from its directory, since its target may not exist yet).
    pub fn symlink(&self, rel: &str, link: &Path) -> Result<(), ActionError> {
        let normalized = normalize_relative(rel).ok_or_else(outside)?;
        let parent = normalized.parent().unwrap_or(Path::new("")).to_path_buf();
        if link.is_absolute() {
            return Err(outside());
        }
        normalize_relative(&parent.join(link).to_string_lossy()).ok_or_else(outside)?;
        self.create_dir_all(&parent.to_string_lossy())?;
        let path = self.resolve_entry(rel)?;
        if std::fs::symlink_metadata(&path).is_ok() {
            std::fs::remove_file(&path).map_err(io("replace", rel))?;
        }
        make_symlink(link, &path).map_err(io("create the link", rel))
    }

    /// Removes the file, link or directory tree `rel`; a missing entry is not an error (as `fs.remove`).
    /// A link is removed, never what it points to.
    pub fn remove(&self, rel: &str) -> Result<(), ActionError> {
        let path = self.resolve_entry(rel)?;
        match std::fs::symlink_metadata(&path) {
            Err(_) => Ok(()),
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&path).map_err(io("delete", rel)),
            Ok(_) => std::fs::remove_file(&path).map_err(io("delete", rel)),
        }
    }

    /// Moves `from` to `to`. An existing `to` is an error unless `overwrite`.
    pub fn rename(&self, from: &str, to: &str, overwrite: bool) -> Result<(), ActionError> {
        let source = self.resolve_entry(from)?;
        if std::fs::symlink_metadata(&source).is_err() {
            return Err(ActionError::NotFound(format!("{from} does not exist")));
        }
        let target = self.resolve_entry(to)?;
        if std::fs::symlink_metadata(&target).is_ok() {
            if !overwrite {
                return Err(ActionError::Input(format!("{to} already exists")));
            }
            self.remove(to)?;
        }
        if let Some(parent) = normalize_relative(to).and_then(|p| p.parent().map(Path::to_path_buf))
        {
            self.create_dir_all(&parent.to_string_lossy())?;
        }
        std::fs::rename(&source, &target).map_err(io("rename", from))
    }

    /// Every entry below `rel` (the root when empty), depth first in name order, dotfiles included. Links are
    /// listed as links and never followed.
    pub fn entries(&self, rel: &str) -> Result<Vec<Entry>, ActionError> {
        let start = self.resolve_for_read(rel)?;
        let mut out = Vec::new();
        walk(&start, "", &mut out)?;
        Ok(out)
    }

    /// The files (and links) below the root, relative, in name order.
    pub fn list_files(&self) -> Result<Vec<String>, ActionError> {
        Ok(self
            .entries("")?
            .into_iter()
            .filter(|e| e.kind != EntryKind::Dir)
            .map(|e| e.path)
            .collect())
    }

    /// The Unix permission bits of `rel` (after resolving links inside), if the platform has them.
    pub fn mode(&self, rel: &str) -> Result<Option<u32>, ActionError> {
        let path = self.resolve_for_read(rel)?;
        let meta = std::fs::metadata(&path).map_err(io("read", rel))?;
        Ok(mode_of(&meta))
    }

    /// Where `rel` (typically a link) finally points, relative to the root; NotAllowed when that is outside
    /// or the link dangles.
    pub fn link_target(&self, rel: &str) -> Result<PathBuf, ActionError> {
        let root = self.canonical_root()?;
        let path = self.resolve_for_read(rel)?;
        path.strip_prefix(&root)
            .map(Path::to_path_buf)
            .map_err(|_| outside())
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<Entry>) -> Result<(), ActionError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ActionError::Failed(format!("could not list {}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}{name}");
        let kind = entry
            .file_type()
            .map_err(|e| ActionError::Failed(format!("could not read {path}: {e}")))?;
        if kind.is_symlink() {
            out.push(Entry {
                path,
                kind: EntryKind::Symlink,
            });
        } else if kind.is_dir() {
            out.push(Entry {
                path: path.clone(),
                kind: EntryKind::Dir,
            });
            walk(&entry.path(), &format!("{path}/"), out)?;
        } else {
            out.push(Entry {
                path,
                kind: EntryKind::File,
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_meta: &std::fs::Metadata) -> Option<u32> {
    None
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: Option<u32>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match mode {
        Some(mode) => std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: Option<u32>) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(link: &Path, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(link, at)
}

#[cfg(not(unix))]
fn make_symlink(_link: &Path, _at: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        ErrorKind::Unsupported,
        "symlinks are only created on Unix",
    ))
}

/// The link text that points from the directory `from_dir` to `to` (both relative to the same root).
pub fn relative_link(from_dir: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from_dir.components().collect();
    let target: Vec<_> = to.components().collect();
    let common = from
        .iter()
        .zip(target.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &target[common..] {
        out.push(part);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Fails when any link among `entries` leaves `src` or dangles, so a copy refuses a tree before writing any
/// of it.
pub fn check_links(src: &Workspace, entries: &[Entry]) -> Result<(), ActionError> {
    for entry in entries.iter().filter(|e| e.kind == EntryKind::Symlink) {
        src.link_target(&entry.path)?;
    }
    Ok(())
}

/// Copies every entry of `src` into `dst` below `dst_rel`, overwriting files, keeping modes. A link is
/// recreated as a relative link when it resolves inside `src`; one that leaves it or dangles is refused.
/// Returns the files written, relative to `dst_rel`.
pub fn copy_tree(
    src: &Workspace,
    dst: &Workspace,
    dst_rel: &str,
) -> Result<Vec<String>, ActionError> {
    let base = normalize_relative(dst_rel).ok_or_else(outside)?;
    dst.create_dir_all(&base.to_string_lossy())?;
    let entries = src.entries("")?;
    check_links(src, &entries)?;
    let mut written = Vec::new();
    for entry in entries {
        let to = base.join(&entry.path).to_string_lossy().into_owned();
        match entry.kind {
            EntryKind::Dir => {
                dst.create_dir_all(&to)?;
            }
            EntryKind::File => {
                let bytes = src.read(&entry.path)?;
                dst.write(&to, &bytes, src.mode(&entry.path)?)?;
                written.push(entry.path);
            }
            EntryKind::Symlink => {
                let target = src.link_target(&entry.path)?;
                let parent = Path::new(&entry.path)
                    .parent()
                    .unwrap_or(Path::new(""))
                    .to_path_buf();
                dst.symlink(&to, &relative_link(&parent, &target))?;
                written.push(entry.path);
            }
        }
    }
    Ok(written)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A workspace inside a temp dir, with a sibling `outside/secret.txt` that must stay untouched.
    struct Fixture {
        _tmp: tempfile::TempDir,
        ws: Workspace,
        outside: PathBuf,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("ws");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), "secret").unwrap();
        Fixture {
            ws: Workspace::new(root),
            outside,
            _tmp: tmp,
        }
    }

    fn assert_refused<T: std::fmt::Debug>(r: Result<T, ActionError>) {
        match r {
            Err(ActionError::NotAllowed(m)) => assert_eq!(m, OUTSIDE_PARENT),
            other => panic!("expected NotAllowed, got {other:?}"),
        }
    }

    #[test]
    fn lexical_escapes_are_refused() {
        let f = fixture();
        for rel in ["../x", "/etc/passwd", "a/../../x", "../outside/secret.txt"] {
            assert_refused(f.ws.resolve_for_write(rel));
            assert_refused(f.ws.write(rel, b"x", None));
            assert_refused(f.ws.remove(rel));
            assert_refused(f.ws.read(rel));
        }
        assert_eq!(
            std::fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
            "secret"
        );
        // Climbing down and back up inside is fine.
        f.ws.write("a/../b.txt", b"ok", None).unwrap();
        assert_eq!(f.ws.read("b.txt").unwrap(), b"ok");
    }

    #[test]
    fn symlinks_out_chains_and_dangling_links_are_refused() {
        let f = fixture();
        let root = f.ws.root().to_path_buf();
        symlink(&f.outside, root.join("out")).unwrap();
        symlink(f.outside.join("secret.txt"), root.join("secret")).unwrap();
        // A chain: inside -> inside -> outside.
        symlink(root.join("hop2"), root.join("hop1")).unwrap();
        symlink(&f.outside, root.join("hop2")).unwrap();
        symlink(root.join("nowhere"), root.join("dangling")).unwrap();
        for rel in [
            "out/secret.txt",
            "out/new.txt",
            "secret",
            "hop1/secret.txt",
            "hop1/x",
            "dangling",
        ] {
            assert_refused(f.ws.resolve_for_write(rel));
            assert_refused(f.ws.write(rel, b"pwned", None));
            assert_refused(f.ws.read(rel));
        }
        for rel in [
            "out/secret.txt",
            "secret",
            "hop1/secret.txt",
            "dangling",
            "out",
        ] {
            assert_refused(f.ws.remove(rel));
        }
        assert_refused(f.ws.rename("secret", "mine", false));
        f.ws.write("mine", b"mine", None).unwrap();
        assert_refused(f.ws.rename("mine", "out/secret.txt", true));
        assert_refused(f.ws.rename("mine", "hop1/secret.txt", true));
        assert_eq!(
            std::fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
            "secret"
        );
        assert!(!f.outside.join("new.txt").exists());
        assert!(!root.join("nowhere").exists());
    }

    #[test]
    fn links_inside_are_followed() {
        let f = fixture();
        let root = f.ws.root().to_path_buf();
        f.ws.write("real/file.txt", b"hi", Some(0o755)).unwrap();
        symlink(root.join("real"), root.join("alias")).unwrap();
        assert_eq!(f.ws.read("alias/file.txt").unwrap(), b"hi");
        assert_eq!(f.ws.mode("alias/file.txt").unwrap(), Some(0o755));
        assert_eq!(f.ws.link_target("alias").unwrap(), PathBuf::from("real"));
        // Deleting the link removes the link only.
        f.ws.remove("alias").unwrap();
        assert!(root.join("real/file.txt").exists());
    }

    #[test]
    fn listing_never_follows_links() {
        let f = fixture();
        let root = f.ws.root().to_path_buf();
        f.ws.write(".hidden", b"", None).unwrap();
        f.ws.write("d/e.txt", b"", None).unwrap();
        symlink(&f.outside, root.join("out")).unwrap();
        assert_eq!(
            f.ws.list_files().unwrap(),
            vec![".hidden", "d/e.txt", "out"]
        );
        let entries = f.ws.entries("").unwrap();
        assert!(entries.contains(&Entry {
            path: "out".into(),
            kind: EntryKind::Symlink
        }));
    }

    #[test]
    fn rename_respects_overwrite() {
        let f = fixture();
        f.ws.write("a.txt", b"a", None).unwrap();
        f.ws.write("b.txt", b"b", None).unwrap();
        assert!(matches!(
            f.ws.rename("a.txt", "b.txt", false),
            Err(ActionError::Input(_))
        ));
        f.ws.rename("a.txt", "sub/b.txt", false).unwrap();
        f.ws.rename("sub/b.txt", "b.txt", true).unwrap();
        assert_eq!(f.ws.read("b.txt").unwrap(), b"a");
        assert!(matches!(
            f.ws.rename("missing", "c", false),
            Err(ActionError::NotFound(_))
        ));
    }

    #[test]
    fn symlink_creation_is_confined() {
        let f = fixture();
        f.ws.write("a/target.txt", b"t", None).unwrap();
        f.ws.symlink("b/link", Path::new("../a/target.txt"))
            .unwrap();
        assert_eq!(f.ws.read("b/link").unwrap(), b"t");
        assert_refused(f.ws.symlink("c", Path::new("../outside")));
        assert_refused(f.ws.symlink("c", Path::new("/etc")));
        assert_eq!(
            relative_link(Path::new("b/c"), Path::new("a/t")),
            PathBuf::from("../../a/t")
        );
    }
}
