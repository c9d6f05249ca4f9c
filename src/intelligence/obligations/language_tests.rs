//! Obligations read in German, French and Spanish: what binds, what only permits or
//! states, prohibitions, and due times in each language's words.

use super::*;

/// Each obligation as (party, prohibition, due).
pub(super) fn read_out(text: &str) -> Vec<(String, bool, Option<Due>)> {
    read(text)
        .into_iter()
        .map(|o| (o.party, o.prohibition, o.due))
        .collect()
}

pub(super) fn within(days: u32, after: &str) -> Option<Due> {
    Some(Due {
        within_days: Some(days),
        after: Some(after.into()),
        ..Due::default()
    })
}

pub(super) fn in_days(days: u32) -> Option<Due> {
    Some(Due {
        within_days: Some(days),
        ..Due::default()
    })
}

pub(super) fn on(date: &str) -> Option<Due> {
    Some(Due {
        date: Some(date.into()),
        ..Due::default()
    })
}

pub(super) fn recurring(every: &str) -> Option<Due> {
    Some(Due {
        recurs: Some(every.into()),
        ..Due::default()
    })
}

pub(super) fn duty(
    party: &str,
    prohibition: bool,
    due: Option<Due>,
) -> (String, bool, Option<Due>) {
    (party.to_owned(), prohibition, due)
}

#[test]
fn german_duties_bind_and_rights_permissions_and_passives_do_not() {
    let found = read_out(
        "§ 1 Der Auftragnehmer ist verpflichtet, die Anlage bis zum 1. Juni 2027 zu liefern. \
         Der Kunde hat jede Rechnung binnen fünf Werktagen nach Zugang zu bezahlen. \
         Die Müller & Söhne GmbH wird dem Kunden monatlich einen Bericht senden. \
         Der Mieter darf die Räume nicht untervermieten. \
         Die Parteien verpflichten sich, keine Mitarbeiter abzuwerben. \
         Bei Verzug hat der Kunde Zinsen zu zahlen. \
         Der Mieter hat das Recht, den Vertrag zu kündigen. \
         Der Mieter darf Haustiere halten. \
         Das Darlehen wird am 10. Mai 2025 ausgezahlt. \
         Der Vertrag wird auf ein Jahr geschlossen. \
         Der Lieferant darf, sofern nicht anders vereinbart, Subunternehmer einsetzen.",
    );
    assert_eq!(
        found,
        [
            duty("Der Auftragnehmer", false, on("2027-06-01")),
            duty("Der Kunde", false, within(5, "Zugang")),
            duty("Die Müller & Söhne GmbH", false, recurring("monthly")),
            duty("Der Mieter", true, None),
            duty("Die Parteien", true, None),
            duty("der Kunde", false, None),
        ]
    );
}

#[test]
fn german_infinitives_that_begin_like_participles_are_duties_not_passives() {
    let found = read_out(
        "Der Lieferant wird die Verfügbarkeit des Dienstes gewährleisten. \
         Der Kunde wird die Erklärung beim Finanzamt abgeben. \
         Der Mieter wird keine Verpflichtungen gegenüber Dritten eingehen. \
         Der Vermieter wird die Kaution zurückgeben. \
         Die Erklärung wird beim Finanzamt abgegeben. \
         Die Kaution wird zurückgegeben. \
         Der Vertrag wird auf ein Jahr geschlossen.",
    );
    assert_eq!(
        found,
        [
            duty("Der Lieferant", false, None),
            duty("Der Kunde", false, None),
            duty("Der Mieter", true, None),
            duty("Der Vermieter", false, None),
        ]
    );
}

#[test]
fn french_duties_bind_and_permissions_and_statements_do_not() {
    let found = read_out(
        "Le Prestataire s'engage à livrer le logiciel au plus tard le 15 mai 2027. \
         Le Client est tenu de payer chaque facture dans un délai de trente jours à compter \
         de sa réception. \
         Le Donneur d'ordre devra fournir un rapport trimestriel. \
         Le Preneur s’interdit de sous-louer les locaux. \
         Le Client ne doit pas divulguer les informations. \
         Atelier Numérique SAS fournira une assistance. \
         Chaque partie pourra résilier le contrat. \
         Aucune partie ne sera responsable d'un cas de force majeure. \
         Le Contrat entrera en vigueur le 1er mars 2025.",
    );
    assert_eq!(
        found,
        [
            duty("Le Prestataire", false, on("2027-05-15")),
            duty("Le Client", false, within(30, "sa réception")),
            duty("Le Donneur d'ordre", false, recurring("quarterly")),
            duty("Le Preneur", true, None),
            duty("Le Client", true, None),
            duty("Atelier Numérique SAS", false, None),
        ]
    );
}

