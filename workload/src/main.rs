//! `stapkit-workload`: the test guests' event generator.
//!
//! Scripts under `tests/scripts/` run it with `-c` to make the kernel do
//! something they can probe, in a known order, with known arguments. Each
//! step is a word and its operands; steps run left to right:
//!
//! ```text
//! stapkit-workload open /proc/version  kill 15  fsync /tmp/f  call 3  exec /bin/true
//! ```
//!
//! | step            | what the kernel sees                                      |
//! |-----------------|-----------------------------------------------------------|
//! | `open PATH`     | `openat(AT_FDCWD, PATH, O_RDONLY)`, a read, `close`       |
//! | `create PATH`   | `openat(AT_FDCWD, PATH, O_WRONLY|O_CREAT|O_TRUNC, 0644)`   |
//! | `fsync PATH`    | create PATH, write 5 bytes, `fsync`, `close`              |
//! | `missing PATH`  | an `openat` that fails with `ENOENT`                      |
//! | `kill SIG`      | a child that waits, `kill(child, SIG)`, `wait4`           |
//! | `tcp PORT`      | a listener on 127.0.0.1:PORT, a connection to it, 5 bytes sent and received, `shutdown` of the listener |
//! | `nodelay PORT`  | as `tcp`, with `setsockopt(TCP_NODELAY)` on the connecting socket before it sends |
//! | `udp PORT`      | a UDP receiver on 127.0.0.1:PORT, a sender connected to it, 5 bytes sent and received, the sender disconnected (`connect` to `AF_UNSPEC`) |
//! | `connect PORT MS` | a listener on 127.0.0.1:PORT and a connection to it that must be made within MS milliseconds (fails with "connection timed out" when the SYN is dropped) |
//! | `raise SIG`     | a handler for SIG, then `tgkill` of itself: the handler runs |
//! | `call N`        | N calls of `stapkit_workload_add(i, 2)` (uprobe target)   |
//! | `text STRING`   | one call of `stapkit_workload_text(STRING, -7)` (uprobe target) |
//! | `sdt N STRING`  | the SDT markers of `c/sdt_markers.c` with N and STRING (`process(...).mark(...)` targets) |
//! | `exec PATH ...` | `execve(PATH, [PATH, ...])`; the rest of the line is argv |
//! | `sleep MS`      | `nanosleep`                                               |
//! | `getppid N`     | N `getppid` system calls, then one line `getppid N NS` on stdout, NS the nanoseconds they took (`cargo xtask bench overhead`) |
//! | `blkio DEV`     | `O_DIRECT` open of block device DEV, one 4096-byte `pwrite` at offset 4096 (sector 8), one 4096-byte `pread` of it, `close`: one write bio and one read bio |
//!
//! It prints nothing but `getppid`'s line: what the guest captures is the
//! script's output. A failed step is reported on stderr and exits 1.
//!
//! `stapkit-workload emit CASE DIR PART...` is not a step but the guest
//! `/init`'s framing of a case's results (see [`emit`]).

use std::ffi::CString;
use std::process::ExitCode;

mod emit;

/// The function `process("...").function("stapkit_workload_add")` probes:
/// never inlined, a stable unmangled symbol, two arguments and a result.
#[no_mangle]
#[inline(never)]
pub extern "C" fn stapkit_workload_add(a: i64, b: i64) -> i64 {
    // A volatile read keeps the body from being folded into its caller.
    unsafe { std::ptr::read_volatile(&a) + b }
}

/// The second uprobe target: a string argument (a user-space pointer), a
/// negative `int` and an `int` result, the string's length.
#[no_mangle]
#[inline(never)]
pub extern "C" fn stapkit_workload_text(text: *const libc::c_char, tag: i32) -> i32 {
    // SAFETY: callers pass a NUL-terminated string.
    let len = unsafe { libc::strlen(std::ptr::read_volatile(&text)) };
    std::hint::black_box(tag);
    len as i32
}

