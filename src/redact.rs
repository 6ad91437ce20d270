//! Masking of secrets in text that is logged: database URLs, connection strings and
//! other URLs taken from `EVENT_DEDUP_*` settings.
//!
//! Role: the one place that knows what a secret looks like in such text, so every log
//! record and settings error masks the same things.
//!
//! Masked (replaced by `***`):
//! * the password of a URL's user part (`postgres://user:secret@host/db`);
//! * the value of every password-like parameter, in a URL's query string
//!   (`?password=…`, `?sslpassword=…`, `?api_key=…`) and in a libpq key-value string
//!   (`host=db password='a b'`).
//!
//! Invariant: masking never fails and never reveals more than the input minus the
//! secrets; text it does not understand is returned with every password-like
//! parameter it can find masked.

/// The replacement of a secret.
pub const MASK: &str = "***";

/// Parameter names (lower case) whose values are secrets: anything that names a
/// password, token, key, secret or credential.
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "auth",
        "credential",
    ]
    .iter()
    .any(|part| name.contains(part))
}

/// `url` (a URL or a libpq key-value connection string) with every secret masked.
pub fn redact_url(url: &str) -> String {
    if url.contains("://") {
        redact_url_form(url)
    } else {
        redact_key_values(url)
    }
}

/// `scheme://user:pw@host/path?k=v#frag`: the user part's password and secret query
/// values.
fn redact_url_form(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = before_query.find("://").map_or(0, |i| i + 3);
    let rest = &before_query[scheme_end..];
    let mut out = String::with_capacity(url.len());
    out.push_str(&before_query[..scheme_end]);
    match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(MASK);
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&rest[at..]);
        }
        None => out.push_str(rest),
    }
    if let Some(query) = query {
        let (query, fragment) = match query.split_once('#') {
            Some((q, f)) => (q, Some(f)),
            None => (query, None),
        };
        out.push('?');
        let pairs: Vec<String> = query.split('&').map(redact_query_pair).collect();
        out.push_str(&pairs.join("&"));
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(fragment);
        }
    }
    out
}

fn redact_query_pair(pair: &str) -> String {
    match pair.split_once('=') {
        Some((key, _)) if is_secret_name(&percent_decode(key)) => format!("{key}={MASK}"),
        _ => pair.to_string(),
    }
}

/// Decodes `%XX` escapes (and `+`) of a query key, so `pass%77ord` is recognised.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// libpq's `key=value key2='quoted value'` form: secret values become `***`.
fn redact_key_values(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The key, up to `=` or whitespace.
        let key_start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect();
        out.push_str(&key);
        // Spaces and the `=`.
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == '=') {
            let was_equals = chars[i] == '=';
            out.push(chars[i]);
            i += 1;
            if was_equals {
                break;
            }
        }
        while i < chars.len() && chars[i].is_whitespace() {
            out.push(chars[i]);
            i += 1;
        }
        // The value: quoted (backslash escapes) or up to whitespace.
        let value_start = i;
        if chars.get(i) == Some(&'\'') {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
        }
        if is_secret_name(&key) && i > value_start {
            out.push_str(MASK);
        } else {
            out.extend(&chars[value_start..i.min(chars.len())]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_part_password_is_masked() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/events"),
            "postgres://u:***@db:5432/events"
        );
        assert_eq!(
            redact_url("postgres://u@db/events"),
            "postgres://u@db/events"
        );
        assert_eq!(redact_url("postgres://db/events"), "postgres://db/events");
    }

    #[test]
    fn password_like_query_parameters_are_masked() {
        let shown = redact_url(
            "postgres://u@db/ev?sslmode=require&password=hunter2&sslpassword=x%20y&pass%77ord=z",
        );
        assert_eq!(
            shown,
            "postgres://u@db/ev?sslmode=require&password=***&sslpassword=***&pass%77ord=***"
        );
        assert_eq!(
            redact_url("https://llm.example/v1?api-key=sk-1&deployment=x#top"),
            "https://llm.example/v1?api-key=***&deployment=x#top"
        );
        let both = redact_url("postgres://u:one@db/ev?PASSWORD=two");
        assert!(!both.contains("one") && !both.contains("two"), "{both}");
    }

    #[test]
    fn key_value_connection_strings_are_masked() {
        assert_eq!(
            redact_url("host=db user=u password=hunter2 dbname=ev"),
            "host=db user=u password=*** dbname=ev"
        );
        let quoted = redact_url("host=db password = 'a \\' b' dbname=ev");
        assert_eq!(quoted, "host=db password = *** dbname=ev");
        assert_eq!(redact_url("password="), "password=");
    }
}