#[test]
fn spanish_duties_bind_and_permissions_and_liabilities_do_not() {
    let found = read_out(
        "El Proveedor se obliga a entregar los equipos antes del 30 de junio de 2027. \
         El Cliente pagará cada factura dentro de los treinta días siguientes a su recepción. \
         Ambas partes se comprometen a guardar secreto. \
         La Arrendataria deberá abonar la renta mensualmente. \
         El Transportista se abstendrá de divulgar la información. \
         El Cliente no deberá ceder el contrato. \
         Limpiezas Brillo S.A. prestará los servicios de limpieza. \
         Cualquiera de las partes podrá resolver el contrato. \
         El Proveedor responderá de los daños causados. \
         El Contrato se renovará automáticamente.",
    );
    assert_eq!(
        found,
        [
            duty("El Proveedor", false, on("2027-06-30")),
            duty("El Cliente", false, within(30, "su recepción")),
            duty("Ambas partes", false, None),
            duty("La Arrendataria", false, recurring("monthly")),
            duty("El Transportista", true, None),
            duty("El Cliente", true, None),
            duty("Limpiezas Brillo S.A.", false, None),
        ]
    );
}

#[test]
fn a_text_is_read_by_the_grammars_of_the_languages_it_is_written_in() {
    // "Banco de la Nación" in an English contract is a name in passing, not Spanish.
    let english = "The Supplier shall deliver the goods to Banco de la Nación. \
                   The Customer shall pay within 30 days of receipt.";
    let parties: Vec<String> = read(english).into_iter().map(|o| o.party).collect();
    assert_eq!(parties, ["The Supplier", "The Customer"]);
    let bilingual = format!(
        "{english}\nDer Lieferant ist verpflichtet, die Ware zu liefern, und der Kunde wird \
         sie prüfen. Die Parteien verpflichten sich, dies geheim zu halten."
    );
    let parties: Vec<String> = read(&bilingual).into_iter().map(|o| o.party).collect();
    assert_eq!(
        parties,
        [
            "The Supplier",
            "The Customer",
            "Der Lieferant",
            "Die Parteien"
        ]
    );
}

#[test]
fn hostile_text_in_each_language_is_read_in_bounded_time() {
    for opening in [
        "Der Auftragnehmer ist verpflichtet, ",
        "Le Prestataire s'engage à ",
        "El Proveedor se obliga a ",
        "Der Kunde zahlt ",
        "Le Client verse ",
        "El Cliente abona ",
    ] {
        let mut text = "😀 ".repeat(5_000);
        text.push_str(&opening.repeat(20_000));
        text.push_str(&"innerhalb von 1. 2. 3. ".repeat(5_000));
        let started = std::time::Instant::now();
        let found = read(&text);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{opening}: {:?}",
            started.elapsed()
        );
        assert!(found.len() <= MAX_OBLIGATIONS);
    }
}

#[test]
fn german_present_tense_binds_when_its_verb_is_a_duty_and_its_party_opens_the_sentence() {
    let found = read_out(
        "§ 1 Der Auftragnehmer übernimmt die Wartung der Software.\n\
         (2) Der Mieter leistet eine Kaution in Höhe von drei Monatsmieten. \
         Der Kunde zahlt jede Rechnung innerhalb von 14 Tagen nach Zugang. \
         Die Beraterin legt monatlich Teilrechnungen. \
         2. Gegenstand: Die Alpenmilch Genossenschaft liefert Käse und Butter. \
         Der Lieferant setzt keine Subunternehmer ein. \
         Der Auftragnehmer haftet für Vorsatz. \
         Die Lieferantin leistet Gewähr dafür, dass das Holz trocken ist. \
         Der Verkäufer gibt keine Garantie für die Haltbarkeit. \
         Die Darlehensgeberin gewährt dem Darlehensnehmer ein Darlehen. \
         Der Auftraggeber erhält monatlich einen Bericht. \
         Der Vertrag beginnt am 1. Mai 2025.",
    );
    assert_eq!(
        found,
        [
            duty("Der Auftragnehmer", false, None),
            duty("Der Mieter", false, None),
            duty("Der Kunde", false, within(14, "Zugang")),
            duty("Die Beraterin", false, recurring("monthly")),
            duty("Die Alpenmilch Genossenschaft", false, None),
            duty("Der Lieferant", true, None),
        ]
    );
}

