//! generate (placeholder until implemented)
