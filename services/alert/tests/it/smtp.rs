//! A tiny SMTP server over tokio TCP speaking real SMTP (RFC 5321: EHLO, AUTH PLAIN, MAIL, RCPT,
//! DATA with dot-stuffing, QUIT), keeping every message it accepts.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One accepted message.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// (user, password) from AUTH PLAIN.
    pub auth: Option<(String, String)>,
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and MIME body), dot-stuffing undone.
    pub data: String,
}

pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let m = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let m = m.clone();
                tokio::spawn(async move {
                    let _ = session(stream, m).await;
                });
            }
        });
        Self { port, mails }
    }

    /// Waits up to 20 s for `n` mails; `None` when they did not come.
    pub async fn wait_for(&self, n: usize) -> Option<Vec<Mail>> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.mails.lock().unwrap().clone();
            if got.len() >= n {
                return Some(got);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn arg(cmd: &str, prefix: &str) -> String {
    cmd[prefix.len()..]
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

async fn session(stream: TcpStream, mails: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut auth = None;
    let mut mail = Mail::default();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end_matches(['\r', '\n']);
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-sink.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            w.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("AUTH PLAIN") {
            let mut initial = cmd["AUTH PLAIN".len()..].trim().to_string();
            if initial.is_empty() {
                w.write_all(b"334 \r\n").await?;
                let mut next = String::new();
                r.read_line(&mut next).await?;
                initial = next.trim().to_string();
            }
            let raw = base64::engine::general_purpose::STANDARD
                .decode(initial)
                .unwrap_or_default();
            let parts: Vec<String> = raw
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            if parts.len() == 3 {
                auth = Some((parts[1].clone(), parts[2].clone()));
                w.write_all(b"235 2.7.0 Authentication successful\r\n")
                    .await?;
            } else {
                w.write_all(b"535 5.7.8 Authentication failed\r\n").await?;
            }
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail {
                auth: auth.clone(),
                from: arg(cmd, "MAIL FROM:")
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('>')
                    .to_string(),
                ..Mail::default()
            };
            w.write_all(b"250 2.1.0 Ok\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(arg(cmd, "RCPT TO:"));
            w.write_all(b"250 2.1.5 Ok\r\n").await?;
        } else if upper == "DATA" {
            w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).await? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                data.push_str(
                    l.strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l),
                );
            }
            mail.data = data;
            mails.lock().unwrap().push(std::mem::take(&mut mail));
            w.write_all(b"250 2.0.0 Ok: queued\r\n").await?;
        } else if upper == "RSET" || upper == "NOOP" {
            w.write_all(b"250 2.0.0 Ok\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 5.5.2 Command not recognized\r\n").await?;
        }
    }
}
