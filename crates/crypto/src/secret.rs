//! Containers for plaintext secrets.
//!
//! Both types zero their memory on drop and implement neither `Debug` nor `Display`, so a
//! secret cannot end up in a log line or error message by accident: reading it takes an explicit
//! [`SecretBytes::expose`] / [`SecretString::expose`] call that is easy to grep for.

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Secret bytes (a decrypted provider key, a data key), zeroed on drop.
#[derive(Clone, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`; they are zeroed when this value is dropped.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Adopts an already-zeroizing buffer without copying.
    pub(crate) fn from_zeroizing(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// Copies `bytes` into a new secret. The caller remains responsible for its own copy.
    #[must_use]
    pub fn copy_from(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// The secret content. Every call site is a place where plaintext is handled.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes (not secret).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Converts into a [`SecretString`] without copying.
    ///
    /// # Errors
    /// [`Error::NotUtf8`] when the bytes are not UTF-8; the bytes are zeroed either way.
    pub fn into_secret_string(mut self) -> Result<SecretString> {
        let bytes = std::mem::take(&mut *self.0);
        match String::from_utf8(bytes) {
            Ok(s) => Ok(SecretString::new(s)),
            Err(err) => {
                // Re-wrap so the rejected bytes are zeroed on drop too.
                drop(Zeroizing::new(err.into_bytes()));
                Err(Error::NotUtf8)
            }
        }
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

/// A secret UTF-8 string (a provider API key, a passphrase), zeroed on drop.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Takes ownership of `s`; it is zeroed when this value is dropped.
    #[must_use]
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    /// The secret content. Every call site is a place where plaintext is handled.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes (not secret).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Converts into [`SecretBytes`] without copying.
    #[must_use]
    pub fn into_secret_bytes(mut self) -> SecretBytes {
        SecretBytes::new(std::mem::take(&mut *self.0).into_bytes())
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self::new(s.to_owned())
    }
}

/// Interoperability with configuration types that hold `secrecy::SecretString`.
impl From<&secrecy::SecretString> for SecretString {
    fn from(s: &secrecy::SecretString) -> Self {
        use secrecy::ExposeSecret as _;
        Self::new(s.expose_secret().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_through_string() {
        let s = SecretBytes::copy_from(b"sk-test")
            .into_secret_string()
            .unwrap();
        assert_eq!(s.expose(), "sk-test");
        assert_eq!(s.into_secret_bytes().expose(), b"sk-test");
    }

    #[test]
    fn non_utf8_is_rejected_without_content_in_the_error() {
        let err = SecretBytes::new(vec![0xff, 0xfe, b'x'])
            .into_secret_string()
            .err()
            .unwrap();
        assert!(matches!(err, Error::NotUtf8));
        assert_eq!(err.to_string(), "secret is not valid UTF-8");
    }

    /// Compiles only while `T` implements neither `Debug` nor `Display`: with either impl the
    /// call below becomes ambiguous. Secret types must never be formattable.
    macro_rules! assert_not_formattable {
        ($t:ty) => {{
            trait AmbiguousIfDebug<A> {
                fn check() {}
            }
            impl<T: ?Sized> AmbiguousIfDebug<()> for T {}
            impl<T: ?Sized + std::fmt::Debug> AmbiguousIfDebug<u8> for T {}
            trait AmbiguousIfDisplay<A> {
                fn check() {}
            }
            impl<T: ?Sized> AmbiguousIfDisplay<()> for T {}
            impl<T: ?Sized + std::fmt::Display> AmbiguousIfDisplay<u8> for T {}
            <$t as AmbiguousIfDebug<_>>::check();
            <$t as AmbiguousIfDisplay<_>>::check();
        }};
    }

    #[test]
    fn secret_types_cannot_be_formatted() {
        assert_not_formattable!(SecretBytes);
        assert_not_formattable!(SecretString);
        assert_not_formattable!(crate::Kek);
    }

    #[test]
    fn lengths_are_reported() {
        assert_eq!(SecretString::from("abc").len(), 3);
        assert!(SecretBytes::default().is_empty());
        assert!(!SecretString::from("a").is_empty());
    }

    #[test]
    fn converts_from_secrecy() {
        let outer = secrecy::SecretString::from("pass phrase");
        assert_eq!(SecretString::from(&outer).expose(), "pass phrase");
    }
}
