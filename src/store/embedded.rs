//! `EmbeddedPostgres`: a private PostgreSQL cluster managed by this process.
//!
//! Used when no database URL is configured (a demo or a laptop) and by the test
//! support. It finds the server binaries, runs `initdb` once into a data directory,
//! starts the server on `127.0.0.1` at a free port (unix sockets disabled, so deep
//! data-dir paths never hit the socket path length limit) and stops it with
//! `pg_ctl stop -m fast` on [`EmbeddedPostgres::stop`] or on drop.
//!
//! Running as root: PostgreSQL refuses to run as root. When the effective uid is 0,
//! every server command runs as the `postgres` system user (`runuser -u postgres --`),
//! the data directory is chowned to that user, and every ancestor directory that
//! lacks the "search" bit for others gets `o+x` added (only that bit: nothing becomes
//! readable or listable). A temp dir (mode 0700) therefore works, and so does
//! `./.event-dedup/pgdata` under a root-owned work tree.
//!
//! Authentication is `trust` for the superuser `postgres`, which is acceptable only
//! because the server listens on loopback and the cluster is private to this machine.
//!
//! All operations are blocking (they spawn and wait for processes); async callers
//! use [`EmbeddedPostgres::start_async`] or `spawn_blocking`.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Default data directory of the service's embedded cluster, relative to the working
/// directory (git-ignored). As root, its ancestors get `o+x` if they lack it (see the
/// module header); a deployment that must not touch permissions sets a database URL
/// or a data directory under `/tmp` instead.
pub const DEFAULT_DATA_DIR: &str = ".event-dedup/pgdata";

/// The system user that runs the server when we are root.
const SERVER_USER: &str = "postgres";
/// How long `pg_ctl start -w` may wait for the server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// A freshly picked port can be taken by someone else before the server binds it;
/// that many attempts with a new port each.
const START_ATTEMPTS: usize = 3;

#[derive(thiserror::Error, Debug)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries not found ({detail}); install them \
         (e.g. `apt-get install postgresql`) or point EVENT_DEDUP_PG_BIN_DIR at the \
         directory holding initdb, pg_ctl and postgres"
    )]
    BinariesNotFound { detail: String },
    #[error("{command} failed: {detail}")]
    Command { command: String, detail: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("running as root needs the '{SERVER_USER}' system user (apt-get install postgresql creates it): {0}")]
    NoServerUser(String),
}

/// Where and how to run the cluster.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// The cluster's data directory; created and initialised when missing or empty.
    pub data_dir: PathBuf,
    /// Directory holding `initdb`, `pg_ctl`, `postgres`; `None` = search (see
    /// [`find_bin_dir`]).
    pub bin_dir: Option<PathBuf>,
    /// Trade durability for speed (fsync and synchronous commit off): for throwaway
    /// test clusters only.
    pub ephemeral: bool,
}

impl EmbeddedOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EmbeddedOptions {
            data_dir: data_dir.into(),
            bin_dir: None,
            ephemeral: false,
        }
    }
}

/// A running private cluster. Stopped by [`stop`](Self::stop) or on drop.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    /// `Some(uid, gid)` of the server user when we are root.
    run_as: Option<(u32, u32)>,
    running: bool,
}