extern "C" {
    /// The SDT markers (`c/sdt_markers.c`): `stapkit:none`, `stapkit:sizes`
    /// (seven arguments of 1 to 8 bytes in memory), `stapkit:registers`
    /// (registers and a constant) and the semaphore-guarded
    /// `stapkit:guarded`.
    fn stapkit_workload_sdt(n: i64, text: *const libc::c_char);
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let done = match args.split_first() {
        Some((first, rest)) if first == "emit" => emit::run(rest, &mut std::io::stdout().lock()),
        _ => run(&args),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stapkit-workload: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut rest = args;
    while let Some((step, after)) = rest.split_first() {
        let operand = |what: &str| {
            after
                .first()
                .cloned()
                .ok_or_else(|| format!("'{step}' needs {what}"))
        };
        rest = match step.as_str() {
            "open" => {
                open_read(&operand("a path")?)?;
                &after[1..]
            }
            "create" => {
                let fd = create(&operand("a path")?)?;
                close(fd);
                &after[1..]
            }
            "fsync" => {
                fsync_file(&operand("a path")?)?;
                &after[1..]
            }
            "missing" => {
                missing(&operand("a path")?)?;
                &after[1..]
            }
            "kill" => {
                kill_child(number(&operand("a signal number")?)? as i32)?;
                &after[1..]
            }
            "tcp" => {
                tcp_loopback(number(&operand("a port")?)? as u16, false)?;
                &after[1..]
            }
            "nodelay" => {
                tcp_loopback(number(&operand("a port")?)? as u16, true)?;
                &after[1..]
            }
            "udp" => {
                udp_loopback(number(&operand("a port")?)? as u16)?;
                &after[1..]
            }
            "connect" => {
                let port = number(&operand("a port")?)? as u16;
                let ms = after
                    .get(1)
                    .ok_or_else(|| "'connect' needs a timeout in milliseconds".to_string())
                    .and_then(|t| number(t))?;
                tcp_connect_within(port, ms as u64)?;
                &after[2..]
            }
            "raise" => {
                raise_handled(number(&operand("a signal number")?)? as i32)?;
                &after[1..]
            }
            "call" => {
                let n = number(&operand("a count")?)?;
                let mut sum = 0;
                for i in 0..n {
                    sum += stapkit_workload_add(i, 2);
                }
                std::hint::black_box(sum);
                &after[1..]
            }
            "getppid" => {
                let n = number(&operand("a count")?)?;
                let started = std::time::Instant::now();
                for _ in 0..n {
                    // SAFETY: getppid has no preconditions.
                    std::hint::black_box(unsafe { libc::getppid() });
                }
                println!("getppid {n} {}", started.elapsed().as_nanos());
                &after[1..]
            }
            "text" => {
                let text = c_path(&operand("a string")?)?;
                std::hint::black_box(stapkit_workload_text(text.as_ptr(), -7));
                &after[1..]
            }
            "sdt" => {
                let n = number(&operand("a number")?)?;
                let text = after
                    .get(1)
                    .ok_or_else(|| "'sdt' needs a number and a string".to_string())
                    .and_then(|t| c_path(t))?;
                // SAFETY: text is NUL-terminated and outlives the call.
                unsafe { stapkit_workload_sdt(n, text.as_ptr()) };
                &after[2..]
            }
            "blkio" => {
                block_io(&operand("a block device")?)?;
                &after[1..]
            }
            "sleep" => {
                let ms = number(&operand("milliseconds")?)?;
                std::thread::sleep(std::time::Duration::from_millis(ms as u64));
                &after[1..]
            }
            "exec" => return exec(after),
            other => return Err(format!("unknown step '{other}'")),
        };
    }
    Ok(())
}

fn number(text: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("'{text}' is not a number"))
}

fn c_path(path: &str) -> Result<CString, String> {
    CString::new(path).map_err(|_| format!("'{path}' contains a NUL byte"))
}

fn os_error(what: &str, path: &str) -> String {
    format!("{what} {path}: {}", std::io::Error::last_os_error())
}

