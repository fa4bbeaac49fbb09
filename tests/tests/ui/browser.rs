//! Headless Chromium driven through WebDriver: starts `chromedriver` on a free loopback
//! port, opens one session, and offers bounded waits on the page's elements and text.
//!
//! Without Chromium or chromedriver the suite fails when `CI=true` and is skipped (with the
//! reason printed) otherwise.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long chromedriver may take to answer its status endpoint.
const DRIVER_START: Duration = Duration::from_secs(20);
/// How often a wait looks at the page again.
const POLL: Duration = Duration::from_millis(200);
/// The browser window: a laptop screen.
const WINDOW: (u32, u32) = (1366, 900);

/// A running chromedriver and its browser session.
pub struct Browser {
    driver: Child,
    /// The WebDriver session.
    pub client: Client,
    shots: PathBuf,
}

/// The first of `names` found on `PATH` (or given as an absolute path that exists).
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        let direct = Path::new(name);
        if direct.is_absolute() {
            return direct.is_file().then(|| direct.to_path_buf());
        }
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Whether the suites run in CI, where a missing browser is a failure.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Where the screenshots go: `target/ui-screenshots/` of the workspace.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("target")
        .join("ui-screenshots")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; `None` (after printing why) when
    /// either is missing outside CI. `dir` holds the browser profile and the driver's log.
    pub async fn start(test: &str, dir: &Path) -> Option<Browser> {
        nomadish_tests::install_crypto();
        let driver = find_program(&["chromedriver", "/usr/lib/chromium/chromedriver"]);
        let chromium = find_program(&[
            "/usr/lib/chromium/chromium",
            "chromium",
            "chromium-browser",
            "google-chrome",
        ]);
        let (driver, chromium) = match (driver, chromium) {
            (Some(d), Some(c)) => (d, c),
            (d, c) => {
                let reason = format!(
                    "{test}: needs chromium and chromedriver (Debian packages chromium, \
                     chromium-driver); found driver {d:?}, browser {c:?}"
                );
                assert!(!in_ci(), "{reason}");
                eprintln!("SKIPPED {reason}");
                return None;
            }
        };
        let port = nomadish_tests::free_port();
        let log = std::fs::File::create(dir.join("chromedriver.log")).expect("driver log");
        // Its own process group, which the browser it starts joins: a failed test ends both
        // by the group's ID (killing only the driver would orphan the browser).
        let child = Command::new(&driver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let mut browser_guard = DriverGuard(Some(child));
        wait_driver(&url).await;
        let profile = dir.join("chromium-profile");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--disable-background-networking",
                    format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = tokio::time::timeout(
            DRIVER_START,
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&url),
        )
        .await
        .expect("a browser session within 20 s")
        .expect("a browser session");
        let shots = screenshot_dir();
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Some(Browser {
            driver: browser_guard.0.take().expect("driver"),
            client,
            shots,
        })
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Waits until an element matches `css`; returns it.
    pub async fn element(&self, css: &str, within: Duration) -> fantoccini::elements::Element {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                return e;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no element {css} within {within:?}; page text:\n{}",
                self.page_text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the element matching `css` holds `needle` in its text; returns the text.
    pub async fn text_contains(&self, css: &str, needle: &str, within: Duration) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = e.text().await
                && text.contains(needle)
            {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css} did not show {needle:?} within {within:?}; page text:\n{}",
                self.page_text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The text of the element matching `css` now (empty when there is none).
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Clicks the element matching `css` (waiting for it; live pages re-render, so a click
    /// on an element replaced meanwhile is tried again on its successor).
    pub async fn click(&self, css: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let result = self.element(css, within).await.click().await;
            match result {
                Ok(()) => return,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    eprintln!("click {css} again: {e}");
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str, within: Duration) {
        self.element(css, within)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Runs `script` in the page; returns its value.
    pub async fn script(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .expect("execute script")
    }

    /// The visible text of the whole page (for failure messages).
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Saves a screenshot of the window as `target/ui-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
    }

    /// Ends the session (the browser quits) and the driver.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
        // Drop ends the driver's process group.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test still ends its driver and browser.
        end_group(&mut self.driver);
    }
}

/// Kills a driver's process group (the driver and the browser it started) and reaps the
/// driver.
fn end_group(driver: &mut Child) {
    let group = nix::unistd::Pid::from_raw(driver.id() as i32);
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    let _ = driver.wait();
}

/// Ends the driver if starting the session fails.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            end_group(child);
        }
    }
}

async fn wait_driver(url: &str) {
    let http = reqwest::Client::new();
    let status = format!("{url}/status");
    let deadline = tokio::time::Instant::now() + DRIVER_START;
    loop {
        if let Ok(r) = http.get(&status).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["value"]["ready"] == true
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "chromedriver at {url} not ready within {DRIVER_START:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}
