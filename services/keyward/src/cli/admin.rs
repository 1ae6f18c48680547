//! `keyward admin …`: operator commands that work on the database directly.

use std::io::Read as _;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use keyward_bus::{Broker, Publisher, PublisherOptions, Spool};
use tokio_util::sync::CancellationToken;

use super::output::{line, note};
use crate::config::Config;

/// Operator commands.
#[derive(Subcommand)]
pub enum AdminAction {
    /// Create the first organization and its owner (idempotent).
    ///
    /// The password is read from KEYWARD_BOOTSTRAP_PASSWORD, else from stdin. Running it again
    /// with the same organization and e-mail changes nothing; an existing user's password is
    /// never changed. Needs `keyward migrate` first.
    Bootstrap {
        /// The organization's name.
        #[arg(long)]
        org: String,
        /// The owner's e-mail address.
        #[arg(long)]
        email: String,
    },
}

fn bootstrap_password() -> anyhow::Result<keyward_crypto::SecretString> {
    if let Ok(p) = std::env::var("KEYWARD_BOOTSTRAP_PASSWORD") {
        return Ok(keyward_crypto::SecretString::new(p));
    }
    note("reading the owner's password from stdin");
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("cannot read the password from stdin")?;
    let p = s.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(
        !p.is_empty(),
        "no password given (stdin or KEYWARD_BOOTSTRAP_PASSWORD)"
    );
    Ok(keyward_crypto::SecretString::new(p))
}

/// Runs an admin action.
pub async fn run(cfg: &Config, action: AdminAction) -> anyhow::Result<()> {
    match action {
        AdminAction::Bootstrap { org, email } => {
            let password = bootstrap_password()?;
            let platform = cfg.platform();
            // The audit event goes through the broker, or the spool when it is down.
            let shutdown = CancellationToken::new();
            let broker_stop = CancellationToken::new();
            let broker = Broker::new(&platform.broker, "keyward-admin", Vec::new());
            let b = broker.clone();
            let t = broker_stop.clone();
            let broker_task = tokio::spawn(async move { b.run(t).await });
            let spool = Spool::open(
                &platform.broker.spool_dir,
                keyward_api_gateway::SERVICE.as_str(),
            )
            .context("cannot open the api-gateway spool")?;
            let (publisher, task) = Publisher::new(
                broker.clone(),
                spool,
                PublisherOptions::default(),
                shutdown.clone(),
            );
            let publish_task = tokio::spawn(task);
            let _connected = broker.wait_connected(Duration::from_secs(3)).await;
            let result = keyward_api_gateway::admin::bootstrap(
                &platform,
                &cfg.api_gateway,
                Some(&publisher),
                &org,
                &email,
                password,
            )
            .await;
            // Publish (or spool) what is queued, then close the connection.
            drop(publisher);
            shutdown.cancel();
            let _ = publish_task.await;
            broker_stop.cancel();
            let _ = broker_task.await;
            let b = result?;
            if b.created_org || b.created_user || b.granted_owner {
                line(&format!(
                    "bootstrapped org {org} ({}) with owner {email} ({}){}",
                    b.org_id,
                    b.user_id,
                    if b.created_user {
                        ""
                    } else {
                        "; the existing account's password was kept"
                    }
                ));
            } else {
                line(&format!(
                    "already bootstrapped: org {org} ({}) has owner {email} ({})",
                    b.org_id, b.user_id
                ));
            }
            Ok(())
        }
    }
}