fn open_read(path: &str) -> Result<(), String> {
    let c = c_path(path)?;
    // SAFETY: a valid NUL-terminated path; the fd is closed below.
    let fd = unsafe { libc::openat(libc::AT_FDCWD, c.as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        return Err(os_error("cannot open", path));
    }
    let mut buf = [0u8; 64];
    // SAFETY: reads into a buffer of the stated length.
    unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    close(fd);
    Ok(())
}

fn create(path: &str) -> Result<i32, String> {
    let c = c_path(path)?;
    // SAFETY: a valid NUL-terminated path.
    let fd = unsafe {
        libc::openat(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            0o644 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(os_error("cannot create", path));
    }
    Ok(fd)
}

fn fsync_file(path: &str) -> Result<(), String> {
    let fd = create(path)?;
    // SAFETY: writes 5 bytes from a static buffer to our own fd.
    let written = unsafe { libc::write(fd, b"data\n".as_ptr().cast(), 5) };
    // SAFETY: fsync of our own fd.
    let synced = unsafe { libc::fsync(fd) };
    close(fd);
    if written != 5 || synced != 0 {
        return Err(os_error("cannot write and fsync", path));
    }
    Ok(())
}

/// One direct write and one direct read of a 4 KiB block at offset 4096:
/// with `O_DIRECT` each becomes one bio submitted by this process.
fn block_io(path: &str) -> Result<(), String> {
    const BLOCK: usize = 4096;
    let c = c_path(path)?;
    // SAFETY: a valid NUL-terminated path.
    let fd = unsafe { libc::openat(libc::AT_FDCWD, c.as_ptr(), libc::O_RDWR | libc::O_DIRECT) };
    if fd < 0 {
        return Err(os_error("cannot open for direct I/O", path));
    }
    // O_DIRECT wants a buffer aligned to the logical block size.
    let layout = std::alloc::Layout::from_size_align(BLOCK, BLOCK).expect("valid layout");
    // SAFETY: a non-zero size; freed below with the same layout.
    let buf = unsafe { std::alloc::alloc_zeroed(layout) };
    if buf.is_null() {
        close(fd);
        return Err("out of memory".to_string());
    }
    // SAFETY: buf holds BLOCK bytes.
    unsafe { std::ptr::write_bytes(buf, 0x5a, BLOCK) };
    // SAFETY: BLOCK bytes from our buffer to our own fd, then back.
    let written = unsafe { libc::pwrite(fd, buf.cast(), BLOCK, BLOCK as libc::off_t) };
    // SAFETY: as above.
    let read = unsafe { libc::pread(fd, buf.cast(), BLOCK, BLOCK as libc::off_t) };
    let error = os_error("cannot write and read back", path);
    // SAFETY: allocated above with this layout.
    unsafe { std::alloc::dealloc(buf, layout) };
    close(fd);
    if written != BLOCK as isize || read != BLOCK as isize {
        return Err(error);
    }
    Ok(())
}

fn missing(path: &str) -> Result<(), String> {
    let c = c_path(path)?;
    // SAFETY: a valid NUL-terminated path.
    let fd = unsafe { libc::openat(libc::AT_FDCWD, c.as_ptr(), libc::O_RDONLY) };
    if fd >= 0 {
        close(fd);
        return Err(format!("{path} exists, but 'missing' wants it not to"));
    }
    Ok(())
}

fn close(fd: i32) {
    // SAFETY: closing an fd this program opened.
    unsafe { libc::close(fd) };
}

fn kill_child(signal: i32) -> Result<(), String> {
    // SAFETY: the child only calls async-signal-safe functions.
    let child = unsafe { libc::fork() };
    match child {
        -1 => Err(os_error("cannot fork", "")),
        0 => {
            // The child waits for the signal (or gives up after 10 s).
            // SAFETY: pause/_exit are async-signal-safe.
            unsafe {
                libc::alarm(10);
                libc::pause();
                libc::_exit(0)
            }
        }
        pid => {
            // SAFETY: signalling and reaping our own child.
            let sent = unsafe { libc::kill(pid, signal) };
            let mut status = 0;
            unsafe { libc::waitpid(pid, &mut status, 0) };
            if sent != 0 {
                return Err(os_error("cannot send the signal to", &pid.to_string()));
            }
            Ok(())
        }
    }
}

fn tcp_loopback(port: u16, nodelay: bool) -> Result<(), String> {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    let err = |what: &str, e: std::io::Error| format!("{what} 127.0.0.1:{port}: {e}");
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| err("cannot listen on", e))?;
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| err("cannot connect to", e))?;
    let (mut server, _) = listener.accept().map_err(|e| err("cannot accept on", e))?;
    if nodelay {
        client
            .set_nodelay(true)
            .map_err(|e| err("cannot set TCP_NODELAY for", e))?;
    }
    client
        .write_all(b"hello")
        .map_err(|e| err("cannot send to", e))?;
    let mut buf = [0u8; 5];
    server
        .read_exact(&mut buf)
        .map_err(|e| err("cannot receive from", e))?;
    // Shutting a listening socket down disconnects it (tcp_disconnect).
    // SAFETY: the descriptor is the listener's, open until it drops.
    unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) };
    Ok(())
}

