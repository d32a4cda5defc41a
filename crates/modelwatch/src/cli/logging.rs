//! The binary's log: `tracing` events to standard error, as text or one JSON object a line,
//! filtered by `--log-level` or else `RUST_LOG` (else `info`). Standard output stays for what
//! the commands print (serve's address and `ready`). The libraries only emit events; installing
//! the subscriber is the binary's choice.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The level when neither `--log-level` nor `RUST_LOG` says.
const DEFAULT_LEVEL: &str = "info";

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// The log flags of the commands that run a service.
#[derive(Clone, Debug, Args)]
pub struct LogArgs {
    /// How log lines on standard error are written.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// What to log: a level (error, warn, info, debug, trace, off) or directives such as
    /// `info,modelwatch::server=debug`; default: RUST_LOG, else info. Requests are logged at
    /// debug.
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
}

impl LogArgs {
    /// The filter: `--log-level`, else `RUST_LOG`, else `info`.
    ///
    /// # Errors
    ///
    /// A level or directive that does not parse, naming where it came from.
    fn filter(&self) -> Result<Targets> {
        let (source, text) = match (&self.log_level, std::env::var("RUST_LOG")) {
            (Some(level), _) => ("--log-level", level.clone()),
            (None, Ok(level)) if !level.trim().is_empty() => ("RUST_LOG", level),
            (None, _) => ("the default", DEFAULT_LEVEL.to_string()),
        };
        if text.trim().is_empty() {
            bail!("{source}: the level is empty; use error, warn, info, debug, trace or off");
        }
        let bad = || {
            format!(
                "{source} {text:?} is not a level: use error, warn, info, debug, trace or off, \
                 or directives such as info,modelwatch::server=debug"
            )
        };
        // A bare word would be taken as a target at every level; only levels may stand alone.
        for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let level = directive
                .rsplit_once('=')
                .map_or(directive, |(_, level)| level);
            if level.parse::<LevelFilter>().is_err() {
                bail!("{}", bad());
            }
        }
        text.parse::<Targets>().with_context(bad)
    }

    /// Installs the subscriber for the whole process.
    ///
    /// # Errors
    ///
    /// A bad level, or a subscriber already installed.
    pub fn init(&self) -> Result<()> {
        let filter = self.filter()?;
        let registry = tracing_subscriber::registry().with(filter);
        let installed = match self.log_format {
            LogFormat::Text => registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(std::io::stderr)
                        .with_ansi(false),
                )
                .try_init(),
            LogFormat::Json => registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .json()
                        .flatten_event(true)
                        .with_current_span(false)
                        .with_writer(std::io::stderr),
                )
                .try_init(),
        };
        installed.context("cannot install the log subscriber")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(level: Option<&str>) -> LogArgs {
        LogArgs {
            log_format: LogFormat::Text,
            log_level: level.map(str::to_string),
        }
    }

    #[test]
    fn levels_and_directives_parse_and_nonsense_is_named() {
        assert!(args(Some("debug")).filter().is_ok());
        assert!(args(Some("warn,modelwatch::server=debug")).filter().is_ok());
        let error = args(Some("loud")).filter().unwrap_err();
        assert!(
            format!("{error:#}").contains("--log-level \"loud\""),
            "{error:#}"
        );
        let error = args(Some(" ")).filter().unwrap_err();
        assert!(format!("{error:#}").contains("empty"), "{error:#}");
    }
}
