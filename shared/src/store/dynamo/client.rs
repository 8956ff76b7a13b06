//! The DynamoDB client: its HTTPS connector (rustls over ring, docs/adr/0006-tls-client.md)
//! and credentials, built once at cold start.

use aws_sdk_dynamodb::Client;

use super::StoreError;
use crate::config::{Config, CredentialSource, TlsTrust};

/// The Amazon Trust Services roots (PEM), which every AWS endpoint chains to.
pub const AMAZON_TRUST_SERVICES_PEM: &str =
    include_str!("../../../certs/amazon-trust-services.pem");

/// Builds the DynamoDB client once, at cold start, with credentials from
/// [`Config::credentials`].
///
/// The HTTPS client is rustls over ring trusting [`AMAZON_TRUST_SERVICES_PEM`] (or the
/// system's store with [`TlsTrust::System`]): reading and parsing the system's whole bundle
/// was most of the cold start (docs/adr/0006-tls-client.md).
pub async fn dynamo_client(config: &Config) -> Result<Client, StoreError> {
    Ok(Client::new(&sdk_config(config).await?))
}

/// The SDK configuration every client of a function is built from (DynamoDB, and the
/// sealer's KMS and S3): the HTTPS client and credentials of [`dynamo_client`], the
/// region, and the local endpoint when one is set.
pub async fn sdk_config(config: &Config) -> Result<aws_config::SdkConfig, StoreError> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client(config.tls_trust)?);
    if let Some(region) = &config.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &config.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader = match config.credentials {
        CredentialSource::LocalEngine => loader.credentials_provider(
            aws_credential_types::Credentials::new("local", "local", None, None, "local-engine"),
        ),
        CredentialSource::LambdaEnvironment => loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        ),
        CredentialSource::DefaultChain => loader,
    };
    Ok(loader.load().await)
}

/// The SDK's hyper 1 client over rustls with ring, trusting `trust`.
fn https_client(
    trust: TlsTrust,
) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, StoreError> {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust_store = match trust {
        TlsTrust::Amazon => TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_PEM),
        TlsTrust::System => TrustStore::default(),
    };
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .map_err(|e| StoreError::Permanent {
            operation: "TLS set-up",
            message: e.to_string(),
        })?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https())
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::SdkError;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    use super::*;
    use crate::config::CredentialSource;

    #[test]
    fn the_embedded_trust_store_holds_the_five_amazon_trust_services_roots() {
        let certs = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(certs.len(), 5);
        // The DER of each root carries its common name in plain ASCII.
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            let found = certs
                .iter()
                .filter(|c| c.windows(name.len()).any(|w| w == name.as_bytes()))
                .count();
            assert_eq!(found, 1, "{name}");
        }
    }

    /// The SDK parses the trust store when it builds its connector, on the first request, and
    /// panics on a bad certificate: a request that reaches the network proves it did not.
    #[tokio::test]
    async fn a_client_with_either_trust_store_dispatches_a_request() {
        for tls_trust in [TlsTrust::Amazon, TlsTrust::System] {
            let config = Config {
                table_name: "t".to_owned(),
                // Port 1 on loopback: nothing listens, so the request fails at connect.
                endpoint_url: Some("https://127.0.0.1:1".to_owned()),
                shards: 1,
                region: Some("us-east-1".to_owned()),
                retention: Default::default(),
                tls_trust,
                credentials: CredentialSource::LocalEngine,
            };
            let client = dynamo_client(&config).await.unwrap();
            let err = client.list_tables().send().await.unwrap_err();
            assert!(
                matches!(err, SdkError::DispatchFailure(_)),
                "{tls_trust:?}: {err:?}"
            );
        }
    }
}
