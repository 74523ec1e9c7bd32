//! A wrong price book is refused with the file, line and column and what was expected.

use std::path::Path;

use switchboard_cost::{PriceBook, SourceError};

fn refuse(text: &str) -> SourceError {
    PriceBook::parse(Path::new("books/bad.toml"), text).expect_err("the book is refused")
}

#[test]
fn an_unknown_item_kind_points_at_the_kind_and_lists_the_known_ones() {
    let error = refuse(
        "name = \"x\"\nkind = \"saas\"\ncurrency = \"USD\"\n\n[[item]]\nkind = \"per_banana\"\nprice = 1\nsource = \"s\"\n",
    );
    assert_eq!((error.line, error.column), (Some(6), Some(8)));
    assert!(
        error.message.contains("unknown variant `per_banana`"),
        "{error}"
    );
    assert!(error.message.contains("`named_seat`"), "{error}");
    assert!(
        error.to_string().starts_with("books/bad.toml:6:8: "),
        "{error}"
    );
}

#[test]
fn a_negative_price_points_at_the_price() {
    let error = refuse(
        "name = \"x\"\nkind = \"saas\"\ncurrency = \"USD\"\n\n[[item]]\nkind = \"named_seat\"\nprice = -5\nsource = \"s\"\n",
    );
    assert_eq!((error.line, error.column), (Some(7), Some(9)));
    assert!(
        error.message.contains("expected a price of zero or more"),
        "{error}"
    );
}

#[test]
fn a_missing_currency_says_which_currencies_are_expected() {
    let error = refuse("name = \"x\"\nkind = \"saas\"\n\n[[item]]\nkind = \"named_seat\"\nprice = 5\nsource = \"s\"\n");
    assert!(
        error.message.contains("missing field `currency`"),
        "{error}"
    );
    assert!(
        error
            .message
            .contains("\"CNY\", \"USD\" or another ISO 4217 code"),
        "{error}"
    );
    assert_eq!(error.file, Path::new("books/bad.toml"));
}

#[test]
fn an_unknown_currency_points_at_it_and_says_what_is_expected() {
    let error = refuse("name = \"x\"\nkind = \"saas\"\ncurrency = \"EUX\"\n");
    assert_eq!((error.line, error.column), (Some(3), Some(12)));
    assert!(
        error
            .message
            .contains("expected an ISO 4217 currency code such as CNY, USD or EUR, found \"EUX\""),
        "{error}"
    );
    // A fund is a code of the standard but no currency to price in.
    let error = refuse("name = \"x\"\nkind = \"saas\"\ncurrency = \"XAU\"\n");
    assert!(error.message.contains("XAU"), "{error}");
    assert!(error.message.contains("fund or special code"), "{error}");
}

#[test]
fn any_iso_4217_currency_is_a_book_currency() {
    let book = switchboard_cost::PriceBook::parse(
        Path::new("eur.toml"),
        "name = \"x\"\nkind = \"saas\"\ncurrency = \"EUR\"\n",
    )
    .unwrap();
    assert_eq!(book.currency.code(), "EUR");
}

#[test]
fn a_proxy_or_an_own_workforce_needs_its_reason() {
    let error = refuse("name = \"x\"\nkind = \"saas\"\ncurrency = \"USD\"\nworkforce_differs_because = \" \"\n[[workforce]]\nsite = \"s\"\nshare_of_agent_hours = 1\nprice_per_agent_hour = 3\nsource = \"s\"\n");
    assert!(
        error
            .message
            .contains("workforce_differs_because: expected the reason"),
        "{error}"
    );
    let error = refuse("name = \"x\"\nkind = \"saas\"\ncurrency = \"USD\"\nworkforce_differs_because = \"outsourced\"\n");
    assert!(
        error
            .message
            .contains("has no [[workforce]] rates of its own"),
        "{error}"
    );
}

#[test]
fn a_key_that_does_not_apply_to_the_kind_points_at_the_item() {
    let error = refuse(
        "name = \"x\"\nkind = \"saas\"\ncurrency = \"USD\"\n\n[[item]]\nkind = \"named_seat\"\nprice = 5\nnumbers = 3\nsource = \"s\"\n",
    );
    assert_eq!(error.line, Some(5));
    assert!(
        error
            .message
            .contains("`numbers` does not apply to an item of kind \"named_seat\""),
        "{error}"
    );
}

#[test]
fn a_missing_required_key_names_it() {
    let error = refuse(
        "name = \"x\"\nkind = \"private\"\ncurrency = \"CNY\"\n[terms]\ndepreciation_years = 3\n\n[[item]]\nkind = \"server\"\nprice = 5\nsource = \"s\"\n",
    );
    assert_eq!(error.line, Some(7));
    assert!(
        error
            .message
            .contains("needs `concurrent_calls_per_server`"),
        "{error}"
    );
}

#[test]
fn every_bundled_book_loads() {
    for (file, text) in switchboard_cost::bundled_price_books() {
        let book = PriceBook::parse(Path::new(file), text).unwrap_or_else(|e| panic!("{e}"));
        assert!(book.illustrative, "{file} is labelled illustrative");
        for item in book.items() {
            assert!(
                !item.source.trim().is_empty(),
                "{file}: every item cites a source"
            );
        }
    }
}
