//! The canary: no validation message and no format error ever contains a secret, or any
//! 8-character piece of one, for any provider and any outcome.

use std::time::Duration;

use keyward_providers::{Provider, ProviderSecret, ValidateOptions, check_format, validate_with};
use keyward_testkit::mock_providers::{KeyKind, MockProviders, fixture_secret};
use secrecy::ExposeSecret;

use crate::client;

/// Every secret value in `secret` (the AWS access key id included).
fn secret_values(secret: &ProviderSecret) -> Vec<String> {
    [
        secret
            .api_key
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        secret
            .aws_secret_access_key
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        secret
            .aws_session_token
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        secret.aws_access_key_id.clone(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[track_caller]
fn assert_no_leak(text: &str, secret: &ProviderSecret, context: &str) {
    for value in secret_values(secret) {
        let value = value.trim();
        assert!(
            !text.contains(value),
            "{context}: `{text}` contains a whole secret"
        );
        let chars: Vec<char> = value.chars().collect();
        for window in chars.windows(8) {
            let piece: String = window.iter().collect();
            assert!(
                !text.contains(&piece),
                "{context}: `{text}` contains `{piece}` of a secret"
            );
        }
    }
}

#[tokio::test]
async fn validation_messages_never_contain_the_secret() {
    let mock = MockProviders::start().await.unwrap();
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    for provider in Provider::ALL {
        for kind in KeyKind::ALL {
            let secret = fixture_secret(provider, kind);
            let live = mock.base_url(provider);
            let dead = format!("http://127.0.0.1:{closed_port}/x");
            for base in [live.as_str(), dead.as_str()] {
                let options = ValidateOptions {
                    base_url: Some(base),
                    timeout: Duration::from_millis(250),
                };
                let result = validate_with(&client(), provider, &secret, options).await;
                let context = format!("{provider:?} {kind:?} {:?}", result.outcome);
                assert_no_leak(&result.message, &secret, &context);
                assert_no_leak(&format!("{result:?}"), &secret, &context);
            }
        }
    }
}

/// Corruptions a key suffers on its way into a form: each must be rejected without echoing it.
fn corruptions(key: &str) -> Vec<String> {
    let half = key.len() / 2;
    vec![
        format!("{key}\n"),
        format!(" {key}"),
        format!("{} {}", &key[..half], &key[half..]),
        format!("\"{key}\""),
        key[..key.len() - 3].to_owned(),
        format!("{key}XYZ"),
        format!("x{}", &key[1..]),
        format!("{key}é"),
    ]
}

#[test]
fn format_errors_never_contain_the_secret() {
    let mut checked = 0;
    for provider in Provider::ALL {
        let good = fixture_secret(provider, KeyKind::Valid);
        let mut cases: Vec<ProviderSecret> = Vec::new();
        if let Some(key) = good.api_key.as_ref().map(|k| k.expose_secret().to_owned()) {
            for bad in corruptions(&key) {
                let mut secret = good.clone();
                secret.api_key = Some(bad.into());
                cases.push(secret);
            }
        }
        if let Some(id) = good.aws_access_key_id.clone() {
            for bad in corruptions(&id) {
                let mut secret = good.clone();
                secret.aws_access_key_id = Some(bad);
                cases.push(secret);
            }
            let key = good
                .aws_secret_access_key
                .as_ref()
                .map(|k| k.expose_secret().to_owned());
            for bad in corruptions(&key.unwrap_or_default()) {
                let mut secret = good.clone();
                secret.aws_secret_access_key = Some(bad.into());
                cases.push(secret);
            }
        }
        for secret in cases {
            // Some corruptions are still well-formed (a longer `sk-…` key); only errors matter.
            if let Err(err) = check_format(provider, &secret) {
                assert_no_leak(&err.to_string(), &secret, &format!("{provider:?}"));
                assert_no_leak(&format!("{err:?}"), &secret, &format!("{provider:?}"));
                checked += 1;
            }
        }
    }
    assert!(checked >= 60, "only {checked} format errors were checked");
}
