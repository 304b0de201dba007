//! Files that hold secrets or user data are the owner's alone: the data directory is 0700,
//! the SQLite database 0600, and a secret file that group or others can read is refused.

use std::path::Path;

use anyhow::{bail, Context};

/// Creates `dir` if needed and makes it 0700.
///
/// # Errors
/// When it cannot be created or its mode set.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
    set_mode(dir, 0o700).with_context(|| format!("cannot make {} private (0700)", dir.display()))
}

/// Makes an existing file 0600 (SQLite gives its WAL and shared-memory files the same mode).
///
/// # Errors
/// When its mode cannot be set.
pub fn private_file(file: &Path) -> anyhow::Result<()> {
    set_mode(file, 0o600).with_context(|| format!("cannot make {} private (0600)", file.display()))
}

/// Refuses a secret file that group or others may read.
///
/// # Errors
/// When its metadata cannot be read or it is readable by others.
pub fn check_secret_file(file: &Path, what: &str) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file)
            .with_context(|| format!("cannot read {what} {}", file.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "{what} {} can be read by other users (mode {:o}); run `chmod 600` on it",
                file.display(),
                mode & 0o777
            );
        }
    }
    let _ = (file, what);
    Ok(())
}

/// The text of a secret file (trailing newline dropped), refused when others can read it.
///
/// # Errors
/// When it is readable by others or cannot be read.
pub fn read_secret_file(file: &Path, what: &str) -> anyhow::Result<String> {
    check_secret_file(file, what)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {what} {}", file.display()))?;
    Ok(text.trim_end().to_owned())
}

/// The secret kept in `name` inside the private `data_dir`: read when it exists, otherwise
/// made by `generate` and written once (0600), so it survives restarts.
///
/// # Errors
/// When the file cannot be read or written.
pub fn generated_secret(
    data_dir: &Path,
    name: &str,
    what: &str,
    generate: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    let path = data_dir.join(name);
    if path.exists() {
        return read_secret_file(&path, what);
    }
    private_dir(data_dir)?;
    let secret = generate();
    write_new_private(&path, &secret).with_context(|| format!("cannot write {what} {}", path.display()))?;
    Ok(secret)
}

#[cfg(unix)]
fn write_new_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_new_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "s").unwrap();
        set_mode(&file, 0o644).unwrap();
        let error = check_secret_file(&file, "the secret file").unwrap_err();
        assert!(error.to_string().contains("chmod 600"), "{error}");
        private_file(&file).unwrap();
        check_secret_file(&file, "the secret file").unwrap();
    }
}
