//! `[poll] max_entries`: a feed document cut down to its newest entries
//! before it is parsed, so a poll's memory depends on the cap and the body
//! size, not on how many entries a feed carries. A scan records where each
//! `<item>`/`<entry>` (or JSON Feed item) starts and ends and its date;
//! the document is rebuilt with the newest `max` of them and parsed as
//! usual. Entries without a date rank after dated ones, in document order.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::dates::parse_date;

/// One entry's place in the document and its date (Unix seconds).
struct Span {
    start: usize,
    end: usize,
    at: Option<i64>,
}

/// Which spans to keep: the newest `max`, as a flag per span.
fn newest(spans: &[Span], max: usize) -> Vec<bool> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    // Dated before undated, newest first; ties keep document order.
    order.sort_by_key(|&i| (spans[i].at.is_none(), std::cmp::Reverse(spans[i].at), i));
    let mut keep = vec![false; spans.len()];
    for &i in order.iter().take(max) {
        keep[i] = true;
    }
    keep
}

/// `text` with only the newest `max` entries, and how many were dropped;
/// None when it has no more than `max` or cannot be scanned (the parser
/// then reports what is wrong with it).
pub fn cap_xml(text: &str, max: usize) -> Option<(String, usize)> {
    // Every entry opens with a `<`: a document with few of them has few
    // entries, and most feeds are spared the scan.
    if text.bytes().filter(|b| *b == b'<').count() <= max {
        return None;
    }
    let spans = xml_spans(text)?;
    if spans.len() <= max {
        return None;
    }
    let keep = newest(&spans, max);
    let mut out = String::with_capacity(text.len().min(64 * 1024));
    let mut cursor = 0;
    for (span, kept) in spans.iter().zip(&keep) {
        out.push_str(&text[cursor..span.start]);
        if *kept {
            out.push_str(&text[span.start..span.end]);
        }
        cursor = span.end;
    }
    out.push_str(&text[cursor..]);
    Some((out, spans.len() - max))
}

fn is_entry(local: &str) -> bool {
    local.eq_ignore_ascii_case("item") || local.eq_ignore_ascii_case("entry")
}

fn is_date(local: &str) -> bool {
    [
        "pubDate",
        "date",
        "published",
        "updated",
        "issued",
        "modified",
    ]
    .iter()
    .any(|d| local.eq_ignore_ascii_case(d))
}

