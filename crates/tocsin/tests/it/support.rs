//! Starting and stopping a real server, and reaching reference tools.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tocsin");

/// A `tocsin server` child process with its own directory and port.
pub struct TestServer {
    pub child: Child,
    pub addr: String,
    pub log_path: PathBuf,
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestServer {
    /// Starts `tocsin server ARGS` in `dir`, passing the port through `TOCSIN_LISTEN` so the
    /// command line holds only what the test is about.
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        Self::start_with_env(dir, args, &[])
    }

    pub fn start_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let addr = format!("127.0.0.1:{}", free_port());
        let log_path = dir.join(format!("server-{}.log", addr.replace(':', "_")));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new(BIN);
        command
            .arg("server")
            .args(args)
            .current_dir(dir)
            .env("TOCSIN_LISTEN", &addr)
            .env_remove("TOCSIN_CONFIG")
            .env_remove("TOCSIN_DATA_DIR")
            .stdout(Stdio::null())
            .stderr(log);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        Self {
            child,
            addr,
            log_path,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits (bounded) until `/-/ready` answers 200 over plain HTTP.
    pub async fn wait_ready(&mut self) {
        let client = http();
        let url = self.url("/-/ready");
        self.wait_until(|| {
            let client = client.clone();
            let url = url.clone();
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            }
        })
        .await;
    }

    /// Polls `check` every 50 ms for at most 20 s; fails the test with the server log.
    pub async fn wait_until<F, Fut>(&mut self, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("server exited early with {status}; log:\n{}", self.logs());
            }
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("condition not met within 20s; log:\n{}", self.logs());
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit and returns its exit code.
    pub async fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not exit within 20s; log:\n{}", self.logs());
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reference tool from Debian's packages (promtool, amtool, ...). Tests that compare
/// against it run when it is installed; CI sets TOCSIN_REQUIRE_REFERENCE_TOOLS=1 so a missing
/// tool fails instead of skipping.
pub fn reference_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("TOCSIN_REQUIRE_REFERENCE_TOOLS").is_none(),
            "{name} is required (TOCSIN_REQUIRE_REFERENCE_TOOLS is set) but not installed; \
             .ci/run installs it with apt-get"
        );
        eprintln!("SKIPPED: {name} not installed (apt-get install it to run this comparison)");
    }
    found
}

/// bcrypt at the minimum cost, to keep tests fast.
pub fn bcrypt_hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A plain HTTP client (the process-wide TLS provider installed first, as reqwest needs).
pub fn http() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::new()
}

/// `GET path` on the server, its body as JSON (panics on a transport or JSON error).
pub async fn get_json(server: &TestServer, path: &str) -> serde_json::Value {
    http()
        .get(server.url(path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