#[test]
fn french_present_tense_binds_and_warranties_grants_and_liability_do_not() {
    let found = read_out(
        "Article 4 – Dépôt de garantie\nLe Preneur verse un dépôt de garantie de 4 800 euros.\n\
         3. En contrepartie, la Licenciée verse une redevance annuelle. \
         Le Client paie chaque facture dans les 30 jours suivant sa réception. \
         Le Prestataire ne communique pas les données à des tiers. \
         Le Concédant garantit que le logiciel est conforme. \
         Le Bailleur donne à bail au Preneur un local commercial. \
         Le Prêteur consent à l'Emprunteur un prêt. \
         Le Fournisseur répond des dommages directs. \
         Le Client reçoit les identifiants. \
         Le Prestataire assure que le service est disponible. \
         Si le Client paie en retard, des intérêts courent.",
    );
    assert_eq!(
        found,
        [
            duty("Le Preneur", false, None),
            duty("la Licenciée", false, recurring("annually")),
            duty("Le Client", false, within(30, "sa réception")),
            duty("Le Prestataire", true, None),
        ]
    );
}

#[test]
fn spanish_present_tense_binds_and_what_is_done_at_signing_does_not() {
    let found = read_out(
        "Primera. Objeto. El Mantenedor revisa las instalaciones cada trimestre. \
         El Titular abona cada factura dentro de los 30 días siguientes a su recepción. \
         El Proveedor no comunica los datos a terceros. \
         El Arrendatario entrega en este acto una fianza. \
         El Arrendador cede en arrendamiento el local. \
         El Mantenedor garantiza las reparaciones. \
         El Mantenedor responde de los daños. \
         El Titular recibe un informe.",
    );
    assert_eq!(
        found,
        [
            duty("El Mantenedor", false, recurring("quarterly")),
            duty("El Titular", false, within(30, "su recepción")),
            duty("El Proveedor", true, None),
        ]
    );
}

#[test]
fn german_present_tense_with_its_verb_after_one_opening_phrase_binds() {
    let found = read_out(
        "Monatlich legt die Beraterin einen Bericht über die Arbeiten vor. \
         (3) Bis zum dritten Werktag eines jeden Monats zahlt der Mieter die Miete. \
         Nach der Abnahme übernimmt der Auftragnehmer die Wartung. \
         Im Übrigen setzt der Lieferant keine Subunternehmer ein. \
         Sobald die Ware eintrifft liefert der Händler sie aus. \
         Hiermit übergibt der Verkäufer die Schlüssel. \
         Monatlich erhält der Auftraggeber einen Bericht. \
         Zahlt der Kunde nicht, mahnt die Vermieterin. \
         Der Kunde liefert die Ware. \
         Acme GmbH stellt die Räume. \
         Wir liefern die Ersatzteile.",
    );
    assert_eq!(
        found,
        [
            duty("die Beraterin", false, recurring("monthly")),
            duty("der Mieter", false, None),
            duty("der Auftragnehmer", false, None),
            duty("der Lieferant", true, None),
            // Their subjects open the sentence: the present tense read as before.
            duty("Der Kunde", false, None),
            duty("Acme GmbH", false, None),
            duty("Wir", false, None),
        ]
    );
}

