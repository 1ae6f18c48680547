//! Integration tests of `keyward-crypto`'s public API: the behaviour the vault relies on.

mod backup;
mod envelope;
mod providers;
mod redaction;
