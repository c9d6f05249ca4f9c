//! A contract as a PDF (title, parties, key terms, body, clauses), written with
//! `pdf-writer`; no external service. Text is set in DejaVu Sans (vendored under `assets/fonts`, embedded as a subset of the glyphs used), so
//! Latin, Greek and Cyrillic names and terms print as written, lines wrap by the glyphs'
//! real widths, and a `ToUnicode` map keeps the text searchable and copyable. A
//! character the font lacks (CJK, for one) prints as an empty box.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::Filter;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};
use uuid::Uuid;

use crate::attachments::originals::{self, Guard};
use crate::contracts::{ContractView, CONTRACT_COLUMNS};
use crate::kernel::reads::read_as;
use crate::kernel::DomainError;
use crate::kernel::Principal;
use crate::kernel::Role;
use crate::tenancy::scoped::TenantDb;

const PAGE_WIDTH: f32 = 595.0; // A4, in points
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;

/// One of the two embedded faces.
struct EmbeddedFont {
    data: &'static [u8],
    face: Face<'static>,
    /// The subset's PostScript name: a six-letter tag, `+`, the font's name.
    subset_name: &'static str,
    /// The resource name content streams select it by.
    resource: &'static [u8],
}

impl EmbeddedFont {
    fn load(data: &'static [u8], subset_name: &'static str, resource: &'static [u8]) -> Self {
        let face = Face::parse(data, 0).expect("the vendored DejaVu fonts parse");
        Self {
            data,
            face,
            subset_name,
            resource,
        }
    }

    /// The font's glyph for `c`; 0 (`.notdef`, an empty box) when it has none.
    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// In thousandths of the font size, as PDF widths are given.
    fn advance(&self, glyph: u16) -> f32 {
        let units = self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0);
        self.scaled(i32::from(units))
    }

    fn scaled(&self, units: i32) -> f32 {
        units as f32 * 1000.0 / f32::from(self.face.units_per_em())
    }

    /// Width of `c` set at `size` points.
    fn char_width(&self, c: char, size: f32) -> f32 {
        self.advance(self.glyph(c)) * size / 1000.0
    }
}

static FONTS: LazyLock<[EmbeddedFont; 2]> = LazyLock::new(|| {
    [
        EmbeddedFont::load(
            include_bytes!("../../assets/fonts/DejaVuSans.ttf"),
            "PACTMR+DejaVuSans",
            b"F1",
        ),
        EmbeddedFont::load(
            include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf"),
            "PACTMB+DejaVuSans-Bold",
            b"F2",
        ),
    ]
});

fn font(bold: bool) -> &'static EmbeddedFont {
    &FONTS[usize::from(bold)]
}

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

/// The glyphs one font has set so far, renumbered densely for the subset, and the
/// character each stands for (for the `ToUnicode` map).
#[derive(Default)]
struct UsedGlyphs {
    remapper: GlyphRemapper,
    characters: BTreeMap<u16, char>,
}

impl UsedGlyphs {
    /// `text` as the big-endian two-byte glyph ids an `Identity-H` font shows.
    fn encode(&mut self, font: &EmbeddedFont, text: &str) -> Vec<u8> {
        let mut encoded = Vec::with_capacity(text.len() * 2);
        for c in text.chars().filter(|c| !c.is_control()) {
            let glyph = font.glyph(c);
            let id = self.remapper.remap(glyph);
            if glyph != 0 {
                self.characters.entry(id).or_insert(c);
            }
            encoded.extend_from_slice(&id.to_be_bytes());
        }
        encoded
    }
}

impl Document {
    fn heading(&mut self, text: &str, size: f32) {
        self.push(text, true, size, size * 0.8);
    }

    fn paragraph(&mut self, text: &str) {
        self.push(text, false, 10.0, 0.0);
    }

    fn push(&mut self, text: &str, bold: bool, size: f32, gap: f32) {
        let face = font(bold);
        let mut first = true;
        for paragraph in text.split('\n') {
            for line in wrap(paragraph, TEXT_WIDTH, |c| face.char_width(c, size)) {
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
        let mut used: [UsedGlyphs; 2] = Default::default();
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
            let face = font(line.bold);
            let shown = used[usize::from(line.bold)].encode(face, &line.text);
            content
                .begin_text()
                .set_font(Name(face.resource), line.size)
                .next_line(MARGIN, y)
                .show(Str(&shown))
                .end_text();
        }
        pages.push(content);

        let mut pdf = Pdf::new();
        let mut next_id = Ref::new(1);
        let (catalog, tree) = (next_id.bump(), next_id.bump());
        let font_ids = [
            write_font(&mut pdf, &mut next_id, font(false), &used[0]),
            write_font(&mut pdf, &mut next_id, font(true), &used[1]),
        ];
        let page_ids: Vec<(Ref, Ref)> = pages
            .iter()
            .map(|_| (next_id.bump(), next_id.bump()))
            .collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().map(|(page, _)| *page))
            .count(pages.len() as i32);
        for ((page_id, content_id), content) in page_ids.into_iter().zip(pages) {
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
            page.parent(tree);
            page.contents(content_id);
            page.resources()
                .fonts()
                .pair(Name(font(false).resource), font_ids[0])
                .pair(Name(font(true).resource), font_ids[1]);
            page.finish();
            pdf.stream(content_id, &deflate(&content.finish()))
                .filter(Filter::FlateDecode);
        }
        pdf.finish()
    }
}

