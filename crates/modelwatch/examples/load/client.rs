//! The load generator's HTTP/1.1 client: one keep-alive connection, one whole request written
//! at a time, answers read whole by their Content-Length. Its own, not hyper's: see main.rs.

use std::net::SocketAddr;

use tokio::net::TcpStream;

/// A minimal HTTP/1.1 client: one request at a time, answers with a Content-Length.
pub(crate) struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// What one request got back.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) close: bool,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buffer: Vec::with_capacity(4096),
        })
    }

    pub(crate) async fn exchange(&mut self, request: &[u8]) -> Result<Answer, String> {
        // Readiness and try_write/try_read straight on the socket, nothing buffered between.
        let mut written = 0;
        while written < request.len() {
            self.stream
                .writable()
                .await
                .map_err(|error| format!("write: {error}"))?;
            match self.stream.try_write(&request[written..]) {
                Ok(count) => written += count,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(format!("write: {error}")),
            }
        }
        self.buffer.clear();
        let head_end = loop {
            if let Some(at) = find(&self.buffer, b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..head_end])
            .map_err(|_| "the answer's head is not UTF-8".to_string())?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| format!("bad status line in {head:?}"))?;
        let mut length = None;
        let mut close = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(format!("unsupported transfer-encoding {value}"));
            }
        }
        let length = length.ok_or_else(|| format!("no content-length in {head:?}"))?;
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        if self.buffer.len() > head_end + length {
            return Err("the server sent more than the answer".to_string());
        }
        let body = String::from_utf8_lossy(&self.buffer[head_end..]).into_owned();
        Ok(Answer {
            status,
            body,
            close,
        })
    }

    async fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 16 * 1024];
        let read = loop {
            self.stream
                .readable()
                .await
                .map_err(|error| format!("read: {error}"))?;
            match self.stream.try_read(&mut chunk) {
                Ok(count) => break count,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(format!("read: {error}")),
            }
        };
        if read == 0 {
            return Err("the server closed the connection".to_string());
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
