//! The sealer locally: the gateway runs it every few seconds, as EventBridge runs it every
//! minute in AWS, with the local settings (settle 3 s, recheck 15 s, a key file and an
//! anchor directory), so that `make dev` seals within seconds of an ingest.
//!
//! In `emulator` mode each run is an invocation of the sealer's own binary under the
//! emulator (its answer or error is logged); in `inprocess` mode the handler is called.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::runtime::{Invocation, InvokeFunction};

/// Settle delay of the local run, in ms.
pub const LOCAL_SETTLE_MS: &str = "3000";
/// Recheck delay of the local run, in ms.
pub const LOCAL_RECHECK_MS: &str = "15000";
/// How often the gateway runs the sealer.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3);

/// The local defaults of the sealer's settings, under `state_dir`: what the gateway's
/// environment does not set. `None` for every other variable.
pub fn local_default(name: &str, state_dir: &Path) -> Option<String> {
    let path = |p: PathBuf| p.to_string_lossy().into_owned();
    match name {
        "AUDIT_SEAL_SETTLE_MS" => Some(LOCAL_SETTLE_MS.to_owned()),
        "AUDIT_SEAL_RECHECK_MS" => Some(LOCAL_RECHECK_MS.to_owned()),
        "AUDIT_SIGNING_KEY_FILE" => Some(path(state_dir.join("signing.key"))),
        "AUDIT_ANCHOR_DIR" => Some(path(state_dir.join("anchor"))),
        _ => None,
    }
}

/// One run of the sealer, whatever runs it.
pub type SealRun = Arc<dyn Fn() -> super::BoxFuture<Result<String, String>> + Send + Sync>;

/// A run that invokes the sealer's binary with an empty scheduled event.
pub fn emulated(invoke: InvokeFunction) -> SealRun {
    Arc::new(move || {
        let invoke = Arc::clone(&invoke);
        Box::pin(async move {
            match invoke(b"{}".to_vec()).await {
                Ok(Invocation::Answer(a)) => Ok(String::from_utf8_lossy(&a).into_owned()),
                Ok(Invocation::FunctionError(e)) => Err(String::from_utf8_lossy(&e).into_owned()),
                Err(e) => Err(e.to_string()),
            }
        })
    })
}

/// A run that calls the handler in this process.
pub fn in_process(ctx: Arc<sealer::SealerContext>) -> SealRun {
    Arc::new(move || {
        let ctx = Arc::clone(&ctx);
        Box::pin(async move {
            sealer::handle(&ctx)
                .await
                .map(|s| serde_json::to_string(&s).unwrap_or_default())
                .map_err(|e| e.to_string())
        })
    })
}

/// Runs `run` every `interval` until the task is aborted; a failed run is logged and the
/// next one goes ahead, as the schedule does.
pub async fn every(run: SealRun, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        match run().await {
            Ok(summary) => tracing::debug!(%summary, "sealer run"),
            Err(error) => tracing::warn!(%error, "sealer run failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_run_seals_after_3_s_and_rechecks_after_15_s_under_the_state_directory() {
        let dir = Path::new("/state");
        assert_eq!(
            local_default("AUDIT_SEAL_SETTLE_MS", dir).as_deref(),
            Some("3000")
        );
        assert_eq!(
            local_default("AUDIT_SEAL_RECHECK_MS", dir).as_deref(),
            Some("15000")
        );
        assert_eq!(
            local_default("AUDIT_SIGNING_KEY_FILE", dir).as_deref(),
            Some("/state/signing.key")
        );
        assert_eq!(
            local_default("AUDIT_ANCHOR_DIR", dir).as_deref(),
            Some("/state/anchor")
        );
        assert_eq!(local_default("AUDIT_TABLE_NAME", dir), None);
    }
}
