//! The `modelwatch` command: parses arguments, runs the subcommand, maps errors to exit codes.
//!
//! Exit codes: 0 on success, 1 on bad input, a bad config or a failed read, 2 on a usage
//! error (from clap). Whatever the input, the process does not panic.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if cli::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}
