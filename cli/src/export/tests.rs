//! The export loop against an in-memory source: interrupted and resumed, it writes what an
//! uninterrupted run writes.

use std::io::Write as _;

use audit_shared::domain::AuditEvent;
use serde_json::json;

use super::source::{EventSource, SourcePage};
use super::*;

/// `n` events in pages of `per_page`; positions are page indexes.
struct Pages {
    pages: Vec<Vec<AuditEvent>>,
    served: usize,
}

impl Pages {
    fn new(n: usize, per_page: usize) -> Self {
        let events: Vec<AuditEvent> = (0..n)
            .map(|i| {
                serde_json::from_value(json!({
                    "eventId": format!("e-{i:04}"), "tenantId": "local", "eventType": 202,
                    "eventTypeName": "LoginFailed", "category": 200, "categoryName": "UserAction",
                    "occurredAt": "2026-01-02T03:04:05.006Z", "recordedAt": "2026-01-02T03:04:05.106Z",
                    "actor": { "id": "u-1", "type": "user" }, "outcome": "failure",
                    "description": if i % 3 == 0 { "=cmd|' /C calc'!A0" } else { "plain, with \"quotes\"" }
                }))
                .unwrap()
            })
            .collect();
        Self {
            pages: events
                .chunks(per_page)
                .map(<[AuditEvent]>::to_vec)
                .collect(),
            served: 0,
        }
    }
}

impl EventSource for Pages {
    async fn page(&mut self, position: Option<&str>) -> Result<SourcePage, ExportError> {
        let index: usize = position.map_or(0, |p| p.parse().unwrap());
        self.served += 1;
        Ok(SourcePage {
            events: self.pages[index].clone(),
            next: (index + 1 < self.pages.len()).then(|| (index + 1).to_string()),
            caught_up: None,
        })
    }
}

