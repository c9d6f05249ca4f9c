//! Obligations in German, French and Spanish whose party is not named right before
//! the verb: a pronoun or an unsaid subject that opens a sentence (the party of the
//! sentence before), a German object first, a verb before its subject, a clause of
//! condition with an insertion of its own.

use super::language_tests::{duty, in_days, on, read_out, recurring, within};
use super::tests::parties_and_actions;
use super::*;

#[test]
fn a_french_pronoun_or_a_spanish_unsaid_subject_opening_a_sentence_binds_the_party_before() {
    let found = read_out(
        "Article 1. Le Prestataire livre le matériel au plus tard le 15 mai 2027. \
         Il doit également l'installer dans un délai de dix jours. \
         En outre, il formera le personnel. \
         Article 2. La Société verse une provision. Elle s'engage à régler le solde à la livraison.",
    );
    assert_eq!(
        found,
        [
            duty("Le Prestataire", false, on("2027-05-15")),
            duty("Le Prestataire", false, in_days(10)),
            duty("Le Prestataire", false, None),
            duty("La Société", false, None),
            duty("La Société", false, None),
        ]
    );
    let found = read_out(
        "Primera. El Arrendatario abonará la renta mensualmente. \
         Asimismo, deberá abonar los suministros dentro de los diez días siguientes a su recepción. \
         Entregará las llaves al término del contrato. No deberá ceder el contrato. \
         Segunda. Las Partes se comprometen a colaborar. Deberán reunirse cada trimestre.",
    );
    assert_eq!(
        found,
        [
            duty("El Arrendatario", false, recurring("monthly")),
            duty("El Arrendatario", false, within(10, "su recepción")),
            duty("El Arrendatario", false, None),
            duty("El Arrendatario", true, None),
            duty("Las Partes", false, None),
            duty("Las Partes", false, recurring("quarterly")),
        ]
    );
}

#[test]
fn a_french_or_spanish_pronoun_that_may_stand_for_a_thing_or_another_binds_no_one() {
    for text in [
        // What the sentence before delivers does it, or the pronoun does not agree.
        "Le Prestataire livre le Logiciel. Il doit fonctionner sur les serveurs du Client.",
        "Le Prestataire livre le matériel. Elle doit l'installer.",
        "El Proveedor entregará el Software. Deberá funcionar en los servidores.",
        "El Proveedor entregará los equipos. Deberán instalarse en la sede.",
        // Another party or someone else who acts is named before it.
        "Le Client paie le prix. Le Prestataire livre le matériel au Client. Il doit l'installer.",
        "Le Prestataire désigne un sous-traitant. Il doit respecter le planning.",
        "El Cliente pagará el precio. El Proveedor entregará los equipos al Cliente. Deberá instalarlos.",
        "El Proveedor contratará a un técnico. Deberá revisar los equipos.",
        // Nothing binds in the sentence before.
        "Le Prestataire est une société de droit français. Il doit livrer le matériel.",
    ] {
        let found = read(text);
        let by_pronoun = found.iter().find(|o| {
            ["Il ", "Elle ", "Deberá", "Deberán", "Deber"]
                .iter()
                .any(|opening| o.passage.starts_with(opening))
        });
        assert_eq!(by_pronoun, None, "{text}");
    }
    // A verb that names a subject of its own binds that subject.
    let found = read_out(
        "El Arrendatario abonará la renta. Deberá el Arrendador notificar cualquier cambio.",
    );
    assert_eq!(found[1], duty("el Arrendador", false, None));
}

