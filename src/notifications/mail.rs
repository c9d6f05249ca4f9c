//! Email: messages rendered from templates (minijinja; HTML escaped by file name) and
//! sent through lettre to `SMTP_URL`, or, without one, written as `.eml` files to an
//! outbox folder. Every message carries the `Message-ID` fixed when its delivery was
//! planned, so a retry sends the same message again, never a second one; in the outbox
//! a retry overwrites the same file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use lettre::message::{header, Attachment, Mailbox, MultiPart};
use lettre::Message;
use minijinja::Environment;
use serde::Serialize;

use super::smtp::{SendError, SmtpClient, SmtpServer, SmtpSession};

/// Built-in templates parsed once (minijinja; HTML escaped by file name): the
/// notifications' own, and any area's that mails ([`Templates::new`]).
pub struct Templates {
    env: Environment<'static>,
    whose: &'static str,
}

impl Templates {
    /// `whose` templates, by name and source; they are built in, so one that does not
    /// parse is a bug.
    pub fn new(whose: &'static str, sources: &[(&'static str, &'static str)]) -> Self {
        let mut env = Environment::new();
        for (name, source) in sources {
            env.add_template(name, source)
                .expect("the built-in templates parse");
        }
        Self { env, whose }
    }

    /// Renders template `name`; the built-in templates are tested to render, so a
    /// failure is a bug, logged, and an empty text.
    pub fn render(&self, name: &str, context: &impl Serialize) -> String {
        self.env
            .get_template(name)
            .and_then(|template| template.render(context))
            .unwrap_or_else(|error| {
                tracing::error!(%error, name, whose = self.whose, "a mail template failed to render");
                String::new()
            })
    }
}

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(
        "notifications",
        &[
            ("email.html", include_str!("templates/email.html")),
            ("email.txt", include_str!("templates/email.txt")),
            ("digest.html", include_str!("templates/digest.html")),
            ("digest.txt", include_str!("templates/digest.txt")),
            ("chat.txt", include_str!("templates/chat.txt")),
        ],
    )
});

/// Renders one of the notifications' templates.
pub fn render(name: &str, context: &impl Serialize) -> String {
    TEMPLATES.render(name, context)
}

/// How the tenant's mail looks.
#[derive(Debug, Clone, Serialize)]
pub struct Brand {
    pub name: String,
    pub color: String,
}

/// One email to send.
#[derive(Debug, Clone)]
pub struct Email {
    pub to_name: String,
    pub to_address: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Without angle brackets.
    pub message_id: String,
}

/// A message from the tenant to people outside it (an invoice to a customer): several
/// recipients, the tenant's name on the sender, replies going to the person who sent
/// it, and files attached. Unlike [`Email`] it is not marked auto-generated: a person
/// asked for it to be sent.
#[derive(Debug, Clone)]
pub struct Letter {
    /// The display name on our sending address (the tenant's brand).
    pub sender_name: String,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Without angle brackets.
    pub message_id: String,
    pub enclosures: Vec<Enclosure>,
}

/// An address with an optional display name, as a mail server will take it.
pub fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, String> {
    let address: lettre::Address = address.parse().map_err(|e| format!("{e}"))?;
    Ok(Mailbox::new(name.map(str::to_owned), address))
}

/// `application/pdf`.
pub fn pdf_type() -> header::ContentType {
    header::ContentType::parse("application/pdf").expect("a valid content type")
}

/// A file attached to a [`Letter`].
#[derive(Debug, Clone)]
pub struct Enclosure {
    pub filename: String,
    pub content_type: header::ContentType,
    pub bytes: Vec<u8>,
}

enum Transport {
    Smtp(SmtpClient),
    Outbox(PathBuf),
}

/// Where mail goes. Cheap to clone.
#[derive(Clone)]
pub struct Mailer(Arc<Inner>);

struct Inner {
    transport: Transport,
    from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth another try later (server down, temporary refusal).
    #[error("{0}")]
    Transient(String),
    /// Never going to work (an address that does not parse).
    #[error("{0}")]
    Permanent(String),
}

