//! A client for any chat-completions style HTTP API (OpenAI and the many compatible
//! servers, hosted or local): `POST {base}/chat/completions` with a JSON-schema
//! response format, answer parsed from `choices[0].message.content`.
//!
//! Outcomes of one call, decided here so callers never inspect HTTP details:
//! * `Ok(Reply { answer: Some(..) })`: a valid answer (the decision text may still be
//!   unexpected; the mapping decides what that means);
//! * `Ok(Reply { answer: None })`: the server answered but the content is not the
//!   requested JSON ("no opinion", never a match); its tokens are still counted;
//! * `Err(CallError::Transient)`: 429, 5xx, timeout or connection failure, worth a
//!   retry (with the server's `Retry-After` when it sent one);
//! * `Err(CallError::Permanent)`: anything else (bad key, unknown model, …).
//!
//! Invariant: the API key is only ever written into the `Authorization` header; no
//! error message or log line contains it.

use std::time::Duration;

use serde_json::{json, Value};

use super::secret::ApiKey;

/// The provider endpoint used when `EVENT_DEDUP_LLM_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// What to ask.
#[derive(Debug, Clone)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub temperature: f64,
    pub max_tokens: u32,
    pub system: &'a str,
    pub user: &'a str,
}

/// The structured answer the model was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelAnswer {
    /// `same`, `different`, or whatever else the model wrote.
    pub decision: String,
    pub confidence: f64,
    pub reasoning: String,
}

pub use crate::model::llm::Usage;

/// A call that reached the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// `None`: malformed or schema-violating content ("no opinion").
    pub answer: Option<ModelAnswer>,
    pub usage: Usage,
}

/// A call that failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("transient failure: {reason}")]
    Transient {
        reason: String,
        /// The server's `Retry-After`, in seconds, when it sent one.
        retry_after: Option<Duration>,
        /// The request timed out (counted separately in the metrics).
        timeout: bool,
    },
    #[error("request failed: {0}")]
    Permanent(String),
}

/// The HTTP client with its endpoint and key.
#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    endpoint: String,
    key: ApiKey,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient")
            .field("endpoint", &self.endpoint)
            .field("key", &self.key)
            .finish()
    }
}

impl ChatClient {
    /// `base_url` such as `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    pub fn new(base_url: &str, key: ApiKey) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("event-dedup/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(ChatClient {
            http,
            endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            key,
        })
    }

    /// One request, bounded by `timeout`.
    pub async fn ask(&self, req: &ChatRequest<'_>, timeout: Duration) -> Result<Reply, CallError> {
        let body = json!({
            "model": req.model,
            "temperature": req.temperature,
            "max_tokens": req.max_tokens,
            "messages": [
                {"role": "system", "content": req.system},
                {"role": "user", "content": req.user},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "pair_decision", "strict": true, "schema": answer_schema()},
            },
        });
        let response = self
            .http
            .post(&self.endpoint)
            .bearer_auth(self.key.expose())
            .timeout(timeout)
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(CallError::Transient {
                reason: format!("HTTP {status}"),
                retry_after: retry_after(response.headers()),
                timeout: false,
            });
        }
        if !status.is_success() {
            return Err(CallError::Permanent(format!("HTTP {status}")));
        }
        let value: Value = match response.json().await {
            Ok(v) => v,
            Err(e) if e.is_timeout() => return Err(transport_error(e)),
            // A body that is not JSON at all: no opinion, no usage to count.
            Err(_) => {
                return Ok(Reply {
                    answer: None,
                    usage: Usage::default(),
                })
            }
        };
        Ok(parse_reply(&value))
    }
}

/// The JSON schema of the answer.
fn answer_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["same", "different"]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "reasoning": {"type": "string"},
        },
        "required": ["decision", "confidence", "reasoning"],
        "additionalProperties": false,
    })
}

fn transport_error(e: reqwest::Error) -> CallError {
    // `without_url`: the URL may carry credentials of a local proxy.
    let timeout = e.is_timeout();
    let e = e.without_url();
    CallError::Transient {
        reason: if timeout {
            "request timed out".to_string()
        } else {
            format!("transport error: {e}")
        },
        retry_after: None,
        timeout,
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: the backoff applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Usage and the validated answer of a chat-completions response body.
pub fn parse_reply(body: &Value) -> Reply {
    let tokens = |k: &str| body["usage"][k].as_u64().unwrap_or(0);
    let usage = Usage {
        prompt_tokens: tokens("prompt_tokens"),
        completion_tokens: tokens("completion_tokens"),
    };
    let answer = body["choices"][0]["message"]["content"]
        .as_str()
        .and_then(parse_answer);
    Reply { answer, usage }
}

/// The content as `{decision, confidence, reasoning}`; `None` when it is not JSON or
/// violates the schema (missing field, wrong type, confidence outside [0, 1]).
/// Models sometimes wrap JSON in a Markdown fence; that is tolerated.
pub fn parse_answer(content: &str) -> Option<ModelAnswer> {
    let text = content.trim();
    let text = text
        .strip_prefix("```json")
        .or_else(|| text.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .unwrap_or(text);
    let v: Value = serde_json::from_str(text.trim()).ok()?;
    let decision = v.get("decision")?.as_str()?.trim().to_ascii_lowercase();
    let confidence = v.get("confidence")?.as_f64()?;
    let reasoning = v.get("reasoning")?.as_str()?.to_string();
    if !(0.0..=1.0).contains(&confidence) {
        return None;
    }
    Some(ModelAnswer {
        decision,
        confidence,
        reasoning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_validated() {
        let ok = parse_answer(r#"{"decision": "Same", "confidence": 0.9, "reasoning": "r"}"#);
        assert_eq!(ok.map(|a| a.decision), Some("same".to_string()));
        let fenced = parse_answer(
            "```json\n{\"decision\": \"different\", \"confidence\": 1, \"reasoning\": \"\"}\n```",
        );
        assert!(fenced.is_some());
        for bad in [
            "not json",
            r#"{"decision": "same", "confidence": 1.5, "reasoning": "r"}"#,
            r#"{"decision": "same", "confidence": "high", "reasoning": "r"}"#,
            r#"{"decision": "same", "reasoning": "r"}"#,
            r#"{"decision": 1, "confidence": 0.5, "reasoning": "r"}"#,
        ] {
            assert_eq!(parse_answer(bad), None, "{bad}");
        }
    }

    #[test]
    fn malformed_content_still_counts_tokens() {
        let body = json!({
            "choices": [{"message": {"content": "I think they are the same"}}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 7},
        });
        let reply = parse_reply(&body);
        assert_eq!(reply.answer, None);
        assert_eq!(reply.usage.prompt_tokens, 120);
        assert_eq!(reply.usage.completion_tokens, 7);
    }
}
