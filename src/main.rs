use std::time::Duration;

use clap::Parser;
use taskstream::auth::Auth;
use taskstream::cli::{Cli, Command};
use taskstream::domain::UserId;
use taskstream::startup::{self, Application};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    taskstream::telemetry::init(&cli.common.log, cli.common.log_format);
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("taskstream: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    cli.common.validate()?;
    match cli.command {
        Command::All { http } | Command::Api { http } => {
            let app = Application::build(&cli.common, &http).await?;
            tracing::info!(address = %app.local_addr(), database = %app.store().backend(), "taskstream API listening");
            app.run(startup::shutdown_on_signal()).await
        }
        Command::Token { user, ttl_hours } => {
            let user =
                UserId::parse(&user).map_err(|e| anyhow::anyhow!("--user: {}", e.message))?;
            let auth = Auth::from_settings(&cli.common)?;
            println!(
                "{}",
                auth.issue(&user, Duration::from_secs(ttl_hours * 3600))?
            );
            Ok(())
        }
        Command::Migrate => {
            let store = startup::open_store(&cli.common).await?;
            println!("migrations applied to the {} database", store.backend());
            Ok(())
        }
    }
}
