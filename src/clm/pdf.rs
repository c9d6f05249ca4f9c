//! `GET /api/v1/contracts/{id}/pdf`: the contract as a PDF (title, parties, key terms,
//! body, clauses), written with `pdf-writer` in the standard Helvetica fonts, so no
//! font file and no external service is needed. Text outside Latin-1 is shown as `?`
//! (the standard fonts' WinAnsi encoding has nothing else).

use actix_web::{get, web, HttpResponse};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use uuid::Uuid;

use super::contracts::{ContractView, CONTRACT_COLUMNS};
use super::read_as;
use crate::auth::users::Role;
use crate::http::error::{ApiError, AuthedRouteErrors};
use crate::http::tenant::AuthUser;
use crate::tenancy::scoped::TenantDb;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(contract_pdf);
}

const PAGE_WIDTH: f32 = 595.0; // A4, in points
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
/// Helvetica's average advance is about half its size; wrapping by character count
/// at this width keeps lines inside the margins for ordinary prose.
const AVERAGE_CHAR_WIDTH: f32 = 0.5;

/// One line to set, in a font and size.
struct Line {
    text: String,
    bold: bool,
    size: f32,
    /// Extra space above the line, in points.
    gap: f32,
}

/// Builds lines, wrapping long paragraphs.
#[derive(Default)]
struct Document {
    lines: Vec<Line>,
}

impl Document {
    fn heading(&mut self, text: &str, size: f32) {
        self.push(text, true, size, size * 0.8);
    }

    fn paragraph(&mut self, text: &str) {
        self.push(text, false, 10.0, 0.0);
    }

    fn push(&mut self, text: &str, bold: bool, size: f32, gap: f32) {
        let max_chars =
            ((PAGE_WIDTH - 2.0 * MARGIN) / (size * AVERAGE_CHAR_WIDTH * 1.1)).floor() as usize;
        let mut first = true;
        for paragraph in text.split('\n') {
            for line in wrap(paragraph, max_chars) {
                self.lines.push(Line {
                    text: line,
                    bold,
                    size,
                    gap: if first { gap } else { 0.0 },
                });
                first = false;
            }
        }
    }

    fn render(&self) -> Vec<u8> {
        let mut pages: Vec<Content> = Vec::new();
        let mut content = Content::new();
        let mut y = PAGE_HEIGHT - MARGIN;
        for line in &self.lines {
            let height = line.size * 1.3 + line.gap;
            if y - height < MARGIN {
                pages.push(std::mem::replace(&mut content, Content::new()));
                y = PAGE_HEIGHT - MARGIN;
            }
            y -= height;
            content
                .begin_text()
                .set_font(Name(if line.bold { b"F2" } else { b"F1" }), line.size)
                .next_line(MARGIN, y)
                .show(Str(&win_ansi(&line.text)))
                .end_text();
        }
        pages.push(content);

        let mut pdf = Pdf::new();
        let (catalog, tree, regular, bold) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
        let page_ids: Vec<Ref> = (0..pages.len())
            .map(|i| Ref::new(5 + 2 * i as i32))
            .collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(pages.len() as i32);
        pdf.type1_font(regular)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(bold)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        for (page_id, content) in page_ids.iter().zip(pages) {
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
            page.parent(tree);
            page.contents(content_id);
            page.resources()
                .fonts()
                .pair(Name(b"F1"), regular)
                .pair(Name(b"F2"), bold);
            page.finish();
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

/// Greedy word wrap; words longer than a line are cut.
fn wrap(text: &str, max_chars: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > max_chars {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            lines.push(word.drain(..max_chars).collect());
        }
        let word: String = word.into_iter().collect();
        if current.chars().count() + word.chars().count() + 1 > max_chars && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&word);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// Latin-1 as WinAnsi bytes; everything else becomes `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c as u32 {
            0x20..=0x7e | 0xa0..=0xff => c as u32 as u8,
            0x2019 | 0x2018 => b'\'',
            0x201c | 0x201d => b'"',
            0x2013 | 0x2014 => b'-',
            _ => b'?',
        })
        .collect()
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/pdf",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The contract as application/pdf"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/pdf")]
pub async fn contract_pdf(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let contract_sql = format!("select {CONTRACT_COLUMNS} from contracts where id = $1");
    let results = read_as(
        &db,
        &user,
        Role::Viewer,
        &[
            (&contract_sql, &[&id]),
            (
                "select p.name, u.display_name from contracts c \
                 left join counterparties p on p.id = c.counterparty_id \
                 left join users u on u.id = c.owner_id where c.id = $1",
                &[&id],
            ),
            (
                "select cl.title, cl.category, cl.body from contract_clauses cc \
                 join clauses cl on cl.id = cc.clause_id where cc.contract_id = $1 \
                 order by cc.position, cc.added_at, cl.id",
                &[&id],
            ),
        ],
    )
    .await?;
    let contract =
        ContractView::from_row(results[0].first().ok_or(ApiError::Missing("contract"))?)?;
    let (counterparty, owner): (Option<String>, Option<String>) = results[1]
        .first()
        .map(|r| (r.get(0), r.get(1)))
        .unwrap_or_default();
    let clauses: Vec<(String, String, String)> = results[2]
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let bytes = web::block(move || render(&contract, counterparty, owner, &clauses))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("pdf: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "content-disposition",
            format!("inline; filename=\"contract-{id}.pdf\""),
        ))
        .body(bytes))
}