impl EmbeddedPostgres {
    /// Initialises (if needed) and starts the cluster; returns once it accepts
    /// connections.
    pub fn start(options: &EmbeddedOptions) -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir(options.bin_dir.as_deref())?;
        let run_as = if is_root() {
            Some(server_user_ids()?)
        } else {
            None
        };
        prepare_data_dir(&options.data_dir, run_as)?;
        let data_dir =
            std::fs::canonicalize(&options.data_dir).map_err(|source| EmbeddedError::Io {
                path: options.data_dir.clone(),
                source,
            })?;
        let mut pg = EmbeddedPostgres {
            bin_dir,
            data_dir,
            port: 0,
            run_as,
            running: false,
        };
        if !pg.data_dir.join("PG_VERSION").exists() {
            pg.initdb(options.ephemeral)?;
        }
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            pg.port = free_port()?;
            match pg.pg_ctl_start() {
                Ok(()) => {
                    pg.running = true;
                    tracing::info!(port = pg.port, data_dir = %pg.data_dir.display(), "embedded PostgreSQL started");
                    return Ok(pg);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| EmbeddedError::Command {
            command: "pg_ctl start".into(),
            detail: "no attempt made".into(),
        }))
    }

    /// [`start`](Self::start) on the blocking pool, for async callers.
    pub async fn start_async(options: EmbeddedOptions) -> Result<Self, EmbeddedError> {
        tokio::task::spawn_blocking(move || Self::start(&options))
            .await
            .map_err(|e| EmbeddedError::Command {
                command: "embedded start task".into(),
                detail: e.to_string(),
            })?
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn connection_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The server log file (inside the data directory).
    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join("server.log")
    }

    /// The command prefix that runs a server binary as the right user, as argv.
    /// Exposed so a watchdog can stop the cluster with the same command.
    pub fn stop_command(&self) -> Vec<String> {
        let mut argv = self.user_prefix();
        argv.extend([
            self.bin_dir.join("pg_ctl").display().to_string(),
            "-D".into(),
            self.data_dir.display().to_string(),
            "-m".into(),
            "fast".into(),
            "-w".into(),
            "stop".into(),
        ]);
        argv
    }

    /// Stops the server (fast shutdown: active sessions are disconnected).
    pub fn stop(&mut self) -> Result<(), EmbeddedError> {
        if !self.running {
            return Ok(());
        }
        let argv = self.stop_command();
        run(&argv)?;
        self.running = false;
        tracing::info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL stopped");
        Ok(())
    }

    /// Detaches the server from this value: drop no longer stops it (for a
    /// process-wide cluster stopped by a watchdog).
    pub fn detach(mut self) {
        self.running = false;
    }

    fn user_prefix(&self) -> Vec<String> {
        match self.run_as {
            Some(_) => vec![
                "runuser".into(),
                "-u".into(),
                SERVER_USER.into(),
                "--".into(),
            ],
            None => Vec::new(),
        }
    }

    fn initdb(&self, ephemeral: bool) -> Result<(), EmbeddedError> {
        let mut argv = self.user_prefix();
        argv.extend([
            self.bin_dir.join("initdb").display().to_string(),
            "-D".into(),
            self.data_dir.display().to_string(),
            "-U".into(),
            "postgres".into(),
            "--auth=trust".into(),
            "--encoding=UTF8".into(),
            "--locale=C".into(),
        ]);
        if ephemeral {
            argv.push("--no-sync".into());
        }
        run(&argv)?;
        // Fixed settings go into the config file; only the port changes per start.
        let mut settings = String::from(
            "\n# event-dedup embedded cluster\nlisten_addresses = '127.0.0.1'\n\
             unix_socket_directories = ''\nmax_connections = 200\n",
        );
        if ephemeral {
            settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let conf = self.data_dir.join("postgresql.conf");
        let mut content = std::fs::read_to_string(&conf).map_err(|source| EmbeddedError::Io {
            path: conf.clone(),
            source,
        })?;
        content.push_str(&settings);
        std::fs::write(&conf, content).map_err(|source| EmbeddedError::Io { path: conf, source })
    }

    fn pg_ctl_start(&self) -> Result<(), EmbeddedError> {
        let mut argv = self.user_prefix();
        argv.extend([
            self.bin_dir.join("pg_ctl").display().to_string(),
            "-D".into(),
            self.data_dir.display().to_string(),
            "-l".into(),
            self.log_file().display().to_string(),
            "-o".into(),
            format!("-p {}", self.port),
            "-w".into(),
            "-t".into(),
            START_TIMEOUT.as_secs().to_string(),
            "start".into(),
        ]);
        run(&argv).map_err(|e| match e {
            EmbeddedError::Command { command, detail } => EmbeddedError::Command {
                command,
                detail: format!("{detail}\nserver log tail:\n{}", self.log_tail()),
            },
            other => other,
        })?;
        Ok(())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(error = %e, "could not stop embedded PostgreSQL");
        }
    }
}