const IDENTITY: SystemInfo<'_> = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

/// Writes `font` as a Type 0 font over a TrueType CID font holding just the glyphs in
/// `used`, with their widths and a `ToUnicode` map. Returns the Type 0 font's id.
fn write_font(pdf: &mut Pdf, next_id: &mut Ref, font: &EmbeddedFont, used: &UsedGlyphs) -> Ref {
    let (type0, cid, descriptor, cmap, file) = (
        next_id.bump(),
        next_id.bump(),
        next_id.bump(),
        next_id.bump(),
        next_id.bump(),
    );
    let name = Name(font.subset_name.as_bytes());
    pdf.type0_font(type0)
        .base_font(name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);

    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(name)
        .system_info(IDENTITY)
        .font_descriptor(descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid_font.widths().consecutive(
        0,
        used.remapper
            .remapped_gids()
            .map(|glyph| font.advance(glyph)),
    );
    cid_font.finish();

    let mut unicode = UnicodeCmap::new(Name(b"Custom"), IDENTITY);
    for (&id, &c) in &used.characters {
        unicode.pair(id, c);
    }
    pdf.cmap(cmap, &deflate(&unicode.finish()))
        .filter(Filter::FlateDecode);

    let face = &font.face;
    let bbox = face.global_bounding_box();
    let mut flags = FontFlags::empty();
    flags.insert(FontFlags::SYMBOLIC);
    pdf.font_descriptor(descriptor)
        .name(name)
        .flags(flags)
        .bbox(Rect::new(
            font.scaled(bbox.x_min.into()),
            font.scaled(bbox.y_min.into()),
            font.scaled(bbox.x_max.into()),
            font.scaled(bbox.y_max.into()),
        ))
        .italic_angle(face.italic_angle())
        .ascent(font.scaled(face.ascender().into()))
        .descent(font.scaled(face.descender().into()))
        .cap_height(font.scaled(face.capital_height().unwrap_or(face.ascender()).into()))
        .stem_v(10.0 + 0.244 * (f32::from(face.weight().to_number()) - 50.0))
        .font_file2(file);

    // The subsetter only fails on fonts it cannot read, and these are vendored.
    let subset =
        subsetter::subset(font.data, 0, &used.remapper).expect("the vendored DejaVu fonts subset");
    pdf.stream(file, &deflate(&subset))
        .filter(Filter::FlateDecode);
    type0
}

/// A stream's bytes for `FlateDecode`: font subsets and page text shrink to about a
/// third.
fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .expect("compressing into memory cannot fail")
}

