//! The debuginfod client against a real server: Debian's `debuginfod`
//! (installed by `cargo xtask setup`) started on 127.0.0.1, serving the
//! debug file of a program built here, which the client then finds by the
//! stripped program's build id; and `stap -L` doing the same through
//! `DEBUGINFOD_URLS`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stapkit::debuginfo::debugfile::{self, Found, SearchPath};
use stapkit::debuginfo::debuginfod::Client;
use stapkit::debuginfo::testprog;
use stapkit::debuginfo::userdebug::UserDebug;

/// The server, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `debuginfod -F DIR` on a free port of 127.0.0.1.
fn start_server(files: &Path, db: &Path) -> Server {
    let port = free_port();
    let child = Command::new("debuginfod")
        .arg("-F")
        .arg(files)
        .arg("-d")
        .arg(db)
        .args(["-p", &port.to_string(), "-t", "1", "-c", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("debuginfod (Debian package debuginfod; `cargo xtask setup` installs it)");
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

fn build_id(program: &Path) -> String {
    debugfile::links_of(&std::fs::read(program).unwrap())
        .unwrap()
        .build_id
        .unwrap()
}

/// Asks until the server has scanned its files (a few seconds).
fn fetch_when_ready(client: &Client, id: &str) -> std::path::PathBuf {
    let start = Instant::now();
    loop {
        match client.debuginfo(id) {
            Ok(path) => return path,
            Err(e) if start.elapsed() > Duration::from_secs(60) => panic!("{e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

#[test]
fn debug_files_come_from_a_local_debuginfod_server() {
    let p = testprog::build();
    let served = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::rename(&p.debug, served.path().join("userdebug.debug")).unwrap();
    let server = start_server(served.path(), &work.path().join("db.sqlite"));
    let id = build_id(&p.stripped);

    // The client, with progress reported from the first byte on.
    let cache = work.path().join("cache");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let mut client = Client::new(vec![format!("{}/", server.url)], &cache).with_progress(Arc::new(
        move |l: &str| sink.lock().unwrap().push(l.to_string()),
    ));
    client.progress_after = Duration::ZERO;
    let path = fetch_when_ready(&client, &id);
    assert_eq!(path, cache.join("debuginfod").join(&id).join("debuginfo"));
    let served_bytes = std::fs::read(served.path().join("userdebug.debug")).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), served_bytes);
    let url = format!("{}/buildid/{id}/debuginfo", server.url);
    let lines = lines.lock().unwrap().clone();
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with(&format!("\rDownloading from {url}: "))
            && lines.last().unwrap().ends_with(" MiB\n"),
        "{lines:?}"
    );

    // The debug file search asks the server last, and reads the DWARF.
    let search = SearchPath {
        debug_roots: vec![work.path().join("no-debug-root")],
        debuginfod: Some(Client::new(
            vec![server.url.clone()],
            &work.path().join("c2"),
        )),
    };
    let found = debugfile::find(&p.stripped, "/bin/userdebug", &search).unwrap();
    assert_eq!(found.found, Found::Debuginfod);
    let d = UserDebug::open(&p.stripped, "/bin/userdebug", &search, work.path()).unwrap();
    let names: Vec<String> = d.functions("user_*").into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["user_scale", "user_total"]);

    // An unknown build id: the error names the URL and the server's answer.
    let e = client.debuginfo("0123456789abcdef").unwrap_err();
    assert_eq!(
        e,
        format!(
            "debuginfod has no debug file for build id 0123456789abcdef: {}/buildid/0123456789abcdef/debuginfo: HTTP 404 Not Found",
            server.url
        )
    );

    // stap -L through DEBUGINFOD_URLS, its cache in STAPKIT_CACHE.
    let out = Command::new(env!("CARGO_BIN_EXE_stap"))
        .arg("-L")
        .arg(format!(
            "process(\"{}\").function(\"user_*\")",
            p.stripped.display()
        ))
        .env("DEBUGINFOD_URLS", &server.url)
        .env("STAPKIT_CACHE", work.path().join("stap-cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let source = format!("{}/userdebug.c", testprog::SOURCE_DIR);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "process(\"{}\").function(\"user_scale@{source}:16\") $p:struct point* $factor:int $scaled:int",
                p.stripped.display(),
            ),
            format!(
                "process(\"{}\").function(\"user_total@{source}:25\") $n:int $step:unsigned char $acc:long int $i:int",
                p.stripped.display(),
            ),
        ]
    );
}
