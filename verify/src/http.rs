//! The HTTP transport: GETs against the API's base URL with a bearer token, over HTTP/1.1
//! (`http://` for the local gateway, `https://` with rustls over ring and the platform's
//! roots).

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::Transport;

/// Sends GETs to one API.
pub struct HttpTransport {
    base: String,
    token: Option<String>,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl HttpTransport {
    /// A transport to `base` (e.g. `https://api.example.com` or `http://127.0.0.1:3000`,
    /// without the `/api/Audit` part), sending `token` as a bearer token when given.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, String> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "--url must start with http:// or https:// (got '{base}')"
            ));
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("cannot load the platform's TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            base,
            token,
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }
}

#[async_trait]
impl Transport for HttpTransport {
    async fn get(&self, path_and_query: &str) -> Result<(u16, Vec<u8>), String> {
        let mut request = http::Request::get(format!("{}{path_and_query}", self.base))
            .header("accept", "application/json");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?
            .to_bytes();
        Ok((status, body.to_vec()))
    }
}
