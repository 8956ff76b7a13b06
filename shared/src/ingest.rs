//! Ingestion's contract as data: the accepted input shapes and the per-event answer.