/// `udp PORT`: a receiver bound to 127.0.0.1:PORT and a sender connected
/// to it; 5 bytes sent and received, then the sender disconnected
/// (`connect` to `AF_UNSPEC`).
fn udp_loopback(port: u16) -> Result<(), String> {
    use std::os::fd::AsRawFd;

    let err = |what: &str, e: std::io::Error| format!("{what} 127.0.0.1:{port}: {e}");
    let receiver =
        std::net::UdpSocket::bind(("127.0.0.1", port)).map_err(|e| err("cannot bind", e))?;
    let sender = std::net::UdpSocket::bind(("127.0.0.1", 0))
        .map_err(|e| err("cannot bind a sender for", e))?;
    sender
        .connect(("127.0.0.1", port))
        .map_err(|e| err("cannot connect to", e))?;
    sender
        .send(b"hello")
        .map_err(|e| err("cannot send to", e))?;
    let mut buf = [0u8; 16];
    let n = receiver
        .recv(&mut buf)
        .map_err(|e| err("cannot receive on", e))?;
    if n != 5 {
        return Err(format!("received {n} bytes on 127.0.0.1:{port}, not 5"));
    }
    // SAFETY: a zeroed sockaddr with family AF_UNSPEC dissolves the
    // association of the sender's descriptor, open until it drops.
    let rc = unsafe {
        let mut unspec: libc::sockaddr = std::mem::zeroed();
        unspec.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        libc::connect(
            sender.as_raw_fd(),
            &unspec,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(os_error(
            "cannot disconnect the sender from",
            &port.to_string(),
        ));
    }
    Ok(())
}

/// `connect PORT MS`: a connection to a listener of our own that either
/// is made within `ms` milliseconds or fails, with a message that does not
/// depend on the kernel ("connection timed out").
fn tcp_connect_within(port: u16, ms: u64) -> Result<(), String> {
    let err = |what: &str, e: std::io::Error| format!("{what} 127.0.0.1:{port}: {e}");
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| err("cannot listen on", e))?;
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let client =
        std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_millis(ms))
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::TimedOut => {
                    format!("cannot connect to 127.0.0.1:{port}: connection timed out")
                }
                _ => err("cannot connect to", e),
            })?;
    drop(client);
    drop(listener);
    Ok(())
}

/// The handler `raise SIG` installs: it does nothing, the kernel's
/// delivery to it is the event.
extern "C" fn ignore_signal(_signal: i32) {}

fn raise_handled(signal: i32) -> Result<(), String> {
    // SAFETY: a zeroed sigaction with a handler that touches nothing.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as extern "C" fn(i32) as usize;
        if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
            return Err(os_error(
                "cannot set a handler for signal",
                &signal.to_string(),
            ));
        }
        if libc::raise(signal) != 0 {
            return Err(os_error("cannot raise signal", &signal.to_string()));
        }
    }
    Ok(())
}

fn exec(argv: &[String]) -> Result<(), String> {
    let Some(path) = argv.first() else {
        return Err("'exec' needs a program".to_string());
    };
    let args: Vec<CString> = argv.iter().map(|a| c_path(a)).collect::<Result<_, _>>()?;
    let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let env: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: NUL-terminated argv and envp arrays of valid strings.
    unsafe { libc::execve(args[0].as_ptr(), ptrs.as_ptr(), env.as_ptr()) };
    Err(os_error("cannot execute", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_run_in_order_and_bad_ones_are_named() {
        let dir = std::env::temp_dir().join(format!("stapkit-workload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f").display().to_string();
        let missing_file = dir.join("absent").display().to_string();
        let args: Vec<String> = [
            "fsync",
            &file,
            "open",
            &file,
            "missing",
            &missing_file,
            "call",
            "3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        run(&args).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"data\n");
        assert_eq!(
            run(&["frobnicate".to_string()]).unwrap_err(),
            "unknown step 'frobnicate'"
        );
        assert_eq!(
            run(&["open".to_string()]).unwrap_err(),
            "'open' needs a path"
        );
        assert!(run(&["missing".to_string(), file.clone()])
            .unwrap_err()
            .contains("exists"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn kill_reaps_the_signalled_child() {
        kill_child(libc::SIGTERM).unwrap();
    }

    #[test]
    fn udp_sends_receives_and_disconnects_on_loopback() {
        udp_loopback(47211).unwrap();
    }

    #[test]
    fn add_adds() {
        assert_eq!(stapkit_workload_add(40, 2), 42);
    }

    #[test]
    fn text_measures() {
        let s = CString::new("hello").unwrap();
        assert_eq!(stapkit_workload_text(s.as_ptr(), -7), 5);
        run(&["text".to_string(), "abc".to_string()]).unwrap();
        assert_eq!(
            run(&["text".to_string()]).unwrap_err(),
            "'text' needs a string"
        );
    }
}
