//! Type checks for single field values, including the "lenient" forms of §3.
//!
//! Every checker takes the raw field (`None` = key absent) and returns the typed
//! value or a human-readable reason; the caller attaches the field path.
//!
//! Invariants:
//! * strings are never coerced from numbers or booleans, and are kept verbatim;
//! * lenient numbers/integers/booleans accept the JSON literal itself or a JSON
//!   string holding it; nothing else;
//! * `null` and an absent key both mean "unknown" for optional fields.

use super::json::Json;

/// Optional string: absent/null → `None`; any other non-string is an error. The
/// reason says "expected a string" (null being allowed goes without saying).
pub fn opt_string(v: Option<&Json>) -> Result<Option<String>, String> {
    match v {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Str(s)) => Ok(Some(s.to_string())),
        Some(other) => Err(expected("a string", other)),
    }
}

/// Required string: absent and null are both errors (empty string is fine).
pub fn req_string(v: Option<&Json>) -> Result<String, String> {
    match v {
        None => Err("missing required field".to_string()),
        Some(Json::Str(s)) => Ok(s.to_string()),
        Some(other) => Err(expected("a string", other)),
    }
}

/// Optional list of strings; reports the first offending element by index so
/// the path points at it (`categories.2`).
pub fn opt_string_list(v: Option<&Json>) -> Result<Option<Vec<String>>, (Option<usize>, String)> {
    let items = match v {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::Array(items)) => items,
        Some(other) => return Err((None, expected("an array of strings or null", other))),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Json::Str(s) => out.push(s.to_string()),
            other => return Err((Some(i), expected("a string", other))),
        }
    }
    Ok(Some(out))
}

/// Lenient boolean of §3.4.
pub fn opt_bool(v: Option<&Json>) -> Result<Option<bool>, String> {
    let found = match v {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::Bool(b)) => Some(*b),
        Some(Json::Number(n)) => bool_from_number(n.as_f64()),
        Some(Json::Str(s)) => bool_from_str(s),
        Some(_) => None,
    };
    match (found, v) {
        (Some(b), _) => Ok(Some(b)),
        (None, Some(other)) => Err(expected(
            "a boolean (true/false, 1/0, yes/no, on/off, t/f, y/n) or null",
            other,
        )),
        (None, None) => Ok(None),
    }
}

fn bool_from_number(n: Option<f64>) -> Option<bool> {
    let x = n?;
    if x == 1.0 {
        Some(true)
    } else if x == 0.0 {
        Some(false)
    } else {
        None
    }
}

fn bool_from_str(s: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["true", "t", "yes", "y", "on", "1"];
    const FALSE: [&str; 6] = ["false", "f", "no", "n", "off", "0"];
    if TRUE.iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| s.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// Lenient number. A string is parsed as a decimal literal; the result may be
/// non-finite (`"NaN"`, `"inf"`) so callers decide whether that is an error
/// (plain fields) or a reason to drop data (geo).
pub fn opt_number_raw(v: Option<&Json>) -> Result<Option<f64>, String> {
    match v {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("number {n} is not representable")),
        Some(Json::Str(s)) => s
            .parse::<f64>()
            .map(Some)
            .map_err(|_| expected("a number or null", &Json::Str(s.clone()))),
        Some(other) => Err(expected("a number or null", other)),
    }
}

/// Lenient number that must be finite.
pub fn opt_number(v: Option<&Json>) -> Result<Option<f64>, String> {
    match opt_number_raw(v)? {
        Some(x) if !x.is_finite() => Err(format!("{} is not a finite number", describe(v))),
        other => Ok(other),
    }
}

/// Lenient integer: a JSON integer, an integral float (`3.0`) or a string
/// holding a decimal integer (`"3"`), all within `i64`.
pub fn opt_int(v: Option<&Json>) -> Result<Option<i64>, String> {
    match v {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => int_from_number(n).map(Some),
        Some(Json::Str(s)) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| expected("an integer or null", &Json::Str(s.clone()))),
        Some(other) => Err(expected("an integer or null", other)),
    }
}

/// Largest magnitude below which every integral f64 converts exactly to i64.
const I64_SAFE_F64: f64 = 9_223_372_036_854_774_784.0;

fn int_from_number(n: &serde_json::Number) -> Result<i64, String> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    if n.is_u64() {
        return Err(format!("number {n} is out of the integer range"));
    }
    match n.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() <= I64_SAFE_F64 => Ok(x as i64),
        _ => Err(format!("expected an integer, got number {n}")),
    }
}

/// `expected <what>, got <description>` reason text.
pub fn expected(what: &str, got: &Json) -> String {
    format!("expected {what}, got {}", got.describe())
}

