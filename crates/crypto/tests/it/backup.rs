use keyward_crypto::{
    Error, KdfParams, Kek, open_with_key, open_with_passphrase, seal_with_key,
    seal_with_passphrase, seal_with_passphrase_params,
};

const FAST: KdfParams = KdfParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};
const EXPORT: &[u8] = br#"[{"provider":"openai","key":"sk-proj-EXPORT-CANARY-123456"}]"#;

#[test]
fn passphrase_blob_round_trip() {
    let blob = seal_with_passphrase_params(b"backup pass", EXPORT, "org-1", FAST).unwrap();
    assert!(!blob.windows(13).any(|w| w == b"EXPORT-CANARY"));
    assert_eq!(
        open_with_passphrase(b"backup pass", &blob, "org-1")
            .unwrap()
            .expose(),
        EXPORT
    );
}

#[test]
fn default_parameters_round_trip() {
    let blob = seal_with_passphrase(b"backup pass", b"small", "org-1").unwrap();
    assert_eq!(
        open_with_passphrase(b"backup pass", &blob, "org-1")
            .unwrap()
            .expose(),
        b"small"
    );
}

#[test]
fn wrong_passphrase_label_or_tampering_fails() {
    let blob = seal_with_passphrase_params(b"backup pass", EXPORT, "org-1", FAST).unwrap();
    assert!(matches!(
        open_with_passphrase(b"backup pasS", &blob, "org-1"),
        Err(Error::Open)
    ));
    assert!(matches!(
        open_with_passphrase(b"backup pass", &blob, "org-2"),
        Err(Error::Open)
    ));
    // Every byte after the format/mode bytes is authenticated (header, salt, nonce, ciphertext).
    // Parameter bytes are skipped: changing them is refused or just derives another key.
    for i in (18..blob.len()).step_by(3) {
        let mut bad = blob.clone();
        bad[i] ^= 0x01;
        assert!(
            open_with_passphrase(b"backup pass", &bad, "org-1").is_err(),
            "byte {i}"
        );
    }
    let mut weaker = blob.clone();
    weaker[13] ^= 0x01; // t_cost 1 -> 0 is invalid; the blob must not open.
    assert!(open_with_passphrase(b"backup pass", &weaker, "org-1").is_err());
}

#[test]
fn two_blobs_of_the_same_data_differ() {
    let a = seal_with_passphrase_params(b"p", EXPORT, "l", FAST).unwrap();
    let b = seal_with_passphrase_params(b"p", EXPORT, "l", FAST).unwrap();
    assert_ne!(a, b);
}

#[test]
fn raw_key_blob_round_trip_and_wrong_key() {
    let key = Kek::generate().unwrap();
    let blob = seal_with_key(&key, EXPORT, "org-1").unwrap();
    assert_eq!(
        open_with_key(&key, &blob, "org-1").unwrap().expose(),
        EXPORT
    );
    assert!(matches!(
        open_with_key(&Kek::generate().unwrap(), &blob, "org-1"),
        Err(Error::Open)
    ));
    for i in 0..blob.len() {
        let mut bad = blob.clone();
        bad[i] ^= 0x80;
        assert!(open_with_key(&key, &bad, "org-1").is_err(), "byte {i}");
    }
}
