//! Integration tests for the price book. The golden table below was computed by hand: each
//! comment names the case and shows `tokens × rate` (rates are micro-dollars per 1M tokens, so
//! every product is micro-dollars × 1M), the sum, and the result after dividing by 1M and
//! rounding half-up once.

#![cfg(test)]

mod lookup;
mod overrides;
mod reservations;
mod usage;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use keyward_pricing::{PriceBook, Usage, cost_micros};

/// Midnight UTC on a date.
pub fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .expect("valid date")
}

pub fn book() -> PriceBook {
    PriceBook::builtin().expect("built-in price data loads")
}

/// `Usage` from its six fields in declaration order.
pub fn u(input: u64, cached: u64, w5m: u64, w1h: u64, output: u64, reasoning: u64) -> Usage {
    Usage {
        input_tokens: input,
        cached_input_tokens: cached,
        cache_write_5m_tokens: w5m,
        cache_write_1h_tokens: w1h,
        output_tokens: output,
        reasoning_tokens: reasoning,
    }
}

/// (provider, model, when, usage, expected micro-dollars); the case is named in its comment.
pub type Golden = (&'static str, &'static str, DateTime<Utc>, Usage, i64);

#[rustfmt::skip] // one case per line reads as a table
fn golden() -> Vec<Golden> {
    let oa = Usage::from_openai;
    let an = Usage::from_anthropic;
    let ge = Usage::from_gemini;
    let m = 1_000_000;
    vec![
        // 1. cached input: 800×150_000 + 200×75_000 + 300×600_000 = 315e6 → 315
        ("openai", "gpt-4o-mini", day(2025, 9, 1), oa(1_000, 200, 300, 0), 315),
        // 2. gpt-4o after the 2024-10-02 switch: 1M×2_500_000 + 1M×10_000_000 = 12.5e12
        //    → 12_500_000 ($12.50)
        ("openai", "gpt-4o", day(2025, 1, 1), u(m, 0, 0, 0, m, 0), 12_500_000),
        // 3. gpt-4o before the switch: 1M×5_000_000 + 1M×15_000_000 = 20e12 → 20_000_000
        ("openai", "gpt-4o", day(2024, 6, 1), u(m, 0, 0, 0, m, 0), 20_000_000),
        // 4. last second of the old price: 1000×5_000_000 + 1000×15_000_000 = 2e10 → 20_000
        ("openai", "gpt-4o", day(2024, 10, 2) - TimeDelta::seconds(1), u(1_000, 0, 0, 0, 1_000, 0), 20_000),
        // 5. first instant of the new price: 1000×2_500_000 + 1000×10_000_000 = 1.25e10 → 12_500
        ("openai", "gpt-4o", day(2024, 10, 2), u(1_000, 0, 0, 0, 1_000, 0), 12_500),
        // 6. o3 launch price; completion 5_000 of which reasoning 4_000:
        //    10_000×10_000_000 + 1_000×40_000_000 + 4_000×40_000_000 = 1e11 + 4e10 + 1.6e11
        //    = 3e11 → 300_000
        ("openai", "o3", day(2025, 6, 9), oa(10_000, 0, 5_000, 4_000), 300_000),
        // 7. reasoning not double-charged, after the 2025-06-10 cut:
        //    10_000×2_000_000 + 1_000×8_000_000 + 4_000×8_000_000 = 6e10 → 60_000
        //    (billing the 4_000 reasoning tokens on top of the 5_000 would give 92_000)
        ("openai", "o3", day(2025, 6, 10), oa(10_000, 0, 5_000, 4_000), 60_000),
        // 8. cached input and reasoning: 10_000×1_100_000 + 40_000×275_000 + 500×4_400_000
        //    + 1_500×4_400_000 = 1.1e10 + 1.1e10 + 2.2e9 + 6.6e9 = 3.08e10 → 30_800
        ("openai", "o4-mini", day(2025, 8, 1), oa(50_000, 40_000, 2_000, 1_500), 30_800),
        // 9. an explicit snapshot beats the prefix rule (it is not gpt-4o's price):
        //    1000×5_000_000 + 1000×15_000_000 = 2e10 → 20_000
        ("openai", "gpt-4o-2024-05-13", day(2025, 1, 1), u(1_000, 0, 0, 0, 1_000, 0), 20_000),
        // 10. dated snapshot by prefix: 1M×150_000 = 1.5e11 → 150_000
        ("openai", "gpt-4o-mini-2024-07-18", day(2025, 1, 1), oa(m, 0, 0, 0), 150_000),
        // 11. names ignore case: 1M×150_000 → 150_000
        ("openai", "GPT-4o-MINI", day(2025, 1, 1), oa(m, 0, 0, 0), 150_000),
        // 12. embedding, below half: 123_456×20_000 = 2_469_120_000 → 2_469.12 → 2_469
        ("openai", "text-embedding-3-small", day(2025, 1, 1), u(123_456, 0, 0, 0, 0, 0), 2_469),
        // 13. exactly half rounds up: 5×100_000 = 500_000 → 0.5 → 1
        ("openai", "gpt-4.1-nano", day(2025, 5, 1), u(5, 0, 0, 0, 0, 0), 1),
        // 14. below half rounds down: 4×100_000 = 400_000 → 0.4 → 0
        ("openai", "gpt-4.1-nano", day(2025, 5, 1), u(4, 0, 0, 0, 0, 0), 0),
        // 15. one rounding, on the sum: 4×100_000 + 1×400_000 = 800_000 → 0.8 → 1
        //     (rounding each part first would give 0 + 0)
        ("openai", "gpt-4.1-nano", day(2025, 5, 1), u(4, 0, 0, 0, 1, 0), 1),
        // 16. tiny cached rate, half: 100×5_000 = 500_000 → 0.5 → 1
        ("openai", "gpt-5-nano", day(2025, 9, 1), oa(100, 100, 0, 0), 1),
        // 17. tiny cached rate, under half: 99×5_000 = 495_000 → 0.495 → 0
        ("openai", "gpt-5-nano", day(2025, 9, 1), oa(99, 99, 0, 0), 0),
        // 18. 5m cache write and read, dated id: 2_000×3_000_000 + 10_000×300_000
        //     + 5_000×3_750_000 + 800×15_000_000 = 6e9 + 3e9 + 1.875e10 + 1.2e10 = 3.975e10
        //     → 39_750
        ("anthropic", "claude-sonnet-4-5-20250929", day(2025, 10, 1), an(2_000, 10_000, 5_000, 0, 800), 39_750),
        // 19. 1h cache write: 100×15_000_000 + 20_000×30_000_000 + 500×75_000_000
        //     = 1.5e9 + 6e11 + 3.75e10 = 6.39e11 → 639_000
        ("anthropic", "claude-opus-4-1", day(2025, 9, 1), an(100, 0, 0, 20_000, 500), 639_000),
        // 20. both cache writes: 1_000×1_000_000 + 2_000×100_000 + 3_000×1_250_000
        //     + 4_000×2_000_000 + 500×5_000_000 = 1e9 + 2e8 + 3.75e9 + 8e9 + 2.5e9 = 1.545e10
        //     → 15_450
        ("anthropic", "claude-haiku-4-5", day(2025, 11, 1), an(1_000, 2_000, 3_000, 4_000, 500), 15_450),
        // 21. long context at the threshold stays base: prompt 150_000 + 50_000 = 200_000:
        //     150_000×3_000_000 + 50_000×300_000 + 1_000×15_000_000 = 4.8e11 → 480_000
        ("anthropic", "claude-sonnet-4-5", day(2025, 10, 1), an(150_000, 50_000, 0, 0, 1_000), 480_000),
        // 22. one token over → every token at the tier: 150_001×6_000_000 + 50_000×600_000
        //     + 1_000×22_500_000 = 900_006e6 + 30_000e6 + 22_500e6 = 952_506e6 → 952_506
        ("anthropic", "claude-sonnet-4-5", day(2025, 10, 1), an(150_001, 50_000, 0, 0, 1_000), 952_506),
        // 23. gemini tier, prompt 250_000 incl. 50_000 cached: 200_000×2_500_000 + 50_000×250_000
        //     + 2_000×15_000_000 + 3_000×15_000_000 (thoughts) = 5e11 + 1.25e10 + 3e10 + 4.5e10
        //     = 5.875e11 → 587_500
        ("gemini", "gemini-2.5-pro", day(2025, 9, 1), ge(250_000, 50_000, 2_000, 3_000), 587_500),
        // 24. gemini base tier, thoughts at the output rate: 80_000×1_250_000 + 20_000×125_000
        //     + 1_000×10_000_000 + 4_000×10_000_000 = 1e11 + 2.5e9 + 1e10 + 4e10 = 1.525e11
        //     → 152_500
        ("gemini", "gemini-2.5-pro", day(2025, 9, 1), ge(100_000, 20_000, 1_000, 4_000), 152_500),
        // 25. numbered snapshot: 10_000×100_000 + 1_000×400_000 = 1.4e9 → 1_400
        ("gemini", "gemini-2.0-flash-001", day(2025, 6, 1), ge(10_000, 0, 1_000, 0), 1_400),
        // 26. request fee: 500×3_000_000 + 700×15_000_000 + 6_000 µ$ (6e9 scaled)
        //     = 1.5e9 + 1.05e10 + 6e9 = 1.8e10 → 18_000
        ("perplexity", "sonar-pro", day(2025, 5, 1), u(500, 0, 0, 0, 700, 0), 18_000),
        // 27. legacy fee before 2025-04-18 (5_000): 1.5e9 + 1.05e10 + 5e9 = 1.7e10 → 17_000
        ("perplexity", "sonar-pro", day(2025, 3, 1), u(500, 0, 0, 0, 700, 0), 17_000),
        // 28. reasoning priced apart: 1_000×2_000_000 + 2_000×8_000_000 + 10_000×3_000_000
        //     = 2e9 + 1.6e10 + 3e10 = 4.8e10 → 48_000
        ("perplexity", "sonar-deep-research", day(2025, 6, 1), u(1_000, 0, 0, 0, 2_000, 10_000), 48_000),
        // 29. fractional rate via alias: 1_000×37_500 + 1_000×150_000 = 1.875e8 → 187.5 → 188
        ("cohere", "command-r7b", day(2025, 6, 1), u(1_000, 0, 0, 0, 1_000, 0), 188),
        // 30. embed: 1M×120_000 = 1.2e11 → 120_000
        ("cohere", "embed-v4.0", day(2025, 6, 1), u(m, 0, 0, 0, 0, 0), 120_000),
        // 31. Bedrock profile alias: 1_000×3_000_000 + 1_000×15_000_000 = 1.8e10 → 18_000
        ("bedrock", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", day(2025, 1, 1), u(1_000, 0, 0, 0, 1_000, 0), 18_000),
        // 32. geographic profile, +10%: 1M×3_300_000 = 3.3e12 → 3_300_000
        ("bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", day(2025, 12, 1), u(m, 0, 0, 0, 0, 0), 3_300_000),
        // 33. global profile: 1M×3_000_000 = 3e12 → 3_000_000
        ("bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", day(2025, 12, 1), u(m, 0, 0, 0, 0, 0), 3_000_000),
        // 34. Nova cache read: 1_000×35_000 + 1_000×8_750 + 1_000×140_000 = 1.8375e8
        //     → 183.75 → 184
        ("bedrock", "amazon.nova-micro-v1:0", day(2025, 3, 1), u(1_000, 1_000, 0, 0, 1_000, 0), 184),
        // 35. one cache_write rate serves both durations: 1_000×3_750_000 + 1_000×3_750_000
        //     = 7.5e9 → 7_500
        ("bedrock", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", day(2025, 4, 1), an(0, 0, 1_000, 1_000, 0), 7_500),
        // 36. Azure snapshot alias: 1_000×2_500_000 + 1_000×1_250_000 + 100×10_000_000
        //     = 2.5e9 + 1.25e9 + 1e9 = 4.75e9 → 4_750
        ("azure", "gpt-4o-2024-11-20", day(2025, 3, 1), oa(2_000, 1_000, 100, 0), 4_750),
        // 37. "-latest" before it moved: 1M×2_000_000 + 1M×6_000_000 = 8e12 → 8_000_000
        ("mistral", "mistral-large-latest", day(2025, 6, 1), u(m, 0, 0, 0, m, 0), 8_000_000),
        // 38. "-latest" after it moved: 1M×500_000 + 1M×1_500_000 = 2e12 → 2_000_000
        ("mistral", "mistral-large-latest", day(2026, 1, 1), u(m, 0, 0, 0, m, 0), 2_000_000),
        // 39. alias: 1_000×300_000 + 1_000×900_000 = 1.2e9 → 1_200
        ("mistral", "codestral-latest", day(2025, 9, 1), u(1_000, 0, 0, 0, 1_000, 0), 1_200),
        // 40. empty usage costs nothing (no request fee on OpenAI)
        ("openai", "gpt-4.1", day(2025, 5, 1), Usage::default(), 0),
    ]
}

#[test]
fn golden_costs_match_hand_arithmetic() {
    let book = book();
    let cases = golden();
    assert!(
        cases.len() >= 30,
        "the golden table keeps at least 30 cases"
    );
    for (case, (provider, model, at, usage, expected)) in cases.into_iter().enumerate() {
        let case = case + 1;
        let price = book
            .lookup(provider, model, at)
            .unwrap_or_else(|| panic!("case {case}: no price for {provider}/{model} at {at}"));
        let got = cost_micros(price, &usage);
        assert_eq!(got, expected, "case {case}: {provider}/{model} at {at}");
    }
}