fn render(
    contract: &ContractView,
    counterparty: Option<String>,
    owner: Option<String>,
    clauses: &[(String, String, String)],
) -> Vec<u8> {
    let mut doc = Document::default();
    doc.heading(&contract.title, 18.0);
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let date = |d: Option<chrono::NaiveDate>| or_dash(d.map(|d| d.to_string()));
    doc.heading("Parties", 13.0);
    doc.paragraph(&format!("Counterparty: {}", or_dash(counterparty)));
    doc.paragraph(&format!("Owner: {}", or_dash(owner)));
    doc.heading("Key terms", 13.0);
    for (label, value) in [
        ("Type", contract.contract_type.clone()),
        ("Status", contract.status.as_str().to_owned()),
        (
            "Value",
            match (&contract.value, &contract.currency) {
                (Some(v), Some(c)) => format!("{v} {c}"),
                _ => "-".into(),
            },
        ),
        ("Start date", date(contract.start_date)),
        ("End date", date(contract.end_date)),
        (
            "Auto-renewal",
            match (contract.auto_renew, contract.renewal_notice_days) {
                (true, Some(days)) => format!("yes, {days} days' notice"),
                (true, None) => "yes".into(),
                (false, _) => "no".into(),
            },
        ),
        ("Version", contract.version.to_string()),
    ] {
        doc.paragraph(&format!("{label}: {value}"));
    }
    if !contract.tags.is_empty() {
        doc.paragraph(&format!("Tags: {}", contract.tags.join(", ")));
    }
    doc.heading("Terms", 13.0);
    doc.paragraph(contract.body.as_deref().unwrap_or(""));
    if !clauses.is_empty() {
        doc.heading("Clauses", 13.0);
        for (title, category, body) in clauses {
            doc.heading(&format!("{title} ({category})"), 11.0);
            doc.paragraph(body);
        }
    }
    doc.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_words_whole_and_cuts_only_overlong_ones() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn text_outside_latin_1_becomes_question_marks() {
        assert_eq!(win_ansi("Café – 5 €"), b"Caf\xe9 - 5 ?".to_vec());
    }

    #[test]
    fn many_lines_make_many_pages() {
        let mut doc = Document::default();
        for i in 0..200 {
            doc.paragraph(&format!("line {i}"));
        }
        let pdf = doc.render();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(
            text.contains("/Count 4"),
            "200 lines of 13 pt on A4 need 4 pages"
        );
    }
}
