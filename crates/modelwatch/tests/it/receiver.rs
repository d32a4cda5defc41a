//! A scripted HTTP receiver for the notification tests: a thread on a loopback port that
//! answers each request as its script says (a status, or a dropped connection, as a target
//! that is down), then 200, and reports every request it read over a channel, so that tests
//! await the requests themselves.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// This HTTP status, with a short body.
    Status(u16),
    /// Close the connection without answering (the target went down mid-request).
    Drop,
}

/// One request the receiver read.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
    /// The status it answered, or 0 when it dropped the connection.
    pub answered: u16,
}

pub struct Receiver {
    pub url: String,
    requests: mpsc::Receiver<Received>,
    stop: Arc<AtomicBool>,
    address: String,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Starts a receiver answering the first requests as `script` says, then 200.
    pub fn start(script: Vec<Answer>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (sender, requests) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let answer = script.next().unwrap_or(Answer::Status(200));
                if let Some(received) = serve(stream, answer)
                    && sender.send(received).is_err()
                {
                    break;
                }
            }
        });
        Receiver {
            url: format!("http://{address}"),
            requests,
            stop,
            address,
            thread: Some(thread),
        }
    }

    /// The next request, waiting at most `seconds`.
    pub fn next(&self, seconds: u64) -> Received {
        self.requests
            .recv_timeout(Duration::from_secs(seconds))
            .unwrap_or_else(|_| panic!("no request reached the receiver within {seconds} s"))
    }

    /// Requests until `count` of them were answered 2xx (the accepted ones, in order), and
    /// every request read on the way.
    pub fn until_accepted(&self, count: usize, seconds: u64) -> (Vec<Received>, Vec<Received>) {
        let mut accepted = Vec::new();
        let mut all = Vec::new();
        while accepted.len() < count {
            let request = self.next(seconds);
            if (200..300).contains(&request.answered) {
                accepted.push(request.clone());
            }
            all.push(request);
        }
        (accepted, all)
    }
}

impl Receiver {
    /// After the sender has stopped: true when nothing more reached the receiver.
    /// The next request already read, if any (without waiting).
    pub fn try_next(&self) -> Option<Received> {
        self.requests.try_recv().ok()
    }

    pub fn is_quiet(&self) -> bool {
        self.requests.try_recv().is_err()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request and answers it (one request a connection: the answer closes it).
fn serve(stream: TcpStream, answer: Answer) -> Option<Received> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let mut stream = stream;
    let answered = match answer {
        Answer::Drop => {
            let _ = stream.shutdown(std::net::Shutdown::Both);
            0
        }
        Answer::Status(status) => {
            let text = format!("answer {status}");
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = stream.write_all(reply.as_bytes());
            status
        }
    };
    Some(Received {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        answered,
    })
}
