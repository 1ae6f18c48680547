//! Credentials of people: passwords, access tokens, refresh tokens, TOTP, and the server keys
//! behind them.

pub mod jwt;
pub mod keys;
pub mod password;
pub mod tokens;
pub mod totp;

pub use keys::Keys;
