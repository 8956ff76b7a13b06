//! The HTTP API's contract as data: query parameters, response pages, problem details and
//! route descriptions for the OpenAPI document. Plain types, no HTTP or Lambda crates.
