//! Organization overrides: golden costs under discounts and contract prices, and validation.

use keyward_pricing::{
    Adjustment, PriceBook, PriceOverride, PricingError, ReplacementPrices, Usage, cost_micros,
};

use crate::{Golden, book, day, u};

fn over(
    provider: &str,
    model: &str,
    from: (i32, u32, u32),
    adjustment: Adjustment,
) -> PriceOverride {
    PriceOverride {
        provider: provider.into(),
        model: model.into(),
        effective_from: day(from.0, from.1, from.2),
        adjustment,
    }
}

fn org_book() -> PriceBook {
    let haiku_contract = ReplacementPrices {
        input: 800_000,
        output: 4_000_000,
        ..Default::default()
    };
    let local_llama = ReplacementPrices {
        input: 100_000,
        output: 200_000,
        request_fee: 1_000,
        ..Default::default()
    };
    book()
        .with_overrides(&[
            over("openai", "*", (2025, 1, 1), Adjustment::DiscountBps(2_500)),
            over(
                "openai",
                "gpt-4o",
                (2025, 1, 1),
                Adjustment::DiscountBps(1_500),
            ),
            over("openai", "gpt-4o", (2025, 7, 1), Adjustment::DiscountBps(0)),
            over(
                "openai",
                "o3-2025-04-16",
                (2025, 5, 1),
                Adjustment::DiscountBps(2_000),
            ),
            over(
                "anthropic",
                "*",
                (2025, 6, 1),
                Adjustment::DiscountBps(1_000),
            ),
            over(
                "anthropic",
                "claude-haiku-4-5",
                (2025, 11, 1),
                Adjustment::Replace(haiku_contract),
            ),
            over(
                "openai_compatible",
                "Llama-3.1-70B-local",
                (2025, 1, 1),
                Adjustment::Replace(local_llama),
            ),
        ])
        .expect("valid overrides")
}

#[rustfmt::skip] // one case per line reads as a table
fn golden() -> Vec<Golden> {
    let oa = Usage::from_openai;
    let an = Usage::from_anthropic;
    vec![
        // 1. specific 15% beats the openai-wide 25%: list 1_000×2_500_000 + 1_000×10_000_000
        //    = 1.25e10; ×(10_000−1_500) = 1.0625e14; ÷1e10 → 10_625 (25% would give 9_375)
        ("openai", "gpt-4o", day(2025, 2, 1), u(1_000, 0, 0, 0, 1_000, 0), 10_625),
        // 2. before any override takes effect: list 1.25e10 → 12_500
        ("openai", "gpt-4o", day(2024, 12, 31), u(1_000, 0, 0, 0, 1_000, 0), 12_500),
        // 3. a specific 0 bps override ends the discount (and still beats the wildcard) → 12_500
        ("openai", "gpt-4o", day(2025, 8, 1), u(1_000, 0, 0, 0, 1_000, 0), 12_500),
        // 4. discount, then one rounding: 6×100_000 = 6e5; ×7_500 = 4.5e9; ÷1e10 = 0.45 → 0
        //    (rounding first, 0.6 → 1, then discounting 0.75 → 1, would give 1)
        ("openai", "gpt-4.1-nano", day(2025, 6, 1), u(6, 0, 0, 0, 0, 0), 0),
        // 5. wildcard: 1M×100_000 + 1M×400_000 = 5e11; ×7_500 = 3.75e15; ÷1e10 → 375_000
        ("openai", "gpt-4.1-nano", day(2025, 6, 1), u(1_000_000, 0, 0, 0, 1_000_000, 0), 375_000),
        // 6. 20% on o3's launch price: list 3e11 (main table, case 6); ×8_000 = 2.4e15 → 240_000
        ("openai", "o3", day(2025, 5, 15), oa(10_000, 0, 5_000, 4_000), 240_000),
        // 7. the discount follows the list cut: list 6e10 (case 7); ×8_000 = 4.8e14 → 48_000
        ("openai", "o3", day(2025, 7, 1), oa(10_000, 0, 5_000, 4_000), 48_000),
        // 8. provider-wide 10%: list 3.975e10 (main table, case 18); ×9_000 = 3.5775e14 → 35_775
        ("anthropic", "claude-sonnet-4-5", day(2025, 10, 1), an(2_000, 10_000, 5_000, 0, 800), 35_775),
        // 9. wildcard before haiku's contract: list 1.545e10 (case 20); ×9_000 = 1.3905e14 → 13_905
        ("anthropic", "claude-haiku-4-5", day(2025, 10, 20), an(1_000, 2_000, 3_000, 4_000, 500), 13_905),
        // 10. contract prices, every prompt token at input 800_000 (defaults), output 4_000_000:
        //     (1_000 + 2_000 + 3_000 + 4_000)×800_000 + 500×4_000_000 = 8e9 + 2e9 = 1e10 → 10_000
        ("anthropic", "claude-haiku-4-5-20251001", day(2025, 12, 1), an(1_000, 2_000, 3_000, 4_000, 500), 10_000),
        // 11. a self-hosted model priced by the org: 1_000×100_000 + 1_000×200_000
        //     + fee 1_000 µ$ (1e9 scaled) = 1e8 + 2e8 + 1e9 = 1.3e9 → 1_300
        ("openai_compatible", "llama-3.1-70b-local", day(2025, 6, 1), u(1_000, 0, 0, 0, 1_000, 0), 1_300),
    ]
}

