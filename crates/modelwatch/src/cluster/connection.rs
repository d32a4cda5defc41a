//! [`SharedConnection`]: a synchronous PostgreSQL connection (the lease loop's, the owners'
//! lookups, a partition's commit records) that a node's async tasks share: each call runs on
//! a blocking thread, under the connection's lock, never on the async threads.

use std::sync::{Arc, Mutex};

use modelwatch_store::StoreError;

/// A connection shared by a node's tasks. Cloning shares it.
#[derive(Debug)]
pub struct SharedConnection<C> {
    inner: Arc<Mutex<C>>,
    /// What it serves, for errors (`lease`, `owners`).
    name: &'static str,
}

impl<C> Clone for SharedConnection<C> {
    fn clone(&self) -> SharedConnection<C> {
        SharedConnection {
            inner: self.inner.clone(),
            name: self.name,
        }
    }
}

impl<C: Send + 'static> SharedConnection<C> {
    /// Shares `connection`, named `name` in errors.
    pub fn new(connection: C, name: &'static str) -> SharedConnection<C> {
        SharedConnection {
            inner: Arc::new(Mutex::new(connection)),
            name,
        }
    }

    /// Runs `work` on the connection off the async threads; its error in words.
    ///
    /// # Errors
    ///
    /// `work`'s error, or the connection poisoned by a panic, or the task failing.
    pub async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut C) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let (inner, name) = (self.inner.clone(), self.name);
        tokio::task::spawn_blocking(move || {
            let mut connection = inner
                .lock()
                .map_err(|_| format!("the {name} connection is poisoned"))?;
            work(&mut connection).map_err(|error| error.to_string())
        })
        .await
        .map_err(|error| format!("a task on the {name} connection failed: {error}"))?
    }
}
