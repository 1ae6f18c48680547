//! The leak guard: one function that masks provider keys and credentials in free text.
//!
//! Every log line, error message and upstream error body that leaves a Keyward process goes
//! through [`redact`]. It recognises:
//!
//! - provider keys by shape: OpenAI `sk-…` (`sk-proj-`, `sk-svcacct-`, `sk-admin-`), Anthropic
//!   `sk-ant-…`, Google `AIza…`, AWS access key ids `AKIA…`/`ASIA…`, Perplexity `pplx-…`,
//!   Keyward virtual keys `kw_…`, and JWTs;
//! - credentials by label: `Authorization:` / `Proxy-Authorization:` values, `Bearer <token>`,
//!   `x-api-key:`, `api_key=`, `*_API_KEY=`, `secret`, `password`, `token`,
//!   `aws_secret_access_key`, `client_secret`, … in headers, JSON, YAML, env files and query
//!   strings — which covers Azure OpenAI, Cohere and Mistral keys, whose shapes alone are too
//!   generic; a bare `key` label needs a key-like value (20+ characters, letters and digits,
//!   not a UUID);
//! - URL secrets: `?key=`, `&token=`, `?api_key=`, `?sig=` … and `scheme://user:password@host`.
//!
//! Each secret becomes a marker that keeps only a public provider prefix, e.g.
//! `sk-proj-…[REDACTED]`, `AIza…[REDACTED]` or `[REDACTED]`; labels and surrounding text stay.
//! Redacting already-redacted text changes nothing. Ordinary text — UUIDs, model names such as
//! `gpt-4o-mini`, words like `task-1` — is left alone.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Marker text that replaces a secret.
const REDACTED: &str = "[REDACTED]";

/// Public prefixes kept in front of the marker, most specific first.
const KEPT_PREFIXES: &[&str] = &[
    "sk-svcacct-",
    "sk-admin-",
    "sk-proj-",
    "sk-ant-",
    "pplx-",
    "AIza",
    "AKIA",
    "ASIA",
    "sk-",
    "kw_",
    "eyJ",
];

/// Words that may follow `Authorization:` before the credential.
const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "token", "digest", "apikey", "key"];

/// Labels whose value is always a secret (matched case-insensitively, with any `foo_`/`foo-`/
/// `foo.` prefix such as `OPENAI_API_KEY` or `x-goog-api-key`).
const SECRET_LABELS: &str = r"api[-_]?key|api[-_]?token|access[-_]?token|auth[-_]?token|refresh[-_]?token|session[-_]?token|id[-_]?token|bearer[-_]?token|client[-_]?secret|secret[-_]?access[-_]?key|secret[-_]?key|private[-_]?key|subscription[-_]?key|secret|password|passwd|token";

/// Query-string parameters whose value is a secret.
const QUERY_LABELS: &str = r"key|api[-_]?key|access[-_]?token|auth[-_]?token|token|sig|signature|password|passwd|secret|client[-_]?secret|x-api-key";

/// Separator between a label and its value: optional closing quote, `:` or `=`, optional
/// opening quote.
const SEP: &str = r#"["']?\s*[:=]\s*["']?"#;

/// What a matched rule does with its value group.
#[derive(Clone, Copy)]
enum Rule {
    /// `Authorization:` value; skip a bare scheme word (an already redacted credential).
    Authorization,
    /// A value that is always secret.
    Always,
    /// A value under the generic `key` label: needs letters and digits and must not be a UUID.
    KeyLike,
}