#[test]
fn a_german_er_or_sie_opening_a_sentence_binds_the_party_before() {
    let found = read_out(
        "§ 1 Der Mieter zahlt die Miete monatlich. Er hat ferner die Nebenkosten binnen \
         zehn Tagen nach Zugang der Abrechnung zu tragen. Er ist außerdem verpflichtet, \
         Schäden unverzüglich mitzuteilen. Er darf die Räume nicht untervermieten. \
         § 2 Die Lieferantin ist verpflichtet, die Ware zu liefern. Sie muss die Ware \
         vor der Übergabe prüfen.",
    );
    assert_eq!(
        found,
        [
            duty("Der Mieter", false, recurring("monthly")),
            duty("Der Mieter", false, within(10, "Zugang der Abrechnung")),
            duty("Der Mieter", false, None),
            duty("Der Mieter", true, None),
            duty("Die Lieferantin", false, None),
            duty("Die Lieferantin", false, None),
        ]
    );
    for text in [
        // What the sentence before speaks of, or the contract.
        "Der Lieferant liefert den Server. Er muss den Anforderungen entsprechen.",
        "Der Vertrag beginnt am 1. Mai. Er verlängert sich um ein Jahr.",
        "Der Mieter zahlt die Miete. Sie ist monatlich im Voraus zu zahlen.",
        // Another party or actor is named before it, or the pronoun does not agree.
        "Der Kunde zahlt den Preis. Der Lieferant liefert die Ware an den Kunden. Er hat sie zu prüfen.",
        "Der Lieferant beauftragt einen Subunternehmer. Er hat die Frist einzuhalten.",
        "Die Lieferantin liefert die Ware. Er hat die Rechnung zu bezahlen.",
        // The polite "Sie" takes the plural.
        "Der Anbieter stellt den Dienst bereit. Sie haben die Gebühr zu zahlen.",
    ] {
        let found = read(text);
        let by_pronoun = found
            .iter()
            .find(|o| ["Er ", "Sie "].iter().any(|opening| o.passage.starts_with(opening)));
        assert_eq!(by_pronoun, None, "{text}");
    } // The name after a verb whose pronoun subject comes first is its object.
    let found = read_out(
        "Er liefert die Ware an den Kunden. Sie muss die Ware prüfen. \
         Wir haben die Kosten zu tragen.",
    );
    assert_eq!(found, [duty("Wir", false, None)]);
}

#[test]
fn a_german_object_first_with_die_is_told_by_the_parties_the_text_binds_elsewhere() {
    // "Lieferantin" is a party elsewhere, "Ware" never: the object comes first.
    let found = read(
        "§ 1 Die Lieferantin ist verpflichtet, die Ware zu versichern. \
         § 2 Die Ware liefert die Lieferantin.",
    );
    assert_eq!(
        parties_and_actions(&found),
        [
            ("Die Lieferantin", "die Ware zu versichern"),
            ("die Lieferantin", "Die Ware"),
        ]
    );
    // The reading that lost names no party: "Ware" does not stand between the
    // Lieferantin and the pronoun after her.
    let found = read_out(
        "Die Ware liefert die Lieferantin. Die Lieferantin ist verpflichtet, die Ware zu \
         versichern. Zudem darf sie keine Subunternehmer einsetzen.",
    );
    assert_eq!(found[2], duty("Die Lieferantin", true, None));
    // Both are parties, or nothing tells: read subject first, as German reads it.
    for (text, party) in [
        (
            "Die Beraterin ist verpflichtet, Berichte zu senden. Die Kundin zahlt das Honorar. \
             Die Beraterin berät die Kundin.",
            "Die Beraterin",
        ),
        ("Die Ware liefert die Lieferantin.", "Die Ware"),
    ] {
        let last = read_out(text).pop().expect("the last sentence binds");
        assert_eq!(last.0, party, "{text}");
    }
}

#[test]
fn a_german_clause_of_condition_may_hold_an_insertion_between_commas() {
    let found = read_out(
        "§ 1 Wenn der Kunde, gleich aus welchem Grund, die Ware nicht abnimmt, hat er die \
         Lagerkosten zu tragen. \
         § 2 Gerät der Mieter, ganz oder teilweise, in Verzug, so zahlt der Mieter Verzugszinsen.",
    );
    assert_eq!(
        found,
        [
            duty("der Kunde", false, None),
            duty("der Mieter", false, None),
        ]
    );
}

