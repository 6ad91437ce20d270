//! Dead-lettering one rejected file: its bytes and its `.error.json` land in the
//! dead-letter directory durably and completely, or not at all (input-format §6,
//! issue 13).
//!
//! Steps: both files are written under temporary hidden names in the dead-letter
//! directory and fsynced; then renamed to their final names; then the directory is
//! fsynced; only then is the source removed from the watched directory. Any failure
//! (a full volume, a missing directory) removes what was written and leaves the
//! source in place, so the watcher's periodic rescan offers it again.
//!
//! Invariants:
//! * the dead-letter directory never holds a partial file under a final name, nor a
//!   data file without its `.error.json` (the rename of the second is the commit);
//! * the source is removed only after both files are durable;
//! * writing the same bytes works across volumes (no rename of the source, so no
//!   EXDEV special case).
//!
//! [`Volume`] is the seam where the bytes hit the disk; tests inject one that runs out
//! of space.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Length of the hash prefix appended to a dead-letter name that is already taken:
/// 12 hex digits make an accidental clash between different files negligible.
pub const DEAD_LETTER_HASH_PREFIX: usize = 12;

/// Writes a new file durably.
pub trait Volume: Send + Sync {
    /// Creates `path` (which must not exist), writes `bytes`, fsyncs it.
    fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Disk;

impl Volume for Disk {
    fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    }
}

/// What to dead-letter: the source path, the bytes that were judged, their final
/// name and hash, and the `.error.json` document.
#[derive(Debug, Clone, Copy)]
pub struct Rejected<'a> {
    pub source: &'a Path,
    pub content: &'a [u8],
    pub name: &'a str,
    pub hash: &'a str,
    pub error_json: &'a [u8],
}

/// Dead-letters `file` into `dir` (see the module header); returns the data file's
/// final path. On `Err` nothing new is left in `dir` and the source is in place.
pub fn dead_letter_file(
    volume: &dyn Volume,
    dir: &Path,
    file: Rejected<'_>,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let target = unique_target(dir, file.name, file.hash);
    let error_target = with_suffix(&target, ".error.json");
    let token = uuid::Uuid::new_v4().simple().to_string();
    let temp = temp_name(&target, &token);
    let error_temp = temp_name(&error_target, &token);
    let mut written: Vec<&Path> = Vec::new();
    let outcome = (|| {
        written.push(&temp);
        volume.write_new(&temp, file.content)?;
        written.push(&error_temp);
        volume.write_new(&error_temp, file.error_json)?;
        std::fs::rename(&temp, &target)?;
        written.push(&target);
        std::fs::rename(&error_temp, &error_target)?;
        written.push(&error_target);
        std::fs::File::open(dir)?.sync_all()?;
        match std::fs::remove_file(file.source) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    })();
    if let Err(e) = outcome {
        for path in written {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    Ok(target)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// `dir/.name.<token>.tmp`: hidden, so nothing mistakes it for a dead letter.
fn temp_name(target: &Path, token: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.{token}.tmp"))
}

/// A free name in `dir` for `name`: the name itself, else `stem.<hash prefix>.json`,
/// else that with a counter.
fn unique_target(dir: &Path, name: &str, hash: &str) -> PathBuf {
    let plain = dir.join(name);
    if !plain.exists() {
        return plain;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s, format!(".{e}")),
        None => (name, String::new()),
    };
    let prefix: String = hash.chars().take(DEAD_LETTER_HASH_PREFIX).collect();
    let prefix = if prefix.is_empty() {
        "nohash".to_string()
    } else {
        prefix
    };
    let hashed = dir.join(format!("{stem}.{prefix}{ext}"));
    if !hashed.exists() {
        return hashed;
    }
    (1u32..)
        .map(|n| dir.join(format!("{stem}.{prefix}.{n}{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(hashed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A volume with `free` bytes left while `full` is set: like a real full disk, a
    /// write stores what fits and then fails with ENOSPC, leaving a partial file.
    struct SmallVolume {
        full: AtomicBool,
        free: usize,
    }

    impl Volume for SmallVolume {
        fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
            if !self.full.load(Ordering::SeqCst) {
                return Disk.write_new(path, bytes);
            }
            let fits = bytes.len().min(self.free);
            Disk.write_new(path, &bytes[..fits])?;
            if fits < bytes.len() {
                return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
            }
            Ok(())
        }
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let root = tempfile::tempdir().expect("temp dir");
        let watched = root.path().join("in");
        let dead = root.path().join("dead");
        std::fs::create_dir_all(&watched).expect("mkdir");
        std::fs::write(watched.join("abc_x.json"), b"{\"events\": [").expect("write");
        (root, watched, dead)
    }

    fn rejected<'a>(source: &'a Path, error_json: &'a [u8]) -> Rejected<'a> {
        Rejected {
            source,
            content: b"{\"events\": [",
            name: "abc_x.json",
            hash: "0123456789abcdef",
            error_json,
        }
    }

    #[test]
    fn a_full_volume_leaves_nothing_behind_and_keeps_the_source() {
        let (_root, watched, dead) = setup();
        let source = watched.join("abc_x.json");
        let error_json = br#"{"reason": "invalid_json", "message": "Invalid JSON"}"#;
        // No room for the data file, then room for the data file but not its context.
        for free in [4, 12] {
            let volume = SmallVolume {
                full: AtomicBool::new(true),
                free,
            };
            let err = dead_letter_file(&volume, &dead, rejected(&source, error_json))
                .expect_err("the volume is full");
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
            assert_eq!(listing(&dead), Vec::<String>::new(), "free = {free}");
            assert!(source.exists(), "the source stays in place");
        }

        // Space is freed: the retry completes.
        let volume = SmallVolume {
            full: AtomicBool::new(false),
            free: 0,
        };
        let target =
            dead_letter_file(&volume, &dead, rejected(&source, error_json)).expect("room again");
        assert_eq!(target, dead.join("abc_x.json"));
        assert_eq!(listing(&dead), vec!["abc_x.json", "abc_x.json.error.json"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"{\"events\": [");
        assert_eq!(
            std::fs::read(dead.join("abc_x.json.error.json")).unwrap(),
            error_json
        );
        assert!(!source.exists(), "moved only once both files are durable");
    }

    #[test]
    fn a_taken_name_gets_the_hash_prefix() {
        let (_root, watched, dead) = setup();
        let source = watched.join("abc_x.json");
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::write(dead.join("abc_x.json"), b"earlier").unwrap();
        let target = dead_letter_file(&Disk, &dead, rejected(&source, b"{}")).unwrap();
        assert_eq!(target, dead.join("abc_x.0123456789ab.json"));
        assert_eq!(std::fs::read(dead.join("abc_x.json")).unwrap(), b"earlier");
        assert!(dead.join("abc_x.0123456789ab.json.error.json").exists());
    }
}
