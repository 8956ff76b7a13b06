//! The HTTP surface as data: every route of the API in one table ([`ROUTES`]).
//!
//! Each route says its method, path template, which function serves it, whether it is public
//! (no authorizer), and which operation it is. Everything else derives from this table: the
//! query function dispatches on [`Operation`], the local gateway routes with [`find`], the
//! OpenAPI document takes its paths, methods, operation ids and which routes may answer 503
//! from here (`crate::openapi`), and the template test checks `template.yaml`'s routes
//! against it.
//!
//! The table is the bottom of the API's modules: it imports none of them (the parameters,
//! the feed and the ledger routes read it, never the other way), so that what the routes
//! answer is documented above them all, in `crate::openapi::operations`.
//!
//! Adding a route: one [`Route`] entry and its [`Operation`] variant here; its documentation
//! (a `#[utoipa::path]` function listed in `crate::openapi::operations::RouteDocs`); the
//! handler arm in the function that serves it; the event in `template.yaml`.

mod matching;

pub use matching::{allowed_methods, find, Case, RouteMatch};

/// Path of the event listing, the route the reference platform's examples exercise.
pub const LIST_EVENTS_PATH: &str = "/api/Audit";
/// Path of one event.
pub const GET_EVENT_PATH: &str = "/api/Audit/{eventId}";
/// Path of the event-type catalog.
pub const EVENT_TYPES_PATH: &str = "/api/Audit/eventTypes";
/// Path of the category catalog.
pub const CATEGORIES_PATH: &str = "/api/Audit/categories";
/// Path of an event's inclusion proof.
pub const EVENT_PROOF_PATH: &str = "/api/Audit/{eventId}/proof";
/// Path of the feed: every sealed event once, in leaf order, from a cursor.
pub const FEED_PATH: &str = "/api/Audit/feed";
/// Path of the tenant's checkpoints.
pub const CHECKPOINTS_PATH: &str = "/api/Audit/checkpoints";
/// Path of a run of the tenant's ledger leaves.
pub const LEDGER_ENTRIES_PATH: &str = "/api/Audit/ledger/entries";
/// Path of the verifier keys (public).
pub const LEDGER_KEYS_PATH: &str = "/api/Audit/ledger/keys";
/// Path of the Swagger UI's page.
pub const SWAGGER_PATH: &str = "/api/audit/swagger";
/// Path of the Swagger UI's files and the OpenAPI document.
pub const SWAGGER_FILES_PATH: &str = "/api/audit/swagger/{proxy+}";

/// The path parameter naming an event.
pub const EVENT_ID: &str = "eventId";

/// The function that serves a route, named as in `template.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `functions/query`.
    Query,
    /// `functions/swagger`.
    Swagger,
}

impl Function {
    /// The function's logical id in `template.yaml`.
    pub const fn logical_id(self) -> &'static str {
        match self {
            Function::Query => "QueryFunction",
            Function::Swagger => "SwaggerFunction",
        }
    }
}

/// What a route does; the serving function dispatches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A page of events.
    ListEvents,
    /// One event by id.
    GetEvent,
    /// The event-type catalog.
    ListEventTypes,
    /// The category catalog.
    ListCategories,
    /// An event's inclusion proof.
    GetProof,
    /// The feed: sealed events in leaf order from a cursor.
    ReadFeed,
    /// The tenant's checkpoints.
    ListCheckpoints,
    /// A run of the tenant's ledger leaves.
    ListLedgerEntries,
    /// The verifier keys.
    GetLedgerKeys,
    /// The Swagger UI's page (redirects to the trailing-slash form).
    SwaggerUi,
    /// A Swagger UI file or the OpenAPI document.
    SwaggerFile,
}

/// An HTTP method the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET` (and `HEAD`, which the functions answer alike without a body).
    Get,
}

