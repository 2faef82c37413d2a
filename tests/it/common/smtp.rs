//! A small SMTP receiver on 127.0.0.1 for tests: real sockets, ESMTP with
//! STARTTLS or TLS from the start (the test CA's localhost certificate in
//! tests/fixtures/tls), AUTH PLAIN, and a queue of answers to DATA so a test
//! can make the server refuse for a while. Std threads only.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Plain,
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Tls,
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    /// Whether it came over TLS.
    pub tls: bool,
}

#[derive(Clone)]
pub struct SmtpServer {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    /// Answers to the next DATA commands, in order; `250` once empty.
    answers: Arc<Mutex<VecDeque<String>>>,
    /// Logins tried, accepted or not.
    pub logins: Arc<Mutex<Vec<(String, String)>>>,
}

struct Options {
    security: Security,
    login: Option<(String, String)>,
    tls: Arc<rustls::ServerConfig>,
}

impl SmtpServer {
    /// `login`: the user and password the server accepts (any when None).
    pub fn start(security: Security, login: Option<(&str, &str)>) -> SmtpServer {
        Self::start_on("127.0.0.1:0".parse().unwrap(), security, login)
    }

    pub fn start_on(
        addr: SocketAddr,
        security: Security,
        login: Option<(&str, &str)>,
    ) -> SmtpServer {
        let listener = TcpListener::bind(addr).unwrap();
        let server = SmtpServer {
            addr: listener.local_addr().unwrap(),
            mails: Default::default(),
            answers: Default::default(),
            logins: Default::default(),
        };
        let opts = Arc::new(Options {
            security,
            login: login.map(|(u, p)| (u.to_string(), p.to_string())),
            tls: super::tls_server_config(),
        });
        let s = server.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                let (s, opts) = (s.clone(), opts.clone());
                std::thread::spawn(move || s.session(tcp, &opts));
            }
        });
        server
    }

    /// The server answers the next DATA commands with these lines.
    pub fn answer_next(&self, answers: &[&str]) {
        let mut q = self.answers.lock().unwrap();
        q.extend(answers.iter().map(|a| a.to_string()));
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// `localhost:PORT`, the name the certificate is for.
    pub fn host_port(&self) -> String {
        format!("localhost:{}", self.addr.port())
    }

    fn session(&self, tcp: TcpStream, opts: &Options) {
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
        let mut conn = Conn::Plain(tcp);
        if opts.security == Security::Tls {
            conn = conn.upgrade(&opts.tls);
        }
        let mut buf = Vec::new();
        let _ = conn.write_all(b"220 localhost ESMTP storywatch-test\r\n");
        let (mut from, mut to, mut authed) = (String::new(), Vec::new(), opts.login.is_none());
        while let Some(line) = conn.line(&mut buf) {
            let upper = line.to_ascii_uppercase();
            let reply: String = if upper.starts_with("EHLO") {
                let mut r = String::from("250-localhost\r\n");
                if opts.security == Security::StartTls && !conn.is_tls() {
                    r.push_str("250-STARTTLS\r\n");
                }
                r.push_str("250-AUTH PLAIN\r\n250 8BITMIME");
                r
            } else if upper.starts_with("HELO") {
                "250 localhost".into()
            } else if upper == "STARTTLS" && opts.security == Security::StartTls && !conn.is_tls() {
                assert!(buf.is_empty(), "client spoke before the TLS handshake");
                let _ = conn.write_all(b"220 2.0.0 ready for TLS\r\n");
                conn = conn.upgrade(&opts.tls);
                continue;
            } else if upper.starts_with("AUTH PLAIN") {
                let arg = match line.get(11..).map(str::trim).filter(|a| !a.is_empty()) {
                    Some(a) => a.to_string(),
                    None => {
                        let _ = conn.write_all(b"334 \r\n");
                        conn.line(&mut buf).unwrap_or_default()
                    }
                };
                let decoded = STANDARD.decode(arg.trim()).unwrap_or_default();
                let parts: Vec<String> = decoded
                    .split(|b| *b == 0)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                let (user, pass) = (
                    parts.get(1).cloned().unwrap_or_default(),
                    parts.get(2).cloned().unwrap_or_default(),
                );
                self.logins
                    .lock()
                    .unwrap()
                    .push((user.clone(), pass.clone()));
                if opts.login.as_ref().is_none_or(|l| *l == (user, pass)) {
                    authed = true;
                    "235 2.7.0 authenticated".into()
                } else {
                    "535 5.7.8 authentication credentials invalid".into()
                }
            } else if upper.starts_with("MAIL FROM:") {
                if !authed {
                    "530 5.7.0 authentication required".into()
                } else {
                    from = line[10..].trim().to_string();
                    to.clear();
                    "250 2.1.0 ok".into()
                }
            } else if upper.starts_with("RCPT TO:") {
                to.push(line[8..].trim().to_string());
                "250 2.1.5 ok".into()
            } else if upper == "DATA" {
                let _ = conn.write_all(b"354 end with <CRLF>.<CRLF>\r\n");
                let mut data = Vec::new();
                while let Some(l) = conn.line(&mut buf) {
                    if l == "." {
                        break;
                    }
                    let l = l.strip_prefix('.').unwrap_or(&l);
                    data.extend_from_slice(l.as_bytes());
                    data.extend_from_slice(b"\r\n");
                }
                let answer = self
                    .answers
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or_else(|| "250 2.0.0 queued".into());
                if answer.starts_with('2') {
                    self.mails.lock().unwrap().push(Mail {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                        tls: conn.is_tls(),
                    });
                }
                answer
            } else if upper == "RSET" || upper == "NOOP" {
                "250 ok".into()
            } else if upper == "QUIT" {
                let _ = conn.write_all(b"221 bye\r\n");
                return;
            } else {
                "502 5.5.2 not implemented".into()
            };
            if conn.write_all(format!("{reply}\r\n").as_bytes()).is_err() {
                return;
            }
        }
    }
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Conn {
    fn upgrade(self, config: &Arc<rustls::ServerConfig>) -> Conn {
        match self {
            Conn::Plain(tcp) => {
                let server = rustls::ServerConnection::new(config.clone()).unwrap();
                Conn::Tls(Box::new(rustls::StreamOwned::new(server, tcp)))
            }
            other => other,
        }
    }

    fn is_tls(&self) -> bool {
        matches!(self, Conn::Tls(_))
    }

    /// The next CRLF-ended line, without its end; None at EOF or error.
    fn line(&mut self, buf: &mut Vec<u8>) -> Option<String> {
        loop {
            if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&buf[..i]).into_owned();
                buf.drain(..i + 2);
                return Some(line);
            }
            let mut chunk = [0u8; 4096];
            match self.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(b),
            Conn::Tls(s) => s.read(b),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(b),
            Conn::Tls(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}
