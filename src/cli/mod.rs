//! cli (placeholder until implemented)
