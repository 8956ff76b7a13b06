//! The API client of `export` and `follow`: HTTPS (rustls over ring, the platform's roots)
//! or HTTP, a bearer token from a [`TokenSource`], and retries that let a follower run for
//! weeks: connection errors, timeouts, 408, 429 and 5xx are retried with jittered
//! exponential backoff (or after `Retry-After` when the API says), until failures have
//! lasted the user's give-up time; a 401 gets a new token once.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, RETRY_AFTER, USER_AGENT};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use rand::Rng;

use crate::args::GiveUp;
use crate::export::ExportError;
use crate::net::{chain, client, HttpClient};
use crate::token::{TokenError, TokenSource};

/// When to stop retrying and how long each wait is.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// How long failures may last before the request fails.
    pub give_up: GiveUp,
    /// How long one answer may take.
    pub timeout: Duration,
    /// The first backoff's ceiling; doubled after each failure up to `cap`.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl RetryPolicy {
    /// The policy of the command line: `give_up` and `timeout`, waits of 0.5 s up to 30 s.
    pub fn new(give_up: GiveUp, timeout: Duration) -> Self {
        Self {
            give_up,
            timeout,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }

    /// "Full jitter": a uniform wait between zero and the exponential ceiling.
    fn backoff(&self, failures: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << failures.min(16))
            .min(self.cap);
        rand::rng().random_range(Duration::from_millis(50)..=ceiling.max(Duration::from_millis(50)))
    }
}

/// The API: a client, its token and its retry policy.
pub struct Api {
    client: HttpClient,
    token: TokenSource,
    policy: RetryPolicy,
    tty: bool,
}

/// What one attempt got.
enum Attempt {
    Ok(Bytes),
    /// Worth retrying: why, and the API's `Retry-After`.
    Retry(String, Option<Duration>),
    /// A 401 that a new token may cure.
    Unauthorized(String),
    Fatal(ExportError),
}

impl Api {
    /// An API client with `token` and `policy`.
    pub fn new(token: TokenSource, policy: RetryPolicy) -> Result<Self, ExportError> {
        Ok(Self {
            client: client().map_err(ExportError::Usage)?,
            token,
            policy,
            tty: std::io::stderr().is_terminal(),
        })
    }

    /// The body of a 200 at `uri`, retrying as the policy says.
    pub async fn get_ok(&mut self, uri: &str) -> Result<Bytes, ExportError> {
        let mut failing_since: Option<Instant> = None;
        let mut failures = 0u32;
        let mut renewed = false;
        loop {
            let (why, retry_after) = match self.attempt(uri).await {
                Attempt::Ok(body) => return Ok(body),
                Attempt::Fatal(error) => return Err(error),
                Attempt::Unauthorized(why) if self.token.renewable() && !renewed => {
                    self.token.invalidate();
                    renewed = true;
                    let _ = why;
                    continue;
                }
                Attempt::Unauthorized(why) => {
                    return Err(ExportError::Http(format!(
                        "GET {uri}: {why} (give a valid token: --token, $AUDIT_TOKEN, \
                         --token-command or --client-id)"
                    )))
                }
                Attempt::Retry(why, retry_after) => (why, retry_after),
            };
            let since = *failing_since.get_or_insert_with(Instant::now);
            let wait = retry_after.unwrap_or_else(|| self.policy.backoff(failures));
            if let GiveUp::After(limit) = self.policy.give_up {
                if since.elapsed() + wait > limit {
                    return Err(ExportError::Http(format!(
                        "GET {uri}: {why}; gave up after {} s of failures (--give-up-after)",
                        since.elapsed().as_secs()
                    )));
                }
            }
            let clear = if self.tty { "\r\x1b[2K" } else { "" };
            eprintln!(
                "{clear}audit: GET {uri}: {why}; retrying in {:.1} s",
                wait.as_secs_f64()
            );
            tokio::time::sleep(wait).await;
            failures += 1;
        }
    }

    async fn attempt(&mut self, uri: &str) -> Attempt {
        let token = match self.token.current(&self.client).await {
            Ok(token) => token,
            Err(TokenError::Usage(e)) => return Attempt::Fatal(ExportError::Usage(e)),
            Err(TokenError::Failed(e)) => return Attempt::Retry(e, None),
        };
        let mut request = Request::get(uri)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("audit-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match request.body(Full::new(Bytes::new())) {
            Ok(request) => request,
            Err(e) => return Attempt::Fatal(ExportError::Usage(format!("GET {uri}: {e}"))),
        };
        let exchange = async {
            let response =
                self.client.request(request).await.map_err(|e| {
                    format!("{} (is the API running there? check --url)", chain(&e))
                })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| chain(&e))?
                .to_bytes();
            Ok::<_, String>((status, retry_after, body))
        };
        match tokio::time::timeout(self.policy.timeout, exchange).await {
            Err(_) => Attempt::Retry(
                format!("no answer within {} s", self.policy.timeout.as_secs()),
                None,
            ),
            Ok(Err(why)) => Attempt::Retry(why, None),
            Ok(Ok((status, retry_after, body))) => {
                let why = || format!("{status}: {}", String::from_utf8_lossy(&body).trim());
                if status == StatusCode::OK {
                    Attempt::Ok(body)
                } else if status == StatusCode::UNAUTHORIZED {
                    Attempt::Unauthorized(why())
                } else if status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::REQUEST_TIMEOUT
                    || status.is_server_error()
                {
                    Attempt::Retry(why(), retry_after)
                } else if status == StatusCode::NOT_FOUND {
                    Attempt::Fatal(ExportError::Http(format!(
                        "GET {uri}: {} (is --url the API's root, e.g. the stack's ApiUrl?)",
                        why()
                    )))
                } else {
                    Attempt::Fatal(ExportError::Http(format!("GET {uri}: {}", why())))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_and_capped() {
        let policy = RetryPolicy::new(GiveUp::Never, Duration::from_secs(1));
        for failures in 0..40 {
            let wait = policy.backoff(failures);
            assert!(wait <= Duration::from_secs(30), "{wait:?}");
            assert!(wait >= Duration::from_millis(50));
        }
        let waits: std::collections::HashSet<_> = (0..20).map(|_| policy.backoff(10)).collect();
        assert!(waits.len() > 1, "jittered");
    }
}
