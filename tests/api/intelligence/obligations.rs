//! A contract's obligations through the server, without a model: each sentence that
//! binds a party, with its due time, in English, German, French and Spanish; a redacted
//! original's are refused to the viewer it is kept from; an unknown contract is a 404.

use super::*;

#[tokio::test]
async fn the_sentences_that_bind_a_party_are_listed_with_their_due_times() {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    let id = create(
        &app,
        &acme,
        "Hosting",
        "Customer shall pay each invoice within thirty (30) days of receipt of the invoice.\n\
         The Supplier must deliver a service report monthly.\n\
         It shall also keep each report for two years. It shall include the uptime figures.\n\
         This Agreement shall continue for one year.\n\
         If the Customer disputes an invoice, it shall notify the Supplier within 10 days.\n\
         Upon the Customer's request, it shall provide a report.",
    )
    .await;
    let path = format!("/api/v1/contracts/{id}/obligations");
    let viewer = viewer(&app, &acme).await;
    let (status, found) = json(&app, &acme, &viewer, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let list = found["obligations"].as_array().unwrap();
    let parties: Vec<&str> = list.iter().map(|o| o["party"].as_str().unwrap()).collect();
    // A pronoun binds the subject of the clause that opens its sentence, or the party
    // of the sentence before when it opens its own with a verb of doing one's part,
    // and nothing where neither names one ("include" is what a report does).
    assert_eq!(
        parties,
        ["Customer", "The Supplier", "The Supplier", "the Customer"],
        "{found}"
    );
    assert_eq!(list[2]["action"], "also keep each report for two years");
    assert_eq!(list[3]["due"], json!({"within_days": 10}));
    assert_eq!(
        list[0]["due"],
        json!({"within_days": 30, "after": "receipt of the invoice"})
    );
    assert_eq!(list[1]["due"], json!({"recurs": "monthly"}));
    assert_eq!(list[0]["attachment_id"], Value::Null);

    restrict_original(&app, &acme, &id).await;
    assert_eq!(
        json(&app, &acme, &viewer, Method::GET, &path, None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        json(&app, &acme, &acme.admin, Method::GET, &path, None)
            .await
            .0,
        StatusCode::OK
    );
    let unknown = format!("/api/v1/contracts/{}/obligations", uuid::Uuid::new_v4());
    assert_eq!(
        json(&app, &acme, &acme.admin, Method::GET, &unknown, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn duties_written_in_german_french_and_spanish_are_listed_with_their_due_times_in_either_tense(
) {
    let db = TestDb::migrated().await;
    let app = spawn_app(&db, &[]).await;
    let acme = tenant(&db, &app, "acme").await;
    for (body, expected) in [
        (
            "§ 1 Der Auftragnehmer ist verpflichtet, die Anlage bis zum 1. Juni 2027 zu liefern.\n\
             § 2 Der Kunde hat jede Rechnung innerhalb von 21 Tagen nach Zugang zu bezahlen.\n\
             § 3 Der Auftragnehmer darf Unterauftragnehmer nicht ohne Zustimmung einsetzen.\n\
             § 4 Der Kunde darf die Software in allen Werken nutzen.\n\
             § 5 Der Mieter leistet bis zum 1. Juli 2027 eine Kaution.\n\
             § 6 Der Vermieter haftet für Vorsatz und leistet Gewähr für die Heizung.\n\
             § 7 Gerät der Kunde mehr als 30 Tage in Verzug, so zahlt der Kunde Verzugszinsen.\n\
             § 8 Sobald die Anlage abgenommen ist, wartet der Auftragnehmer sie monatlich.\n\
             § 9 Die Kosten der Anreise trägt der Kunde.\n\
             § 10 Kommt der Mieter mit der Rückgabe in Verzug, so hat er eine Entschädigung zu zahlen.\n\
             § 11 Der Mieter leistet die Miete monatlich. Er hat ferner die Nebenkosten zu tragen.\n\
             § 12 Die Ware liefert die Lieferantin. Die Lieferantin ist verpflichtet, die Ware zu \
             versichern. Zudem darf sie keine Subunternehmer einsetzen.",
            json!([
                {"party": "Der Auftragnehmer", "prohibition": false, "due": {"date": "2027-06-01"}},
                {"party": "Der Kunde", "prohibition": false, "due": {"within_days": 21, "after": "Zugang"}},
                {"party": "Der Auftragnehmer", "prohibition": true, "due": null},
                {"party": "Der Mieter", "prohibition": false, "due": {"date": "2027-07-01"}},
                // After a condition: its 30 days are the condition's, not the duty's.
                {"party": "der Kunde", "prohibition": false, "due": null},
                {"party": "der Auftragnehmer", "prohibition": false, "due": {"recurs": "monthly"}},
                // The object first, the party last.
                {"party": "der Kunde", "prohibition": false, "due": null},
                // A pronoun for the condition's subject.
                {"party": "der Mieter", "prohibition": false, "due": null},
                // A pronoun opening a sentence, for the party of the sentence before.
                {"party": "Der Mieter", "prohibition": false, "due": {"recurs": "monthly"}},
                {"party": "Der Mieter", "prohibition": false, "due": null},
                // "die" for object and subject: the party bound elsewhere is the subject.
                {"party": "die Lieferantin", "prohibition": false, "due": null},
                {"party": "Die Lieferantin", "prohibition": false, "due": null},
                // A pronoun after its verb, for the party of the sentence before.
                {"party": "Die Lieferantin", "prohibition": true, "due": null},
            ]),
        ),
        (
            "Article 1. Le Prestataire s'engage à effectuer une visite d'entretien mensuelle.\n\
             Article 2. Le Client est tenu de payer chaque facture dans un délai de trente jours \
             à compter de sa réception.\n\
             Article 3. Le Prestataire s'interdit de sous-traiter l'entretien.\n\
             Article 4. Chaque partie pourra résilier le contrat.\n\
             Article 5. Le Preneur verse chaque mois une provision sur charges.\n\
             Article 6. Le Prestataire garantit que les pièces sont neuves.\n\
             Article 7. Il incombe au Prestataire de remettre un rapport dans un délai de \
             quinze jours à compter de chaque visite.\n\
             Article 8. Les frais de déplacement sont à la charge du Client.\n\
             Article 9. Si le Client résilie le contrat, il verse une indemnité.\n\
             Article 10. Le Preneur remet les clés. Il doit également restituer le badge.",
            json!([
                {"party": "Le Prestataire", "prohibition": false, "due": {"recurs": "monthly"}},
                {"party": "Le Client", "prohibition": false, "due": {"within_days": 30, "after": "sa réception"}},
                {"party": "Le Prestataire", "prohibition": true, "due": null},
                {"party": "Le Preneur", "prohibition": false, "due": {"recurs": "monthly"}},
                // Laid on a party named after a preposition, as the text names it there.
                {"party": "Prestataire", "prohibition": false, "due": {"within_days": 15, "after": "chaque visite"}},
                {"party": "Client", "prohibition": false, "due": null},
                {"party": "le Client", "prohibition": false, "due": null},
                // A pronoun opening a sentence, for the party of the sentence before.
                {"party": "Le Preneur", "prohibition": false, "due": null},
                {"party": "Le Preneur", "prohibition": false, "due": null},
            ]),
        ),
        (
            "Primera. El Desarrollador deberá entregar la primera versión antes del 30 de junio de 2027.\n\
             Segunda. El Cliente pagará cada factura dentro de los treinta días siguientes a su recepción.\n\
             Tercera. El Desarrollador se abstendrá de reutilizar el código fuente.\n\
             Cuarta. El Desarrollador responderá de los daños causados.\n\
             Quinta. El Cliente abona una cuota cada mes.\n\
             Sexta. El Cliente entrega en este acto una fianza.\n\
             Séptima. Serán de cuenta del Cliente los gastos de desplazamiento.\n\
             Octava. Queda prohibido al Desarrollador ceder el contrato.\n\
             Novena. Si el Cliente cancela el pedido, deberá abonar los trabajos realizados.\n\
             Décima. El Desarrollador entregará el código fuente. Asimismo, deberá entregar \
             la documentación antes del 31 de julio de 2027.\n\
             Undécima. En caso de retraso, abonará el Cliente un interés mensual.",
            json!([
                {"party": "El Desarrollador", "prohibition": false, "due": {"date": "2027-06-30"}},
                {"party": "El Cliente", "prohibition": false, "due": {"within_days": 30, "after": "su recepción"}},
                {"party": "El Desarrollador", "prohibition": true, "due": null},
                {"party": "El Cliente", "prohibition": false, "due": {"recurs": "monthly"}},
                {"party": "Cliente", "prohibition": false, "due": null},
                {"party": "Desarrollador", "prohibition": true, "due": null},
                // The subject left unsaid after a condition is the condition's.
                {"party": "el Cliente", "prohibition": false, "due": null},
                // The subject left unsaid at a sentence's start is the sentence's before.
                {"party": "El Desarrollador", "prohibition": false, "due": null},
                {"party": "El Desarrollador", "prohibition": false, "due": {"date": "2027-07-31"}},
                // The verb before its subject.
                {"party": "el Cliente", "prohibition": false, "due": {"recurs": "monthly"}},
            ]),
        ),
    ] {
        let id = create(&app, &acme, "Vertrag", body).await;
        let path = format!("/api/v1/contracts/{id}/obligations");
        let (status, found) = json(&app, &acme, &acme.admin, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let listed: Vec<Value> = found["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| json!({"party": o["party"], "prohibition": o["prohibition"], "due": o["due"]}))
            .collect();
        assert_eq!(Value::from(listed), expected, "{body}");
    }
}
