//! The UI's files, embedded at compile time (`include_bytes!`), so the binary is the
//! whole deployment and no build step exists beyond `cargo build`.
//!
//! Invariant: [`ASSETS`] lists every file under `src/web/assets/` that the app loads
//! (a test checks that each `import` and `<script>`/`<link>` target is listed).

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// Path below `/assets/`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("assets/", $name)),
        }
    };
}

/// The app shell, served for every page route.
pub const INDEX_HTML: &[u8] = include_bytes!("assets/index.html");

/// Every file served under `/assets/`.
pub const ASSETS: &[Asset] = &[
    asset!("style.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("dialogs.js", JS),
    asset!("pages/events.js", JS),
    asset!("pages/detail.js", JS),
    asset!("pages/review.js", JS),
    asset!("pages/dashboard.js", JS),
    asset!("pages/config.js", JS),
    asset!("pages/audit.js", JS),
    asset!("pages/export.js", JS),
];

/// The asset called `name`, if embedded.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

impl Asset {
    /// A strong ETag: the first 16 hex digits of the content's SHA-256, computed once
    /// per process for all assets.
    pub fn etag(&self) -> String {
        static TAGS: OnceLock<Vec<String>> = OnceLock::new();
        let tags = TAGS.get_or_init(|| {
            ASSETS
                .iter()
                .map(|a| {
                    let digest = Sha256::digest(a.bytes);
                    format!("\"{}\"", &hex::encode(digest)[..16])
                })
                .collect()
        });
        ASSETS
            .iter()
            .position(|a| a.name == self.name)
            .and_then(|i| tags.get(i).cloned())
            .unwrap_or_else(|| "\"0\"".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every relative module import and every `/assets/` reference resolves to an
    /// embedded file, so a renamed script cannot 404 in production.
    #[test]
    fn every_referenced_file_is_embedded() {
        let mut missing = Vec::new();
        let index = String::from_utf8_lossy(INDEX_HTML);
        for part in index.split("/assets/").skip(1) {
            let name: String = part.chars().take_while(|c| *c != '"').collect();
            if find(&name).is_none() {
                missing.push(name);
            }
        }
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = String::from_utf8_lossy(a.bytes);
            let dir = a.name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            for part in text.split(" from \"").skip(1) {
                let spec: String = part.chars().take_while(|c| *c != '"').collect();
                let mut segments: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
                for seg in spec.split('/') {
                    match seg {
                        "." => {}
                        ".." => {
                            segments.pop();
                        }
                        s => segments.push(s),
                    }
                }
                let resolved = segments.join("/");
                if find(&resolved).is_none() {
                    missing.push(format!("{} imports {spec}", a.name));
                }
            }
        }
        assert!(missing.is_empty(), "not embedded: {missing:?}");
    }

    #[test]
    fn etags_differ_per_content() {
        let a = find("app.js").expect("app.js").etag();
        let b = find("style.css").expect("style.css").etag();
        assert_ne!(a, b);
        assert_eq!(a.len(), 18);
    }
}
