//! `Settings`: every `EVENT_DEDUP_*` environment variable of the service, loaded once
//! at start-up (storage-and-api.md §11).
//!
//! Role: the only place that reads the service's environment. Values are read as
//! strings by `envy` and turned into validated newtypes immediately, so a bad value
//! stops start-up with a message naming the variable instead of failing later in the
//! middle of a file. Nothing else in the service calls `std::env::var`.
//!
//! Invariants:
//! * every field of [`Settings`] is already valid (durations are positive, the pool
//!   size is at least 1, addresses parse, the log level is known);
//! * paths are not required to exist here: the watched and dead-letter directories
//!   are created by `App::build`, optional word-list files are read (and reported)
//!   when the app loads them.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::redact::redact_url;
use crate::tiebreak::{ApiKey, EncryptionKey, TiebreakSettings, DEFAULT_BASE_URL};

/// Prefix shared by every variable.
pub const ENV_PREFIX: &str = "EVENT_DEDUP_";

/// A value that could not be used, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {ENV_PREFIX}{variable}={value:?}: {problem}")]
pub struct SettingsError {
    /// Variable name without the prefix, upper case (e.g. `DB_POOL_SIZE`).
    pub variable: &'static str,
    pub value: String,
    pub problem: String,
}

/// The raw strings as `envy` sees them. Everything is an optional string so that a
/// malformed number is reported by us, naming the variable, rather than by serde.
/// No `Debug`: it holds the raw secrets (`LLM_API_KEY`, `ENCRYPTION_KEY`).
#[derive(Default, Deserialize)]
struct RawSettings {
    database_url: Option<String>,
    event_data_dir: Option<String>,
    dead_letter_dir: Option<String>,
    matching_config_path: Option<String>,
    prefixes_config_path: Option<String>,
    synonyms_path: Option<String>,
    city_aliases_path: Option<String>,
    model_path: Option<String>,
    model_fallback: Option<String>,
    http_addr: Option<String>,
    log_level: Option<String>,
    log_json: Option<String>,
    db_pool_size: Option<String>,
    rescan_interval_secs: Option<String>,
    watch_mode: Option<String>,
    poll_interval_ms: Option<String>,
    file_settle_ms: Option<String>,
    data_dir: Option<String>,
    api_tokens: Option<String>,
    llm_api_key: Option<String>,
    llm_base_url: Option<String>,
    encryption_key: Option<String>,
}

/// A database URL. `Debug` and `Display` mask its secrets (the user part's password
/// and password-like parameters, [`crate::redact`]) so the settings can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", redact_url(&self.0))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// Log verbosity, accepting the spec's names (`DEBUG`, `INFO`, `WARNING`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The `tracing` filter directive.
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Some(LogLevel::Trace),
            "debug" => Some(LogLevel::Debug),
            "info" => Some(LogLevel::Info),
            "warn" | "warning" => Some(LogLevel::Warn),
            "error" | "critical" => Some(LogLevel::Error),
            _ => None,
        }
    }
}

/// How the watcher learns about new files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// OS file events (inotify) plus the periodic rescan.
    Notify,
    /// Only a directory listing every `POLL_INTERVAL_MS`: for bind mounts whose file
    /// events never reach the container (Docker Desktop).
    Poll,
}

/// A duration that is strictly positive (a zero interval would spin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositiveDuration(Duration);

impl PositiveDuration {
    pub fn get(self) -> Duration {
        self.0
    }
}

