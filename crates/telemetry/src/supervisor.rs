//! Every long-running task runs under a named supervisor: the first to fail stops the rest.

use std::future::Future;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{Error, Result};

/// A set of named tasks sharing one shutdown token.
pub struct Supervisor {
    tasks: JoinSet<(String, std::result::Result<(), String>)>,
    shutdown: CancellationToken,
}

impl Supervisor {
    /// Tasks are asked to stop through `shutdown` (a signal, or the first failure).
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            tasks: JoinSet::new(),
            shutdown,
        }
    }

    /// The token tasks watch.
    pub fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Spawns `task` under `name`. A task that returns before shutdown was asked for counts as a
    /// failure, since every supervised task is meant to run until then.
    pub fn spawn<F, E>(&mut self, name: impl Into<String>, task: F)
    where
        F: Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let name = name.into();
        self.tasks.spawn(async move {
            let res = task.await.map_err(|e| e.to_string());
            (name, res)
        });
    }

    /// Waits for every task. The first failure cancels the rest; its error is returned after
    /// the rest stopped.
    pub async fn wait(mut self) -> Result<()> {
        let mut first: Option<Error> = None;
        while let Some(joined) = self.tasks.join_next().await {
            let (name, res) = match joined {
                Ok(v) => v,
                Err(e) => ("<panicked task>".to_string(), Err(e.to_string())),
            };
            let failure = match res {
                Err(message) => Some(message),
                Ok(()) if !self.shutdown.is_cancelled() => Some("stopped unexpectedly".to_string()),
                Ok(()) => None,
            };
            if let Some(message) = failure {
                tracing::error!(task = %name, error = %message, "task failed; stopping");
                if first.is_none() {
                    first = Some(Error::Task {
                        task: name,
                        message,
                    });
                }
                self.shutdown.cancel();
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// Cancels `token` on SIGTERM or SIGINT.
pub async fn shutdown_on_signal(token: CancellationToken) -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received; draining"),
        r = tokio::signal::ctrl_c() => { r?; tracing::info!("SIGINT received; draining"); }
        () = token.cancelled() => {}
    }
    token.cancel();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_failure_stops_the_rest() {
        let token = CancellationToken::new();
        let mut sup = Supervisor::new(token.clone());
        let t = token.clone();
        sup.spawn("waiter", async move {
            t.cancelled().await;
            Ok::<(), String>(())
        });
        sup.spawn("failer", async { Err::<(), _>("boom") });
        let err = sup.wait().await.unwrap_err().to_string();
        assert!(err.contains("failer") && err.contains("boom"), "{err}");
        assert!(token.is_cancelled());
    }

    #[tokio::test]
    async fn clean_shutdown_is_ok() {
        let token = CancellationToken::new();
        let mut sup = Supervisor::new(token.clone());
        let t = token.clone();
        sup.spawn("waiter", async move {
            t.cancelled().await;
            Ok::<(), String>(())
        });
        token.cancel();
        sup.wait().await.unwrap();
    }
}
