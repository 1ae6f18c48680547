use keyward_crypto::{Aad, Error, Kek, KeyProvider, Sealed, StaticKeyProvider, open, rewrap, seal};

const SECRET: &[u8] = b"sk-proj-THIS-IS-THE-PLAINTEXT-CANARY-0123456789";

fn try_keys(versions: &[u32]) -> Result<StaticKeyProvider, Error> {
    let keks = versions
        .iter()
        .map(|v| Ok((*v, Kek::generate()?)))
        .collect::<Result<Vec<_>, Error>>()?;
    StaticKeyProvider::new(keks)
}

fn row() -> Aad<'static> {
    Aad::new("org-1", "key-1", "openai", 1)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn round_trip() {
    let keys = try_keys(&[1]).unwrap();
    for plaintext in [&b""[..], b"x", SECRET, &[0u8; 4096]] {
        let sealed = seal(&keys, &row(), plaintext).unwrap();
        assert_eq!(open(&keys, &row(), &sealed).unwrap().expose(), plaintext);
        let restored = Sealed::from_bytes(&sealed.to_bytes()).unwrap();
        assert_eq!(open(&keys, &row(), &restored).unwrap().expose(), plaintext);
        let from_columns = Sealed::from_parts(
            sealed.ciphertext.clone(),
            &sealed.nonce,
            &sealed.wrapped_dek,
            &sealed.dek_nonce,
            sealed.kek_version,
        )
        .unwrap();
        assert_eq!(from_columns, sealed);
    }
}

#[test]
fn records_moved_to_another_row_never_open() {
    let keys = try_keys(&[1]).unwrap();
    let rows = [
        Aad::new("org-1", "key-1", "openai", 1),
        Aad::new("org-2", "key-1", "openai", 1),
        Aad::new("org-1", "key-2", "openai", 1),
        Aad::new("org-1", "key-1", "anthropic", 1),
        Aad::new("org-1", "key-1", "openai", 2),
        Aad::new("org-1|key-1", "", "openai", 1),
    ];
    let sealed: Vec<Sealed> = rows
        .iter()
        .map(|aad| seal(&keys, aad, SECRET).unwrap())
        .collect();
    for (i, record) in sealed.iter().enumerate() {
        for (j, aad) in rows.iter().enumerate() {
            let result = open(&keys, aad, record);
            if i == j {
                assert!(result.is_ok());
            } else {
                assert!(
                    matches!(result, Err(Error::Open)),
                    "record {i} opened as row {j}"
                );
            }
        }
    }
    // Swapping parts between two rows fails too: ciphertext of one with the DEK of the other.
    let (a, b) = (&sealed[0], &sealed[1]);
    let spliced = Sealed {
        ciphertext: b.ciphertext.clone(),
        nonce: b.nonce,
        ..a.clone()
    };
    assert!(matches!(open(&keys, &rows[0], &spliced), Err(Error::Open)));
    assert!(matches!(open(&keys, &rows[1], &spliced), Err(Error::Open)));
    let spliced = Sealed {
        wrapped_dek: b.wrapped_dek,
        dek_nonce: b.dek_nonce,
        ..a.clone()
    };
    assert!(matches!(open(&keys, &rows[0], &spliced), Err(Error::Open)));
    assert!(matches!(open(&keys, &rows[1], &spliced), Err(Error::Open)));
}

