//! Model-name resolution and version selection.

use keyward_pricing::BOOK_PROVIDERS;

use crate::{book, day};

#[test]
fn resolution_order_exact_alias_then_snapshot_prefix() {
    let book = book();
    // exact
    assert_eq!(book.resolve("openai", "gpt-4o"), Some("gpt-4o"));
    // alias
    assert_eq!(
        book.resolve("cohere", "command-r"),
        Some("command-r-08-2024")
    );
    assert_eq!(
        book.resolve("openai", "gpt-4o-2024-11-20"),
        Some("gpt-4o-2024-08-06")
    );
    // longest prefix followed by a numeric snapshot tag
    assert_eq!(
        book.resolve("openai", "o3-mini-2025-01-31"),
        Some("o3-mini")
    );
    assert_eq!(
        book.resolve("openai", "gpt-5.1-2025-11-13"),
        Some("gpt-5.1")
    );
    assert_eq!(
        book.resolve("anthropic", "claude-opus-4-20250514"),
        Some("claude-opus-4")
    );
    assert_eq!(
        book.resolve("anthropic", "claude-3-5-sonnet-20240620"),
        Some("claude-3-5-sonnet")
    );
    assert_eq!(
        book.resolve("gemini", "gemini-2.0-flash-lite-001"),
        Some("gemini-2.0-flash-lite")
    );
    // a prefix through an alias resolves to the alias's model
    assert_eq!(
        book.resolve("anthropic", "claude-opus-4-0-20250514"),
        Some("claude-opus-4")
    );
}

#[test]
fn variants_are_never_guessed() {
    let book = book();
    for (provider, model) in [
        ("openai", "o3-pro"),
        ("openai", "gpt-4o-mini-tts"),
        ("openai", "gpt-4o-realtime-preview-2024-12-17"),
        ("anthropic", "claude-sonnet-4-7"),
        ("anthropic", "claude-sonnet-4-5-fast"),
        ("gemini", "gemini-2.5-flash-preview-09-2025"),
        ("mistral", "mistral-large"),
        ("openai", ""),
    ] {
        assert_eq!(book.resolve(provider, model), None, "{provider}/{model}");
        assert!(
            book.lookup(provider, model, day(2026, 1, 1)).is_none(),
            "{provider}/{model}"
        );
    }
}

#[test]
fn unknown_provider_or_time_before_first_price_is_unpriced() {
    let book = book();
    assert!(
        book.lookup("openai_compatible", "gpt-4o", day(2025, 1, 1))
            .is_none()
    );
    assert!(book.lookup("OpenAI", "gpt-4o", day(2025, 1, 1)).is_none());
    assert!(book.lookup("openai", "gpt-5", day(2025, 8, 6)).is_none());
    assert!(book.lookup("openai", "gpt-5", day(2025, 8, 7)).is_some());
}

#[test]
fn versions_are_ordered_and_lookup_picks_the_latest_in_force() {
    let book = book();
    let versions = book.versions("openai", "o3-2025-04-16");
    assert_eq!(versions.len(), 2);
    assert!(versions[0].effective_from < versions[1].effective_from);
    let before = book
        .lookup("openai", "o3", day(2025, 6, 9))
        .expect("priced");
    let after = book
        .lookup("openai", "o3", day(2030, 1, 1))
        .expect("priced");
    assert_eq!(
        (before.rates.input, after.rates.input),
        (10_000_000, 2_000_000)
    );
    assert_eq!(after.effective_from, day(2025, 6, 10));
}

#[test]
fn every_provider_has_prices_with_sources() {
    let book = book();
    for provider in BOOK_PROVIDERS {
        let entries: Vec<_> = book.entries().filter(|p| p.provider == provider).collect();
        assert!(
            entries.len() >= 5,
            "{provider} has only {} entries",
            entries.len()
        );
        assert!(entries.iter().all(|p| p.source.starts_with("https://")));
    }
}

#[test]
fn unverified_entries_are_flagged() {
    let book = book();
    let opus = book
        .lookup("anthropic", "claude-opus-4-6", day(2026, 3, 1))
        .expect("priced");
    assert!(!opus.is_verified());
    let sonnet = book
        .lookup("anthropic", "claude-sonnet-4-5", day(2026, 3, 1))
        .expect("priced");
    assert!(sonnet.is_verified());
}

#[test]
fn cache_write_durations_are_kept_apart_where_priced_apart() {
    let book = book();
    let haiku = book
        .lookup("anthropic", "claude-haiku-4-5", day(2026, 1, 1))
        .expect("priced");
    assert_eq!(
        (haiku.rates.cache_write_5m, haiku.rates.cache_write_1h),
        (1_250_000, 2_000_000)
    );
    let tier = haiku.long_context;
    assert!(tier.is_none());
    let sonnet = book
        .lookup("anthropic", "claude-sonnet-4", day(2026, 1, 1))
        .expect("priced");
    let tier = sonnet
        .long_context
        .expect("sonnet 4 has a long-context tier");
    assert_eq!(tier.threshold, 200_000);
    assert_eq!(tier.rates.cache_write_1h, 12_000_000);
}