impl Mailer {
    /// `smtp_url` in lettre's form (`smtps://user:pass@host:465`,
    /// `smtp://host:587?tls=required`, `smtp://localhost:2525`); without it, `.eml` files
    /// under `outbox`.
    pub fn new(smtp_url: Option<&str>, outbox: &Path, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("PACTUM_MAIL_FROM {from:?}: {e}"))?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(SmtpClient::new(SmtpServer::from_url(
                url,
                std::time::Duration::from_secs(20),
            )?)),
            None => Transport::Outbox(outbox.to_path_buf()),
        };
        Ok(Self(Arc::new(Inner { transport, from })))
    }

    /// The domain message ids are made in.
    pub fn domain(&self) -> &str {
        self.0.from.email.domain()
    }

    /// Where `.eml` files go, when there is no SMTP server.
    pub fn outbox(&self) -> Option<&Path> {
        match &self.0.transport {
            Transport::Outbox(dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    fn message(&self, email: &Email) -> Result<Message, MailError> {
        let to = Mailbox::new(
            Some(email.to_name.clone()),
            email
                .to_address
                .parse()
                .map_err(|e| MailError::Permanent(format!("recipient address: {e}")))?,
        );
        Message::builder()
            .from(self.0.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{}>", email.message_id)))
            .raw_header(header::HeaderValue::dangerous_new_pre_encoded(
                header::HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
                "auto-generated".into(),
            ))
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| MailError::Permanent(format!("building the message: {e}")))
    }

    /// Sends one message (or writes it to the outbox, under `folder`).
    pub async fn send(&self, folder: &str, email: &Email) -> Result<(), MailError> {
        self.session().send(folder, email).await
    }

    fn letter(&self, letter: &Letter) -> Result<Message, MailError> {
        if letter.to.is_empty() {
            return Err(MailError::Permanent("a letter without recipients".into()));
        }
        let from = Mailbox::new(Some(letter.sender_name.clone()), self.0.from.email.clone());
        let mut builder = Message::builder()
            .from(from)
            .subject(letter.subject.clone())
            .message_id(Some(format!("<{}>", letter.message_id)));
        for to in &letter.to {
            builder = builder.to(to.clone());
        }
        for cc in &letter.cc {
            builder = builder.cc(cc.clone());
        }
        if let Some(reply_to) = &letter.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let mut body = MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
            letter.text.clone(),
            letter.html.clone(),
        ));
        for file in &letter.enclosures {
            body = body.singlepart(
                Attachment::new(file.filename.clone())
                    .body(file.bytes.clone(), file.content_type.clone()),
            );
        }
        builder
            .multipart(body)
            .map_err(|e| MailError::Permanent(format!("building the message: {e}")))
    }

    /// Sends a letter to each of `addresses` that the mail server takes (or writes it
    /// to the outbox, under `folder`): one envelope for all of them, and when the server
    /// refuses that for good, one envelope per address, so that one address it refuses
    /// (an unknown user) does not keep the letter from the others. The headers name
    /// every recipient of the letter either way. An error only when the letter cannot
    /// be built, or written to the outbox.
    pub async fn send_letter_each(
        &self,
        folder: &str,
        letter: &Letter,
        addresses: &[String],
    ) -> Result<Delivery, MailError> {
        let message = self.letter(letter)?;
        if addresses.is_empty() {
            return Ok(Delivery::default());
        }
        let mut session = self.session();
        let Some(smtp) = session.smtp.as_mut() else {
            session
                .deliver(folder, &letter.message_id, &message)
                .await?;
            return Ok(Delivery::all_reached(addresses));
        };
        let envelope = message.envelope();
        let Some(from) = envelope.from() else {
            return Err(MailError::Permanent("the message has no envelope".into()));
        };
        let bytes = message.formatted();
        let mut parsed = Vec::with_capacity(addresses.len());
        let mut delivery = Delivery::default();
        for address in addresses {
            match address.parse::<lettre::Address>() {
                Ok(parsed_address) => parsed.push((address, parsed_address)),
                Err(e) => delivery
                    .refused
                    .push((address.clone(), format!("address: {e}"))),
            }
        }
        let all: Vec<lettre::Address> = parsed.iter().map(|(_, a)| a.clone()).collect();
        match smtp.send(from, &all, &bytes).await {
            Ok(()) => {
                delivery.reached = parsed.into_iter().map(|(a, _)| a.clone()).collect();
                return Ok(delivery);
            }
            Err(SendError::Transient(error)) => {
                delivery.deferred = parsed
                    .into_iter()
                    .map(|(a, _)| (a.clone(), error.clone()))
                    .collect();
                return Ok(delivery);
            }
            Err(SendError::Permanent(error)) if parsed.len() == 1 => {
                delivery
                    .refused
                    .extend(parsed.into_iter().map(|(a, _)| (a.clone(), error.clone())));
                return Ok(delivery);
            }
            Err(SendError::Permanent(_)) => {}
        }
        for (address, parsed_address) in parsed {
            let sent = smtp
                .send(from, std::slice::from_ref(&parsed_address), &bytes)
                .await;
            let (list, said) = match sent {
                Ok(()) => {
                    delivery.reached.push(address.clone());
                    continue;
                }
                Err(SendError::Permanent(error)) => (&mut delivery.refused, error),
                Err(SendError::Transient(error)) => (&mut delivery.deferred, error),
            };
            list.push((address.clone(), said));
        }
        Ok(delivery)
    }

    /// Messages sent one after another over one SMTP connection.
    pub fn session(&self) -> MailSession<'_> {
        MailSession {
            mailer: self,
            smtp: match &self.0.transport {
                Transport::Smtp(client) => Some(client.session()),
                Transport::Outbox(_) => None,
            },
        }
    }
}

