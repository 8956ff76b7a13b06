//! The functions' own binaries under AWS's Lambda Runtime Interface Emulator: the program
//! inside `sam local`'s containers, shipped in the pinned SAM CLI package
//! (`samcli/local/rapid/aws-lambda-rie-<arch>`). One emulator is one execution environment:
//! it starts the function's `bootstrap` with the function's environment, serves the Lambda
//! Runtime API to it on its own loopback port, and takes invocations on another at
//! `/2015-03-31/functions/function/invocations`, as `sam local` posts them.
//!
//! An emulator serves one invocation at a time, as an execution environment does (a second
//! concurrent invocation crashes it), so each function has a pool of emulators
//! ([`FunctionPool`]): a request takes a free one, waits in the gateway's queue while all
//! are busy, and gives it back when the invocation has ended, even when the caller went
//! away meanwhile. An emulator that died or stopped answering is started again.
//!
//! The emulator enforces the function's timeout itself: it answers `Task timed out after
//! N seconds` and starts the bootstrap again, as Lambda does.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

use super::functions::FunctionSpec;

/// The path every invocation is posted to: the emulator serves one function, `function`.
pub const INVOCATIONS_PATH: &str = "/2015-03-31/functions/function/invocations";

/// How long a started emulator may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Time the gateway waits beyond the function's timeout, which the emulator enforces,
/// before it gives an emulator up as hung.
const TIMEOUT_GRACE: Duration = Duration::from_secs(10);

/// Where the emulator and the functions' binaries are, and how many emulators each
/// function gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorConfig {
    /// The emulator program, `aws-lambda-rie-<arch>` of the pinned SAM CLI.
    pub rie: PathBuf,
    /// The directory of the functions' binaries (`ingest`, `query`, `swagger`).
    pub bootstrap_dir: PathBuf,
    /// Emulators (execution environments) per function, at least 1.
    pub per_function: usize,
}

/// Why an invocation could not be handed to an emulator or answered by it. The function's
/// own errors are not among these: they come back as the emulator's answer.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The program could not be started.
    #[error("cannot start {rie} for {bootstrap}: {source}")]
    Spawn {
        /// The emulator program.
        rie: PathBuf,
        /// The function's binary.
        bootstrap: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No free loopback port could be had.
    #[error("no free port on 127.0.0.1: {0}")]
    Port(std::io::Error),
    /// The emulator did not listen in time, or exited at start.
    #[error("the emulator of {function} did not start: {reason}")]
    NotStarted {
        /// The function.
        function: &'static str,
        /// What happened.
        reason: String,
    },
    /// The emulator closed the connection or answered something unreadable.
    #[error("the emulator of {function} failed the request: {reason}")]
    Transport {
        /// The function.
        function: &'static str,
        /// What happened.
        reason: String,
    },
    /// The emulator did not answer within the function's timeout and the grace.
    #[error("the emulator of {function} did not answer within {waited:?}")]
    Hung {
        /// The function.
        function: &'static str,
        /// How long the gateway waited.
        waited: Duration,
    },
    /// The gateway is shutting down.
    #[error("the gateway is shutting down")]
    Closed,
}

/// One running emulator: the process and its invoke address.
struct Emulator {
    child: Child,
    address: SocketAddr,
    /// Set when it failed a request: it is replaced before its next use.
    broken: bool,
}

impl Emulator {
    fn usable(&mut self) -> bool {
        !self.broken && matches!(self.child.try_wait(), Ok(None))
    }
}