#[test]
fn german_present_tense_after_a_clause_of_condition_or_time_binds_its_main_clause() {
    let found = read_out(
        "Wenn der Kunde zahlt, liefert der Lieferant die Ware. \
         (2) Sobald die Ware eintrifft, prüft der Händler sie binnen drei Werktagen nach Eingang. \
         Gerät der Mieter mit mehr als 30 Tagen in Verzug, so zahlt der Mieter Verzugszinsen. \
         Soweit nicht anders vereinbart, trägt jede Partei ihre eigenen Kosten. \
         Falls der Kunde es verlangt, setzt der Auftragnehmer keine Subunternehmer ein. \
         Soweit gesetzlich zulässig, übernimmt der Auftragnehmer keine Haftung. \
         Wenn der Kunde zahlt, erhält der Lieferant eine Quittung. \
         Zahlt der Mieter nicht, mahnt die Vermieterin. \
         Der Kunde zahlt, liefert der Händler die Ware. \
         Sobald die Ware eintrifft liefert der Händler sie aus.",
    );
    assert_eq!(
        found,
        [
            duty("der Lieferant", false, None),
            // A period in the main clause is the duty's.
            duty("der Händler", false, within(3, "Eingang")),
            // One in the condition is the condition's.
            duty("der Mieter", false, None),
            duty("jede Partei", false, None),
            duty("der Auftragnehmer", true, None),
        ]
    );
}

#[test]
fn duties_laid_on_a_party_named_after_a_preposition_bind_in_german_french_and_spanish() {
    let found = read_out(
        "§ 4 Es obliegt dem Auftragnehmer, die Anlage monatlich zu warten. \
         Dem Mieter obliegt die Pflege der Außenanlagen. \
         Dem Mieter ist es untersagt, die Räume unterzuvermieten. \
         Es ist dem Kunden untersagt, die Software weiterzugeben. \
         Der Mieterin obliegt die Beweislast für Schäden. \
         Dem Vermieter ist es gestattet, die Räume zu besichtigen.",
    );
    assert_eq!(
        found,
        [
            duty("Auftragnehmer", false, recurring("monthly")),
            duty("Mieter", false, None),
            duty("Mieter", true, None),
            duty("Kunden", true, None),
        ]
    );

    let found = read_out(
        "Article 5. Il incombe au Prestataire de vérifier les installations chaque mois. \
         Il est interdit au Preneur de sous-louer les locaux. \
         Sont à la charge du Preneur les réparations locatives. \
         Les frais d'enregistrement sont à la charge de l'Acquéreur. \
         Les frais de dossier ne sont pas à la charge du Client. \
         Les frais de port ne seront à la charge du Client que pour les petites commandes. \
         La charge de la preuve incombe au Client. \
         Il appartient au Client de choisir le transporteur. \
         Le Preneur a le droit de résilier le bail.",
    );
    assert_eq!(
        found,
        [
            duty("Prestataire", false, recurring("monthly")),
            duty("Preneur", true, None),
            duty("Preneur", false, None),
            duty("Acquéreur", false, None),
        ]
    );

    let found = read_out(
        "Quinta. Corresponde al Arrendatario el pago de los suministros dentro de los diez días \
         siguientes a la factura. \
         Queda prohibido al Arrendatario subarrendar la vivienda. \
         Es obligación del Arrendatario conservar la vivienda en buen estado. \
         Serán de cuenta del Arrendatario los gastos de comunidad. \
         Los gastos de notaría serán por cuenta de la Compradora. \
         Corresponde al Arrendador el derecho de inspeccionar la vivienda. \
         Los riesgos serán de cuenta del Comprador. \
         Los impuestos no serán de cuenta del Arrendatario.",
    );
    assert_eq!(
        found,
        [
            duty("Arrendatario", false, within(10, "la factura")),
            duty("Arrendatario", true, None),
            duty("Arrendatario", false, None),
            duty("Arrendatario", false, None),
            duty("Compradora", false, None),
        ]
    );
}

