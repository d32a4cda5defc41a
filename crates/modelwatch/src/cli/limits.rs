//! The flags that bound what clients may hold of a running service: connection timeouts, the
//! connection limit, the shutdown deadline and the request bodies in flight. `serve` and `demo`
//! share them.

use std::time::Duration;

use clap::Args;
use modelwatch::ServiceOptions;
use modelwatch::runtime::retention;
use modelwatch::server::DEFAULT_MAX_BODIES_IN_FLIGHT;
use modelwatch::server::listen::{ConnectionLimits, DEFAULT_MAX_CONNECTIONS};

/// The listener's limits (see docs/http-api.md, "Connections and limits").
#[derive(Clone, Debug, Args)]
pub struct LimitArgs {
    /// How long a request's head (request line and headers) may take to arrive; a connection
    /// that sends none in time is closed. A whole number and a unit s, m, h, d or w.
    #[arg(long, default_value = "10s", value_name = "PERIOD", value_parser = positive_period)]
    header_timeout: Duration,
    /// How long a request's body may take to arrive whole, from the end of its head; a body
    /// that takes longer is answered 408 and the connection closed.
    #[arg(long, default_value = "30s", value_name = "PERIOD", value_parser = positive_period)]
    body_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request (or a client take no
    /// byte of an answer) before it is closed.
    #[arg(long, default_value = "60s", value_name = "PERIOD", value_parser = positive_period)]
    idle_timeout: Duration,
    /// The most connections open at once. One more closes the connection that has waited
    /// longest without a request; when every one is handling a request, new ones wait.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_connections: usize,
    /// How long requests under way may take to finish once SIGTERM or SIGINT arrives; the
    /// connections still open then are closed.
    #[arg(long, default_value = "10s", value_name = "PERIOD", value_parser = positive_period)]
    shutdown_timeout: Duration,
    /// The most bytes of request bodies held at once across all requests; a body that would
    /// go past it is refused with 503 and Retry-After before it is read.
    #[arg(long, default_value_t = DEFAULT_MAX_BODIES_IN_FLIGHT, value_name = "BYTES", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_bodies_in_flight: usize,
}

impl LimitArgs {
    /// The default options with these limits.
    pub fn options(&self) -> ServiceOptions {
        let mut options = ServiceOptions::default();
        self.apply(&mut options);
        options
    }

    /// Sets these limits in `options`.
    pub fn apply(&self, options: &mut ServiceOptions) {
        options.body_timeout = self.body_timeout;
        options.max_bodies_in_flight = self.max_bodies_in_flight;
        options.connections = ConnectionLimits {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
            shutdown_timeout: self.shutdown_timeout,
        };
    }
}

/// A period of at least one second.
fn positive_period(text: &str) -> Result<Duration, String> {
    let period = retention::parse_duration(text)?;
    if period.is_zero() {
        return Err(format!("{text:?} is no time at all; give at least 1s"));
    }
    Ok(period)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use modelwatch::server::listen;

    use super::*;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        limits: LimitArgs,
    }

    #[test]
    fn the_flags_default_to_the_service_defaults() {
        let mut options = ServiceOptions {
            body_timeout: Duration::ZERO,
            max_bodies_in_flight: 1,
            connections: ConnectionLimits {
                max_connections: 1,
                ..ConnectionLimits::default()
            },
            ..ServiceOptions::default()
        };
        Command::parse_from(["x"]).limits.apply(&mut options);
        let defaults = ServiceOptions::default();
        assert_eq!(options.connections, defaults.connections);
        assert_eq!(options.body_timeout, defaults.body_timeout);
        assert_eq!(options.max_bodies_in_flight, defaults.max_bodies_in_flight);
        assert_eq!(
            options.connections.header_timeout,
            listen::DEFAULT_HEADER_TIMEOUT
        );
    }

    #[test]
    fn a_zero_period_is_refused() {
        let error = Command::try_parse_from(["x", "--idle-timeout", "0s"])
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("--idle-timeout"), "{error}");
    }
}
