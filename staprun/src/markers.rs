//! staprun's SDT markers, the points SystemTap's tapset documents as
//! `staprun.insert_module`, `staprun.remove_module`,
//! `staprun.send_control_message` and `stapio.receive_control_message`
//! (stapkit's staprun is SystemTap's staprun and stapio in one program).
//! Each is a `.note.stapsdt` note written by the `probe` crate, with the
//! providers, names and argument order of SystemTap's own programs (as
//! `readelf -n` shows them); a string argument is the address of a
//! NUL-terminated copy that lives until the marker has fired.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use probe::probe;

/// A NUL-terminated copy of `bytes`, cut at an inner NUL as C sees it.
fn c_text(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).unwrap_or_default()
}

/// The module at `path` is about to be inserted.
pub fn insert_module(path: &Path) {
    let path = c_text(path.as_os_str().as_bytes());
    probe!(staprun, insert__module, path.as_ptr());
}

/// The module `name` (no `.ko`) is about to be removed.
pub fn remove_module(name: &str) {
    let name = c_text(name.as_bytes());
    probe!(staprun, remove__module, name.as_ptr());
}

/// A control message of type `kind` is about to go to the module.
pub fn send_control_message(kind: u32, data: &[u8]) {
    probe!(
        stapio,
        send__ctlmsg,
        kind as isize,
        data.as_ptr(),
        data.len() as isize
    );
}

/// A control message of type `kind` came from the module and is about
/// to be handled.
pub fn receive_control_message(kind: u32, data: &[u8]) {
    probe!(
        staprun,
        recv__ctlmsg,
        kind as isize,
        data.as_ptr(),
        data.len() as isize
    );
}

/// Writes the command `text` (`start`, `stop`, `flight`) to the module's
/// channel after its `send__ctlmsg` marker. Commands have no type on the
/// channel: the marker's type is 0 and its data the command's text.
pub fn send_command(channel: &mut impl std::io::Write, text: &[u8]) -> std::io::Result<()> {
    send_control_message(0, text);
    channel.write_all(text)
}
