//! Letter case as the database sees it. What the server looks records up by must fold
//! exactly as the stored side folds in SQL, so every key lower-cased in Rust for a
//! comparison with PostgreSQL's `lower()` goes through [`fold_case`].

/// `text` lower-cased as PostgreSQL's `lower()` does it in a database whose letters
/// are classified as `C.UTF-8` (how `scripts/pg.sh` makes them): letter by letter, by
/// Unicode's simple mapping. Rust's `str::to_lowercase` differs in two letters: it
/// lowers the dotted capital I (`İ`) to `i` and a combining dot, and a capital sigma at
/// the end of a word to `ς`; here they become `i` and `σ`, as in PostgreSQL.
pub fn fold_case(text: &str) -> String {
    text.chars()
        .flat_map(|c| if c == 'İ' { 'I' } else { c }.to_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn case_folds_letter_by_letter_as_postgresql_does() {
        assert_eq!(super::fold_case("ÖBB Infrastruktur"), "öbb infrastruktur");
        assert_eq!(super::fold_case("JOSÉ@Ejemplo.ES"), "josé@ejemplo.es");
        // PostgreSQL under C.UTF-8: lower('İSTANBUL ΣΟΦΟΣ') = 'istanbul σοφοσ'.
        assert_eq!(super::fold_case("İSTANBUL ΣΟΦΟΣ"), "istanbul σοφοσ");
    }
}
