//! The ingest Lambda function. Its handler is built in its own issue; until then the binary
//! only proves that the package builds in the workspace.

fn main() {}