#[test]
fn golden_costs_with_overrides() {
    let book = org_book();
    for (case, (provider, model, at, usage, expected)) in golden().into_iter().enumerate() {
        let case = case + 1;
        let price = book
            .lookup(provider, model, at)
            .unwrap_or_else(|| panic!("case {case}: no price for {provider}/{model} at {at}"));
        let got = cost_micros(price, &usage);
        assert_eq!(got, expected, "case {case}: {provider}/{model} at {at}");
    }
}

#[test]
fn overridden_prices_are_marked_and_the_list_book_is_untouched() {
    let list = book();
    let org = list
        .with_overrides(&[over(
            "openai",
            "*",
            (2025, 1, 1),
            Adjustment::DiscountBps(500),
        )])
        .expect("valid");
    let at = day(2025, 6, 1);
    let listed = list.lookup("openai", "gpt-4.1", at).expect("priced");
    let discounted = org.lookup("openai", "gpt-4.1", at).expect("priced");
    assert_eq!((listed.discount_bps, listed.org_override), (0, false));
    assert_eq!(
        (discounted.discount_bps, discounted.org_override),
        (500, true)
    );
    assert_eq!(discounted.source, listed.source);
    assert_eq!(
        org.lookup("openai", "gpt-4.1", day(2024, 12, 1))
            .map(|p| p.discount_bps),
        None
    );
    assert_eq!(
        org.resolve("openai", "gpt-4o-2024-11-20"),
        Some("gpt-4o-2024-08-06")
    );
}

fn rejected(overrides: &[PriceOverride]) -> String {
    match book().with_overrides(overrides) {
        Ok(_) => panic!("expected {overrides:?} to be rejected"),
        Err(PricingError::InvalidOverride { reason, .. }) => reason,
        Err(other) => panic!("wrong error kind: {other}"),
    }
}

#[test]
fn bad_overrides_are_rejected_with_clear_reasons() {
    let price = ReplacementPrices {
        input: 1,
        output: 1,
        ..Default::default()
    };
    assert_eq!(
        rejected(&[over(
            "openia",
            "*",
            (2025, 1, 1),
            Adjustment::DiscountBps(1)
        )]),
        "unknown provider"
    );
    assert_eq!(
        rejected(&[over(
            "openai",
            "*",
            (2025, 1, 1),
            Adjustment::DiscountBps(10_001)
        )]),
        "discount_bps must be between 0 and 10000"
    );
    assert_eq!(
        rejected(&[over(
            "openai",
            "o3-pro",
            (2025, 1, 1),
            Adjustment::DiscountBps(100)
        )]),
        "the price book has no such model to discount"
    );
    assert_eq!(
        rejected(&[over(
            "openai",
            "*",
            (2025, 1, 1),
            Adjustment::Replace(price)
        )]),
        "replacement prices need a specific model, not \"*\""
    );
    let negative = ReplacementPrices {
        cached_input: Some(-1),
        ..price
    };
    assert_eq!(
        rejected(&[over(
            "openai",
            "gpt-4o",
            (2025, 1, 1),
            Adjustment::Replace(negative)
        )]),
        "cached_input must not be negative (got -1)"
    );
    let fee = ReplacementPrices {
        request_fee: -1,
        ..price
    };
    assert_eq!(
        rejected(&[over(
            "openai",
            "gpt-4o",
            (2025, 1, 1),
            Adjustment::Replace(fee)
        )]),
        "request_fee must not be negative"
    );
    assert_eq!(
        rejected(&[over(
            "openai_compatible",
            "my model",
            (2025, 1, 1),
            Adjustment::Replace(price)
        )]),
        "model name must be non-empty and without spaces"
    );
}

#[test]
fn two_overrides_for_the_same_model_and_instant_are_rejected() {
    // an alias and its model are the same target
    let err = book()
        .with_overrides(&[
            over(
                "openai",
                "gpt-4o-2024-08-06",
                (2025, 1, 1),
                Adjustment::DiscountBps(100),
            ),
            over(
                "openai",
                "gpt-4o-2024-11-20",
                (2025, 1, 1),
                Adjustment::DiscountBps(200),
            ),
        ])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "price override #1 (openai/gpt-4o-2024-11-20): another override has the same provider, model and effective_from"
    );
}

#[test]
fn a_discount_in_force_before_a_model_exists_waits_for_its_first_price() {
    let org = book()
        .with_overrides(&[over(
            "openai",
            "*",
            (2020, 1, 1),
            Adjustment::DiscountBps(1_000),
        )])
        .expect("valid");
    assert!(org.lookup("openai", "gpt-5", day(2025, 8, 6)).is_none());
    let price = org
        .lookup("openai", "gpt-5", day(2025, 8, 7))
        .expect("priced");
    assert_eq!(price.discount_bps, 1_000);
}

#[test]
fn overrides_deserialize_from_stored_data() {
    let text = r#"
provider = "mistral"
model = "mistral-small-2506"
effective_from = "2025-09-01T00:00:00Z"
[adjustment.replace]
input = 50000
output = 150000
"#;
    let parsed: PriceOverride = toml::from_str(text).expect("parses");
    assert_eq!(
        parsed.adjustment,
        Adjustment::Replace(ReplacementPrices {
            input: 50_000,
            output: 150_000,
            ..Default::default()
        })
    );
    let org = book().with_overrides(&[parsed]).expect("valid");
    let price = org
        .lookup("mistral", "mistral-small-2506", day(2025, 9, 2))
        .expect("priced");
    // 1M×50_000 + 1M×150_000 = 2e11 → 200_000
    assert_eq!(
        cost_micros(price, &u(1_000_000, 0, 0, 0, 1_000_000, 0)),
        200_000
    );
}
