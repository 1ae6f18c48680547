//! Worst-case estimates for budget reservations.

use keyward_pricing::{Adjustment, PriceOverride, max_cost_micros};

use crate::{book, day};

#[test]
fn golden_reservations_round_up() {
    let book = book();
    // (case, provider, model, est input, max output, expected)
    let cases = [
        // prompt rate max(2_500_000, 1_250_000, cache writes = input) = 2_500_000; output 10_000_000:
        // 1_000×2_500_000 + 1_000×10_000_000 = 1.25e10 → 12_500 exactly
        ("exact", "openai", "gpt-4o", 1_000, 1_000, 12_500),
        // 1×100_000 = 100_000 → 0.1 → rounds up to 1
        ("rounds up", "openai", "gpt-4.1-nano", 1, 0, 1),
        // worst prompt rate is the 1h cache write 6_000_000:
        // 1_001×6_000_000 + 3×15_000_000 = 6.006e9 + 4.5e7 = 6.051e9 → 6_051
        (
            "prompt at the 1h write rate",
            "anthropic",
            "claude-sonnet-4-5",
            1_001,
            3,
            6_051,
        ),
        // completion at max(output 8_000_000, reasoning 3_000_000):
        // 1_000×2_000_000 + 1_000×8_000_000 = 1e10 → 10_000
        (
            "completion at the higher rate",
            "perplexity",
            "sonar-deep-research",
            1_000,
            1_000,
            10_000,
        ),
        // 300_000 > 200_000 → tier: 300_000×2_500_000 + 1_000×15_000_000 = 7.5e11 + 1.5e10 = 7.65e11 → 765_000
        (
            "long-context tier",
            "gemini",
            "gemini-2.5-pro",
            300_000,
            1_000,
            765_000,
        ),
        // 100×1_000_000 + 100×1_000_000 + fee 5_000 (5e9) = 5.2e9 → 5_200
        (
            "request fee included",
            "perplexity",
            "sonar",
            100,
            100,
            5_200,
        ),
    ];
    for (case, provider, model, input, output, expected) in cases {
        let price = book
            .lookup(provider, model, day(2026, 1, 1))
            .expect("priced");
        assert_eq!(max_cost_micros(price, input, output), expected, "{case}");
    }
}

#[test]
fn discounted_reservation_still_rounds_up() {
    let org = book()
        .with_overrides(&[PriceOverride {
            provider: "openai".into(),
            model: "*".into(),
            effective_from: day(2025, 1, 1),
            adjustment: Adjustment::DiscountBps(2_500),
        }])
        .expect("valid");
    let price = org
        .lookup("openai", "gpt-4.1-nano", day(2025, 6, 1))
        .expect("priced");
    // 6×100_000 = 600_000; ×7_500 = 4.5e9; ÷1e10 = 0.45 → up to 1
    assert_eq!(max_cost_micros(price, 6, 0), 1);
}

#[test]
fn reservation_covers_any_actual_cost() {
    let book = book();
    let price = book
        .lookup("anthropic", "claude-opus-4-1", day(2025, 9, 1))
        .expect("priced");
    let reserved = max_cost_micros(price, 10_000, 2_000);
    for usage in [
        keyward_pricing::Usage::from_anthropic(10_000, 0, 0, 0, 2_000),
        keyward_pricing::Usage::from_anthropic(0, 10_000, 0, 0, 2_000),
        keyward_pricing::Usage::from_anthropic(0, 0, 5_000, 5_000, 2_000),
        keyward_pricing::Usage::from_anthropic(0, 0, 0, 10_000, 2_000),
    ] {
        assert!(
            keyward_pricing::cost_micros(price, &usage) <= reserved,
            "{usage:?}"
        );
    }
}
