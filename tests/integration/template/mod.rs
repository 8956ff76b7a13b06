//! `template.yaml` against the shared definitions: the table it deploys must be exactly
//! `TableDefinition::audit()` (keys, attribute types, indexes, projections, TTL), each
//! function role must hold exactly its least-privilege permissions, and the routes, queue
//! and configuration must match what the functions expect. Also pinned: the stack's KMS key
//! and who may use it, CORS off unless origins are given, the reserved concurrency
//! parameters, and a reason beside every check the scanner (checkov) is told to skip.
//!
//! The template is read as YAML with CloudFormation's short-form tags (`!Ref`, `!GetAtt`,
//! `!Sub`...) turned into their long form, so the checks see what CloudFormation sees.
//! Each check is also run on deliberately broken copies, to show that it can fail.

mod api;
mod checkov;
mod functions;
mod iam;
mod kms;
mod monitoring;
mod sam_local;
mod support;
mod table;
