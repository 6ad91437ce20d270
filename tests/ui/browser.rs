//! A headless Chromium driven over WebDriver (`chromedriver` + `fantoccini`), one per
//! test: [`Browser::start`] launches chromedriver on a free port in its own process
//! group and opens a session with a fresh profile; dropping the [`Browser`] kills the
//! whole group (chromedriver and every Chromium process it started), also when the
//! test panics.
//!
//! Missing binaries are a test failure with the command that installs them, never a
//! skip. `CHROMIUM_BIN` / `CHROMEDRIVER_BIN` override the Debian paths.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// Upper bound for anything the page does asynchronously (a loaded 2-core CI).
pub const UI_TIMEOUT: Duration = Duration::from_secs(30);
/// The window of every screenshot: a laptop screen.
pub const WINDOW: (u32, u32) = (1366, 900);

fn binary(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.exists(),
        "{} not found (set {var} to override): the browser tests need Debian's chromium \
         and chromium-driver; install them with `bash scripts/ensure-deps.sh`",
        path.display()
    );
    path
}

/// A free local port (bound, read, released; chromedriver binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    /// The fresh Chromium profile; removed after the group is killed.
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver leads its own process group; Chromium's processes inherit it.
        let pgid = self.driver.id() as libc::pid_t;
        // SAFETY: kill(2) on a process group we created; no memory is touched.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.driver.wait();
    }
}

/// A phone's screen in CSS pixels (an iPhone 12–15): headless Chromium windows do
/// not get narrower than 500 px, so the phone is emulated (`mobileEmulation`).
pub const PHONE: (u32, u32) = (390, 844);

impl Browser {
    /// A laptop-sized window ([`WINDOW`]).
    pub async fn start() -> Browser {
        Browser::launch(false).await
    }

    /// A phone: a [`PHONE`]-sized viewport with touch, as Chromium's device mode.
    pub async fn start_phone() -> Browser {
        Browser::launch(true).await
    }

    async fn launch(phone: bool) -> Browser {
        let chromium = binary("CHROMIUM_BIN", "/usr/bin/chromium");
        let chromedriver = binary("CHROMEDRIVER_BIN", "/usr/bin/chromedriver");
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver.display()));
        let profile = tempfile::tempdir().expect("profile dir");
        let mut browser_guard = DriverGuard(Some(driver));
        let url = format!("http://127.0.0.1:{port}");
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--disable-dev-shm-usage".into(),
            "--lang=de-DE".into(),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        let mut options = json!({"binary": chromium.display().to_string(), "args": args});
        if phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": PHONE.0, "height": PHONE.1, "pixelRatio": 1.0, "touch": true}
            });
        }
        caps.insert("goog:chromeOptions".into(), options);
        let start = Instant::now();
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if start.elapsed() < UI_TIMEOUT => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session from chromedriver at {url}: {e}"),
            }
        };
        Browser {
            client,
            driver: browser_guard.0.take().expect("driver"),
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Waits for the first element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(UI_TIMEOUT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
    }

    /// Runs JavaScript in the page and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` (a JS expression) until it is truthy; returns its value.
    pub async fn wait_js(&self, what: &str, expr: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.js(&format!("return ({expr});")).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if start.elapsed() > UI_TIMEOUT {
                let body = self.js("return document.body.innerText;").await;
                panic!("timed out waiting for {what} ({expr}); page text:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The current path + query.
    pub async fn location(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Saves a PNG of the whole page to `target/ui-screenshots/<name>.png`: the window
    /// is stretched to the page's height for the shot, then restored.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.screenshot_at(name, WINDOW.0).await
    }

    /// [`Browser::screenshot`] at a window `width` pixels wide; the window is
    /// restored to [`WINDOW`] afterwards.
    async fn screenshot_at(&self, name: &str, width: u32) -> PathBuf {
        self.client
            .set_window_size(width, WINDOW.1)
            .await
            .expect("resize");
        // The frame is added: grow it by the page's height plus outer minus inner.
        let sizes = self
            .js("return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight, window.outerWidth];")
            .await;
        let page = sizes[0].as_u64().unwrap_or(WINDOW.1 as u64);
        let frame = sizes[1].as_u64().unwrap_or(0);
        let outer_width = sizes[2].as_u64().unwrap_or(width as u64) as u32;
        let height = (page + frame).clamp(WINDOW.1 as u64, 8000) as u32;
        self.client
            .set_window_size(outer_width, height)
            .await
            .expect("resize for the shot");
        let inner = self
            .js("return window.innerHeight;")
            .await
            .as_u64()
            .unwrap_or(page);
        if inner < page {
            let grown = (height as u64 + page - inner).min(8000) as u32;
            self.client
                .set_window_size(outer_width, grown)
                .await
                .expect("resize for the shot");
        }
        let png = self.client.screenshot().await.expect("screenshot");
        self.client
            .set_window_size(WINDOW.0, WINDOW.1)
            .await
            .expect("restore size");
        save_png(name, &png)
    }

    /// A PNG of the viewport only (a phone's screen as the reviewer sees it).
    pub async fn viewport_screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        save_png(name, &png)
    }
}

fn save_png(name: &str, png: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    path
}

/// Kills a driver that never produced a session (before `Browser` owns it).
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            // SAFETY: as in `Browser::drop`.
            unsafe {
                libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
            }
            let _ = child.wait();
        }
    }
}
