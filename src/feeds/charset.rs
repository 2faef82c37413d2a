//! Bytes → UTF-8 text. Real feeds lie about their encoding: Latin-1 bytes with
//! no declaration, UTF-8 bytes that declare ISO-8859-1, labels that name no
//! encoding at all. The bytes decide where they can: a BOM wins; bytes that are
//! valid UTF-8 are UTF-8; otherwise the declared encoding (HTTP header, then the
//! XML declaration or `<meta charset>`); otherwise a statistical guess.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

/// How the text was decoded, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Bom,
    ValidUtf8,
    MostlyUtf8,
    Declared,
    Sniffed,
}

#[derive(Debug)]
pub struct Decoded<'a> {
    /// Borrowed when the bytes were already UTF-8: a large feed is not copied.
    pub text: Cow<'a, str>,
    pub encoding: &'static Encoding,
    pub decision: Decision,
}

/// The `charset` parameter of a Content-Type header, if any.
pub fn charset_from_content_type(ct: &str) -> Option<&str> {
    ct.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']))
    })
}

/// The encoding named in an XML declaration or HTML `<meta>` near the start.
pub fn declared_in_document(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(2048)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    for key in ["encoding=", "charset="] {
        if let Some(i) = head.find(key) {
            let rest = head[i + key.len()..].trim_start_matches(['"', '\'', ' ']);
            let label: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
                .collect();
            if let Some(enc) = Encoding::for_label(label.as_bytes()) {
                return Some(enc);
            }
        }
    }
    None
}

/// Decodes `bytes` to UTF-8 following the rules in the module doc.
/// `http_charset` is the charset parameter of the response, if any.
pub fn decode<'a>(bytes: &'a [u8], http_charset: Option<&str>) -> Decoded<'a> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return finish(enc, &bytes[bom_len..], Decision::Bom);
    }
    // UTF-16 without a BOM still shows itself in the first '<'.
    if bytes.len() >= 2 {
        match (bytes[0], bytes[1]) {
            (b'<', 0) => return finish(UTF_16LE, bytes, Decision::Sniffed),
            (0, b'<') => return finish(UTF_16BE, bytes, Decision::Sniffed),
            _ => {}
        }
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Decoded {
            text: Cow::Borrowed(s),
            encoding: UTF_8,
            decision: Decision::ValidUtf8,
        };
    }
    let declared = http_charset
        .and_then(|l| Encoding::for_label(l.trim().as_bytes()))
        .or_else(|| declared_in_document(bytes));
    match declared {
        // A declared UTF-16 without BOM was handled above; a declared UTF-8
        // that is not valid UTF-8 falls through to the checks below.
        Some(enc) if enc != UTF_8 && enc != UTF_16LE && enc != UTF_16BE => {
            return finish(enc, bytes, Decision::Declared)
        }
        _ => {}
    }
    if mostly_utf8(bytes) {
        return finish(UTF_8, bytes, Decision::MostlyUtf8);
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(bytes, true);
    let enc = det.guess(None, false);
    finish(enc, bytes, Decision::Sniffed)
}

fn finish<'a>(enc: &'static Encoding, bytes: &'a [u8], decision: Decision) -> Decoded<'a> {
    let (text, _had_errors) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text,
        encoding: enc,
        decision,
    }
}

/// UTF-8 with a few stray bytes (one Latin-1 character pasted into a UTF-8
/// feed) is still UTF-8; decoding it as Latin-1 would garble every other
/// non-ASCII character.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut valid_multibyte, mut invalid) = (0usize, 0usize);
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                valid_multibyte += s.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                valid_multibyte += std::str::from_utf8(good)
                    .map(|s| s.chars().filter(|c| !c.is_ascii()).count())
                    .unwrap_or(0);
                let skip = e.error_len().unwrap_or(bad.len()).max(1);
                invalid += 1;
                rest = &bad[skip.min(bad.len())..];
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    valid_multibyte > 0 && valid_multibyte >= invalid * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_charset_parameter() {
        assert_eq!(
            charset_from_content_type("text/xml; charset=\"ISO-8859-1\""),
            Some("ISO-8859-1")
        );
        assert_eq!(charset_from_content_type("application/rss+xml"), None);
    }

    #[test]
    fn valid_utf8_wins_over_a_wrong_declaration() {
        let xml = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>Café – naïve</t>";
        let d = decode(xml.as_bytes(), Some("iso-8859-1"));
        assert_eq!(d.decision, Decision::ValidUtf8);
        assert!(d.text.contains("Café – naïve"));
    }

    #[test]
    fn latin1_without_declaration_is_sniffed() {
        let bytes = b"<rss><title>Not\xedcias de S\xe3o Paulo: pol\xedtica e economia, governa\xe7\xe3o</title></rss>";
        let d = decode(bytes, None);
        assert!(d.text.contains("Notícias de São Paulo"), "{}", d.text);
    }

    #[test]
    fn declared_legacy_encodings() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251
            .encode("<?xml version=\"1.0\" encoding=\"windows-1251\"?><t>Новости Оренбурга</t>");
        let d = decode(&bytes, None);
        assert_eq!(d.decision, Decision::Declared);
        assert!(d.text.contains("Новости Оренбурга"));
    }

    #[test]
    fn boms_and_utf16() {
        let mut le = vec![0xff, 0xfe];
        for u in "<rss>ü</rss>".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&le, None).text, "<rss>ü</rss>");
        assert_eq!(decode(&le[2..], None).text, "<rss>ü</rss>");
        assert_eq!(decode(b"\xef\xbb\xbf<a/>", None).text, "<a/>");
    }

    #[test]
    fn a_stray_byte_in_utf8_keeps_utf8() {
        let mut bytes = "<t>Überraschung für München, Köln und Düsseldorf"
            .as_bytes()
            .to_vec();
        bytes.push(0xe9); // one Latin-1 é
        bytes.extend_from_slice("</t>".as_bytes());
        let d = decode(&bytes, None);
        assert_eq!(d.decision, Decision::MostlyUtf8);
        assert!(d.text.contains("München, Köln"));
    }
}