/// Greedy word wrap to `max_width`, given each character's advance; words wider than
/// a line are cut. Linear in the text, whatever its shape.
fn wrap(text: &str, max_width: f32, advance: impl Fn(char) -> f32) -> Vec<String> {
    let space = advance(' ');
    let mut lines = Vec::new();
    let (mut current, mut current_width) = (String::new(), 0.0);
    for word in text.split_whitespace() {
        let word_width: f32 = word.chars().map(&advance).sum();
        if !current.is_empty() && current_width + space + word_width <= max_width {
            current.push(' ');
            current.push_str(word);
            current_width += space + word_width;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if word_width <= max_width {
            current.push_str(word);
            current_width = word_width;
            continue;
        }
        current_width = 0.0;
        for c in word.chars() {
            let width = advance(c);
            if !current.is_empty() && current_width + width > max_width {
                lines.push(std::mem::take(&mut current));
                current_width = 0.0;
            }
            current.push(c);
            current_width += width;
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// The contract as a PDF (title, parties, key terms, body, clauses), for anyone who may
/// read it (with the redacted copy's text for a reader its original is kept from): what
/// the route sends, and what a job can attach to an email.
pub async fn contract_pdf_bytes(
    db: &TenantDb,
    principal: &Principal,
    id: Uuid,
) -> Result<Vec<u8>, DomainError> {
    let contract_sql = format!("select {CONTRACT_COLUMNS} from contracts where id = $1");
    let (actor, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            (&contract_sql, &[&id]),
            (originals::CONTRACT_GUARD_SQL, &[&id]),
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
        ContractView::from_row(results[0].first().ok_or(DomainError::Missing("contract"))?)?
            .shielded(Guard::from_rows(&results[1]).as_ref(), &actor);
    let (counterparty, owner): (Option<String>, Option<String>) = results[2]
        .first()
        .map(|r| (r.get(0), r.get(1)))
        .unwrap_or_default();
    let clauses: Vec<(String, String, String)> = results[3]
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // Laying out and compressing a long contract is CPU work: off the async workers.
    tokio::task::spawn_blocking(move || render(&contract, counterparty, owner, &clauses))
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("pdf: {e}")))
}

/// A titled text as a PDF, in the contract PDF's type and layout: what a redacted copy
/// prints as, with nothing but its title and its (redacted) text.
pub fn text_pdf(title: &str, body: &str) -> Vec<u8> {
    let mut doc = Document::default();
    doc.heading(title, 18.0);
    doc.paragraph(body);
    doc.render()
}

/// Headed sections of lines as a PDF, in the contract PDF's type and layout: what an
/// invoice prints as.
pub fn sections_pdf(title: &str, sections: &[(String, Vec<String>)]) -> Vec<u8> {
    let mut doc = Document::default();
    doc.heading(title, 18.0);
    for (heading, lines) in sections {
        doc.heading(heading, 13.0);
        for line in lines {
            doc.paragraph(line);
        }
    }
    doc.render()
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
    doc.heading(
        if contract.body_redaction_id.is_some() {
            "Terms (redacted)"
        } else {
            "Terms"
        },
        13.0,
    );
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

    fn by_chars(_: char) -> f32 {
        1.0
    }

    fn extracted(pdf: &[u8]) -> String {
        let text = pdf_extract::extract_text_from_mem(pdf).expect("the PDF reads back");
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn wrapping_keeps_words_whole_and_cuts_only_overlong_ones() {
        assert_eq!(wrap("aa bb cc", 5.0, by_chars), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefghij", 4.0, by_chars), ["abcd", "efgh", "ij"]);
        assert_eq!(
            wrap("ab abcdefghij", 4.0, by_chars),
            ["ab", "abcd", "efgh", "ij"]
        );
        assert_eq!(wrap("łódź żółw", 4.0, by_chars), ["łódź", "żółw"]);
        assert_eq!(wrap("", 10.0, by_chars), [""]);
        let endless = "x".repeat(200_000);
        assert_eq!(wrap(&endless, 100.0, by_chars).len(), 2_000);
    }

    #[test]
    fn wrapping_measures_glyphs_not_characters() {
        let regular = font(false);
        let width = |text: &str| {
            text.chars()
                .map(|c| regular.char_width(c, 10.0))
                .sum::<f32>()
        };
        let narrow = "i".repeat(150);
        let wide = "W".repeat(150);
        assert!(width(&narrow) < width(&wide) / 3.0);
        let mut doc = Document::default();
        doc.paragraph(&format!("{narrow} {wide}"));
        for line in &doc.lines {
            assert!(width(&line.text) <= TEXT_WIDTH, "{}", line.text);
        }
        assert!(doc.lines.len() >= 3, "150 W do not fit one line");
    }

    #[test]
    fn text_beyond_latin_1_prints_as_written_and_reads_back() {
        let mut doc = Document::default();
        doc.heading("Umowa – Łódź Sp. z o.o.", 18.0);
        doc.paragraph("Škoda · Ελληνικά · Москва · 5 € · “quoted”");
        let text = extracted(&doc.render());
        assert!(text.contains("Umowa – Łódź Sp. z o.o."), "{text}");
        assert!(
            text.contains("Škoda · Ελληνικά · Москва · 5 € · “quoted”"),
            "{text}"
        );
    }

    #[test]
    fn characters_the_font_lacks_do_not_break_the_document() {
        let mut doc = Document::default();
        doc.paragraph("Tokyo 東京 office");
        let text = extracted(&doc.render());
        assert!(text.contains("Tokyo"), "{text}");
        assert!(text.contains("office"), "{text}");
    }

    #[test]
    fn only_the_glyphs_used_are_embedded() {
        let mut doc = Document::default();
        doc.paragraph("abc");
        let small = doc.render().len();
        let whole_fonts = include_bytes!("../../assets/fonts/DejaVuSans.ttf").len()
            + include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf").len();
        assert!(small < whole_fonts / 10, "{small} bytes");
    }

    #[test]
    fn every_stream_is_compressed() {
        let mut doc = Document::default();
        doc.heading("Heading", 18.0);
        doc.paragraph("A short contract body.");
        let pdf = doc.render();
        let raw = String::from_utf8_lossy(&pdf);
        let streams = raw.matches("\nstream\n").count();
        assert_eq!(streams, 5, "two fonts, their two maps, one page");
        assert_eq!(raw.matches("/Filter /FlateDecode").count(), streams);
        assert!(pdf.len() < 25_000, "{} bytes", pdf.len());
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
        assert!(extracted(&pdf).contains("line 199"));
    }
}
