//! A small local scrubber for upstream error text quoted in validation messages.
//!
//! Providers sometimes echo (part of) the key they rejected — OpenAI's "Incorrect API key
//! provided: sk-proj-****…wxyz" — so nothing from an upstream body reaches a message without going
//! through here. It applies the platform-wide [`keyward_crypto::redact`] and, on top, removes the
//! exact secret values of the key being checked and any long random-looking token (which also
//! drops request ids: upstream text quoted here is for humans, not for correlation).

/// How many characters of upstream text a message may quote.
pub(crate) const MAX_UPSTREAM_CHARS: usize = 200;

/// The same marker `keyward_crypto::redact` uses.
const REDACTED: &str = "[REDACTED]";

/// Removes the given secrets and anything that looks like a credential, then caps the length.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    scrub_with(text, secrets, MAX_UPSTREAM_CHARS, true)
}

/// How many characters of an upstream error message a proxied client may see.
pub(crate) const MAX_CLIENT_CHARS: usize = 2000;

/// For upstream error messages relayed to API clients: removes the given secrets, key-shaped
/// and masked tokens and everything [`keyward_crypto::redact`] recognises, but keeps long
/// identifiers such as dated model names (`claude-3-5-sonnet-20240620`), which a client needs
/// to understand the error.
pub(crate) fn scrub_for_client(text: &str, secrets: &[&str]) -> String {
    scrub_with(text, secrets, MAX_CLIENT_CHARS, false)
}

fn scrub_with(text: &str, secrets: &[&str], max_chars: usize, random_tokens: bool) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, REDACTED);
    }
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    for c in text.chars() {
        if is_token_char(c) {
            token.push(c);
        } else {
            push_token(&mut out, &token, random_tokens);
            token.clear();
            out.push(if c.is_control() { ' ' } else { c });
        }
    }
    push_token(&mut out, &token, random_tokens);
    let out = keyward_crypto::redact(out.trim());
    truncate(&out, max_chars)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '=' | '*')
}

fn push_token(out: &mut String, token: &str, random_tokens: bool) {
    if looks_like_credential(token, random_tokens) {
        out.push_str(REDACTED);
    } else {
        out.push_str(token);
    }
}

fn looks_like_credential(token: &str, random_tokens: bool) -> bool {
    const PREFIXES: [&str; 8] = ["sk-", "sk_", "AIza", "AKIA", "ASIA", "pplx-", "kw_", "ABSK"];
    let len = token.chars().count();
    if len >= 8 && PREFIXES.iter().any(|p| token.starts_with(p)) {
        return true;
    }
    // A masked key ("sk-abc****wxyz") still reveals its ends.
    if len >= 8 && token.contains('*') {
        return true;
    }
    if !random_tokens {
        return false;
    }
    // Long random-looking runs: 84-character Azure keys, 40-character Cohere keys, 32-character
    // Mistral keys, hex request ids. Words and URL paths have no digits mixed in.
    let has_digit = token.chars().any(|c| c.is_ascii_digit());
    let has_alpha = token.chars().any(|c| c.is_ascii_alphabetic());
    len >= 16 && has_digit && has_alpha
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_exact_secrets_masked_keys_and_key_like_tokens() {
        let secret = "Xq9Zt4Lm2Pw8Rv6Ny3Kb7Hc5Dj1Fg0Sa";
        let text = format!(
            "Incorrect API key provided: sk-proj-********wxyz. Also {secret} and AIzaSyA1b2C3d4E5f6. \
             See https://platform.openai.com/account/api-keys."
        );
        let out = scrub(&text, &[secret]);
        assert!(!out.contains(secret), "{out}");
        assert!(!out.contains("wxyz"), "{out}");
        assert!(!out.contains("AIzaSy"), "{out}");
        assert!(
            out.contains("Incorrect API key provided: [REDACTED]"),
            "{out}"
        );
        assert!(
            out.contains("https://platform.openai.com/account/api-keys"),
            "{out}"
        );
    }

    #[test]
    fn client_messages_keep_model_names_but_not_keys() {
        let out = scrub_for_client(
            "model claude-3-5-sonnet-20240620 not found for key sk-ant-api03-FAKEabcdefghijklmnopqrstuvwxyz \
             (sk-proj-********wxyz)",
            &[],
        );
        assert!(out.contains("claude-3-5-sonnet-20240620"), "{out}");
        assert!(!out.contains("abcdefghij"), "{out}");
        assert!(!out.contains("wxyz"), "{out}");
    }

    #[test]
    fn keeps_ordinary_messages_and_caps_length() {
        assert_eq!(scrub("invalid x-api-key", &[]), "invalid x-api-key");
        let long = "a ".repeat(500);
        let out = scrub(&long, &[]);
        assert!(out.chars().count() <= MAX_UPSTREAM_CHARS + 1);
        assert!(out.ends_with('…'));
        assert_eq!(scrub("line\nbreak", &[]), "line break");
    }
}
