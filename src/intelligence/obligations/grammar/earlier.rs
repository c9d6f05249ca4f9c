//! A duty whose party is a pronoun that opens its sentence and stands for the party
//! bound by the sentence just before it: "The Supplier shall deliver the Goods. It
//! shall also install them."
//!
//! English drafting puts a defined term where it means a party, so a pronoun that
//! opens a sentence more often stands for the thing the sentence before spoke of ("The
//! Supplier shall deliver the Software. It shall run on the Customer's servers", "...
//! a monthly report. It shall include ..."). It is read as the party only when each of
//! these holds:
//!
//! - the sentence before binds one party, named at its start (after a number or an
//!   opening phrase), with one modal ("shall", "agrees to"), and nothing but white
//!   space lies between the two sentences;
//! - the pronoun agrees with that party: "it" with a party that is not several ("the
//!   Parties"), "they" only with several (for one it more often means the things just
//!   delivered); never "he" or "she", which mostly stand for a person the sentence
//!   before appoints;
//! - the pronoun's verb is one of doing one's part (paying, delivering, notifying,
//!   keeping, ...), which things do not do ("run", "include", "contain", "comply with"
//!   are not among them);
//! - the sentence before names no other party of the contract and no one else who could
//!   act ("a subcontractor", "an auditor"): "The Supplier shall deliver the Goods to the
//!   Customer. It shall inspect them" may mean either.

use std::sync::LazyLock;

use regex::Regex;

use super::compile;

/// What the sentence before a pronoun says, and what the pronoun's own sentence does.
pub(crate) struct Earlier<'a> {
    /// "it", "they".
    pub pronoun: &'a str,
    /// The party the sentence before binds, as it names it ("The Supplier").
    pub party: &'a str,
    /// The sentence before, whole, which binds one party with one modal.
    pub sentence: &'a str,
    /// What the pronoun's sentence binds it to ("also install them").
    pub action: &'a str,
    /// Every party the contract binds by name, as [`name_of`] gives them.
    pub parties: &'a [String],
}

/// A pronoun's sentence opens with it, after at most a number ("4.2 ", "(b) ") and a
/// word that carries on ("Furthermore, ", "In addition, ").
pub(crate) fn opens_with_pronoun(before: &str) -> bool {
    static OPENING: LazyLock<Regex> = LazyLock::new(|| {
        compile(
            r"^\s*(?:(?:[(\[]?(?:\d+(?:\.\d+)*|[a-z])[.)\]]?|§+\s*\d+\w*)\s+)*(?:(?:In\s+addition|Furthermore|Further|Additionally|Moreover|Also|Likewise|Similarly|Thereafter|Subsequently|Then),?\s+)?$",
        )
    });
    OPENING.is_match(before)
}

/// A party's name without its article, as other sentences may name it ("Supplier" for
/// "The Supplier").
pub(crate) fn name_of(party: &str) -> &str {
    let party = party.trim();
    ["The ", "the "]
        .iter()
        .find_map(|article| party.strip_prefix(article))
        .unwrap_or(party)
}

/// Whether an English pronoun that opens its sentence stands for the party the
/// sentence before binds.
pub(crate) fn english(earlier: &Earlier<'_>) -> bool {
    let several = earlier.party.to_lowercase().ends_with("parties");
    let agrees = match earlier.pronoun {
        "it" => !several,
        "they" => several,
        _ => false,
    };
    let own = name_of(earlier.party);
    let others_named = earlier
        .parties
        .iter()
        .filter(|other| other.as_str() != own)
        .any(|other| names(earlier.sentence, other));
    // A second modal may bind someone the rules did not read apart ("The Supplier
    // shall deliver and the Customer shall pay").
    let one_duty = MODAL.find_iter(earlier.sentence).count() == 1;
    agrees
        && doing_ones_part(earlier.action)
        && one_duty
        && !others_named
        && !ANOTHER_ACTOR.is_match(earlier.sentence)
}

static MODAL: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"(?i)\b(?:{})\b", super::MODALS_EN)));

/// Whether `sentence` names `party` as a word of its own ("Customer", not
/// "Customers" or "Customer-facing").
fn names(sentence: &str, party: &str) -> bool {
    sentence.match_indices(party).any(|(at, _)| {
        let before = sentence[..at].chars().next_back();
        let after = sentence[at + party.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric)
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '-')
    })
}

/// Someone a sentence may bring in who could then be the pronoun's subject, named as a
/// common noun ("a subcontractor", "its auditors"); parties named as defined terms are
/// the contract's parties.
static ANOTHER_ACTOR: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?i:a|an|any|one|its|such|each|the)\s+(?:\p{Ll}+\s+)?(?:sub-?contractors?|agents?|affiliates?|contractors?|consultants?|compan(?:y|ies)|entit(?:y|ies)|persons?|providers?|suppliers?|vendors?|banks?|insurers?|auditors?|managers?|representatives?|employees?|officers?|directors?|engineers?|third\s+part(?:y|ies)|successors?|assignees?|firms?|licensees?|distributors?|carriers?|couriers?|experts?|arbitrators?)\b",
    )
});

