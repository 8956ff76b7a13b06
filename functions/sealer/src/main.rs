//! The sealer Lambda: wires tracing, configuration, the clients and the signer once at
//! cold start, then runs one sealing pass per scheduled invocation with [`sealer::handle`].

use audit_shared::config::Config;
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use sealer::{handle, SealerConfig, SealerContext, SealerError};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();

    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let sealer_config = SealerConfig::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let ledger_table = audit_shared::config::ledger_table_from_env()
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let ctx = SealerContext::build(&config, &ledger_table, &sealer_config)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let ctx = &ctx;

    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        handle(ctx).await.map_err(|e: SealerError| {
            tracing::error!(error_type = e.error_type(), error = %e, "sealing failed");
            Diagnostic::from(e)
        })
    }))
    .await
}