fn options(dir: &Path, name: &str, format: Format) -> Options {
    Options {
        url: "http://127.0.0.1:1".into(),
        query: "eventType=202".into(),
        format,
        output: Some(dir.join(format!("{name}.out"))),
        state: Some(dir.join(format!("{name}.state"))),
        page_size: 4,
        stop_after_pages: None,
        feed: false,
        follow: false,
    }
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "audit-export-test-{}-{}",
        std::process::id(),
        ulid::Ulid::new()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn an_interrupted_export_resumed_writes_what_an_uninterrupted_one_writes() {
    let dir = scratch();
    for format in [Format::Ndjson, Format::Csv, Format::Ocsf] {
        let whole = options(&dir, &format!("whole-{}", format.name()), format);
        let done = run(&whole, &mut Pages::new(23, 4)).await.unwrap();
        assert_eq!(done, Outcome::Complete { events: 23 });
        let expected = std::fs::read(whole.output.as_ref().unwrap()).unwrap();

        let mut cut = options(&dir, &format!("cut-{}", format.name()), format);
        cut.stop_after_pages = Some(2);
        let stopped = run(&cut, &mut Pages::new(23, 4)).await.unwrap();
        assert_eq!(stopped, Outcome::Stopped { events: 8 });
        // A crash after a page was written and before the state recorded it.
        let mut file = OpenOptions::new()
            .append(true)
            .open(cut.output.as_ref().unwrap())
            .unwrap();
        file.write_all(b"half a page that the state does not know of\n")
            .unwrap();
        drop(file);
        let stopped = run(&cut, &mut Pages::new(23, 4)).await.unwrap();
        assert_eq!(stopped, Outcome::Stopped { events: 16 });
        cut.stop_after_pages = None;
        let mut source = Pages::new(23, 4);
        let done = run(&cut, &mut source).await.unwrap();
        assert_eq!(done, Outcome::Complete { events: 23 });
        assert_eq!(
            source.served, 2,
            "only the pages after the state's position"
        );
        let resumed = std::fs::read(cut.output.as_ref().unwrap()).unwrap();
        assert_eq!(resumed, expected, "{}", format.name());
        // Once complete, running again reads nothing and changes nothing.
        let mut source = Pages::new(23, 4);
        assert_eq!(
            run(&cut, &mut source).await.unwrap(),
            Outcome::Complete { events: 23 }
        );
        assert_eq!(source.served, 0);
        assert_eq!(
            std::fs::read(cut.output.as_ref().unwrap()).unwrap(),
            expected
        );
    }
    let csv = String::from_utf8(std::fs::read(dir.join("whole-csv.out")).unwrap()).unwrap();
    assert_eq!(csv.matches("\r\n").count(), 24, "one header and 23 rows");
    assert!(csv.contains(",'=cmd|' /C calc'!A0,"), "{csv}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_state_file_of_another_export_is_refused() {
    let dir = scratch();
    let first = options(&dir, "x", Format::Csv);
    run(&first, &mut Pages::new(3, 4)).await.unwrap();
    let mut other = first.clone();
    other.query = "eventType=201".into();
    let error = run(&other, &mut Pages::new(3, 4)).await.unwrap_err();
    assert!(error.to_string().contains("another export"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn parse_export(line: &str) -> Result<Options, String> {
    let mut args = vec!["audit", "export"];
    args.extend(line.split(' '));
    match crate::args::parse(args) {
        crate::args::Parsed::Run(cli) => match cli.command {
            crate::args::Command::Export(e) => Options::from_export(&e).map_err(|e| e.to_string()),
            other => panic!("{other:?}"),
        },
        crate::args::Parsed::Usage(line) => Err(line),
        crate::args::Parsed::Print(text) => Err(text),
    }
}

#[test]
fn arguments_parse_and_bad_ones_are_named() {
    let o = parse_export(
        "--url http://127.0.0.1:3000/api/Audit --format csv --query ?category=100 --output a.csv --state a.json --page-size 50 --from 2026-01-01 --to=2026-03-31T00:00:00+01:00",
    )
    .unwrap();
    assert_eq!(o.format, Format::Csv);
    assert_eq!(o.url, "http://127.0.0.1:3000");
    assert_eq!(
        o.query,
        "category=100&rangeStart=2026-01-01&rangeEnd=2026-03-31T00%3A00%3A00%2B01%3A00"
    );
    assert_eq!(o.page_size, 50);
    for (bad, says) in [
        ("--format csv", "--url <URL>"),
        ("--url http://u --format json", "--format must be"),
        ("--url http://u --page-size 0", "--page-size"),
        (
            "--url http://u --query nextToken=x",
            "sets nextToken itself",
        ),
        ("--url http://u --query format=csv", "sets format itself"),
        ("--url http://u --state s", "--state needs --output"),
        ("--url http://u --bogus", "'--bogus'"),
        ("--url u", "--url must start with http"),
    ] {
        let error = parse_export(bad).unwrap_err();
        assert!(error.contains(says), "{bad}: {error}");
    }
}

/// A feed: `available` of its events sealed so far; positions are event indexes; caught
/// up, it answers its position again with a wait.
struct Feed {
    events: Vec<AuditEvent>,
    available: usize,
    per_page: usize,
    /// Events sealed at each caught-up answer (a `--follow` run sees them after waiting).
    grow_by: usize,
}

impl EventSource for Feed {
    async fn page(&mut self, position: Option<&str>) -> Result<SourcePage, ExportError> {
        let from: usize = position.map_or(0, |p| p.parse().unwrap());
        let to = (from + self.per_page).min(self.available);
        let caught_up = to == self.available;
        let page = SourcePage {
            events: self.events[from..to].to_vec(),
            next: Some(to.to_string()),
            caught_up: caught_up.then(|| std::time::Duration::from_millis(1)),
        };
        if caught_up {
            self.available = (self.available + self.grow_by).min(self.events.len());
        }
        Ok(page)
    }
}

fn feed(available: usize, grow_by: usize) -> Feed {
    Feed {
        events: Pages::new(30, 30).pages.remove(0),
        available,
        per_page: 4,
        grow_by,
    }
}

#[tokio::test]
async fn a_feed_export_stops_when_caught_up_and_a_later_run_appends_what_was_sealed_since() {
    let dir = scratch();
    let whole = Options {
        feed: true,
        ..options(&dir, "feed-whole", Format::Csv)
    };
    assert_eq!(
        run(&whole, &mut feed(30, 0)).await.unwrap(),
        Outcome::Complete { events: 30 }
    );
    let expected = std::fs::read(whole.output.as_ref().unwrap()).unwrap();

    let parts = Options {
        feed: true,
        ..options(&dir, "feed-parts", Format::Csv)
    };
    // 10 sealed: the run stops caught up, the cursor kept.
    assert_eq!(
        run(&parts, &mut feed(10, 0)).await.unwrap(),
        Outcome::Complete { events: 10 }
    );
    let state = State::read(parts.state.as_ref().unwrap()).unwrap().unwrap();
    assert!(!state.done && state.feed);
    assert_eq!(state.position.as_deref(), Some("10"));
    // Interrupted on the way to 30, then resumed: the same bytes as one run.
    let mut cut = parts.clone();
    cut.stop_after_pages = Some(2);
    assert_eq!(
        run(&cut, &mut feed(30, 0)).await.unwrap(),
        Outcome::Stopped { events: 18 }
    );
    assert_eq!(
        run(&parts, &mut feed(30, 0)).await.unwrap(),
        Outcome::Complete { events: 30 }
    );
    assert_eq!(
        std::fs::read(parts.output.as_ref().unwrap()).unwrap(),
        expected
    );

    // --follow waits and goes on as events are sealed (stopped here after 12 pages).
    let follow = Options {
        feed: true,
        follow: true,
        stop_after_pages: Some(12),
        ..options(&dir, "feed-follow", Format::Csv)
    };
    let outcome = run(&follow, &mut feed(5, 5)).await.unwrap();
    assert_eq!(outcome, Outcome::Stopped { events: 30 });
    assert_eq!(
        std::fs::read(follow.output.as_ref().unwrap()).unwrap(),
        expected
    );
    // A state of the listing is not a state of the feed.
    let listing = options(&dir, "feed-parts", Format::Csv);
    assert!(matches!(
        run(&listing, &mut Pages::new(3, 4)).await,
        Err(ExportError::Usage(_))
    ));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn feed_options_take_only_the_feed_filters() {
    let o = parse_export("--url http://x --feed --follow --query category=200").unwrap();
    assert!(o.feed && o.follow);
    assert!(parse_export("--url http://x --follow").is_err());
    assert!(parse_export("--url http://x --feed --query rangeStart=2026-01-01").is_err());
    assert!(parse_export("--url http://x --feed --query cursor=abc").is_err());
}