/// The verbs of doing one's part an English duty opens with, after words that only
/// qualify it ("also", "promptly", "at its own cost,").
fn doing_ones_part(action: &str) -> bool {
    static VERB: LazyLock<Regex> = LazyLock::new(|| {
        compile(
            r"(?i)^\s*(?:,[^,]{1,80},\s*)?(?:(?:also|further|additionally|then|thereafter|\w+ly|at\s+all\s+times|at\s+its\s+(?:own\s+)?(?:cost|expense)|in\s+addition),?\s+)*(?P<verb>[a-z-]+)\b",
        )
    });
    const VERBS: &[&str] = &[
        "pay",
        "deliver",
        "provide",
        "supply",
        "furnish",
        "notify",
        "inform",
        "advise",
        "install",
        "maintain",
        "keep",
        "ensure",
        "procure",
        "obtain",
        "return",
        "indemnify",
        "defend",
        "hold",
        "insure",
        "submit",
        "send",
        "give",
        "perform",
        "invoice",
        "reimburse",
        "refund",
        "repair",
        "replace",
        "remedy",
        "correct",
        "cooperate",
        "co-operate",
        "assist",
        "attend",
        "bear",
        "retain",
        "destroy",
        "delete",
        "protect",
        "register",
        "report",
        "respond",
        "remove",
        "train",
        "supervise",
        "use",
        "make",
        "take",
        "implement",
        "test",
        "inspect",
        "accept",
        "review",
        "update",
        "upgrade",
        "support",
        "collect",
        "store",
        "preserve",
        "transfer",
        "grant",
        "execute",
        "sign",
        "settle",
        "reply",
        "fix",
        "resolve",
        "investigate",
        "document",
        "record",
        "monitor",
        "arrange",
        "secure",
        "fund",
        "deposit",
        "compensate",
        "honour",
        "honor",
        "observe",
        "seek",
        "verify",
        "confirm",
        "prepare",
        "produce",
        "issue",
        "file",
        "complete",
        "commence",
        "cease",
        "refrain",
        "treat",
        "handle",
        "process",
        "employ",
        "hire",
        "engage",
        "appoint",
        "nominate",
        "designate",
        "mitigate",
        "cure",
        "disclose",
        "permit",
        "allow",
        "carry",
        "remit",
        "render",
        "reconcile",
        "certify",
        "license",
        "assign",
        "tell",
        "warn",
        "consult",
        "meet",
        "participate",
        "purchase",
        "buy",
        "order",
        "acquire",
        "clean",
        "vacate",
    ];
    VERB.captures(action)
        .is_some_and(|caps| VERBS.contains(&caps["verb"].to_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn earlier<'a>(pronoun: &'a str, sentence: &'a str, action: &'a str) -> Earlier<'a> {
        Earlier {
            pronoun,
            party: "The Supplier",
            sentence,
            action,
            parties: &[],
        }
    }

    #[test]
    fn a_pronoun_opens_its_sentence_after_a_number_or_a_word_that_carries_on() {
        for before in ["", "4.2 ", "(b) ", "Furthermore, ", "(c) In addition, "] {
            assert!(opens_with_pronoun(before), "{before:?}");
        }
        for before in ["Upon request, ", "If the Customer pays, ", "and "] {
            assert!(!opens_with_pronoun(before), "{before:?}");
        }
    }

    #[test]
    fn the_verb_tells_a_party_from_a_thing() {
        let sentence = "The Supplier shall deliver the Goods.";
        for action in [
            "also install them",
            "promptly notify the Customer",
            ", at its own cost, repair any damage",
        ] {
            assert!(english(&earlier("it", sentence, action)), "{action}");
        }
        for action in [
            "run on the servers",
            "include the figures",
            "comply with the law",
        ] {
            assert!(!english(&earlier("it", sentence, action)), "{action}");
        }
    }

    #[test]
    fn another_party_or_actor_in_the_sentence_before_leaves_the_pronoun_unread() {
        let parties = ["Supplier".to_owned(), "Customer".to_owned()];
        let with = |sentence| Earlier {
            parties: &parties,
            ..earlier("it", sentence, "inspect them")
        };
        assert!(english(&with("The Supplier shall deliver the Goods.")));
        assert!(!english(&with(
            "The Supplier shall deliver the Goods to the Customer."
        )));
        assert!(!english(&with(
            "The Supplier shall appoint a subcontractor."
        )));
        // A word that holds a party's name is not the party.
        assert!(english(&with(
            "The Supplier shall keep the Customer-facing portal running."
        )));
    }

    #[test]
    fn they_stands_for_several_and_he_or_she_for_no_party() {
        let sentence = "The Supplier shall deliver the Goods.";
        assert!(!english(&earlier("they", sentence, "install them")));
        assert!(!english(&earlier("he", sentence, "attend the meetings")));
        let parties = Earlier {
            party: "The Parties",
            ..earlier("they", "The Parties shall meet monthly.", "keep minutes")
        };
        assert!(english(&parties));
        assert!(!english(&Earlier {
            pronoun: "it",
            ..parties
        }));
    }
}
