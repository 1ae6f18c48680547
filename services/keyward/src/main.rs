//! `keyward`: one binary for every Keyward service, `up` for all of them in one process,
//! `migrate`, and the admin commands.

mod cli;
mod config;
mod run;
mod vault_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

/// Exit code for a configuration error (EX_CONFIG-style, per sysexits' EX_USAGE).
const EXIT_CONFIG: u8 = 64;

/// Keyward holds your organization's LLM provider keys, proxies and meters every call, and
/// enforces budgets, limits and policies.
#[derive(Parser)]
#[command(name = "keyward", version, about, long_about = None)]
struct Cli {
    /// Configuration file (TOML). Every key can be overridden with KEYWARD__SECTION__KEY
    /// environment variables, e.g. KEYWARD__VAULT__HTTP=0.0.0.0:9101.
    #[arg(long, short, env = "KEYWARD_CONFIG", global = true)]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run all six services in one process (each on its own ports, talking real gRPC,
    /// RabbitMQ and Postgres to each other). Applies migrations first.
    Up {
        /// Do not apply migrations before starting.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply every service's database migrations (creates the roles and schemas first).
    Migrate,
    /// Run the API gateway (REST API, LLM proxy, dashboard; default port 8080).
    ApiGateway,
    /// Run the vault (gRPC 50051, ops 9101), or manage its key-encryption keys.
    Vault {
        #[command(subcommand)]
        action: Option<vault_cmd::VaultAction>,
    },
    /// Run usage ingestion (gRPC 50052, ops 9102).
    UsageIngest,
    /// Run the cost service (gRPC 50053, ops 9103).
    Cost,
    /// Run the alert service (gRPC 50054, ops 9104).
    Alert,
    /// Run the audit service (gRPC 50055, ops 9105).
    Audit,
    /// Check the configuration and print it, with secrets hidden.
    CheckConfig,
    /// Operator commands on the database (bootstrap the first organization and owner).
    Admin {
        #[command(subcommand)]
        action: cli::admin::AdminAction,
    },
    #[command(flatten)]
    Client(cli::ClientCommand),
}

/// jemalloc instead of glibc's malloc: with the proxy's short-lived allocations per request the
/// gateway took ~6% less CPU per request in A/B runs (bench/RESULTS.md, "LLM proxy").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Long-running services start again once with glibc's allocator tuned (keyward_telemetry::malloc).
    let serves = matches!(
        cli.command,
        Command::Up { .. }
            | Command::ApiGateway
            | Command::Vault { action: None }
            | Command::UsageIngest
            | Command::Cost
            | Command::Alert
            | Command::Audit
    );
    if serves && let Some(e) = keyward_telemetry::malloc::tune() {
        report(&format!(
            "keyward: could not restart with the allocator tuning ({e}); running without it"
        ));
    }
    // REST clients need no server configuration.
    if let Command::Client(c) = &cli.command {
        return cli::run_client(c).await;
    }
    // Commands that need no configuration.
    if let Command::Vault {
        action: Some(vault_cmd::VaultAction::GenerateKek),
    } = &cli.command
    {
        return vault_cmd::generate_kek();
    }
    let env = keyward_core::config::process_env();
    let cfg = match Config::load(cli.config.as_deref(), &env) {
        Ok(cfg) => cfg,
        Err(message) => {
            report(&format!("keyward: configuration error: {message}"));
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if matches!(cli.command, Command::Up { .. } | Command::ApiGateway)
        && let Err(message) = cfg.require_gateway_secrets()
    {
        report(&format!("keyward: configuration error: {message}"));
        return ExitCode::from(EXIT_CONFIG);
    }
    let telemetry = match keyward_telemetry::init(&cfg.telemetry) {
        Ok(guard) => guard,
        Err(e) => {
            report(&format!("keyward: configuration error: {e}"));
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = match cli.command {
        Command::Up { no_migrate } => run::up(&cfg, !no_migrate).await,
        Command::Migrate => run::migrate(&cfg).await,
        Command::ApiGateway => run::one(&cfg, keyward_core::ServiceName::ApiGateway).await,
        Command::Vault { action: None } => run::one(&cfg, keyward_core::ServiceName::Vault).await,
        Command::Vault {
            action: Some(action),
        } => vault_cmd::run(&cfg, action).await,
        Command::UsageIngest => run::one(&cfg, keyward_core::ServiceName::UsageIngest).await,
        Command::Cost => run::one(&cfg, keyward_core::ServiceName::Cost).await,
        Command::Alert => run::one(&cfg, keyward_core::ServiceName::Alert).await,
        Command::Audit => run::one(&cfg, keyward_core::ServiceName::Audit).await,
        Command::CheckConfig => {
            run::print_urls(&cfg);
            Ok(())
        }
        Command::Admin { action } => cli::admin::run(&cfg, action).await,
        Command::Client(_) => Ok(()),
    };
    let code = match &result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = format!("{e:#}");
            tracing::error!(error = %keyward_crypto_redact(&text), "keyward stopped with an error");
            report(&format!("keyward: {}", keyward_crypto_redact(&text)));
            ExitCode::FAILURE
        }
    };
    // Flush pending spans and write out queued log lines, the error above included, before
    // exiting (blocking: off the async workers).
    let _flushed = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    code
}

fn keyward_crypto_redact(s: &str) -> String {
    keyward_crypto::redact(s).into_owned()
}

/// Writes a message for the person at the terminal.
#[expect(
    clippy::print_stderr,
    reason = "the binary's own user-facing error output"
)]
fn report(message: &str) {
    eprintln!("{message}");
}
