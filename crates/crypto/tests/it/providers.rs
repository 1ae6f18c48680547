use std::io::Write as _;

use keyward_crypto::{
    Aad, Error, KdfParams, Kek, KeyProvider, PassphraseKeyProvider, StaticKeyProvider, derive_kek,
    open, seal,
};

const FAST: KdfParams = KdfParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};
const SALT: &[u8] = b"0123456789abcdef";

fn try_key_file(content: &str, mode: u32) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut file = tempfile::NamedTempFile::new()?;
    file.write_all(content.as_bytes())?;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(mode))?;
    Ok(file)
}

#[test]
fn passphrase_provider_is_deterministic_with_the_same_salt() {
    let a = PassphraseKeyProvider::with_params(1, b"correct horse battery", SALT, FAST).unwrap();
    let b = PassphraseKeyProvider::with_params(1, b"correct horse battery", SALT, FAST).unwrap();
    assert_eq!(a.kek(1).unwrap().expose(), b.kek(1).unwrap().expose());
    let aad = Aad::new("o", "k", "openai", 1);
    let sealed = seal(&a, &aad, b"secret").unwrap();
    assert_eq!(open(&b, &aad, &sealed).unwrap().expose(), b"secret");

    let other_salt =
        PassphraseKeyProvider::with_params(1, b"correct horse battery", b"fedcba9876543210", FAST)
            .unwrap();
    assert!(matches!(open(&other_salt, &aad, &sealed), Err(Error::Open)));
    let other_pass = PassphraseKeyProvider::with_params(1, b"wrong horse", SALT, FAST).unwrap();
    assert!(matches!(open(&other_pass, &aad, &sealed), Err(Error::Open)));
}

#[test]
fn passphrase_keks_combine_for_rotation() {
    let old = derive_kek(b"old passphrase", SALT, FAST).unwrap();
    let new = derive_kek(b"new passphrase", SALT, FAST).unwrap();
    let keys = StaticKeyProvider::new([(1, old), (2, new)]).unwrap();
    assert_eq!(keys.current_version(), 2);
}

#[test]
fn kek_from_env_value_list() {
    let k1 = Kek::generate().unwrap();
    let k2 = Kek::generate().unwrap();
    let spec = format!(
        "1:{},2:{}",
        k1.to_base64().expose(),
        k2.to_base64().expose()
    );
    let keys = StaticKeyProvider::parse(&spec).unwrap();
    assert_eq!(keys.versions(), vec![1, 2]);
    assert_eq!(keys.current_version(), 2);
    assert_eq!(keys.kek(1).unwrap().expose(), k1.expose());
    let bare = StaticKeyProvider::parse(k1.to_base64().expose()).unwrap();
    assert_eq!(bare.versions(), vec![1]);
}

#[test]
fn key_file_is_read_when_private() {
    let kek = Kek::generate().unwrap();
    let file = try_key_file(
        &format!("# rotated 2025-01\n3:{}\n", kek.to_base64().expose()),
        0o600,
    )
    .unwrap();
    let keys = StaticKeyProvider::from_file(file.path()).unwrap();
    assert_eq!(keys.versions(), vec![3]);
    assert_eq!(keys.kek(3).unwrap().expose(), kek.expose());
    let group_readable = try_key_file(kek.to_base64().expose(), 0o640).unwrap();
    assert!(StaticKeyProvider::from_file(group_readable.path()).is_ok());
}

#[test]
fn world_accessible_key_file_is_refused_with_a_clear_error() {
    let kek = Kek::generate().unwrap();
    for mode in [0o644, 0o604, 0o602, 0o666] {
        let file = try_key_file(kek.to_base64().expose(), mode).unwrap();
        let err = StaticKeyProvider::from_file(file.path()).err().unwrap();
        let msg = err.to_string();
        assert!(matches!(err, Error::InsecureKeyFile { .. }), "{msg}");
        assert!(
            msg.contains("chmod 600") && msg.contains(&format!("{mode:o}")),
            "{msg}"
        );
        assert!(!msg.contains(kek.to_base64().expose()));
    }
}

#[test]
fn missing_and_invalid_key_files_are_reported() {
    let missing = StaticKeyProvider::from_file(std::path::Path::new("/nonexistent/keyward.kek"));
    assert!(matches!(missing, Err(Error::KeyFileIo { .. })));
    let file = try_key_file("1:tooshort\n", 0o600).unwrap();
    let err = StaticKeyProvider::from_file(file.path()).err().unwrap();
    assert!(matches!(err, Error::KeyConfig(_)));
    assert!(!err.to_string().contains("tooshort"));
}