/// What sending a letter came to, address by address (see
/// [`Mailer::send_letter_each`]).
#[derive(Debug, Default)]
pub struct Delivery {
    /// Taken by the mail server (or written to the outbox).
    pub reached: Vec<String>,
    /// Refused for good, with what the server said.
    pub refused: Vec<(String, String)>,
    /// Worth another try later, with what went wrong.
    pub deferred: Vec<(String, String)>,
}

impl Delivery {
    fn all_reached(addresses: &[String]) -> Self {
        Self {
            reached: addresses.to_vec(),
            ..Self::default()
        }
    }
}

/// A batch of messages over one connection (see [`Mailer::session`]).
pub struct MailSession<'a> {
    mailer: &'a Mailer,
    smtp: Option<SmtpSession<'a>>,
}

impl MailSession<'_> {
    /// Sends one message (or writes it to the outbox, under `folder`).
    pub async fn send(&mut self, folder: &str, email: &Email) -> Result<(), MailError> {
        let message = self.mailer.message(email)?;
        self.deliver(folder, &email.message_id, &message).await
    }

    async fn deliver(
        &mut self,
        folder: &str,
        message_id: &str,
        message: &Message,
    ) -> Result<(), MailError> {
        match (&mut self.smtp, &self.mailer.0.transport) {
            (Some(smtp), _) => {
                let envelope = message.envelope();
                let Some(from) = envelope.from() else {
                    return Err(MailError::Permanent("the message has no envelope".into()));
                };
                smtp.send(from, envelope.to(), &message.formatted())
                    .await
                    .map_err(|error| match error {
                        SendError::Permanent(e) => MailError::Permanent(e),
                        SendError::Transient(e) => MailError::Transient(e),
                    })
            }
            (None, Transport::Outbox(dir)) => {
                write_to_outbox(dir, folder, message_id, message).await
            }
            (None, Transport::Smtp(_)) => unreachable!("an SMTP mailer's session has a connection"),
        }
    }
}

async fn write_to_outbox(
    dir: &Path,
    folder: &str,
    message_id: &str,
    message: &Message,
) -> Result<(), MailError> {
    let dir = dir.join(folder);
    let name: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let bytes = message.formatted();
    let write = async {
        tokio::fs::create_dir_all(&dir).await?;
        // Written aside, then renamed: a reader never sees half a message, and a retry
        // replaces the same file.
        let partial = dir.join(format!(".{name}.partial"));
        tokio::fs::write(&partial, &bytes).await?;
        tokio::fs::rename(&partial, dir.join(format!("{name}.eml"))).await
    };
    write
        .await
        .map_err(|e| MailError::Transient(format!("writing to the outbox: {e}")))
}

