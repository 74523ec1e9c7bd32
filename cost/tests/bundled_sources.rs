//! Every price of the bundled books says where it comes from and when: a date and an address
//! or the repository's own `docs/price-sources.md`; or it says it is a PLACEHOLDER. Proxies
//! are labelled.

use std::path::{Path, PathBuf};

use switchboard_cost::{bundled_price_books, ItemKind, PriceBook};

const SOURCES_PAGE: &str = "docs/price-sources.md";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn books() -> Vec<(&'static str, PriceBook)> {
    bundled_price_books()
        .into_iter()
        .map(|(file, text)| (file, PriceBook::parse(Path::new(file), text).unwrap()))
        .collect()
}

/// A year from 2000 on, as every "seen" date starts.
fn has_a_year(source: &str) -> bool {
    source
        .as_bytes()
        .windows(4)
        .any(|w| w.starts_with(b"20") && w.iter().all(u8::is_ascii_digit))
}

fn check(file: &str, what: &str, source: &str, problems: &mut Vec<String>) {
    // A bare placeholder ("PLACEHOLDER: carrier quote") cites nothing to date; anything that
    // quotes a graded figure does.
    let cites_a_figure = !source.starts_with("PLACEHOLDER") || source.contains("grade");
    if !cites_a_figure {
        return;
    }
    if !has_a_year(source) {
        problems.push(format!("{file}: {what}: no date in {source:?}"));
    }
    if !(source.contains("https://") || source.contains(SOURCES_PAGE)) {
        problems.push(format!(
            "{file}: {what}: neither an address nor {SOURCES_PAGE} in {source:?}"
        ));
    }
    if source.contains("../") || source.contains("FACTS") {
        problems.push(format!(
            "{file}: {what}: cites a file outside the repository: {source:?}"
        ));
    }
}

#[test]
fn every_bundled_price_says_where_it_comes_from_and_when() {
    let mut problems = Vec::new();
    for (file, book) in books() {
        for item in book.items() {
            check(file, &item.display_label(), &item.source, &mut problems);
        }
        for rate in &book.workforce {
            check(
                file,
                &format!("workforce {}", rate.site),
                &rate.source,
                &mut problems,
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(repository().join(SOURCES_PAGE).is_file());
}

#[test]
fn every_address_a_book_cites_is_on_the_sources_page() {
    let page = std::fs::read_to_string(repository().join(SOURCES_PAGE)).unwrap();
    for (file, book) in books() {
        let sources = book
            .items()
            .map(|item| item.source.clone())
            .chain(book.workforce.iter().map(|rate| rate.source.clone()));
        for source in sources {
            for address in source
                .split_whitespace()
                .filter(|w| w.starts_with("https://"))
            {
                let address = address.trim_end_matches([')', ',', ';']);
                assert!(
                    page.contains(address),
                    "{file} cites {address}, which {SOURCES_PAGE} does not list"
                );
            }
        }
    }
}

#[test]
fn the_five9_style_books_self_service_price_is_labelled_a_proxy() {
    let (_, book) = books()
        .into_iter()
        .find(|(file, _)| file.ends_with("concurrent-seat-50-minimum.toml"))
        .unwrap();
    let resolution = book
        .items()
        .find(|item| item.kind == ItemKind::AutomatedResolution)
        .unwrap();
    let proxy = resolution.proxy.as_deref().unwrap_or_default();
    assert!(proxy.contains("Zendesk"), "{proxy}");
}
