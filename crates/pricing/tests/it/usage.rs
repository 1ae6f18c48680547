//! Normalizing provider usage and extreme inputs.

use keyward_pricing::{Usage, cost_micros};

use crate::{book, day, u};

#[test]
fn openai_usage_splits_cached_and_reasoning_tokens() {
    assert_eq!(
        Usage::from_openai(1_000, 300, 500, 200),
        u(700, 300, 0, 0, 300, 200)
    );
}

#[test]
fn openai_parts_larger_than_their_whole_are_clamped() {
    // A malformed report can never make Keyward bill more tokens than were reported.
    assert_eq!(Usage::from_openai(100, 250, 10, 40), u(0, 100, 0, 0, 0, 10));
}

#[test]
fn anthropic_usage_maps_one_to_one() {
    assert_eq!(Usage::from_anthropic(1, 2, 3, 4, 5), u(1, 2, 3, 4, 5, 0));
    assert_eq!(Usage::from_anthropic(1, 2, 3, 4, 5).prompt_tokens(), 10);
}

#[test]
fn gemini_usage_removes_cached_from_prompt() {
    assert_eq!(
        Usage::from_gemini(1_000, 400, 50, 70),
        u(600, 400, 0, 0, 50, 70)
    );
    assert_eq!(Usage::from_gemini(10, 40, 0, 0), u(0, 10, 0, 0, 0, 0));
}

#[test]
fn huge_counts_saturate_instead_of_overflowing() {
    let book = book();
    let price = book
        .lookup("anthropic", "claude-opus-4-1", day(2025, 9, 1))
        .expect("priced");
    let max = u64::MAX;
    let usage = u(max, max, max, max, max, max);
    assert_eq!(usage.prompt_tokens(), u64::MAX);
    assert_eq!(cost_micros(price, &usage), i64::MAX);
}

#[test]
fn usage_round_trips_through_serde_names() {
    let usage = u(1, 2, 3, 4, 5, 6);
    let text = toml::to_string(&usage).expect("serializes");
    assert!(text.contains("cache_write_1h_tokens = 4"), "{text}");
    assert_eq!(toml::from_str::<Usage>(&text).expect("parses"), usage);
}