#[test]
fn every_single_byte_flip_fails() {
    let keys = try_keys(&[1]).unwrap();
    let sealed = seal(&keys, &row(), SECRET).unwrap();
    let mut tried = 0;
    for bit in [0x01u8, 0x80, 0xff] {
        for i in 0..sealed.ciphertext.len() {
            let mut bad = sealed.clone();
            bad.ciphertext[i] ^= bit;
            assert!(
                matches!(open(&keys, &row(), &bad), Err(Error::Open)),
                "ciphertext[{i}]"
            );
            tried += 1;
        }
        for i in 0..sealed.nonce.len() {
            let mut bad = sealed.clone();
            bad.nonce[i] ^= bit;
            assert!(
                matches!(open(&keys, &row(), &bad), Err(Error::Open)),
                "nonce[{i}]"
            );
            tried += 1;
        }
        for i in 0..sealed.wrapped_dek.len() {
            let mut bad = sealed.clone();
            bad.wrapped_dek[i] ^= bit;
            assert!(
                matches!(open(&keys, &row(), &bad), Err(Error::Open)),
                "wrapped_dek[{i}]"
            );
            tried += 1;
        }
        for i in 0..sealed.dek_nonce.len() {
            let mut bad = sealed.clone();
            bad.dek_nonce[i] ^= bit;
            assert!(
                matches!(open(&keys, &row(), &bad), Err(Error::Open)),
                "dek_nonce[{i}]"
            );
            tried += 1;
        }
    }
    assert_eq!(tried, 3 * (SECRET.len() + 16 + 12 + 48 + 12));
    // Truncation and extension fail the same way.
    let mut short = sealed.clone();
    short.ciphertext.pop();
    assert!(matches!(open(&keys, &row(), &short), Err(Error::Open)));
    let mut long = sealed.clone();
    long.ciphertext.push(0);
    assert!(matches!(open(&keys, &row(), &long), Err(Error::Open)));
    // The untouched record still opens: the failures above came from the flips.
    assert!(open(&keys, &row(), &sealed).is_ok());
}

#[test]
fn wrong_kek_fails_with_the_same_error() {
    let sealed = seal(&try_keys(&[1]).unwrap(), &row(), SECRET).unwrap();
    let other = try_keys(&[1]).unwrap();
    let err = open(&other, &row(), &sealed).err().unwrap();
    assert!(matches!(err, Error::Open));
    assert!(!err.to_string().contains("org-1"));
}

#[test]
fn rewrap_to_a_new_version_opens_and_is_idempotent() {
    let v1 = Kek::generate().unwrap();
    let v2 = Kek::generate().unwrap();
    let before = StaticKeyProvider::new([(1, v1.clone())]).unwrap();
    let sealed = seal(&before, &row(), SECRET).unwrap();
    assert_eq!(sealed.kek_version, 1);

    let during = StaticKeyProvider::new([(1, v1), (2, v2.clone())]).unwrap();
    assert_eq!(during.current_version(), 2);
    let moved = rewrap(&during, &row(), &sealed, 2).unwrap();
    assert_eq!(moved.kek_version, 2);
    assert_eq!(moved.ciphertext, sealed.ciphertext);
    assert_eq!(moved.nonce, sealed.nonce);
    assert_ne!(moved.wrapped_dek, sealed.wrapped_dek);
    assert_eq!(open(&during, &row(), &moved).unwrap().expose(), SECRET);

    // Idempotent: rewrapping again changes nothing.
    assert_eq!(rewrap(&during, &row(), &moved, 2).unwrap(), moved);

    // After version 1 is retired the rewrapped record still opens; the old one does not.
    let after = StaticKeyProvider::new([(2, v2)]).unwrap();
    assert_eq!(open(&after, &row(), &moved).unwrap().expose(), SECRET);
    assert!(matches!(
        open(&after, &row(), &sealed),
        Err(Error::UnknownKekVersion(1))
    ));
}

#[test]
fn rewrap_refuses_bad_records_and_rows() {
    let keys = try_keys(&[1, 2]).unwrap();
    let sealed = seal(&keys, &row(), SECRET).unwrap();
    let other_row = Aad::new("org-2", "key-1", "openai", 1);
    assert!(matches!(
        rewrap(&keys, &other_row, &sealed, 1),
        Err(Error::Open)
    ));
    assert!(matches!(
        rewrap(&keys, &other_row, &sealed, 2),
        Err(Error::Open)
    ));
    let mut corrupt = sealed.clone();
    corrupt.ciphertext[0] ^= 1;
    assert!(matches!(
        rewrap(&keys, &row(), &corrupt, 1),
        Err(Error::Open)
    ));
    assert!(matches!(
        rewrap(&keys, &row(), &sealed, 9),
        Err(Error::UnknownKekVersion(9))
    ));
}

#[test]
fn stored_bytes_never_contain_the_plaintext() {
    let keys = try_keys(&[1]).unwrap();
    let sealed = seal(&keys, &row(), SECRET).unwrap();
    let stored = sealed.to_bytes();
    assert!(!contains(&stored, SECRET));
    assert!(!contains(&stored, &SECRET[8..24]));
    assert!(!contains(&stored, keys.kek(1).unwrap().expose()));
    assert!(!format!("{sealed:?}").contains("CANARY"));
}
