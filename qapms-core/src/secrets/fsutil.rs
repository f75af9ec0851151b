//! Atomic file replacement: a temp file in the same directory, fsync, rename, fsync the
//! directory.
//!
//! Same directory, because `rename` is atomic only within one file system. The temp file is
//! created `0600` (never briefly readable by others, since it may hold secrets) and gets the
//! target's permissions just before the rename. If the target is a symlink, its target is
//! replaced and the link kept, so dotfile managers keep working.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Replaces `path` with `contents` atomically, keeping the file's permissions (a new file gets
/// the platform default, `0666` less the umask on Unix). On error, nothing is left behind and
/// the old file is untouched. Ownership is not carried over; run it as the file's owner.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomically_with_mode(path, contents, None)
}

/// [`write_atomically`], but with `mode` (Unix only) for the result instead of the old file's
/// permissions: key files are always `0600`, whatever the file they replace had.
pub(crate) fn write_atomically_with_mode(
    path: &Path,
    contents: &[u8],
    mode: Option<u32>,
) -> Result<()> {
    let with_file = |e: io::Error, what: &str| {
        Error::from(e)
            .with_context("file", path.display().to_string())
            .with_context("operation", what.to_owned())
    };
    let target = resolve_symlink(path).map_err(|e| with_file(e, "resolve symlink"))?;
    let existing = match fs::metadata(&target) {
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(with_file(e, "stat")),
    };
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = target.file_name().ok_or_else(|| {
        Error::invalid_input("not a file path").with_context("file", path.display().to_string())
    })?;

    // Private while being written whenever the final mode is known; a new file with no mode
    // asked for is created like `File::create` would (0666 less the umask) and stays so.
    let private = existing.is_some() || mode.is_some();
    let (tmp_path, mut tmp) =
        create_temp(&dir, file_name, private).map_err(|e| with_file(e, "create temp file"))?;
    let result = (|| {
        tmp.write_all(contents)?;
        match (mode, &existing) {
            (Some(mode), _) => set_mode(&tmp, mode)?,
            (None, Some(perms)) => tmp.set_permissions(perms.clone())?,
            (None, None) => {}
        }
        tmp.sync_all()?;
        drop(tmp);
        fs::rename(&tmp_path, &target)?;
        sync_dir(&dir)
    })();
    if let Err(e) = result {
        // Best effort: the rename may already have consumed it.
        let _ = fs::remove_file(&tmp_path);
        return Err(with_file(e, "write"));
    }
    Ok(())
}

fn resolve_symlink(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

fn create_temp(
    dir: &Path,
    file_name: &std::ffi::OsStr,
    private: bool,
) -> io::Result<(PathBuf, File)> {
    let mut last_err = None;
    // A few attempts cover a leftover temp file from a crash with the same random suffix.
    for _ in 0..8 {
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".{:016x}.tmp", rand::random::<u64>()));
        let tmp_path = dir.join(name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        match options.open(&tmp_path) {
            Ok(file) => return Ok((tmp_path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("cannot create a temp file")))
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    // Makes the rename itself durable; without it a crash can bring the old file back.
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
