//! evaluation (placeholder until implemented)
