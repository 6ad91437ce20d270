//! ingest (placeholder until implemented)
