//! Where metric lines go. In Lambda that is standard output: the runtime sends it to the
//! function's CloudWatch Logs group, which extracts the metrics of every EMF line. Tests
//! hold their lines in memory ([`MemorySink`]) instead of capturing the process's output.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Takes complete metric lines (without their newline).
pub trait MetricsSink: Send + Sync {
    /// Writes one line. Never fails: a lost metric must not fail a request.
    fn write_line(&self, line: &str);
}

/// The sink a context holds: cheap to clone, shared across concurrent requests.
pub type SharedSink = Arc<dyn MetricsSink>;

/// Standard output, one whole line per write, so that a line never interleaves with the log
/// lines the tracing subscriber writes there too.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutSink;

impl MetricsSink for StdoutSink {
    fn write_line(&self, line: &str) {
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        let mut out = std::io::stdout().lock();
        // Not `println!`, which panics when standard output is closed.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }
}

/// Keeps every line, for tests.
#[derive(Debug, Default)]
pub struct MemorySink {
    lines: Mutex<Vec<String>>,
}

impl MemorySink {
    /// The lines written so far, in order.
    pub fn lines(&self) -> Vec<String> {
        self.lock().clone()
    }

    /// Takes the lines written so far, leaving none.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // Pushing a line cannot leave the list half-written: a poisoned lock is used as is.
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MetricsSink for MemorySink {
    fn write_line(&self, line: &str) {
        self.lock().push(line.to_owned());
    }
}

/// Drops every line: for work that is not a function's invocation (seeding a local table,
/// a benchmark's many runs), where the lines would only flood the output.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardSink;

impl MetricsSink for DiscardSink {
    fn write_line(&self, _line: &str) {}
}

/// Standard output, shared: what the functions write to in Lambda.
pub fn stdout() -> SharedSink {
    Arc::new(StdoutSink)
}

/// A sink that drops every line, shared.
pub fn discard() -> SharedSink {
    Arc::new(DiscardSink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_sink_keeps_lines_in_order_until_taken() {
        let sink = MemorySink::default();
        sink.write_line("a");
        sink.write_line("b");
        assert_eq!(sink.lines(), ["a", "b"]);
        assert_eq!(sink.take(), ["a", "b"]);
        assert!(sink.lines().is_empty());
    }
}
