//! The `atelier` binary: parses the command line and runs the app.

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = atelier::config::Cli::parse();
    let log_format = cli.common.log_format;
    match atelier::commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            atelier::telemetry::report_failure(log_format, &error);
            ExitCode::FAILURE
        }
    }
}
