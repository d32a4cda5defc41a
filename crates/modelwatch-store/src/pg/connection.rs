//! [`Connection`]: a synchronous PostgreSQL client that may be dropped anywhere. The client
//! drives a Tokio runtime of its own, which panics if it blocks, or is dropped, on a thread
//! of another runtime (the service's async tasks drop stores too); so its drop runs on a
//! thread of its own, as every call does (`super::off_runtime`).

use std::ops::{Deref, DerefMut};

use postgres::Client;

/// A client whose drop happens off any Tokio runtime.
pub(crate) struct Connection {
    /// Always `Some` until the drop takes it.
    client: Option<Client>,
}

impl Connection {
    pub(crate) fn new(client: Client) -> Connection {
        Connection {
            client: Some(client),
        }
    }
}

impl Deref for Connection {
    type Target = Client;

    fn deref(&self) -> &Client {
        match &self.client {
            Some(client) => client,
            None => unreachable!("a connection's client is taken only by its drop"),
        }
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut Client {
        match &mut self.client {
            Some(client) => client,
            None => unreachable!("a connection's client is taken only by its drop"),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            super::off_runtime(move || drop(client));
        }
    }
}
