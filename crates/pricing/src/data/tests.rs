//! Validation of price files: every bad input is rejected with the file and model named.

use crate::PriceBook;
use crate::error::PricingError;

const GOOD: &str = r#"
provider = "openai"

[[model]]
name = "m"
aliases = ["m-alias"]

[[model.price]]
effective_from = 2025-01-01
source = "https://example.com/pricing"
input = 1_000_000
output = 2_000_000
"#;

fn load(text: &str) -> Result<PriceBook, PricingError> {
    PriceBook::from_toml(&[("test.toml", text)])
}

fn message(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn builtin_data_is_valid() {
    let book = PriceBook::builtin().expect("built-in price data must load");
    for provider in crate::BOOK_PROVIDERS {
        assert!(
            book.entries().any(|p| p.provider == provider),
            "no prices for {provider}"
        );
    }
    for price in book.entries() {
        assert!(price.source.starts_with("https://"), "{}", price.model);
        assert!(price.rates.parts().iter().all(|(_, v)| *v >= 0));
    }
}

#[test]
fn the_good_fixture_loads() {
    let book = load(GOOD).expect("fixture loads");
    assert_eq!(book.entries().count(), 1);
}

#[test]
fn unknown_provider_is_named() {
    let err = load(&GOOD.replace("\"openai\"", "\"openia\"")).unwrap_err();
    assert_eq!(
        err,
        PricingError::UnknownProvider {
            file: "test.toml".into(),
            provider: "openia".into()
        }
    );
}

#[test]
fn negative_price_names_file_model_and_field() {
    let msg = message(&GOOD.replace("output = 2_000_000", "output = -1"));
    assert_eq!(
        msg,
        "test.toml: model \"m\": output must not be negative (got -1)"
    );
}

#[test]
fn negative_request_fee_and_tier_price_are_rejected() {
    let fee = message(&format!("{GOOD}request_fee = -5\n"));
    assert!(fee.contains("request_fee must not be negative"), "{fee}");
    let tier =
        format!("{GOOD}\n[model.price.long_context]\nthreshold = 10\ninput = 1\noutput = -3\n");
    assert!(
        message(&tier).contains("long_context.output must not be negative"),
        "{tier}"
    );
}

#[test]
fn duplicate_effective_from_is_rejected() {
    let second = "\n[[model.price]]\neffective_from = 2025-01-01\nsource = \"https://example.com/b\"\ninput = 1\noutput = 1\n";
    let msg = message(&format!("{GOOD}{second}"));
    assert_eq!(
        msg,
        "test.toml: model \"m\" has two prices effective from 2025-01-01 00:00:00 UTC"
    );
}

#[test]
fn same_instant_written_two_ways_is_a_duplicate() {
    let second = "\n[[model.price]]\neffective_from = 2025-01-01T01:00:00+01:00\nsource = \"https://example.com/b\"\ninput = 1\noutput = 1\n";
    assert!(matches!(
        load(&format!("{GOOD}{second}")),
        Err(PricingError::DuplicateVersion { .. })
    ));
}

#[test]
fn duplicate_names_and_aliases_are_rejected() {
    let again = "\n[[model]]\nname = \"M\"\n[[model.price]]\neffective_from = 2025-02-01\nsource = \"https://e.com\"\ninput = 1\noutput = 1\n";
    assert_eq!(
        message(&format!("{GOOD}{again}")),
        "test.toml: model name or alias \"m\" is declared more than once for openai"
    );
    let alias_clash = again.replace("\"M\"", "\"other\"\naliases = [\"m-alias\"]");
    assert!(message(&format!("{GOOD}{alias_clash}")).contains("\"m-alias\""));
}

#[test]
fn duplicates_across_files_are_rejected() {
    let err = PriceBook::from_toml(&[("a.toml", GOOD), ("b.toml", GOOD)]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("b.toml: model name or alias \"m\""),
        "{err}"
    );
}

#[test]
fn missing_or_bad_source_is_rejected() {
    let msg = message(&GOOD.replace("https://example.com/pricing", "example.com"));
    assert!(msg.contains("source must be the https:// URL"), "{msg}");
    let missing = message(&GOOD.replace("source = \"https://example.com/pricing\"\n", ""));
    assert!(
        missing.starts_with("test.toml: cannot parse price data"),
        "{missing}"
    );
    assert!(missing.contains("source"), "{missing}");
}

#[test]
fn missing_input_or_output_is_rejected() {
    let msg = message(&GOOD.replace("input = 1_000_000\n", ""));
    assert_eq!(msg, "test.toml: model \"m\": input is required");
}

#[test]
fn conflicting_cache_write_forms_are_rejected() {
    let msg = message(&format!("{GOOD}cache_write = 5\ncache_write_1h = 6\n"));
    assert!(msg.contains("cache_write cannot be combined"), "{msg}");
}

#[test]
fn unknown_fields_and_local_times_are_rejected() {
    let typo = message(&GOOD.replace("output =", "ouput ="));
    assert!(typo.contains("unknown field `ouput`"), "{typo}");
    let local = message(&GOOD.replace("2025-01-01", "2025-01-01T10:00:00"));
    assert!(
        local.contains("must be a date or a date-time with an offset"),
        "{local}"
    );
}

#[test]
fn bad_threshold_and_names_are_rejected() {
    let tier =
        format!("{GOOD}\n[model.price.long_context]\nthreshold = 0\ninput = 1\noutput = 1\n");
    assert!(message(&tier).contains("threshold must be positive"));
    assert!(message(&GOOD.replace("name = \"m\"", "name = \"*\"")).contains("model name must be"));
    assert!(message(&GOOD.replace("\"m-alias\"", "\"has space\"")).contains("bad alias"));
    let empty = "provider = \"openai\"\n[[model]]\nname = \"x\"\n";
    assert_eq!(
        message(empty),
        "test.toml: model \"x\": has no [[model.price]] entry"
    );
}

#[test]
fn defaults_fill_every_rate() {
    let book = load(GOOD).expect("fixture loads");
    let price = book.versions("openai", "m")[0].clone();
    let r = price.rates;
    assert_eq!(
        (r.cached_input, r.cache_write_5m, r.cache_write_1h),
        (1_000_000, 1_000_000, 1_000_000)
    );
    assert_eq!(r.reasoning, 2_000_000);
    assert_eq!(
        (price.request_fee, price.discount_bps, price.org_override),
        (0, 0, false)
    );
}