fn describe(v: Option<&Json>) -> String {
    v.map_or_else(|| "missing".to_string(), Json::describe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(text: &str) -> Json<'_> {
        Json::parse(text).unwrap()
    }

    #[test]
    fn lenient_bool_table() {
        let trues = [
            "true",
            "1",
            "1.0",
            r#""true""#,
            r#""TRUE""#,
            r#""t""#,
            r#""Yes""#,
            r#""y""#,
            r#""ON""#,
            r#""1""#,
        ];
        let falses = [
            "false",
            "0",
            "0.0",
            "-0.0",
            r#""false""#,
            r#""F""#,
            r#""no""#,
            r#""N""#,
            r#""Off""#,
            r#""0""#,
        ];
        for t in trues {
            assert_eq!(opt_bool(Some(&j(t))), Ok(Some(true)), "{t}");
        }
        for f in falses {
            assert_eq!(opt_bool(Some(&j(f))), Ok(Some(false)), "{f}");
        }
        assert_eq!(opt_bool(Some(&j("null"))), Ok(None));
        assert_eq!(opt_bool(None), Ok(None));
        let bad = [
            "2",
            "0.5",
            "-1",
            r#""""#,
            r#""ja""#,
            r#"" yes""#,
            r#""1.0""#,
            "[]",
            "{}",
            r#"[true]"#,
        ];
        for b in bad {
            assert!(opt_bool(Some(&j(b))).is_err(), "{b} should be rejected");
        }
    }

    #[test]
    fn strings_are_never_coerced() {
        assert_eq!(
            opt_string(Some(&j(r#"" x ""#))),
            Ok(Some(" x ".to_string()))
        );
        assert_eq!(
            opt_string(Some(&j("79341"))),
            Err("expected a string, got number 79341".to_string())
        );
        assert!(opt_string(Some(&j("true"))).is_err());
        assert_eq!(req_string(Some(&j(r#""""#))), Ok(String::new()));
        assert_eq!(req_string(None), Err("missing required field".to_string()));
        assert_eq!(
            req_string(Some(&j("null"))),
            Err("expected a string, got null".to_string())
        );
        assert_eq!(
            req_string(Some(&j("17"))),
            Err("expected a string, got number 17".to_string())
        );
    }

    #[test]
    fn string_lists_point_at_bad_element() {
        assert_eq!(
            opt_string_list(Some(&j(r#"["a","b"]"#))),
            Ok(Some(vec!["a".into(), "b".into()]))
        );
        assert_eq!(opt_string_list(Some(&j("[]"))), Ok(Some(vec![])));
        assert_eq!(opt_string_list(Some(&j("null"))), Ok(None));
        assert_eq!(
            opt_string_list(Some(&j(r#"["a",3]"#))).unwrap_err().0,
            Some(1)
        );
        let (at, why) = opt_string_list(Some(&j(r#""markt""#))).unwrap_err();
        assert_eq!(at, None);
        assert!(why.contains("got string \"markt\""), "{why}");
    }

    #[test]
    fn lenient_numbers() {
        assert_eq!(opt_number(Some(&j("48.1"))), Ok(Some(48.1)));
        assert_eq!(opt_number(Some(&j(r#""48.1""#))), Ok(Some(48.1)));
        assert_eq!(opt_number(Some(&j("7"))), Ok(Some(7.0)));
        assert_eq!(opt_number(Some(&j("null"))), Ok(None));
        assert!(opt_number(Some(&j(r#""NaN""#))).is_err());
        assert!(opt_number(Some(&j(r#""inf""#))).is_err());
        assert!(opt_number(Some(&j(r#""abc""#))).is_err());
        assert!(opt_number(Some(&j(r#""""#))).is_err());
        assert!(opt_number(Some(&j("true"))).is_err());
        assert!(opt_number_raw(Some(&j(r#""NaN""#)))
            .unwrap()
            .unwrap()
            .is_nan());
    }

    #[test]
    fn lenient_integers() {
        assert_eq!(opt_int(Some(&j("3"))), Ok(Some(3)));
        assert_eq!(opt_int(Some(&j("3.0"))), Ok(Some(3)));
        assert_eq!(opt_int(Some(&j(r#""3""#))), Ok(Some(3)));
        assert_eq!(opt_int(Some(&j("-2"))), Ok(Some(-2)));
        assert_eq!(opt_int(Some(&j("null"))), Ok(None));
        assert!(opt_int(Some(&j("3.5"))).is_err());
        assert!(opt_int(Some(&j(r#""3.5""#))).is_err());
        assert!(opt_int(Some(&j("18446744073709551615"))).is_err());
        assert!(opt_int(Some(&j("1e300"))).is_err());
        assert!(opt_int(Some(&j("false"))).is_err());
    }
}
