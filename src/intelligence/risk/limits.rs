//! What a policy's limits compare, pure: whether a governing law is one the tenant
//! allows.

/// Whether `law` (as a contract's field or its text names it: "the State of New York",
/// "England and Wales", "Germany") is one of `allowed`: an entry allows a law that
/// names it, as whole words with case aside, so `England` allows "England and Wales"
/// and `New York` allows "the State of New York" but not "York". A law naming only
/// part of an entry is not allowed by it: `England and Wales` does not allow "England".
pub fn law_allowed(law: &str, allowed: &[String]) -> bool {
    let law = words(law);
    allowed.iter().any(|entry| {
        let entry = words(entry);
        !entry.is_empty() && law.windows(entry.len()).any(|w| w == entry.as_slice())
    })
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::law_allowed;

    fn allowed(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| (*e).to_owned()).collect()
    }

    #[test]
    fn an_entry_allows_a_law_that_names_it_as_whole_words_case_aside() {
        let policy = allowed(&["England", "new york", "Germany"]);
        for law in [
            "England and Wales",
            "the State of New York",
            "NEW YORK",
            "Germany",
            "England",
        ] {
            assert!(law_allowed(law, &policy), "{law}");
        }
        for law in ["Scotland", "York", "Newyork", "Germanyland", "France", ""] {
            assert!(!law_allowed(law, &policy), "{law}");
        }
    }

    #[test]
    fn part_of_an_entry_allows_nothing() {
        let policy = allowed(&["England and Wales", " ", "--"]);
        assert!(law_allowed("the laws of England and Wales", &policy));
        assert!(!law_allowed("England", &policy));
        assert!(!law_allowed("Wales", &policy));
        assert!(
            !law_allowed("anything", &policy),
            "an entry without a word allows nothing"
        );
    }
}