/// The entries of an XML feed, outermost only (an entry inside an entry is
/// part of it).
fn xml_spans(text: &str) -> Option<Vec<Span>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut spans = Vec::new();
    let mut depth = 0usize;
    // The open entry: its depth, start and the date read so far.
    let mut open: Option<(usize, usize, Option<i64>)> = None;
    let mut in_date = false;
    loop {
        let before = reader.buffer_position() as usize;
        match reader.read_event().ok()? {
            Event::Start(e) => {
                depth += 1;
                let local = e.local_name();
                match &open {
                    None if is_entry(local.into_inner()) => open = Some((depth, before, None)),
                    Some((d, _, _)) if depth == d + 1 => in_date = is_date(local.into_inner()),
                    _ => {}
                }
            }
            Event::Empty(e) if open.is_none() && is_entry(e.local_name().into_inner()) => {
                let end = reader.buffer_position() as usize;
                spans.push(Span {
                    start: before,
                    end,
                    at: None,
                });
            }
            Event::Text(t) if in_date => {
                if let Some((_, _, at)) = open.as_mut() {
                    if at.is_none() {
                        *at = parse_date(t.xml10_content().trim()).map(|d| d.timestamp());
                    }
                }
            }
            Event::End(_) => {
                in_date = false;
                if let Some((d, start, at)) = open {
                    if depth == d {
                        let end = reader.buffer_position() as usize;
                        spans.push(Span { start, end, at });
                        open = None;
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some(spans)
}

#[derive(Deserialize)]
struct ItemDates {
    date_published: Option<String>,
    date_modified: Option<String>,
}

/// The JSON Feed `text` with only its newest `max` items; None as for
/// [`cap_xml`]. Items are held as slices of `text`, not parsed.
pub fn cap_json(text: &str, max: usize) -> Option<(String, usize)> {
    // Every item is an object: as for XML, few `{` means few items.
    if text.bytes().filter(|b| *b == b'{').count() <= max {
        return None;
    }
    let top: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(text).ok()?;
    let items: Vec<&RawValue> = serde_json::from_str(top.get("items")?.get()).ok()?;
    if items.len() <= max {
        return None;
    }
    let spans: Vec<Span> = items
        .iter()
        .enumerate()
        .map(|(i, raw)| Span {
            start: i,
            end: i,
            at: serde_json::from_str::<ItemDates>(raw.get())
                .ok()
                .and_then(|d| d.date_published.or(d.date_modified))
                .and_then(|d| parse_date(&d))
                .map(|d| d.timestamp()),
        })
        .collect();
    let keep = newest(&spans, max);
    let kept: Vec<&str> = items
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(raw, _)| raw.get())
        .collect();
    let mut out = String::from("{");
    for (i, (key, value)) in top.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).ok()?);
        out.push(':');
        if key == "items" {
            out.push('[');
            out.push_str(&kept.join(","));
            out.push(']');
        } else {
            out.push_str(value.get());
        }
    }
    out.push('}');
    Some((out, items.len() - max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss(dates: &[&str]) -> String {
        let items: String = dates
            .iter()
            .enumerate()
            .map(|(i, d)| format!("<item><title>t{i}</title><pubDate>{d}</pubDate><category><item>x</item></category></item>\n"))
            .collect();
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>c</title>{items}<link>http://x/</link></channel></rss>")
    }

    #[test]
    fn the_newest_entries_are_kept_in_document_order() {
        let doc = rss(&[
            "Tue, 03 Jun 2025 10:00:00 GMT",
            "Thu, 05 Jun 2025 10:00:00 GMT",
            "not a date",
            "Wed, 04 Jun 2025 10:00:00 GMT",
        ]);
        let (out, dropped) = cap_xml(&doc, 2).unwrap();
        assert_eq!(dropped, 2);
        assert!(
            out.contains("<title>t1</title>") && out.contains("<title>t3</title>"),
            "{out}"
        );
        assert!(!out.contains("<title>t0</title>") && !out.contains("<title>t2</title>"));
        assert!(out.find("t1").unwrap() < out.find("t3").unwrap());
        assert!(
            out.ends_with("<link>http://x/</link></channel></rss>"),
            "{out}"
        );
        assert!(cap_xml(&doc, 4).is_none());
    }

    #[test]
    fn atom_entries_and_undated_ones_are_capped_too() {
        let doc = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>f</title>\
                   <entry><title>a</title></entry><entry><title>b</title></entry>\
                   <entry><title>c</title><updated>2025-06-01T00:00:00Z</updated></entry></feed>";
        let (out, dropped) = cap_xml(doc, 2).unwrap();
        assert_eq!(dropped, 1);
        // The dated entry first, then the first undated one.
        assert!(
            out.contains("<title>c</title>") && out.contains("<title>a</title>"),
            "{out}"
        );
        assert!(!out.contains("<title>b</title>"));
    }

    #[test]
    fn json_feed_items_are_capped_and_the_rest_kept() {
        let doc = r#"{"version":"https://jsonfeed.org/version/1.1","title":"j","items":[
            {"id":"1","date_published":"2025-06-01T00:00:00Z"},
            {"id":"2","date_published":"2025-06-03T00:00:00Z"},
            {"id":"3","date_published":"2025-06-02T00:00:00Z"}]}"#;
        let (out, dropped) = cap_json(doc, 2).unwrap();
        assert_eq!(dropped, 1);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let ids: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["2", "3"]);
        assert_eq!(v["title"], "j");
        assert!(cap_json(doc, 3).is_none());
    }
}
