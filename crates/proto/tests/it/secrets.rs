use keyward_proto::v1::{ExportKeysRequest, ResolvedKey, SecretMaterial};

#[test]
fn secret_material_never_prints() {
    let canary = "sk-canary-0123456789abcdefghijklmnopqrstuv";
    let material = SecretMaterial {
        api_key: canary.into(),
        aws_secret_access_key: canary.into(),
        ..Default::default()
    };
    let resolved = ResolvedKey {
        secret: Some(material.clone()),
        ..Default::default()
    };
    let export = ExportKeysRequest {
        passphrase: canary.into(),
        ..Default::default()
    };
    for printed in [
        format!("{material:?}"),
        format!("{resolved:?}"),
        format!("{resolved:#?}"),
        format!("{export:?}"),
    ] {
        assert!(!printed.contains(canary), "{printed}");
        assert!(!printed.contains("canary"), "{printed}");
    }
}
