//! preprocess (placeholder until implemented)
