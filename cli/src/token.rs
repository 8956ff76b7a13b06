//! Where the bearer token comes from: none, a fixed one, a command run again before the
//! token expires and on 401 (`--token-command`), or OAuth 2.0 client credentials
//! (`--client-id`, `--client-secret-env`, `--token-url`).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};

use crate::net::HttpClient;

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The command line names something missing (an unset variable).
    #[error("{0}")]
    Usage(String),
    /// The command or the token endpoint failed; worth retrying.
    #[error("{0}")]
    Failed(String),
}

/// A token and when to get a new one.
#[derive(Debug, Clone)]
struct Cached {
    token: String,
    renew_at: Option<Instant>,
}

/// How to get a token.
#[derive(Debug, Clone)]
enum Kind {
    None,
    Fixed(String),
    Command(String),
    ClientCredentials {
        token_url: String,
        client_id: String,
        secret: String,
        scope: Option<String>,
    },
}

/// The bearer token of requests, renewed as its source allows.
#[derive(Debug, Clone)]
pub struct TokenSource {
    kind: Kind,
    cached: Option<Cached>,
}

impl TokenSource {
    /// From the connection options; `env_token` is `$AUDIT_TOKEN`.
    pub fn from_options(
        connection: &crate::args::Connection,
        env_token: Option<String>,
    ) -> Result<Self, TokenError> {
        let kind = if let Some(token) = &connection.token {
            Kind::Fixed(token.clone())
        } else if let Some(command) = &connection.token_command {
            Kind::Command(command.clone())
        } else if let (Some(client_id), Some(var), Some(token_url)) = (
            &connection.client_id,
            &connection.client_secret_env,
            &connection.token_url,
        ) {
            let secret = std::env::var(var).map_err(|_| {
                TokenError::Usage(format!(
                    "--client-secret-env names {var}, which is not set: export it first"
                ))
            })?;
            Kind::ClientCredentials {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                secret,
                scope: connection.scope.clone(),
            }
        } else {
            match env_token.filter(|t| !t.is_empty()) {
                Some(token) => Kind::Fixed(token),
                None => Kind::None,
            }
        };
        Ok(Self { kind, cached: None })
    }

    /// A fixed token (tests and callers that have one).
    pub fn fixed(token: Option<String>) -> Self {
        Self {
            kind: token.map_or(Kind::None, Kind::Fixed),
            cached: None,
        }
    }

    /// Whether a 401 is worth getting a new token for.
    pub fn renewable(&self) -> bool {
        matches!(self.kind, Kind::Command(_) | Kind::ClientCredentials { .. })
    }

    /// Forgets the current token (after a 401): the next request gets a new one.
    pub fn invalidate(&mut self) {
        self.cached = None;
    }

    /// The token for the next request, renewed first when it is about to expire.
    pub async fn current(&mut self, client: &HttpClient) -> Result<Option<String>, TokenError> {
        if let Some(cached) = &self.cached {
            if cached.renew_at.is_none_or(|at| Instant::now() < at) {
                return Ok(Some(cached.token.clone()));
            }
        }
        let fetched = Instant::now();
        let (token, lifetime) = match &self.kind {
            Kind::None => return Ok(None),
            Kind::Fixed(token) => return Ok(Some(token.clone())),
            Kind::Command(command) => {
                let token = run_command(command).await?;
                let lifetime = seconds_left(&token);
                (token, lifetime)
            }
            Kind::ClientCredentials {
                token_url,
                client_id,
                secret,
                scope,
            } => client_credentials(client, token_url, client_id, secret, scope.as_deref()).await?,
        };
        let renew_at = lifetime.map(|left| fetched + left.saturating_sub(margin(left)));
        self.cached = Some(Cached {
            token: token.clone(),
            renew_at,
        });
        Ok(Some(token))
    }
}

/// How long before expiry a token is renewed: a fifth of its life, at most a minute.
fn margin(lifetime: Duration) -> Duration {
    (lifetime / 5).min(Duration::from_secs(60))
}

/// The time left before a JWT's `exp`, if it is a JWT with one.
pub fn seconds_left(token: &str) -> Option<Duration> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(Duration::from_secs_f64((exp - now).max(0.0)))
}