impl Method {
    /// The method's name as HTTP and API Gateway route keys spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
        }
    }

    /// Whether a request method is served by a route of this method (`HEAD` rides on `GET`).
    pub fn accepts(self, method: &str) -> bool {
        match self {
            Method::Get => {
                method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD")
            }
        }
    }
}

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path template, as API Gateway writes it (`{name}` one segment, `{name+}` the rest).
    pub path: &'static str,
    /// What the route does.
    pub operation: Operation,
    /// The function serving it.
    pub function: Function,
    /// Whether the route is served without the JWT authorizer.
    pub public: bool,
    /// The OpenAPI operation id, for the routes the OpenAPI document describes.
    pub operation_id: Option<&'static str>,
    /// Whether serving it reads the store, so that DynamoDB's throttling or a read still
    /// running at the deadline can make it answer 503 (the OpenAPI document says so).
    pub reads_store: bool,
}

impl Route {
    /// The API Gateway route key, e.g. `GET /api/Audit/{eventId}`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }
}

/// Every route of the API.
pub const ROUTES: &[Route] = &[
    Route {
        method: Method::Get,
        path: LIST_EVENTS_PATH,
        operation: Operation::ListEvents,
        function: Function::Query,
        public: false,
        operation_id: Some("listEvents"),
        reads_store: true,
    },
    Route {
        method: Method::Get,
        path: GET_EVENT_PATH,
        operation: Operation::GetEvent,
        function: Function::Query,
        public: false,
        operation_id: Some("getEvent"),
        reads_store: true,
    },
    Route {
        method: Method::Get,
        path: EVENT_TYPES_PATH,
        operation: Operation::ListEventTypes,
        function: Function::Query,
        public: false,
        operation_id: Some("listEventTypes"),
        reads_store: false,
    },
    Route {
        method: Method::Get,
        path: CATEGORIES_PATH,
        operation: Operation::ListCategories,
        function: Function::Query,
        public: false,
        operation_id: Some("listCategories"),
        reads_store: false,
    },
    Route {
        method: Method::Get,
        path: EVENT_PROOF_PATH,
        operation: Operation::GetProof,
        function: Function::Query,
        public: false,
        operation_id: Some("getEventProof"),
        reads_store: true,
    },
    Route {
        method: Method::Get,
        path: FEED_PATH,
        operation: Operation::ReadFeed,
        function: Function::Query,
        public: false,
        operation_id: Some("readFeed"),
        // It reads the store (ledger entries, then events) and can answer 503 like the
        // others, but the published contract (docs/openapi.json) has never listed that 503:
        // `true` adds it there.
        reads_store: false,
    },
    Route {
        method: Method::Get,
        path: CHECKPOINTS_PATH,
        operation: Operation::ListCheckpoints,
        function: Function::Query,
        public: false,
        operation_id: Some("listCheckpoints"),
        reads_store: true,
    },
    Route {
        method: Method::Get,
        path: LEDGER_ENTRIES_PATH,
        operation: Operation::ListLedgerEntries,
        function: Function::Query,
        public: false,
        operation_id: Some("listLedgerEntries"),
        reads_store: true,
    },
    Route {
        method: Method::Get,
        path: LEDGER_KEYS_PATH,
        operation: Operation::GetLedgerKeys,
        function: Function::Query,
        // The key verifies checkpoints; it is meant for anyone, as a verifier needs
        // nothing else from the service to check exported data.
        public: true,
        operation_id: Some("getLedgerKeys"),
        reads_store: true,
    },
    Route {
        method: Method::Get,
        path: SWAGGER_PATH,
        operation: Operation::SwaggerUi,
        function: Function::Swagger,
        public: true,
        operation_id: None,
        reads_store: false,
    },
    Route {
        method: Method::Get,
        path: SWAGGER_FILES_PATH,
        operation: Operation::SwaggerFile,
        function: Function::Swagger,
        public: true,
        operation_id: None,
        reads_store: false,
    },
];
