//! [`NatsServer`]: `nats-server` with JetStream on a free loopback port, its store in a
//! temporary directory; stopped and started again on the same port and store for the tests
//! where it goes away mid-run.

use std::path::PathBuf;
use std::time::Duration;

use crate::process::{GuardedProcess, free_port};
use crate::programs::find_program;

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `nats-server -js` on 127.0.0.1.
#[derive(Debug)]
pub struct NatsServer {
    program: PathBuf,
    port: u16,
    store: tempfile::TempDir,
    process: Option<GuardedProcess>,
}

impl NatsServer {
    /// Starts a server of the test's own; `None` (the test skips) when `nats-server` is not
    /// installed.
    ///
    /// # Panics
    ///
    /// When it is installed but does not start, or is missing under
    /// `MODELWATCH_REQUIRE_SERVERS=1`.
    pub fn start() -> Option<NatsServer> {
        let program = find_program("nats-server", "nats-server")?;
        let store = match tempfile::Builder::new()
            .prefix("modelwatch-nats-")
            .tempdir()
        {
            Ok(store) => store,
            Err(error) => panic!("no temporary directory for NATS: {error}"),
        };
        let port = match free_port() {
            Ok(port) => port,
            Err(message) => panic!("{message}"),
        };
        let mut server = NatsServer {
            program,
            port,
            store,
            process: None,
        };
        server.run();
        Some(server)
    }

    fn run(&mut self) {
        let args = vec![
            "-js".to_string(),
            "-a".to_string(),
            "127.0.0.1".to_string(),
            "-p".to_string(),
            self.port.to_string(),
            "-sd".to_string(),
            self.store.path().display().to_string(),
        ];
        match GuardedProcess::start(
            &self.program,
            &args,
            "TERM",
            None,
            "Server is ready",
            START_TIMEOUT,
        ) {
            Ok(process) => self.process = Some(process),
            Err(message) => panic!("nats-server did not start: {message}"),
        }
    }

    /// Its URL: `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server; its JetStream store stays.
    pub fn stop(&mut self) {
        if let Some(process) = self.process.take() {
            process.stop();
        }
    }

    /// Starts the stopped server again on the same port and store.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }
}
