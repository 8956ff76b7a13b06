//! `audit export` (formerly `audit-export`) and `audit follow`: walks a filtered range of the trail, or the feed (`--feed`), through the
//! HTTP API and writes it as NDJSON, CSV or OCSF to a file or standard output, resumable
//! after an interruption.
//!
//! With `--feed` the source is `GET /api/Audit/feed` ([`source::FeedSource`]): the export
//! stops when the feed is caught up, keeping the cursor in the state file, so that running
//! it again later appends what was sealed since (an incremental export); with `--follow`
//! it waits `retryAfterSeconds` and asks again, forever (`audit follow`).
//!
//! The loop: read a page from the [`source::EventSource`], append its records to the output
//! ([`Format::write_export`]: the writers the API serves with), flush and sync the output,
//! and only then write the state file (atomically, by rename): the output's length, the
//! events written and the position after the page. A run that stops anywhere (killed,
//! network error, `--stop-after-pages`) leaves a state that describes a prefix of the output
//! exactly; resuming truncates the output to that length and goes on from that position, so
//! the file ends as an uninterrupted run would have written it: no gap, no duplicate.

pub mod source;

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use audit_shared::api::feed::CURSOR;
use audit_shared::api::params::{CATEGORY, EVENT_TYPE, FORMAT, NEXT_TOKEN, PAGE_NUMBER, PAGE_SIZE};
use audit_shared::format::Format;
use audit_shared::limits::PAGE_SIZE_MAX;
use serde::{Deserialize, Serialize};

use source::EventSource;

use crate::args::{api_root, ExportArgs, FollowArgs};

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The command line or the state file does not allow the export.
    #[error("{0}")]
    Usage(String),
    /// The API failed or answered something else than a page.
    #[error("{0}")]
    Http(String),
    /// Reading or writing a file failed.
    #[error("{what}: {source}")]
    Io {
        /// Which file and what was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ExportError {
    let what = what.into();
    move |source| ExportError::Io { what, source }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The API's root URL.
    pub url: String,
    /// The listing's filters, as `GET /api/Audit` takes them.
    pub query: String,
    /// `ndjson`, `csv` or `ocsf`.
    pub format: Format,
    /// The output file; `None`: standard output.
    pub output: Option<PathBuf>,
    /// The state file that makes the export resumable.
    pub state: Option<PathBuf>,
    /// Events per request.
    pub page_size: u32,
    /// Stop (as if interrupted) after this many pages of this run (tests).
    pub stop_after_pages: Option<u64>,
    /// Read the feed (`GET /api/Audit/feed`) rather than the listing.
    pub feed: bool,
    /// With `feed`: when caught up, wait and go on rather than stop.
    pub follow: bool,
}

impl Options {
    /// The options of `audit export`.
    pub fn from_export(args: &ExportArgs) -> Result<Options, ExportError> {
        let mut query = args.query.trim_start_matches('?').to_owned();
        for (name, value) in [("rangeStart", &args.from), ("rangeEnd", &args.to)] {
            if let Some(value) = value {
                if !query.is_empty() {
                    query.push('&');
                }
                query.push_str(name);
                query.push('=');
                query.extend(form_urlencoded::byte_serialize(value.as_bytes()));
            }
        }
        Self::check(Options {
            url: api_root(&args.connection.url).map_err(ExportError::Usage)?,
            query,
            format: Self::format(&args.format)?,
            output: args.output.clone(),
            state: args.state.clone(),
            page_size: args.page_size,
            stop_after_pages: args.stop_after_pages,
            feed: args.feed,
            follow: args.follow,
        })
    }

    /// The options of `audit follow`: the feed, followed.
    pub fn from_follow(args: &FollowArgs) -> Result<Options, ExportError> {
        Self::check(Options {
            url: api_root(&args.connection.url).map_err(ExportError::Usage)?,
            query: args.query.trim_start_matches('?').to_owned(),
            format: Self::format(&args.format)?,
            output: args.output.clone(),
            state: args.state.clone(),
            page_size: args.page_size,
            stop_after_pages: args.stop_after_pages,
            feed: true,
            follow: true,
        })
    }

    fn format(name: &str) -> Result<Format, ExportError> {
        Format::parse(name)
            .filter(|f| *f != Format::Json)
            .ok_or_else(|| {
                ExportError::Usage(format!(
                    "--format must be ndjson, csv or ocsf (got '{name}')"
                ))
            })
    }

    fn check(options: Options) -> Result<Options, ExportError> {
        if !(1..=PAGE_SIZE_MAX).contains(&options.page_size) {
            return Err(ExportError::Usage(format!(
                "--page-size must be 1 to {PAGE_SIZE_MAX} (got '{}')",
                options.page_size
            )));
        }
        for (name, _) in form_pairs(&options.query) {
            if [NEXT_TOKEN, PAGE_NUMBER, PAGE_SIZE, FORMAT, CURSOR].contains(&name.as_str()) {
                return Err(ExportError::Usage(format!(
                    "--query must hold filters only: the exporter sets {name} itself"
                )));
            }
            if options.feed && ![CATEGORY, EVENT_TYPE].contains(&name.as_str()) {
                return Err(ExportError::Usage(format!(
                    "the feed takes the filters category and eventType only (got {name})"
                )));
            }
        }
        if options.state.is_some() && options.output.is_none() {
            return Err(ExportError::Usage(
                "--state needs --output: standard output cannot be resumed".to_owned(),
            ));
        }
        Ok(options)
    }
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// The state file: what was asked, and how far the output is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The API's root URL.
    pub url: String,
    /// The filters.
    pub query: String,
    /// The format's name.
    pub format: String,
    /// Bytes of the output that hold complete pages.
    pub bytes: u64,
    /// Events in those bytes.
    pub events: u64,
    /// Pages in those bytes.
    pub pages: u64,
    /// The position of the next page (`None` with `done: false`: the first page).
    pub position: Option<String>,
    /// Whether the source has no more pages.
    pub done: bool,
    /// Whether the source is the feed (then `position` is its cursor, and `done` is never
    /// set: a later run goes on from the cursor).
    #[serde(default)]
    pub feed: bool,
}

