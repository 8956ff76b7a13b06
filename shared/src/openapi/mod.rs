//! The OpenAPI 3.1 document of the service, generated from the code with utoipa.
//!
//! The routes and their DTOs describe themselves (`#[utoipa::path]`, `ToSchema`); this module
//! assembles them with what no single route owns: the API overview, the event catalog table,
//! the JWT bearer security scheme, the tags, the ingest contract (which has no HTTP route) and
//! the reference platform's example requests.
//!
//! The document is committed as `docs/openapi.json`, validated by an independent OpenAPI
//! validator (`make openapi-validate`) and served verbatim by the swagger function; a test
//! (`tests`) fails when the code and the committed file drift apart (docs/adr/0004).
//!
//! - [`operations`]: what each route answers (`#[utoipa::path]`), placed by the route table;
//! - `overview`: the overview and event catalog in `info.description`;
//! - `errors`: the error responses declared once for many operations (401, 500, 503, and
//!   an example for every error);
//! - `examples`: the reference platform's example requests and a genuine `nextToken`;
//! - `ingest`: the ingest contract (`x-ingest`).

mod errors;
mod examples;
mod ingest;
pub mod operations;
mod ordered;
mod overview;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

use crate::api::GatewayMessage;
use crate::domain::{Actor, ActorType, AuditEvent, Change, FieldError, Outcome, Target};
use crate::ingest::{
    ActorInput, EventBatch, EventInput, EventResult, EventStatus, EventTypeRef, IngestRequest,
    IngestResponse, IngestTotals,
};

pub use examples::{example_next_token, EXAMPLE_REQUESTS, EXAMPLE_TENANT};
pub use ingest::INGEST_EXTENSION;
pub use operations::RouteDocs;

use errors::{ProblemExamples, ServerErrors, Unauthorized};
use examples::{ExampleRequests, GenuineNextToken};
use ingest::IngestContract;
use operations::RouteTable;
use overview::Overview;

/// Name of the JWT bearer security scheme that every API route requires.
pub const BEARER_AUTH: &str = "bearerAuth";

/// The document's shape; [`document`] is its only consumer.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Audit Log API",
        description = "Audit trail of the managed-file-transfer platform: every change made in the UI and every user action, recorded by the platform's cloud apps and read back by administrators, auditors and SIEM tools.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    servers((url = "/", description = "The API that serves this document")),
    components(schemas(
        AuditEvent,
        Actor,
        ActorType,
        Target,
        Change,
        Outcome,
        FieldError,
        GatewayMessage,
        IngestRequest,
        EventBatch,
        EventInput,
        ActorInput,
        EventTypeRef,
        IngestResponse,
        EventResult,
        EventStatus,
        IngestTotals
    )),
    modifiers(&Overview, &BearerAuth, &IngestContract),
    tags(
        (name = "Audit", description = "Reading the audit trail: the filtered, paginated listing and single events."),
        (name = "Catalog", description = "The categories and event types the service knows, with their stable codes and descriptions."),
        (name = "Ledger", description = "Tamper evidence: inclusion proofs of events, the signed checkpoints and their consistency proofs, the ledger's leaves and the public verifier key (docs/ledger.md).")
    )
)]
struct ApiDoc;

/// The OpenAPI 3.1 document of the HTTP API, with the ingest contract under components.
///
/// Its paths come from the route table: each documented operation of [`RouteDocs`] is placed
/// at the path and method of its [`ROUTES`](crate::api::routes::ROUTES) entry, under that entry's operation id.
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    doc.merge(RouteDocs::openapi());
    for modifier in [
        &RouteTable as &dyn Modify,
        &Unauthorized,
        &ServerErrors,
        &ExampleRequests,
        &GenuineNextToken,
        &ProblemExamples,
    ] {
        modifier.modify(&mut doc);
    }
    doc
}

/// The document as pretty JSON with a trailing newline, byte-for-byte stable across builds
/// and runs (the committed `docs/openapi.json` is exactly this text).
pub fn document_json() -> Result<String, serde_json::Error> {
    // utoipa keeps `x-` extensions in a HashMap, whose order changes from run to run; every
    // other object keeps its declaration order, which reads better than an alphabetical one.
    let text = serde_json::to_string(&document())?;
    let mut node: ordered::Node = serde_json::from_str(&text)?;
    node.sort_extensions();
    let mut pretty = serde_json::to_string_pretty(&node)?;
    pretty.push('\n');
    Ok(pretty)
}

/// Declares the JWT bearer scheme that the routes' `security(("bearerAuth" = []))` refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_AUTH,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "JWT issued by the platform's identity provider and verified by the API \
                         Gateway JWT authorizer; the tenant is taken from its claims.",
                    ))
                    .build(),
            ),
        );
    }
}

#[cfg(test)]
mod tests;