async fn run_command(command: &str) -> Result<String, TokenError> {
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| TokenError::Failed(format!("--token-command could not start: {e}")))?;
    if !output.status.success() {
        return Err(TokenError::Failed(format!(
            "--token-command failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if token.is_empty() {
        return Err(TokenError::Failed(
            "--token-command printed no token".to_owned(),
        ));
    }
    Ok(token)
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

async fn client_credentials(
    client: &HttpClient,
    token_url: &str,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> Result<(String, Option<Duration>), TokenError> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials");
    if let Some(scope) = scope {
        form.append_pair("scope", scope);
    }
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>(),
        form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
    ));
    let request = Request::post(token_url)
        .header(AUTHORIZATION, format!("Basic {basic}"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form.finish())))
        .map_err(|e| TokenError::Usage(format!("--token-url '{token_url}': {e}")))?;
    let failed = |e: &dyn std::fmt::Display| TokenError::Failed(format!("POST {token_url}: {e}"));
    let response = client
        .request(request)
        .await
        .map_err(|e| failed(&crate::net::chain(&e)))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| failed(&e))?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(failed(&format!(
            "{status}: {}",
            String::from_utf8_lossy(&body).trim()
        )));
    }
    let answer: TokenAnswer =
        serde_json::from_slice(&body).map_err(|e| failed(&format!("not a token answer: {e}")))?;
    let lifetime = answer
        .expires_in
        .map(Duration::from_secs)
        .or_else(|| seconds_left(&answer.access_token));
    Ok((answer.access_token, lifetime))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn jwt(exp: u64) -> String {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", enc("{}"), enc(&format!("{{\"exp\":{exp}}}")))
    }

    #[test]
    fn the_time_left_comes_from_exp() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let left = seconds_left(&jwt(now + 100)).unwrap();
        assert!((98..=100).contains(&left.as_secs()), "{left:?}");
        assert_eq!(seconds_left(&jwt(1)), Some(Duration::ZERO));
        assert_eq!(seconds_left("opaque"), None);
        assert_eq!(margin(Duration::from_secs(10)), Duration::from_secs(2));
        assert_eq!(margin(Duration::from_secs(3600)), Duration::from_secs(60));
    }

    #[tokio::test]
    async fn a_command_token_is_renewed_when_it_expires() {
        let client = crate::net::client().unwrap();
        let mut source = TokenSource {
            kind: Kind::Command("echo \"$(date +%s%N)\"".to_owned()),
            cached: None,
        };
        let first = source.current(&client).await.unwrap().unwrap();
        // Not a JWT: no expiry known, kept until a 401.
        assert_eq!(source.current(&client).await.unwrap().unwrap(), first);
        source.invalidate();
        assert_ne!(source.current(&client).await.unwrap().unwrap(), first);
        let mut failing = TokenSource {
            kind: Kind::Command("exit 7".to_owned()),
            cached: None,
        };
        assert!(matches!(
            failing.current(&client).await,
            Err(TokenError::Failed(_))
        ));
    }

    /// A token endpoint on a local port: answers a client-credentials POST with Basic
    /// `id:secret` with a token that lives an hour, anything else with 401.
    async fn token_endpoint() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/oauth2/token", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut issued = 0;
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                // Headers and body may come in more than one read.
                let mut request = String::new();
                let mut buf = vec![0u8; 4096];
                while !request.contains("grant_type") {
                    let n = stream.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    request.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
                let basic = base64::engine::general_purpose::STANDARD.encode("siem:s3cret");
                let ok = request.starts_with("POST /oauth2/token")
                    && request.contains(&format!("authorization: Basic {basic}"))
                    && request.contains("grant_type=client_credentials&scope=audit%2Ffeed");
                issued += 1;
                let (status, body) = if ok {
                    (
                        "200 OK",
                        format!(
                            r#"{{"access_token":"t{issued}","expires_in":3600,"token_type":"Bearer"}}"#
                        ),
                    )
                } else {
                    (
                        "401 Unauthorized",
                        r#"{"error":"invalid_client"}"#.to_owned(),
                    )
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        url
    }

    #[tokio::test]
    async fn client_credentials_get_a_token_and_a_new_one_after_a_401() {
        let client = crate::net::client().unwrap();
        let url = token_endpoint().await;
        let mut source = TokenSource {
            kind: Kind::ClientCredentials {
                token_url: url.clone(),
                client_id: "siem".to_owned(),
                secret: "s3cret".to_owned(),
                scope: Some("audit/feed".to_owned()),
            },
            cached: None,
        };
        assert!(source.renewable());
        assert_eq!(source.current(&client).await.unwrap().unwrap(), "t1");
        assert_eq!(
            source.current(&client).await.unwrap().unwrap(),
            "t1",
            "kept"
        );
        source.invalidate();
        assert_eq!(source.current(&client).await.unwrap().unwrap(), "t2");
        let mut wrong = TokenSource {
            kind: Kind::ClientCredentials {
                token_url: url,
                client_id: "siem".to_owned(),
                secret: "wrong".to_owned(),
                scope: Some("audit/feed".to_owned()),
            },
            cached: None,
        };
        let error = wrong.current(&client).await.unwrap_err().to_string();
        assert!(
            error.contains("401") && error.contains("invalid_client"),
            "{error}"
        );
    }
}
