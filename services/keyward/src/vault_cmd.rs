//! `keyward vault …`: key-encryption key administration.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use keyward_proto::v1 as pb;

use crate::config::Config;

/// Vault administration.
#[derive(Subcommand)]
pub enum VaultAction {
    /// Add a KEK version and rewrap every data key to it, while the vault keeps serving.
    ///
    /// A vault whose KEK comes from `vault.kek_file` appends a fresh version to that file. A vault
    /// configured with `vault.kek` / KEYWARD_KEK needs the new version added there first
    /// (`keyward vault generate-kek` prints one; use "1:OLD,2:NEW"), then a restart, then this.
    /// Old versions are retired once nothing uses them.
    RotateKek,
    /// Print a fresh random 256-bit KEK (base64) to add to the configuration.
    GenerateKek,
}

/// Prints a new KEK.
pub fn generate_kek() -> ExitCode {
    match keyward_crypto::Kek::generate() {
        Ok(kek) => {
            emit(kek.to_base64().expose());
            ExitCode::SUCCESS
        }
        Err(e) => {
            emit_err(&format!("keyward: cannot generate a KEK: {e}"));
            ExitCode::FAILURE
        }
    }
}

/// Runs a vault action against the running vault, as the `operator` identity.
pub async fn run(cfg: &Config, action: VaultAction) -> anyhow::Result<()> {
    match action {
        VaultAction::GenerateKek => {
            generate_kek();
            Ok(())
        }
        VaultAction::RotateKek => {
            let channel = keyward_telemetry::client_channel(
                &keyward_telemetry::GrpcClientConfig {
                    url: cfg.vault.grpc_url.clone(),
                    connect_timeout: Duration::from_secs(5),
                    // A rewrap of a large vault takes a while.
                    request_timeout: Duration::from_secs(3600),
                },
                cfg.internal.tls.as_ref(),
            )?;
            let auth = keyward_telemetry::IdentityInjector::new(&cfg.internal, "operator")?;
            let mut client =
                pb::vault_service_client::VaultServiceClient::with_interceptor(channel, auth);
            emit(&format!(
                "rotating the KEK of the vault at {} …",
                cfg.vault.grpc_url
            ));
            let ctx = pb::RequestContext {
                actor: Some(pb::Actor {
                    kind: pb::actor::Kind::Service as i32,
                    id: "operator".into(),
                    email: None,
                    ip: None,
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            };
            let resp = client
                .rotate_kek(pb::RotateKekRequest { ctx: Some(ctx) })
                .await
                .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))
                .context("rotate-kek failed")?
                .into_inner();
            emit(&format!(
                "KEK version {} is current; {} data keys rewrapped; retired versions: {}",
                resp.new_version,
                resp.rewrapped,
                if resp.retired_versions.is_empty() {
                    "none".to_string()
                } else {
                    resp.retired_versions
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
            Ok(())
        }
    }
}

#[expect(clippy::print_stdout, reason = "CLI output")]
fn emit(line: &str) {
    println!("{line}");
}

#[expect(clippy::print_stderr, reason = "CLI output")]
fn emit_err(line: &str) {
    eprintln!("{line}");
}