/// The service's settings, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `None`: start a private embedded PostgreSQL under [`Settings::data_dir`].
    pub database_url: Option<DatabaseUrl>,
    /// The watched directory.
    pub event_data_dir: PathBuf,
    pub dead_letter_dir: PathBuf,
    pub matching_config_path: PathBuf,
    /// True when `MATCHING_CONFIG_PATH` was set explicitly: then a missing file is an
    /// error; the default path may be absent (built-in defaults are used).
    pub matching_config_explicit: bool,
    pub prefixes_config_path: Option<PathBuf>,
    pub synonyms_path: Option<PathBuf>,
    pub city_aliases_path: Option<PathBuf>,
    /// The learned match model file; `None` = the bundled `config/model.json`.
    pub model_path: Option<PathBuf>,
    /// With a model file that cannot be loaded: start with the weighted sum (logged
    /// as a warning) instead of refusing to start.
    pub model_fallback: bool,
    pub http_addr: SocketAddr,
    pub log_level: LogLevel,
    pub log_json: bool,
    pub db_pool_size: usize,
    /// Full directory rescan period, alongside notify (notify can drop events).
    pub rescan_interval: PositiveDuration,
    pub watch_mode: WatchMode,
    /// Listing period in poll mode.
    pub poll_interval: PositiveDuration,
    /// A file is ready once its size and mtime were unchanged for this long.
    pub file_settle: PositiveDuration,
    /// Data directory of the embedded PostgreSQL (its cluster lives in `pgdata/`).
    pub data_dir: PathBuf,
    /// `(name, token)` pairs for write endpoints; empty = writes only from loopback.
    pub api_tokens: ApiTokens,
    /// LLM tie-breaker: `LLM_BASE_URL`, `LLM_API_KEY`, `ENCRYPTION_KEY` (keys are
    /// masked in `Debug`).
    pub llm: TiebreakSettings,
}

/// Bearer tokens of the write endpoints. `Debug` shows only the names.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiTokens(pub Vec<(String, String)>);

impl std::fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// Parses `name:token,name2:token2`; names and tokens must be non-empty and names
/// unique (the name is what the audit log records as operator).
fn parse_tokens(s: &str) -> Result<ApiTokens, String> {
    let mut tokens: Vec<(String, String)> = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((name, token)) = item.split_once(':') else {
            return Err("expected name:token pairs separated by commas".to_string());
        };
        let (name, token) = (name.trim(), token.trim());
        if name.is_empty() || token.is_empty() {
            return Err("a name or token is empty".to_string());
        }
        if tokens.iter().any(|(n, _)| n == name) {
            return Err(format!("the name {name:?} appears twice"));
        }
        tokens.push((name.to_string(), token.to_string()));
    }
    Ok(ApiTokens(tokens))
}

const DEFAULT_EVENT_DATA_DIR: &str = "./eventdata";
const DEFAULT_DEAD_LETTER_DIR: &str = "./dead_letters";
const DEFAULT_MATCHING_CONFIG_PATH: &str = "config/matching.toml";
const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8000";
const DEFAULT_DB_POOL_SIZE: usize = 8;
const DEFAULT_RESCAN_INTERVAL_SECS: u64 = 30;
/// One listing per second is cheap for a directory of a few thousand files and keeps
/// poll mode responsive.
const DEFAULT_POLL_INTERVAL_MS: u64 = 1000;
const DEFAULT_FILE_SETTLE_MS: u64 = 500;
const DEFAULT_DATA_DIR: &str = "./.event-dedup";
/// More connections than this only add contention: the service has one ingest and
/// one matcher, the API a handful.
const MAX_DB_POOL_SIZE: usize = 256;