/// The emulators of one function, and the queue in front of them.
pub struct FunctionPool {
    spec: FunctionSpec,
    rie: PathBuf,
    bootstrap: PathBuf,
    environment: BTreeMap<String, String>,
    timeout: Duration,
    free: Mutex<Vec<Emulator>>,
    permits: Semaphore,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl FunctionPool {
    /// Starts `config.per_function` emulators of `spec`'s binary with `environment`,
    /// `timeout` being the function timeout the environment declares, and waits until each
    /// listens.
    pub async fn start(
        spec: FunctionSpec,
        config: &EmulatorConfig,
        environment: BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<Arc<Self>, EmulatorError> {
        let count = config.per_function.max(1);
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let pool = Arc::new(Self {
            spec,
            rie: config.rie.clone(),
            bootstrap: config.bootstrap_dir.join(spec.binary),
            environment,
            timeout,
            free: Mutex::new(Vec::with_capacity(count)),
            permits: Semaphore::new(count),
            client: Client::builder(TokioExecutor::new()).build(connector),
        });
        let started = futures::future::join_all((0..count).map(|_| pool.spawn())).await;
        let mut emulators = Vec::with_capacity(count);
        for emulator in started {
            emulators.push(emulator?);
        }
        pool.lock().extend(emulators);
        Ok(pool)
    }

    /// The function this pool runs.
    pub fn spec(&self) -> FunctionSpec {
        self.spec
    }

    /// The invoke addresses of the emulators now idle.
    pub fn idle_addresses(&self) -> Vec<SocketAddr> {
        self.lock().iter().map(|e| e.address).collect()
    }

    /// Invokes the function with `payload` on a free emulator, waiting for one if all are
    /// busy, and returns the emulator's answer as it came: the function's response, its
    /// error document, or the emulator's own `Task timed out ...` text. The invocation runs
    /// to its end even when the caller stops waiting, so that the emulator is free again
    /// only when it really is.
    pub async fn invoke(self: &Arc<Self>, payload: Vec<u8>) -> Result<Vec<u8>, EmulatorError> {
        let pool = Arc::clone(self);
        tokio::spawn(async move { pool.invoke_now(payload).await })
            .await
            .map_err(|_| EmulatorError::Closed)?
    }

    /// Stops every idle emulator; busy ones stop when their invocation task ends (they are
    /// killed when dropped).
    pub async fn stop(&self) {
        self.permits.close();
        let emulators: Vec<Emulator> = std::mem::take(&mut *self.lock());
        for mut emulator in emulators {
            let _ = emulator.child.kill().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Emulator>> {
        // A panic while holding this lock cannot leave the list inconsistent (push and pop
        // only), so a poisoned lock is used as it is.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn invoke_now(&self, payload: Vec<u8>) -> Result<Vec<u8>, EmulatorError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| EmulatorError::Closed)?;
        // A permit guarantees a free emulator.
        let Some(mut emulator) = self.lock().pop() else {
            return Err(EmulatorError::Closed);
        };
        if !emulator.usable() {
            let _ = emulator.child.kill().await;
            match self.spawn().await {
                Ok(fresh) => emulator = fresh,
                Err(e) => {
                    // Keep the place: the next request tries to start it again.
                    emulator.broken = true;
                    self.lock().push(emulator);
                    return Err(e);
                }
            }
        }
        let result = self.post(emulator.address, payload).await;
        if result.is_err() {
            emulator.broken = true;
        }
        self.lock().push(emulator);
        result
    }

    async fn post(&self, address: SocketAddr, payload: Vec<u8>) -> Result<Vec<u8>, EmulatorError> {
        let function = self.spec.name;
        let transport = |reason: String| EmulatorError::Transport { function, reason };
        let request = axum::http::Request::post(format!("http://{address}{INVOCATIONS_PATH}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| transport(e.to_string()))?;
        let waited = self.timeout + TIMEOUT_GRACE;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| transport(e.to_string()))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| transport(e.to_string()))?
                .to_bytes();
            if !status.is_success() {
                return Err(transport(format!(
                    "status {status}: {}",
                    String::from_utf8_lossy(&body)
                )));
            }
            Ok(body.to_vec())
        };
        tokio::time::timeout(waited, exchange)
            .await
            .map_err(|_| EmulatorError::Hung { function, waited })?
    }

    /// Starts one emulator and waits until it listens.
    async fn spawn(&self) -> Result<Emulator, EmulatorError> {
        let (invoke_port, runtime_api_port) = two_free_ports().map_err(EmulatorError::Port)?;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, invoke_port));
        let mut child = Command::new(&self.rie)
            .arg("--runtime-interface-emulator-address")
            .arg(address.to_string())
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{runtime_api_port}"))
            // As `sam local` runs it: only the emulator's errors, the function's logs as
            // they are.
            .arg("--log-level")
            .arg("error")
            .arg(&self.bootstrap)
            // Only the function's environment, as in Lambda: nothing leaks in from the
            // gateway's.
            .env_clear()
            .envs(&self.environment)
            .current_dir(self.bootstrap.parent().unwrap_or(Path::new("/")))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| EmulatorError::Spawn {
                rie: self.rie.clone(),
                bootstrap: self.bootstrap.clone(),
                source,
            })?;
        let started = tokio::time::Instant::now();
        loop {
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                return Ok(Emulator {
                    child,
                    address,
                    broken: false,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(EmulatorError::NotStarted {
                    function: self.spec.name,
                    reason: format!("it exited with {status}"),
                });
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.kill().await;
                return Err(EmulatorError::NotStarted {
                    function: self.spec.name,
                    reason: format!("it did not listen on {address} within {START_TIMEOUT:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Two distinct free ports on 127.0.0.1: both are held until both are chosen.
fn two_free_ports() -> std::io::Result<(u16, u16)> {
    let a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}
