//! matching (placeholder until implemented)