impl State {
    fn fresh(options: &Options) -> State {
        State {
            url: options.url.clone(),
            query: options.query.clone(),
            format: options.format.name().to_owned(),
            bytes: 0,
            events: 0,
            pages: 0,
            position: None,
            done: false,
            feed: options.feed,
        }
    }

    fn read(path: &Path) -> Result<Option<State>, ExportError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                ExportError::Usage(format!("{} is not an export state: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(format!("reading {}", path.display()))(e)),
        }
    }

    /// Written to a temporary file, synced, then renamed over the old state: a crash leaves
    /// either the old state or the new one, never half of one.
    fn write(&self, path: &Path) -> Result<(), ExportError> {
        let temporary = path.with_extension("tmp");
        let what = || format!("writing {}", temporary.display());
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|e| ExportError::Usage(e.to_string()))?;
        let mut file = File::create(&temporary).map_err(io(what()))?;
        file.write_all(&bytes).map_err(io(what()))?;
        file.sync_all().map_err(io(what()))?;
        std::fs::rename(&temporary, path).map_err(io(format!("renaming to {}", path.display())))
    }
}

/// How an export ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every page was written.
    Complete {
        /// Events in the output.
        events: u64,
    },
    /// `--stop-after-pages` stopped it; the state says where to resume.
    Stopped {
        /// Events in the output so far.
        events: u64,
    },
}

/// Runs the export of `options` from `source`.
pub async fn run(options: &Options, source: &mut impl EventSource) -> Result<Outcome, ExportError> {
    let mut state =
        match &options.state {
            Some(path) => {
                match State::read(path)? {
                    Some(saved) => {
                        let asked = State::fresh(options);
                        if (&saved.url, &saved.query, &saved.format, saved.feed)
                            != (&asked.url, &asked.query, &asked.format, asked.feed)
                        {
                            return Err(ExportError::Usage(format!(
                        "{} belongs to another export (url {}, query '{}', format {}, {}): \
                         give the same arguments, or another state file",
                        path.display(),
                        saved.url,
                        saved.query,
                        saved.format,
                        if saved.feed { "the feed" } else { "the listing" }
                    )));
                        }
                        saved
                    }
                    None => State::fresh(options),
                }
            }
            None => State::fresh(options),
        };
    if state.done {
        return Ok(Outcome::Complete {
            events: state.events,
        });
    }
    let mut out: Box<dyn Write> = match &options.output {
        Some(path) => {
            let what = || format!("opening {}", path.display());
            let mut file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(false)
                .open(path)
                .map_err(io(what()))?;
            // Whatever follows the last complete page was written by a run that stopped
            // before recording it: it goes, and that page is read again.
            file.set_len(state.bytes).map_err(io(what()))?;
            file.seek(SeekFrom::End(0)).map_err(io(what()))?;
            Box::new(SyncedFile(file))
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let progress = Progress::new(state.events);
    let mut pages_this_run = 0;
    loop {
        if options
            .stop_after_pages
            .is_some_and(|n| pages_this_run >= n)
        {
            progress.finish(state.events);
            return Ok(Outcome::Stopped {
                events: state.events,
            });
        }
        let page = source.page(state.position.as_deref()).await?;
        let mut bytes = Vec::new();
        options
            .format
            .write_export(&page.events, state.bytes == 0, &mut bytes)
            .map_err(|e| ExportError::Usage(e.to_string()))?;
        out.write_all(&bytes).map_err(io("writing the output"))?;
        out.flush().map_err(io("flushing the output"))?;
        state.bytes += bytes.len() as u64;
        state.events += page.events.len() as u64;
        state.pages += 1;
        state.done = page.next.is_none();
        state.position = page.next;
        if let Some(path) = &options.state {
            state.write(path)?;
        }
        pages_this_run += 1;
        progress.show(state.events);
        if state.done || (page.caught_up.is_some() && !options.follow) {
            progress.finish(state.events);
            return Ok(Outcome::Complete {
                events: state.events,
            });
        }
        if let Some(wait) = page.caught_up {
            tokio::time::sleep(wait).await;
        }
    }
}

/// A file whose `flush` also syncs it to disk, so that the state written after a flush
/// never describes bytes a crash could lose.
struct SyncedFile(File);

impl Write for SyncedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.0.sync_data()
    }
}

/// The progress line on standard error, only when it is a terminal.
struct Progress {
    started: Instant,
    first: u64,
    tty: bool,
}

impl Progress {
    fn new(first: u64) -> Self {
        Self {
            started: Instant::now(),
            first,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, events: u64) {
        if self.tty {
            let seconds = self.started.elapsed().as_secs_f64().max(0.001);
            // Display only: the precision lost converting a count to f64 does not matter.
            #[allow(clippy::cast_precision_loss)]
            let rate = (events - self.first) as f64 / seconds;
            eprint!("\r\x1b[2K{events} events, {rate:.0} events/s");
        }
    }

    fn finish(&self, events: u64) {
        if self.tty {
            self.show(events);
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests;
