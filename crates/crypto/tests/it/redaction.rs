use std::borrow::Cow;

use keyward_crypto::{fingerprint, mask_last4, redact, redact_bytes};

#[test]
fn canary_keys_never_survive_redaction() {
    let canaries = [
        "sk-CANARYcanaryCANARYcanaryCANARY0001",
        "sk-proj-CANARYcanaryCANARYcanary_CANARY-0002",
        "sk-ant-api03-CANARYcanaryCANARYcanaryCANARY0003",
        "AIzaCANARYcanaryCANARYcanaryCANARY00004",
        "AKIACANARY0000000005",
        "pplx-CANARYcanaryCANARYcanary0006",
        "kw_CANARYcanaryCANARYcanaryCANARY0007",
    ];
    for canary in canaries {
        for template in [
            "{}",
            "key {} end",
            "Authorization: Bearer {}",
            "x-api-key: {}",
            "{\"api_key\":\"{}\"}",
            "https://api.example.com/v1?key={}&x=1",
            "https://user:{}@example.com/",
        ] {
            let text = template.replace("{}", canary);
            let out = redact(&text);
            assert!(
                !out.contains("CANARY") && !out.contains("canary"),
                "{text} -> {out}"
            );
        }
    }
}

#[test]
fn plain_log_lines_are_not_copied() {
    let line = "vault: opened key 0190c8a2-7b3e-7c4d-9e5f-0a1b2c3d4e5f for model gpt-4o-mini";
    assert!(matches!(redact(line), Cow::Borrowed(_)));
    assert!(matches!(redact_bytes(line.as_bytes()), Cow::Borrowed(_)));
}

#[test]
fn display_helpers_hide_the_key() {
    let key = "sk-proj-CANARYcanaryCANARYcanary_CANARY-wxyz";
    assert_eq!(mask_last4(key), "sk-proj-…wxyz");
    assert!(!fingerprint(key.as_bytes()).contains("CANARY"));
    assert_eq!(fingerprint(key.as_bytes()), fingerprint(key.as_bytes()));
}

#[test]
fn large_bodies_are_scanned_whole() {
    let line =
        "2025-01-01T00:00:00Z info request 0190c8a2-7b3e-7c4d-9e5f-0a1b2c3d4e5f model=gpt-4o ok\n";
    let mut body = line.repeat(4096);
    assert!(matches!(redact(&body), Cow::Borrowed(_)));
    body.push_str("trailing Authorization: Bearer kw_CANARYcanaryCANARYcanary0008\n");
    let out = redact(&body);
    assert!(!out.contains("CANARY") && out.ends_with("Bearer kw_…[REDACTED]\n"));
}
