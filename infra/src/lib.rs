//! Local tooling of the audit log service: realistic seed data, and (in `gateway`) a local
//! gateway that serves the very handlers the Lambda functions run.

pub mod gateway;
pub mod seed;