/// Finds the directory with the server binaries: the explicit override, else the
/// highest `/usr/lib/postgresql/<version>/bin`, else `pg_config --bindir`, else the
/// directory of `initdb` on `PATH`.
pub fn find_bin_dir(override_dir: Option<&Path>) -> Result<PathBuf, EmbeddedError> {
    if let Some(dir) = override_dir {
        return if has_server_binaries(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(EmbeddedError::BinariesNotFound {
                detail: format!("{} has no initdb/pg_ctl/postgres", dir.display()),
            })
        };
    }
    if let Some(dir) = highest_debian_bin_dir(Path::new("/usr/lib/postgresql")) {
        return Ok(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server_binaries(&dir) {
            return Ok(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_server_binaries(&dir) {
                return Ok(dir);
            }
        }
    }
    Err(EmbeddedError::BinariesNotFound {
        detail: "searched /usr/lib/postgresql/*/bin, `pg_config --bindir` and PATH".into(),
    })
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|b| dir.join(b).is_file())
}

/// Debian/Ubuntu layout: `/usr/lib/postgresql/<major>/bin`, highest major wins.
fn highest_debian_bin_dir(root: &Path) -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_server_binaries(&bin).then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// uid and gid of [`SERVER_USER`], via `id` (no NSS bindings needed).
fn server_user_ids() -> Result<(u32, u32), EmbeddedError> {
    let id = |flag: &str| -> Result<u32, EmbeddedError> {
        let out = Command::new("id")
            .args([flag, SERVER_USER])
            .output()
            .map_err(|e| EmbeddedError::NoServerUser(e.to_string()))?;
        if !out.status.success() {
            return Err(EmbeddedError::NoServerUser(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|e: std::num::ParseIntError| EmbeddedError::NoServerUser(e.to_string()))
    };
    Ok((id("-u")?, id("-g")?))
}

/// Creates the data directory (mode 0700, as initdb wants), hands it to the server
/// user when we are root, and makes its ancestors traversable for that user.
fn prepare_data_dir(dir: &Path, run_as: Option<(u32, u32)>) -> Result<(), EmbeddedError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EmbeddedError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    let Some((uid, gid)) = run_as else {
        return Ok(());
    };
    std::os::unix::fs::chown(dir, Some(uid), Some(gid)).map_err(io(dir))?;
    let absolute = std::fs::canonicalize(dir).map_err(io(dir))?;
    for ancestor in absolute.ancestors().skip(1) {
        let meta = std::fs::metadata(ancestor).map_err(io(ancestor))?;
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            tracing::warn!(dir = %ancestor.display(), "adding o+x so the postgres user can reach its data directory");
            std::fs::set_permissions(ancestor, std::fs::Permissions::from_mode(mode | 0o001))
                .map_err(io(ancestor))?;
        }
    }
    Ok(())
}

/// Asks the OS for a free loopback port. The listener is closed before the server
/// binds, so a race is possible; [`START_ATTEMPTS`] covers it.
fn free_port() -> Result<u16, EmbeddedError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|source| EmbeddedError::Io {
        path: PathBuf::from("127.0.0.1:0"),
        source,
    })?;
    let port = listener
        .local_addr()
        .map_err(|source| EmbeddedError::Io {
            path: PathBuf::from("127.0.0.1:0"),
            source,
        })?
        .port();
    Ok(port)
}

fn run(argv: &[String]) -> Result<Output, EmbeddedError> {
    let command = argv.join(" ");
    let (program, args) = argv.split_first().ok_or_else(|| EmbeddedError::Command {
        command: command.clone(),
        detail: "empty command".into(),
    })?;
    let output = Command::new(program)
        .args(args)
        // The server user may not be able to read the caller's working directory.
        .current_dir("/")
        .output()
        .map_err(|e| EmbeddedError::Command {
            command: command.clone(),
            detail: e.to_string(),
        })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(EmbeddedError::Command {
            command,
            detail: format!(
                "{}: {}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim(),
                String::from_utf8_lossy(&output.stdout).trim()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_bin_dir_names_the_package() {
        let err = find_bin_dir(Some(Path::new("/nonexistent/pg/bin"))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("apt-get install postgresql"), "{msg}");
        assert!(msg.contains("/nonexistent/pg/bin"), "{msg}");
    }
}