#[test]
fn german_object_first_binds_the_subject_that_closes_the_sentence() {
    let found = read_out(
        "(1) Die Kosten der Anreise trägt der Auftraggeber. \
         Den Transport zum Lager übernimmt der Lieferant. \
         Die Ersatzteile liefert der Hersteller. \
         Die Miete zahlt der Mieter. \
         Das Risiko des Untergangs trägt der Käufer. \
         Die Gewähr für Mängel übernimmt der Verkäufer. \
         Die Ware liefert die Lieferantin. \
         Nach Abnahme trägt der Käufer. \
         Der Kunde liefert die Ware.",
    );
    assert_eq!(
        found,
        [
            duty("der Auftraggeber", false, None),
            duty("der Lieferant", false, None),
            // Read subject first, "Die Ersatzteile" were the party.
            duty("der Hersteller", false, None),
            duty("der Mieter", false, None),
            // "die" does not tell subject from object: read as before, subject first.
            duty("Die Ware", false, None),
            duty("Der Kunde", false, None),
        ]
    );
}

#[test]
fn german_clause_with_a_relative_clause_inside_and_a_pronoun_for_its_party_binds() {
    let found = read_out(
        "Wenn der Kunde, der Verbraucher ist, zahlt, liefert der Händler die Ware. \
         Gerät der Mieter mit mehr als 30 Tagen in Verzug, so zahlt er Verzugszinsen. \
         Sobald die Lieferantin die Ware versendet, informiert sie den Kunden binnen zwei Tagen. \
         Wenn der Kunde die Ware nicht abnimmt, hat er die Kosten der Lagerung zu tragen. \
         Kündigt der Auftraggeber, so ist er verpflichtet, die erbrachten Leistungen zu vergüten. \
         Falls der Lieferant die Frist versäumt, setzt er keine Subunternehmer ein. \
         Wenn der Kunde es verlangt, legt er einen Bericht vor. \
         Wenn die Lieferung verspätet ist, zahlt er eine Vertragsstrafe. \
         Wenn der Vertrag endet, gibt er die Unterlagen zurück. \
         Monatlich zahlt er die Miete. \
         Wenn der Kunde zahlt, die Ware abholt und sie prüft, so zahlt er nichts.",
    );
    assert_eq!(
        found,
        [
            duty("der Händler", false, None),
            // The condition's period is not the duty's.
            duty("der Mieter", false, None),
            duty("die Lieferantin", false, in_days(2)),
            duty("der Kunde", false, None),
            duty("der Auftraggeber", false, None),
            duty("der Lieferant", true, None),
        ]
    );
}

#[test]
fn a_french_pronoun_and_a_spanish_unsaid_subject_after_a_condition_bind_its_subject() {
    let found = read_out(
        "Si le Preneur ne paie pas le loyer à son échéance, il doit verser des intérêts de retard. \
         Lorsque la Société reçoit une réclamation, elle informe le Client sous huit jours. \
         Si l'Acquéreur revend le bien, il s'interdit de céder la garantie. \
         Si les Parties ne parviennent pas à un accord, elles s'engagent à recourir à la médiation. \
         Si le Preneur quitte les lieux, elle doit restituer les clés. \
         Il doit être noté que le Client paie. \
         Si le Preneur quitte les lieux, il incombera au Bailleur de les remettre en état. \
         Si le Client le demande, il conviendra de prévoir une visite. \
         Si le Client le demande, il remet une copie du rapport. \
         Si el Cliente lo solicita, deberá entregar un informe. \
         Si el Cliente solicita servicios adicionales, deberá abonarlos. \
         Si el Arrendatario se retrasa en el pago, deberá abonar un interés del 5 %. \
         Cuando la Compradora reciba la mercancía, abonará el precio dentro de 30 días. \
         Si el Cliente lo solicita, el Proveedor se obliga a enviar un informe. \
         Si el Arrendatario no paga, deberá el Arrendador notificarle el impago. \
         Si el Contrato se resuelve, devolverá la fianza. \
         Una vez firmado, deberá abonar la renta.",
    );
    assert_eq!(
        found,
        [
            duty("le Preneur", false, None),
            duty("la Société", false, in_days(8)),
            duty("l'Acquéreur", true, None),
            duty("les Parties", false, None),
            // An impersonal "il" stands for no one: the duty is the Bailleur's.
            duty("Bailleur", false, None),
            // Asking for something, the subject pays for it.
            duty("el Cliente", false, None),
            duty("el Arrendatario", false, None),
            duty("la Compradora", false, in_days(30)),
            duty("el Proveedor", false, None),
            // A verb with a subject of its own binds that subject, not the clause's.
            duty("el Arrendador", false, None),
        ]
    );
}
