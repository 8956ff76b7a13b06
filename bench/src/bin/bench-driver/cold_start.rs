//! Section 3, cold start: each function's binary started on a local Runtime API, timed to
//! its first request for an invocation, beside a hello-world binary.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use audit_bench::ratio;
use audit_bench::report::{Report, SectionId};

use crate::settings::Settings;
use crate::{log, Result, COLD_FUNCTIONS};

/// A minimal Lambda Runtime API: it notes when a function first asks for an invocation
/// (`GET /2018-06-01/runtime/invocation/next`) and keeps the connection open, so the
/// function waits there.
struct RuntimeApi {
    address: String,
    next: mpsc::Receiver<(Instant, TcpStream)>,
}

impl RuntimeApi {
    fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let Ok(read_half) = stream.try_clone() else {
                        return;
                    };
                    let mut reader = BufReader::new(read_half);
                    let mut first = String::new();
                    if reader.read_line(&mut first).is_err() {
                        return;
                    }
                    loop {
                        let mut line = String::new();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" || line == "\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let at = Instant::now();
                    if first.contains("/runtime/invocation/next") {
                        let _ = tx.send((at, stream));
                    } else {
                        let mut stream = stream;
                        let _ = stream.write_all(
                            b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        );
                    }
                });
            }
        });
        Ok(Self { address, next: rx })
    }

    /// Starts `binary` and returns (ms from spawn to its first `/next`, peak RSS in kB then).
    fn cold_start(&self, binary: &Path, name: &str) -> Result<(f64, u64)> {
        while self.next.try_recv().is_ok() {}
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("AWS_LAMBDA_RUNTIME_API", &self.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDBENCHMARK")
            .env("AWS_SECRET_ACCESS_KEY", "benchmark-secret")
            .env("AWS_SESSION_TOKEN", "benchmark-session")
            .env("AUDIT_TABLE_NAME", "audit-bench")
            .env("AUDIT_SHARDS", "4")
            .env("AUDIT_TOKEN_KEY", "benchmark-token-key-of-32-bytes!")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let started = Instant::now();
        let mut child = command.spawn()?;
        let pid = child.id();
        let outcome = loop {
            match self.next.recv_timeout(Duration::from_millis(20)) {
                Ok((at, stream)) => {
                    let ms = at.duration_since(started).as_secs_f64() * 1000.0;
                    let hwm = peak_rss_kb(pid).unwrap_or(0);
                    drop(stream);
                    break Ok((ms, hwm));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait()? {
                        break Err(format!(
                            "{name} exited ({status}) before asking for an invocation"
                        )
                        .into());
                    }
                    if started.elapsed() > Duration::from_secs(30) {
                        break Err(
                            format!("{name} did not ask for an invocation within 30 s").into()
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Err("runtime API stopped".into())
                }
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        outcome
    }
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The hello-world binary every function is compared with.
const HELLO: &str = "bench-hello";

/// Measures the section and adds it, with its targets, to `report`.
pub fn section(settings: &Settings, report: &mut Report) -> Result<()> {
    let Some(dir) = &settings.bin_dir else {
        return Err("BENCH_BIN_DIR is not set (host release binaries)".into());
    };
    let api = RuntimeApi::start()?;
    let names: Vec<&str> = std::iter::once(HELLO).chain(COLD_FUNCTIONS).collect();
    let mut times: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut rss: HashMap<&str, Vec<f64>> = HashMap::new();
    // One unmeasured start each puts the binaries in the page cache; then the binaries take
    // turns, so a noisy moment hits them all alike.
    for name in &names {
        api.cold_start(&dir.join(name), name)?;
    }
    log(format!(
        "cold starts: {} runs of {}",
        settings.cold_runs,
        names.join(", ")
    ));
    for _ in 0..settings.cold_runs.max(1) {
        for name in &names {
            let (ms, kb) = api.cold_start(&dir.join(name), name)?;
            times.entry(*name).or_default().push(ms);
            rss.entry(*name).or_default().push(kb as f64);
        }
    }
    let median = |v: &[f64]| audit_bench::percentile(v, 50.0);
    let hello = median(times.get(HELLO).map_or(&[][..], Vec::as_slice));
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", SectionId::ColdStart.heading());
    let _ = writeln!(
        s,
        "Host (x86_64) release binaries, same profile for all. Time from `spawn` to the \
         function's first `GET /2018-06-01/runtime/invocation/next` on a local Runtime API \
         (that includes tracing set-up, configuration and, for ingest and query, building the \
         DynamoDB client; no network call is made before `/next`). Median of {} starts, \
         binaries taking turns; peak RSS is `VmHWM` at that moment.\n",
        settings.cold_runs
    );
    let _ = writeln!(s, "| binary | median ms | min ms | max ms | vs hello-world | peak RSS (MB) | binary size (bytes) |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for name in &names {
        let t = times.get(name).map_or(&[][..], Vec::as_slice);
        let m = median(t);
        let min = t.iter().copied().fold(f64::INFINITY, f64::min);
        let max = t.iter().copied().fold(0.0, f64::max);
        let r = median(rss.get(name).map_or(&[][..], Vec::as_slice)) / 1024.0;
        let bytes = std::fs::metadata(dir.join(name))
            .map(|m| m.len())
            .unwrap_or(0);
        let _ = writeln!(
            s,
            "| {name} | {m:.2} | {min:.2} | {max:.2} | {:.2}x | {r:.1} | {bytes} |",
            ratio(m, hello)
        );
        if *name != HELLO {
            let x = ratio(m, hello);
            report.target(
                SectionId::ColdStart,
                format!("cold start of {name} <= 1.5 x hello-world"),
                format!("{x:.2}x ({m:.2} ms vs {hello:.2} ms)"),
                x <= 1.5,
            );
        }
    }
    report.section(SectionId::ColdStart, s);
    Ok(())
}