/// Escapes what Slack's mrkdwn treats as markup in user text.
pub fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn html_templates_escape_what_users_wrote_and_text_ones_keep_it() {
        let context = json!({
            "brand": {"name": "Acme", "color": "#123456"},
            "recipient_name": "Ann",
            "title": "<script>alert(1)</script> & co",
            "body": "",
            "link_url": "https://acme.example/c/1",
        });
        let html = render("email.html", &context);
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(html.contains("#123456"));
        let text = render("email.txt", &context);
        assert!(text.contains("<script>alert(1)</script> & co"), "{text}");
        assert!(text.contains("Open in Acme: https://acme.example/c/1"));
    }

    #[test]
    fn digests_list_every_item_under_its_contract() {
        let context = json!({
            "brand": {"name": "Acme", "color": "#123456"},
            "recipient_name": "Ann",
            "count": 3,
            "groups": [
                {"title": "MSA", "link_url": "https://a/1", "items": [{"title": "one", "at": "10:00"}, {"title": "two", "at": "10:05"}]},
                {"title": "NDA", "link_url": null, "items": [{"title": "three", "at": "10:10"}]},
            ],
        });
        let text = render("digest.txt", &context);
        let msa = text.find("MSA").unwrap();
        let nda = text.find("NDA").unwrap();
        let (one, three) = (text.find("- one").unwrap(), text.find("- three").unwrap());
        assert!(msa < one && one < nda && nda < three, "{text}");
        assert!(render("digest.html", &context).contains("3 updates"));
    }

    #[tokio::test]
    async fn the_outbox_keeps_one_file_per_message_id_however_often_it_is_sent() {
        let dir = std::env::temp_dir().join(format!("pactum-outbox-{}", uuid::Uuid::new_v4()));
        let mailer = Mailer::new(None, &dir, "Pactum <notify@pactum.test>").unwrap();
        let email = Email {
            to_name: "Ann".into(),
            to_address: "ann@example.com".into(),
            subject: "Hello".into(),
            text: "plain".into(),
            html: "<p>html</p>".into(),
            message_id: "n1.email.t@pactum.test".into(),
        };
        mailer.send("acme", &email).await.unwrap();
        mailer.send("acme", &email).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.join("acme")).unwrap().collect();
        assert_eq!(files.len(), 1);
        let written = std::fs::read_to_string(dir.join("acme/n1.email.t_pactum.test.eml")).unwrap();
        assert!(
            written.contains("Message-ID: <n1.email.t@pactum.test>"),
            "{written}"
        );
        assert!(written.contains("multipart/alternative"));
        let bad = Email {
            to_address: "not an address".into(),
            ..email
        };
        assert!(matches!(
            mailer.send("acme", &bad).await,
            Err(MailError::Permanent(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_letter_carries_its_files_its_copies_and_where_replies_go() {
        let dir = std::env::temp_dir().join(format!("pactum-outbox-{}", uuid::Uuid::new_v4()));
        let mailer = Mailer::new(None, &dir, "Pactum <notify@pactum.test>").unwrap();
        let letter = Letter {
            sender_name: "Acme Ltd".into(),
            reply_to: Some(mailbox(Some("Bill"), "bill@acme.test").unwrap()),
            to: vec![mailbox(None, "ap@globex.test").unwrap()],
            cc: vec![mailbox(None, "boss@globex.test").unwrap()],
            subject: "Invoice INV-1".into(),
            text: "plain".into(),
            html: "<p>html</p>".into(),
            message_id: "letter.1@pactum.test".into(),
            enclosures: vec![Enclosure {
                filename: "INV-1.pdf".into(),
                content_type: pdf_type(),
                bytes: b"%PDF-1.4 test".to_vec(),
            }],
        };
        let everyone = ["ap@globex.test".to_owned(), "boss@globex.test".to_owned()];
        let delivery = mailer
            .send_letter_each("acme", &letter, &everyone)
            .await
            .unwrap();
        assert_eq!(delivery.reached, everyone, "the outbox takes it for all");
        let written = std::fs::read_to_string(dir.join("acme/letter.1_pactum.test.eml")).unwrap();
        for expected in [
            "From: \"Acme Ltd\" <notify@pactum.test>",
            "To: ap@globex.test",
            "Cc: boss@globex.test",
            "Reply-To: Bill <bill@acme.test>",
            "multipart/mixed",
            "multipart/alternative",
            "Content-Type: application/pdf",
            "filename=\"INV-1.pdf\"",
        ] {
            assert!(written.contains(expected), "{expected:?} in {written}");
        }
        assert!(!written.contains("Auto-Submitted"), "a person asked for it");
        let nobody = Letter {
            to: Vec::new(),
            ..letter
        };
        assert!(matches!(
            mailer.send_letter_each("acme", &nobody, &everyone).await,
            Err(MailError::Permanent(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
