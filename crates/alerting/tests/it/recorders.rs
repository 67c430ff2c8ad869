//! Loopback fakes for the receivers: an HTTP server recording POST bodies (Slack,
//! PagerDuty) and a minimal SMTP server recording the envelope and DATA (email).

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Records `(path, body)` of every request; answers `status`.
#[derive(Debug)]
pub struct HttpRecorder {
    pub addr: String,
    pub received: Arc<Mutex<Vec<(String, String)>>>,
    pub status: Arc<Mutex<u16>>,
}

impl HttpRecorder {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let status = Arc::new(Mutex::new(200));
        let (sink, answer) = (Arc::clone(&received), Arc::clone(&status));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (sink, answer) = (Arc::clone(&sink), Arc::clone(&answer));
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut request_line = String::new();
                    reader.read_line(&mut request_line).await.unwrap();
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap() == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).await.unwrap();
                    sink.lock().push((path, String::from_utf8(body).unwrap()));
                    let status = *answer.lock();
                    let response = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    );
                    reader
                        .get_mut()
                        .write_all(response.as_bytes())
                        .await
                        .unwrap();
                });
            }
        });
        Self {
            addr,
            received,
            status,
        }
    }

    pub fn bodies(&self, path: &str) -> Vec<serde_json::Value> {
        self.received
            .lock()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect()
    }
}

/// One SMTP session as the server saw it.
#[derive(Debug, Clone, Default)]
pub struct SmtpSession {
    pub commands: Vec<String>,
    pub data: String,
}

/// A minimal SMTP server (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, QUIT; no TLS).
#[derive(Debug)]
pub struct SmtpRecorder {
    pub addr: String,
    pub sessions: Arc<Mutex<Vec<SmtpSession>>>,
}

impl SmtpRecorder {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let sessions: Arc<Mutex<Vec<SmtpSession>>> = Arc::default();
        let sink = Arc::clone(&sessions);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = Arc::clone(&sink);
                tokio::spawn(async move {
                    let mut s = BufReader::new(stream);
                    let mut session = SmtpSession::default();
                    s.get_mut()
                        .write_all(b"220 fake.smtp ESMTP\r\n")
                        .await
                        .unwrap();
                    // Bounded: one message per session.
                    for _ in 0..64 {
                        let mut line = String::new();
                        if s.read_line(&mut line).await.unwrap() == 0 {
                            break;
                        }
                        let line = line.trim_end().to_owned();
                        let verb = line
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_ascii_uppercase();
                        session.commands.push(line.clone());
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-fake.smtp\r\n250 AUTH PLAIN LOGIN\r\n",
                            "AUTH" => b"235 2.7.0 ok\r\n",
                            "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                            "DATA" => {
                                s.get_mut().write_all(b"354 go\r\n").await.unwrap();
                                let mut data = String::new();
                                loop {
                                    let mut l = String::new();
                                    if s.read_line(&mut l).await.unwrap() == 0 || l == ".\r\n" {
                                        break;
                                    }
                                    data.push_str(&l);
                                }
                                session.data = data;
                                b"250 queued\r\n"
                            }
                            "QUIT" => {
                                s.get_mut().write_all(b"221 bye\r\n").await.unwrap();
                                break;
                            }
                            _ => b"502 unknown\r\n",
                        };
                        s.get_mut().write_all(reply).await.unwrap();
                    }
                    sink.lock().push(session);
                });
            }
        });
        Self { addr, sessions }
    }
}
