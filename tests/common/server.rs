//! A `codeframe review` server run by a test, and plain HTTP/1.1 requests to it (raw, so a
//! test can send any Host or Origin header).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub token: String,
}

/// An HTTP answer.
pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Server {
    /// Starts `codeframe review DIR --coder CODER --port 0 EXTRA…` and waits for its address.
    pub fn start(dir: &Path, coder: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_codeframe"))
            .arg("review")
            .arg(dir)
            .args(["--coder", coder, "--port", "0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the codeframe binary runs");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = String::new();
        let port = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("the server stopped before it listened:\n{seen}");
            };
            seen.push_str(&line);
            seen.push('\n');
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                break rest.split('/').next().unwrap().parse::<u16>().unwrap();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let mut s = Server {
            child,
            port,
            token: String::new(),
        };
        let page = s.get("/").body;
        s.token = page
            .split("name=\"cf-token\" content=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .expect("the page carries the token")
            .to_string();
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn get(&self, path: &str) -> Reply {
        request(self.port, "GET", path, &[("Host", &self.host())], None)
    }

    pub fn post(&self, path: &str, body: &serde_json::Value) -> Reply {
        request(
            self.port,
            "POST",
            path,
            &[
                ("Host", &self.host()),
                ("X-Codeframe-Token", &self.token),
                ("Content-Type", "application/json"),
            ],
            Some(body.to_string().as_bytes()),
        )
    }

    /// The code numbers by label.
    pub fn codes(&self) -> Vec<(String, i64)> {
        let state = self.get("/api/state").json();
        state["frame"]["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["label"].as_str().unwrap().to_string(),
                    c["code"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    /// Every answer of a view as the coder's page lists it.
    pub fn answers(&self, view: &str) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        loop {
            let page = self
                .get(&format!(
                    "/api/answers?view={view}&offset={}&limit=500",
                    out.len()
                ))
                .json();
            let rows = page["rows"].as_array().unwrap().clone();
            let total = page["total"].as_u64().unwrap() as usize;
            let done = rows.is_empty();
            out.extend(rows);
            if done || out.len() >= total {
                return out;
            }
        }
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// One request on a fresh connection.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    if let Some(b) = body {
        // A server may answer (and close) before reading all of an oversized body.
        let _ = s.write_all(b);
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers: headers.to_string(),
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// `codeframe review STORE --export OUT`, which must succeed.
pub fn export(store: &str, out: &str, cache: &Path) {
    let o = super::codeframe(&["review", store, "--export", out], cache);
    assert!(o.status.success(), "{}", super::stderr(&o));
}

/// `codeframe agree FILE --coders CODERS --out JSON`, which must succeed; its JSON.
pub fn agree(file: &str, coders: &str, json: &str, cache: &Path) -> serde_json::Value {
    let o = super::codeframe(&["agree", file, "--coders", coders, "--out", json], cache);
    assert!(o.status.success(), "{}", super::stderr(&o));
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}