/// Alternatives in priority order (for matches starting at the same position); each has one
/// named group holding the secret. Everything else in the match is kept verbatim.
fn alternatives() -> Vec<(&'static str, Rule, String)> {
    let b = r"(?-u:\b)";
    vec![
        (
            "auth",
            Rule::Authorization,
            format!(
                r#"{b}(?i:(?:proxy-)?authorization){SEP}(?:(?i:bearer|basic|token|digest|apikey|key)\s+)?(?P<auth>[^\s"',;\[\]…]+)"#
            ),
        ),
        (
            "userinfo",
            Rule::Always,
            format!(r#"{b}[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@"'<>]*:(?P<userinfo>[^/\s@"'<>…]+)@"#),
        ),
        (
            "query",
            Rule::Always,
            format!(r#"[?&;](?i:{QUERY_LABELS})=(?P<query>[^&\#\s"'<>…]+)"#),
        ),
        (
            "label",
            Rule::Always,
            format!(
                r#"{b}(?i:(?:[a-z0-9]+[_.\-])*(?:{SECRET_LABELS})){SEP}(?P<label>[^\s"'&,;<>{{}}\[\]…]{{4,}})"#
            ),
        ),
        (
            "key",
            Rule::KeyLike,
            format!(r"{b}(?i:key){SEP}(?P<key>[A-Za-z0-9+/=_\-]{{20,}})"),
        ),
        (
            "bearer",
            Rule::Always,
            format!(r"{b}(?i:bearer)\s+(?P<bearer>[A-Za-z0-9._~+/=\-]{{16,}})"),
        ),
        (
            "anthropic",
            Rule::Always,
            format!(r"(?P<anthropic>{b}sk-ant-[A-Za-z0-9_\-]{{20,}})"),
        ),
        (
            "openai",
            Rule::Always,
            format!(r"(?P<openai>{b}sk-[A-Za-z0-9_\-]{{20,}})"),
        ),
        (
            "google",
            Rule::Always,
            format!(r"(?P<google>{b}AIza[A-Za-z0-9_\-]{{35,}})"),
        ),
        (
            "aws",
            Rule::Always,
            format!(r"(?P<aws>{b}(?:AKIA|ASIA)[A-Z0-9]{{16}}{b})"),
        ),
        (
            "pplx",
            Rule::Always,
            format!(r"(?P<pplx>{b}pplx-[A-Za-z0-9]{{20,}})"),
        ),
        (
            "keyward",
            Rule::Always,
            format!(r"(?P<keyward>{b}kw_[A-Za-z0-9_]{{20,}})"),
        ),
        (
            "jwt",
            Rule::Always,
            format!(
                r"(?P<jwt>{b}eyJ[A-Za-z0-9_\-]{{8,}}\.eyJ[A-Za-z0-9_\-]{{8,}}\.[A-Za-z0-9_\-]*)"
            ),
        ),
    ]
}

struct Redactor {
    regex: Regex,
    rules: Vec<(&'static str, Rule)>,
}

static REDACTOR: LazyLock<Redactor> = LazyLock::new(|| {
    let alternatives = alternatives();
    let pattern = alternatives
        .iter()
        .map(|(_, _, p)| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    Redactor {
        regex: compile(&pattern),
        rules: alternatives
            .into_iter()
            .map(|(name, rule, _)| (name, rule))
            .collect(),
    }
});

#[expect(
    clippy::expect_used,
    reason = "the pattern is a compile-time constant; every unit test compiles it"
)]
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("redaction pattern is valid")
}

/// Masks every provider key and credential in `input` (see the module docs for the list).
///
/// Returns `Cow::Borrowed` when nothing needed masking, so the common case allocates nothing.
#[must_use]
pub fn redact(input: &str) -> Cow<'_, str> {
    let redactor = &*REDACTOR;
    let mut out: Option<String> = None;
    let mut copied_up_to = 0;
    for caps in redactor.regex.captures_iter(input) {
        let Some((value_start, value_end, replacement)) = redactor.replacement(input, &caps) else {
            continue;
        };
        let buf = out.get_or_insert_with(|| String::with_capacity(input.len()));
        buf.push_str(&input[copied_up_to..value_start]);
        buf.push_str(&replacement);
        copied_up_to = value_end;
    }
    match out {
        None => Cow::Borrowed(input),
        Some(mut buf) => {
            buf.push_str(&input[copied_up_to..]);
            Cow::Owned(buf)
        }
    }
}

/// [`redact`] for raw bytes such as an upstream error body: invalid UTF-8 is replaced with
/// U+FFFD first.
#[must_use]
pub fn redact_bytes(input: &[u8]) -> Cow<'_, str> {
    match String::from_utf8_lossy(input) {
        Cow::Borrowed(text) => redact(text),
        Cow::Owned(text) => Cow::Owned(redact(&text).into_owned()),
    }
}

impl Redactor {
    /// The value's byte range and its marker, or `None` when the match is not a secret after all.
    fn replacement(&self, input: &str, caps: &Captures<'_>) -> Option<(usize, usize, String)> {
        let (value, rule) = self
            .rules
            .iter()
            .find_map(|(name, rule)| caps.name(name).map(|m| (m, *rule)))?;
        let text = value.as_str();
        // Already a marker, or the kept prefix of one (`kw_` in `kw_…[REDACTED]`).
        if text.starts_with(REDACTED) || input[value.end()..].starts_with("…") {
            return None;
        }
        let keep = match rule {
            Rule::Always => true,
            Rule::Authorization => !AUTH_SCHEMES.iter().any(|s| text.eq_ignore_ascii_case(s)),
            Rule::KeyLike => {
                text.bytes().any(|c| c.is_ascii_digit())
                    && text.bytes().any(|c| c.is_ascii_alphabetic())
                    && !is_uuid(text)
            }
        };
        keep.then(|| (value.start(), value.end(), marker(text)))
    }
}

/// The marker for one secret: its public prefix, if any, then `…[REDACTED]`.
fn marker(secret: &str) -> String {
    KEPT_PREFIXES
        .iter()
        .find(|prefix| secret.len() > prefix.len() && secret.starts_with(**prefix))
        .map_or_else(
            || REDACTED.to_owned(),
            |prefix| format!("{prefix}…{REDACTED}"),
        )
}

/// `8-4-4-4-12` hexadecimal.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
