//! The token Lambda, Cognito's pre-token-generation trigger (V2_0 or V3_0): reads its
//! settings once at cold start, then answers each trigger event with [`token::handle`].

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;
use token::Settings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();

    let settings = Settings::from_lookup(|name| std::env::var(name).ok())
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let settings = &settings;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        token::handle(event.payload, settings).map_err(|e| {
            tracing::error!(error = %e, "no token for this sign-in");
            Diagnostic {
                error_type: "TokenError".to_owned(),
                error_message: e.to_string(),
            }
        })
    }))
    .await
}
