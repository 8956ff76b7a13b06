//! Local tooling of the audit log service: realistic seed data, and (in `gateway`) a local
//! gateway in front of the functions: their own binaries under AWS's Lambda Runtime
//! Interface Emulator, or their handlers in process. (The exporter that lived here is the
//! `audit export` command of the `audit-cli` crate, `cli/`.)

pub mod gateway;
pub mod seed;
