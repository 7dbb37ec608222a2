//! A debuginfod client: asks the servers `DEBUGINFOD_URLS` names (spaces
//! between them, tried in order) for `URL/buildid/ID/debuginfo` and keeps
//! each answer in stapkit's cache (`CACHE/debuginfod/ID/debuginfo`), so a
//! build id is downloaded once. A download that takes a while reports its
//! progress on stderr; a failure names the URL and the build id.
//!
//! HTTP comes from `ureq` (blocking, rustls for `https://` servers).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where progress lines go (stderr unless a test collects them).
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// A configured client.
#[derive(Clone)]
pub struct Client {
    /// Server base URLs, in order.
    pub urls: Vec<String>,
    /// Where answers are kept (`CACHE/debuginfod`).
    pub cache: PathBuf,
    /// How long a download runs before progress is reported.
    pub progress_after: Duration,
    /// How long a server may take to connect and to send each part.
    pub timeout: Duration,
    progress: Progress,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("urls", &self.urls)
            .field("cache", &self.cache)
            .finish()
    }
}

impl Client {
    /// A client of `urls` caching under `cache_dir/debuginfod`, reporting
    /// progress on stderr.
    pub fn new(urls: Vec<String>, cache_dir: &Path) -> Client {
        Client {
            urls,
            cache: cache_dir.join("debuginfod"),
            progress_after: Duration::from_secs(2),
            timeout: Duration::from_secs(90),
            progress: Arc::new(|line: &str| {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "{line}");
                let _ = err.flush();
            }),
        }
    }

    /// The servers of `DEBUGINFOD_URLS` (`DEBUGINFOD_TIMEOUT` seconds per
    /// connection and read, as elfutils' client takes it); None when it
    /// names none.
    pub fn from_env(cache_dir: &Path) -> Option<Client> {
        let urls = parse_urls(&std::env::var("DEBUGINFOD_URLS").ok()?);
        if urls.is_empty() {
            return None;
        }
        let mut client = Client::new(urls, cache_dir);
        if let Some(secs) = std::env::var("DEBUGINFOD_TIMEOUT")
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
        {
            client.timeout = Duration::from_secs(secs);
        }
        Some(client)
    }

    /// Sends progress lines to `progress` instead of stderr.
    pub fn with_progress(mut self, progress: Progress) -> Client {
        self.progress = progress;
        self
    }

    /// The debug file of build id `id` (hex): from the cache, else from
    /// the first server that has it. The error names each URL asked and
    /// what it answered.
    pub fn debuginfo(&self, id: &str) -> Result<PathBuf, String> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("debuginfod: '{id}' is not a build id"));
        }
        let id = id.to_ascii_lowercase();
        let dir = self.cache.join(&id);
        let path = dir.join("debuginfo");
        if path.is_file() {
            return Ok(path);
        }
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(self.timeout)
            .timeout_read(self.timeout)
            .build();
        let mut failures = Vec::new();
        for base in &self.urls {
            let url = format!("{}/buildid/{id}/debuginfo", base.trim_end_matches('/'));
            match self.download(&agent, &url, &dir, &path) {
                Ok(()) => return Ok(path),
                Err(why) => failures.push(format!("{url}: {why}")),
            }
        }
        Err(format!(
            "debuginfod has no debug file for build id {id}: {}",
            failures.join("; ")
        ))
    }

    fn download(
        &self,
        agent: &ureq::Agent,
        url: &str,
        dir: &Path,
        path: &Path,
    ) -> Result<(), String> {
        let response = agent.get(url).call().map_err(|e| match e {
            ureq::Error::Status(code, r) => format!("HTTP {code} {}", r.status_text()),
            ureq::Error::Transport(t) => t.to_string(),
        })?;
        let total: Option<u64> = response
            .header("Content-Length")
            .and_then(|l| l.parse().ok());
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut reader = response.into_reader();
        let mut buf = vec![0u8; 1 << 16];
        let (start, mut done, mut reported) = (Instant::now(), 0u64, false);
        let mut last = start;
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| format!("reading the answer: {e}"))?;
            if n == 0 {
                break;
            }
            tmp.write_all(&buf[..n])
                .map_err(|e| format!("{}: {e}", tmp.path().display()))?;
            done += n as u64;
            let now = Instant::now();
            if now - start >= self.progress_after
                && (!reported || now - last >= Duration::from_secs(1))
            {
                (self.progress)(&progress_line(url, done, total));
                reported = true;
                last = now;
            }
        }
        if let Some(total) = total.filter(|t| *t != done) {
            return Err(format!("the answer ended after {done} of {total} bytes"));
        }
        if reported {
            (self.progress)(&format!("{}\n", progress_line(url, done, total)));
        }
        tmp.persist(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(())
    }
}

/// `\rDownloading from URL: 12.3/45.6 MiB`.
fn progress_line(url: &str, done: u64, total: Option<u64>) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    match total {
        Some(t) => format!(
            "\rDownloading from {url}: {:.1}/{:.1} MiB",
            mib(done),
            mib(t)
        ),
        None => format!("\rDownloading from {url}: {:.1} MiB", mib(done)),
    }
}

/// The URLs of a `DEBUGINFOD_URLS` value.
pub fn parse_urls(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A URL on the loopback address where nothing listens (its listener
    /// is closed again at once), so connecting to it is refused.
    fn closed_server() -> String {
        let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    }

    #[test]
    fn urls_and_progress_lines() {
        let (a, b) = (closed_server(), format!("{}x", closed_server()));
        assert_eq!(parse_urls(&format!(" {a}  {b} \n")), vec![a.clone(), b]);
        assert!(parse_urls("  ").is_empty());
        assert_eq!(
            progress_line(&format!("{a}x"), 3 << 20, Some(6 << 20)),
            format!("\rDownloading from {a}x: 3.0/6.0 MiB")
        );
        assert_eq!(
            progress_line(&format!("{a}x"), 1 << 19, None),
            format!("\rDownloading from {a}x: 0.5 MiB")
        );
    }

    #[test]
    fn bad_build_ids_and_unreachable_servers_are_named() {
        let cache = tempfile::tempdir().unwrap();
        let server = closed_server();
        let client = Client::new(vec![server.clone()], cache.path());
        assert_eq!(
            client.debuginfo("zz").unwrap_err(),
            "debuginfod: 'zz' is not a build id"
        );
        let e = client.debuginfo("ABCD").unwrap_err();
        assert!(
            e.starts_with(&format!(
                "debuginfod has no debug file for build id abcd: {server}buildid/abcd/debuginfo: "
            )),
            "{e}"
        );
        // A cached answer is used without asking.
        let cached = cache.path().join("debuginfod/abcd/debuginfo");
        std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
        std::fs::write(&cached, b"x").unwrap();
        assert_eq!(client.debuginfo("abcd").unwrap(), cached);
    }
}
