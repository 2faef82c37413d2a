//! A loopback server that misbehaves on purpose: raw sockets, so a test can
//! reset a connection mid-body, never answer, drip bytes, or stream a body
//! (or a compression bomb) for as long as the client keeps reading.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// What to do with a request for a path; gets the request head's first line
/// and the socket.
pub type Behaviour = dyn Fn(&str, TcpStream) + Send + Sync;

pub struct FaultServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl FaultServer {
    pub fn start(behaviour: impl Fn(&str, TcpStream) + Send + Sync + 'static) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let behaviour: Arc<Behaviour> = Arc::new(behaviour);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let behaviour = behaviour.clone();
                thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let Some(path) = read_head(&stream) else {
                        return;
                    };
                    behaviour(&path, stream);
                });
            }
        });
        FaultServer { addr, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// Reads the request head; returns the path.
fn read_head(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line.trim_end().is_empty() {
            break;
        }
    }
    first.split_whitespace().nth(1).map(str::to_string)
}

/// A complete response with a Content-Length.
pub fn respond(mut s: TcpStream, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
    let _ = s.flush();
    let _ = s.shutdown(Shutdown::Write);
    // Let the client read everything before the socket closes.
    thread::sleep(Duration::from_millis(50));
}

/// A 200 with no length: the body ends when the connection closes. `next`
/// yields chunks until it returns `None` or the client goes away.
pub fn stream_body(
    mut s: TcpStream,
    headers: &[(&str, &str)],
    mut next: impl FnMut() -> Option<Vec<u8>>,
) {
    let mut head = String::from("HTTP/1.1 200 OK\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if s.write_all(head.as_bytes()).is_err() {
        return;
    }
    while let Some(chunk) = next() {
        if s.write_all(&chunk).is_err() {
            return;
        }
    }
    let _ = s.flush();
}

/// Sends headers promising `len` bytes, part of the body, then an RST
/// (SO_LINGER 0 turns close into a reset).
pub fn reset_mid_body(s: TcpStream, len: usize, sent: &[u8]) {
    let mut s = s;
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {len}\r\n\r\n"
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(sent);
    let _ = s.flush();
    thread::sleep(Duration::from_millis(100));
    let fd = std::os::fd::AsRawFd::as_raw_fd(&s);
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: fd is the open socket of `s`; the struct outlives the call.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(s);
}
