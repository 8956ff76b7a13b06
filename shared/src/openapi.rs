//! The OpenAPI 3.1 document of the service, generated from the code with utoipa.
