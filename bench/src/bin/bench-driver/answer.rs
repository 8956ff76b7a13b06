//! One request through the query handler, timed as every section times it: the status,
//! the body, and the read figures of its `Server-Timing` header.

use std::time::Instant;

use audit_bench::{read_figures, ReadFigures};
use query::QueryContext;
use serde_json::Value;

use crate::Result;

/// What the query handler answered to one request, and how long it took.
pub struct Answered {
    /// The HTTP status.
    pub status: u16,
    /// Milliseconds from the call to the answer.
    pub ms: f64,
    /// The JSON body.
    pub body: Value,
    /// The read figures (`None` when the answer has none).
    pub figures: Option<ReadFigures>,
}

impl Answered {
    /// Events answered.
    pub fn returned(&self) -> usize {
        self.body["items"].as_array().map_or(0, Vec::len)
    }

    /// The answer's `nextToken`, if any.
    pub fn next_token(&self) -> Option<String> {
        self.body["nextToken"].as_str().map(str::to_owned)
    }

    /// The read figures of a 200 answer; an error naming `what` otherwise.
    pub fn read(&self, what: &str) -> Result<ReadFigures> {
        if self.status != 200 {
            return Err(format!("{what} answered {}: {}", self.status, self.body).into());
        }
        self.figures
            .ok_or_else(|| format!("{what}: no Server-Timing figures (items, rcu)").into())
    }
}

/// Sends `event` (an API Gateway request) to `query::handle` and times the answer.
pub async fn call(ctx: &QueryContext, event: &Value) -> Result<Answered> {
    let request = lambda_http::request::from_str(&event.to_string())?;
    let started = Instant::now();
    let response = query::handle(ctx, request).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let figures = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(read_figures);
    Ok(Answered {
        status: response.status().as_u16(),
        ms,
        body: serde_json::from_slice(response.body().as_ref())?,
        figures,
    })
}
