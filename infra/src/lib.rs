//! Local tooling of the audit log service: realistic seed data, and (in `gateway`) a local
//! gateway in front of the functions: their own binaries under AWS's Lambda Runtime
//! Interface Emulator, or their handlers in process; and (in `export`) the `audit-export`
//! command, a client of the HTTP API that exports a filtered range of the trail.

pub mod export;
pub mod gateway;
pub mod seed;