#[test]
fn a_spanish_verb_before_its_subject_binds_that_subject() {
    let found = read_out(
        "Primera. Deberá el Arrendador notificar cualquier cambio dentro de los diez días \
         siguientes. \
         Segunda. En caso de impago, abonará el Arrendatario un interés mensual. \
         Tercera. Abona el Titular cada factura dentro de los 30 días. \
         Cuarta. Si el Cliente cancela el pedido, deberá el Proveedor devolver el anticipo. \
         Quinta. No deberá el Arrendatario ceder el contrato. \
         Sexta. El Titular facilita el acceso a las instalaciones.",
    );
    assert_eq!(
        found,
        [
            duty("el Arrendador", false, in_days(10)),
            duty("el Arrendatario", false, recurring("monthly")),
            duty("el Titular", false, in_days(30)),
            duty("el Proveedor", false, None),
            duty("el Arrendatario", true, None),
            duty("El Titular", false, None),
        ]
    );
    // A future or a present names its subject after it only if the contract binds that
    // name elsewhere: with the subject unsaid, the name after the verb is its object.
    for text in [
        "El local tiene 80 m2. Asimismo, abonará la Cuota de comunidad.",
        "Abona el Titular cada factura dentro de los 30 días.",
    ] {
        assert_eq!(read_out(text), [], "{text}");
    }
    // Not after a subject of its own, nor a part of the contract, nor a verb that is no
    // duty's.
    for text in [
        "El Cliente paga la Renta del local.",
        "Forma parte el Anexo I del presente contrato.",
        "Podrá el Arrendatario ceder el contrato.",
        "Si el Cliente paga la Factura, el contrato sigue.",
    ] {
        let parties: Vec<String> = read(text).into_iter().map(|o| o.party).collect();
        assert!(
            parties.iter().all(|p| p == "El Cliente"),
            "{text}: {parties:?}"
        );
    }
}

#[test]
fn long_runs_of_unsaid_subjects_and_verbs_before_names_are_read_in_bounded_time() {
    // Each pronoun looks back one sentence, and each reading left open is told by one
    // pass over the parties, however many there are.
    let mut text = "El Arrendatario abonará la renta. ".to_owned();
    text.push_str(&"Asimismo, deberá abonar la cuota. Abonará la Renta el Titular. ".repeat(300));
    text.push_str(&"Die Ware liefert die Lieferantin. Er hat die Kosten zu tragen. ".repeat(300));
    let started = std::time::Instant::now();
    let found = read(&text);
    // A guard against a hang, not a measure: the benchmarks measure.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    let count = |party: &str| found.iter().filter(|o| o.party == party).count();
    // "Abonará la Renta": "Renta" is bound nowhere else, so the subject is unsaid, the
    // Arrendatario's; "Er" does not agree with "Die Ware", read subject first as nothing
    // tells otherwise.
    assert_eq!(
        (count("El Arrendatario"), count("Die Ware"), found.len()),
        (601, 300, 901)
    );
}

#[test]
fn a_spanish_name_after_a_future_is_its_subject_only_if_bound_elsewhere_and_else_unread() {
    // Bound elsewhere: the subject after the verb, not the sentence before's party.
    let found = read_out(
        "Primera. El Arrendatario abonará la fianza. \
         Segunda. El Arrendador entrega el local. Abonará el Arrendatario la renta.",
    );
    assert_eq!(found[2], duty("el Arrendatario", false, None));
    // Bound nowhere else: either reading may be wrong, so neither is made; a thing the
    // contract is about is an object, and the subject the sentence before's party.
    assert_eq!(
        read_out("El Arrendador entrega el local. Abonará el Inquilino la renta."),
        [duty("El Arrendador", false, None)]
    );
    assert_eq!(
        read_out("El Arrendatario conserva el local. Abonará la Renta cada mes."),
        [
            duty("El Arrendatario", false, None),
            duty("El Arrendatario", false, recurring("monthly")),
        ]
    );
}

#[test]
fn a_german_pronoun_after_its_verb_binds_the_party_before() {
    let found = read_out(
        "§ 1 Der Mieter zahlt die Miete. Ferner hat er die Nebenkosten zu tragen. \
         Außerdem ist er verpflichtet, Schäden unverzüglich anzuzeigen. \
         Monatlich legt er einen Bericht vor. \
         § 2 Die Lieferantin ist verpflichtet, die Ware zu liefern. Zudem darf sie keine \
         Subunternehmer einsetzen.",
    );
    assert_eq!(
        found,
        [
            duty("Der Mieter", false, None),
            duty("Der Mieter", false, None),
            duty("Der Mieter", false, None),
            duty("Der Mieter", false, recurring("monthly")),
            duty("Die Lieferantin", false, None),
            duty("Die Lieferantin", true, None),
        ]
    );
    // A verb first alone opens a condition; "er" does not agree with "die".
    for text in [
        "Der Mieter zahlt die Miete. Zahlt er nicht, hat er Zinsen zu zahlen.",
        "Die Lieferantin liefert die Ware. Ferner hat er die Kosten zu tragen.",
    ] {
        let found = read_out(text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
    }
}