impl Settings {
    /// Reads the process environment (the only call site of the environment).
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads `(NAME, value)` pairs; only `EVENT_DEDUP_*` names are used. Tests pass a
    /// vector instead of touching the real environment.
    pub fn from_vars<I>(vars: I) -> Result<Self, SettingsError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let raw: RawSettings =
            envy::prefixed(ENV_PREFIX)
                .from_iter(vars)
                .map_err(|e| SettingsError {
                    variable: "*",
                    value: String::new(),
                    problem: e.to_string(),
                })?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawSettings) -> Result<Self, SettingsError> {
        let database_url = non_empty(raw.database_url)
            .map(|url| {
                url.parse::<tokio_postgres::Config>()
                    .map(|_| DatabaseUrl(url.clone()))
                    .map_err(|e| SettingsError {
                        variable: "DATABASE_URL",
                        value: redact_url(&url),
                        problem: e.to_string(),
                    })
            })
            .transpose()?;
        let matching_config_explicit = non_empty(raw.matching_config_path.clone()).is_some();
        Ok(Settings {
            database_url,
            event_data_dir: path_or(raw.event_data_dir, DEFAULT_EVENT_DATA_DIR),
            dead_letter_dir: path_or(raw.dead_letter_dir, DEFAULT_DEAD_LETTER_DIR),
            matching_config_path: path_or(raw.matching_config_path, DEFAULT_MATCHING_CONFIG_PATH),
            matching_config_explicit,
            prefixes_config_path: non_empty(raw.prefixes_config_path).map(PathBuf::from),
            synonyms_path: non_empty(raw.synonyms_path).map(PathBuf::from),
            city_aliases_path: non_empty(raw.city_aliases_path).map(PathBuf::from),
            model_path: non_empty(raw.model_path).map(PathBuf::from),
            model_fallback: parse_with("MODEL_FALLBACK", raw.model_fallback, "false", parse_bool)?,
            http_addr: parse_with("HTTP_ADDR", raw.http_addr, DEFAULT_HTTP_ADDR, |s| {
                s.parse::<SocketAddr>().map_err(|e| e.to_string())
            })?,
            log_level: parse_with("LOG_LEVEL", raw.log_level, "INFO", |s| {
                LogLevel::parse(s)
                    .ok_or_else(|| "expected one of TRACE, DEBUG, INFO, WARNING, ERROR".to_string())
            })?,
            log_json: parse_with("LOG_JSON", raw.log_json, "true", parse_bool)?,
            db_pool_size: parse_with("DB_POOL_SIZE", raw.db_pool_size, "", |s| {
                if s.is_empty() {
                    return Ok(DEFAULT_DB_POOL_SIZE);
                }
                match s.parse::<usize>() {
                    Ok(n) if (1..=MAX_DB_POOL_SIZE).contains(&n) => Ok(n),
                    Ok(_) => Err(format!("must be between 1 and {MAX_DB_POOL_SIZE}")),
                    Err(e) => Err(e.to_string()),
                }
            })?,
            rescan_interval: positive(
                "RESCAN_INTERVAL_SECS",
                raw.rescan_interval_secs,
                DEFAULT_RESCAN_INTERVAL_SECS,
                Duration::from_secs,
            )?,
            api_tokens: match non_empty(raw.api_tokens) {
                None => ApiTokens::default(),
                Some(v) => parse_tokens(&v).map_err(|problem| SettingsError {
                    variable: "API_TOKENS",
                    value: "<redacted>".to_string(),
                    problem,
                })?,
            },
            watch_mode: parse_with("WATCH_MODE", raw.watch_mode, "notify", |s| {
                match s.trim().to_ascii_lowercase().as_str() {
                    "notify" => Ok(WatchMode::Notify),
                    "poll" => Ok(WatchMode::Poll),
                    _ => Err("expected notify or poll".to_string()),
                }
            })?,
            poll_interval: positive(
                "POLL_INTERVAL_MS",
                raw.poll_interval_ms,
                DEFAULT_POLL_INTERVAL_MS,
                Duration::from_millis,
            )?,
            file_settle: positive(
                "FILE_SETTLE_MS",
                raw.file_settle_ms,
                DEFAULT_FILE_SETTLE_MS,
                Duration::from_millis,
            )?,
            data_dir: path_or(raw.data_dir, DEFAULT_DATA_DIR),
            llm: TiebreakSettings {
                base_url: parse_with("LLM_BASE_URL", raw.llm_base_url, DEFAULT_BASE_URL, |s| {
                    match reqwest::Url::parse(s) {
                        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(s.to_string()),
                        Ok(_) => Err("expected an http:// or https:// URL".to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                })
                .map_err(|e| SettingsError {
                    value: redact_url(&e.value),
                    ..e
                })?,
                env_key: raw.llm_api_key.and_then(ApiKey::new),
                encryption_key: non_empty(raw.encryption_key)
                    .map(|k| {
                        EncryptionKey::parse(&k).map_err(|problem| SettingsError {
                            variable: "ENCRYPTION_KEY",
                            value: "<redacted>".to_string(),
                            problem,
                        })
                    })
                    .transpose()?,
                ..TiebreakSettings::default()
            },
        })
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

fn path_or(s: Option<String>, default: &str) -> PathBuf {
    PathBuf::from(non_empty(s).unwrap_or_else(|| default.to_string()))
}

fn parse_with<T>(
    variable: &'static str,
    value: Option<String>,
    default: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, SettingsError> {
    let value = non_empty(value).unwrap_or_else(|| default.to_string());
    parse(value.trim()).map_err(|problem| SettingsError {
        variable,
        value,
        problem,
    })
}

fn positive(
    variable: &'static str,
    value: Option<String>,
    default: u64,
    unit: fn(u64) -> Duration,
) -> Result<PositiveDuration, SettingsError> {
    parse_with(variable, value, &default.to_string(), |s| {
        match s.parse::<u64>() {
            Ok(0) => Err("must be greater than 0".to_string()),
            Ok(n) => Ok(PositiveDuration(unit(n))),
            Err(e) => Err(e.to_string()),
        }
    })
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (format!("{ENV_PREFIX}{k}"), v.to_string())),
        )
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = load(&[]).unwrap();
        assert_eq!(s.database_url, None);
        assert_eq!(s.event_data_dir, PathBuf::from("./eventdata"));
        assert_eq!(s.dead_letter_dir, PathBuf::from("./dead_letters"));
        assert_eq!(
            s.matching_config_path,
            PathBuf::from("config/matching.toml")
        );
        assert!(!s.matching_config_explicit);
        assert_eq!(s.http_addr, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(s.log_level, LogLevel::Info);
        assert!(s.log_json);
        assert_eq!(s.db_pool_size, 8);
        assert_eq!(s.rescan_interval.get(), Duration::from_secs(30));
        assert_eq!(s.watch_mode, WatchMode::Notify);
        assert_eq!(s.file_settle.get(), Duration::from_millis(500));
        assert_eq!(s.data_dir, PathBuf::from("./.event-dedup"));
    }

    #[test]
    fn values_are_parsed_into_types() {
        let s = load(&[
            ("DATABASE_URL", "postgres://u:secret@db:5432/events"),
            ("LOG_LEVEL", "WARNING"),
            ("LOG_JSON", "false"),
            ("DB_POOL_SIZE", "3"),
            ("WATCH_MODE", "poll"),
            ("POLL_INTERVAL_MS", "250"),
            ("FILE_SETTLE_MS", "50"),
            ("HTTP_ADDR", "0.0.0.0:9000"),
            ("MATCHING_CONFIG_PATH", "/etc/m.toml"),
            ("SYNONYMS_PATH", "/etc/syn.toml"),
        ])
        .unwrap();
        let url = s.database_url.clone().unwrap();
        assert_eq!(url.expose(), "postgres://u:secret@db:5432/events");
        assert_eq!(url.to_string(), "postgres://u:***@db:5432/events");
        assert!(!format!("{s:?}").contains("secret"));
        assert_eq!(s.log_level, LogLevel::Warn);
        assert!(!s.log_json);
        assert_eq!(s.db_pool_size, 3);
        assert_eq!(s.watch_mode, WatchMode::Poll);
        assert_eq!(s.poll_interval.get(), Duration::from_millis(250));
        assert_eq!(s.file_settle.get(), Duration::from_millis(50));
        assert!(s.matching_config_explicit);
        assert_eq!(s.synonyms_path, Some(PathBuf::from("/etc/syn.toml")));
        assert_eq!(s.prefixes_config_path, None);
    }

    #[test]
    fn url_secrets_never_reach_logs_or_errors() {
        let s = load(&[
            (
                "DATABASE_URL",
                "postgres://u:userpw@db/events?sslmode=prefer&password=querypw",
            ),
            ("LLM_BASE_URL", "https://llm.example/v1?api_key=llmkey"),
        ])
        .unwrap();
        let url = s.database_url.clone().unwrap();
        let logged = [url.to_string(), format!("{url:?}"), format!("{s:?}")];
        for text in &logged {
            for secret in ["userpw", "querypw", "llmkey"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        assert!(url.expose().contains("querypw"), "the connection keeps it");
        let err = load(&[("DATABASE_URL", "postgres://u@db:x/ev?password=querypw")]).unwrap_err();
        assert!(!err.to_string().contains("querypw"), "{err}");
        let err = load(&[("LLM_BASE_URL", "ftp://h/?token=llmkey")]).unwrap_err();
        assert_eq!(err.variable, "LLM_BASE_URL");
        assert!(!err.to_string().contains("llmkey"), "{err}");
    }

    #[test]
    fn other_variables_are_ignored() {
        let s = Settings::from_vars(vec![
            ("PATH".to_string(), "/bin".to_string()),
            ("EVENT_DEDUP_LOG_LEVEL".to_string(), "debug".to_string()),
        ])
        .unwrap();
        assert_eq!(s.log_level, LogLevel::Debug);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("DB_POOL_SIZE", "zero"),
            ("DB_POOL_SIZE", "0"),
            ("FILE_SETTLE_MS", "0"),
            ("FILE_SETTLE_MS", "-5"),
            ("RESCAN_INTERVAL_SECS", "soon"),
            ("WATCH_MODE", "inotify"),
            ("LOG_LEVEL", "loud"),
            ("LOG_JSON", "maybe"),
            ("HTTP_ADDR", "localhost"),
            ("DATABASE_URL", "postgres://u@h:notaport/db"),
        ];
        for (var, value) in cases {
            let err = load(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}");
            let text = err.to_string();
            assert!(text.contains(&format!("EVENT_DEDUP_{var}")), "{text}");
        }
    }

    #[test]
    fn api_tokens_parse_and_never_print_secrets() {
        let s = Settings::from_vars(vec![(
            "EVENT_DEDUP_API_TOKENS".to_string(),
            "alice:s3cret, bob:t0ken".to_string(),
        )])
        .unwrap();
        assert_eq!(s.api_tokens.0.len(), 2);
        assert_eq!(s.api_tokens.0[1], ("bob".to_string(), "t0ken".to_string()));
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("alice"),
            "{shown}"
        );
        for bad in ["alice", "alice:", ":x", "a:1,a:2"] {
            let err = Settings::from_vars(vec![(
                "EVENT_DEDUP_API_TOKENS".to_string(),
                bad.to_string(),
            )])
            .unwrap_err();
            assert_eq!(err.variable, "API_TOKENS");
            assert!(
                !err.to_string().contains('1') || bad.contains("a:1"),
                "{err}"
            );
        }
        assert!(Settings::from_vars(Vec::<(String, String)>::new())
            .unwrap()
            .api_tokens
            .0
            .is_empty());
    }

    #[test]
    fn llm_settings_are_read_and_never_printed() {
        let enc = crate::tiebreak::EncryptionKey::generate();
        let enc_text = format!("{enc:?}");
        let s = load(&[
            ("LLM_API_KEY", "sk-very-secret"),
            ("LLM_BASE_URL", "http://127.0.0.1:11434/v1"),
        ])
        .unwrap();
        assert_eq!(s.llm.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(
            s.llm.env_key.as_ref().map(|k| k.expose()),
            Some("sk-very-secret")
        );
        assert!(!format!("{s:?}").contains("sk-very-secret"));
        assert_eq!(load(&[]).unwrap().llm.base_url, "https://api.openai.com/v1");
        let err = load(&[("ENCRYPTION_KEY", "short")]).unwrap_err();
        assert_eq!(err.variable, "ENCRYPTION_KEY");
        assert!(!err.to_string().contains("short"));
        assert!(load(&[("LLM_BASE_URL", "ftp://x")]).is_err());
        assert!(enc_text.contains("***"));
    }
}
