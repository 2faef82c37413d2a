//! Canonical URLs: one spelling per article, so that the same page reached
//! through a newsletter link, a social share or another feed dedups.
//!
//! Lower-case scheme and host (IDNs in their ASCII form, without `www.` and
//! AMP or mobile prefixes), no default port, no fragment, no tracking or
//! AMP parameters, no `/amp` path, remaining query parameters sorted.

use url::Url;

/// Query parameters that only say how a reader arrived, never which page.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "gbraid",
    "wbraid",
    "dclid",
    "msclkid",
    "yclid",
    "igshid",
    "twclid",
    "ttclid",
    "li_fat_id",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "vero_conv",
    "rb_clickid",
    "s_cid",
    "cmpid",
    "ocid",
    "smid",
    "smtyp",
    "ito",
    "at_medium",
    "at_campaign",
    "at_custom1",
    "at_custom2",
    "at_custom3",
    "at_custom4",
    "ns_mchannel",
    "ns_source",
    "ns_campaign",
    "ns_linkname",
    "ns_fee",
    "wt.mc_id",
    "wt_mc_id",
    "__twitter_impression",
    "ref_src",
    "ref_url",
    "rss",
    "feedtype",
    "feedname",
];

/// Parameter prefixes with the same role (`utm_source`, `utm_medium`, …).
const TRACKING_PREFIXES: &[&str] = &["utm_", "pk_", "mtm_", "hsa_", "itm_"];

pub fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    TRACKING_PARAMS.contains(&lower.as_str())
        || TRACKING_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// Host prefixes of mobile and AMP editions of the same site.
/// `www.` is dropped too: no news site serves other articles there.
const EDITION_HOST_PREFIXES: &[&str] = &["www.", "amp.", "m.", "mobile.", "mobil."];

/// Query parameters that only select the AMP or mobile rendering.
fn is_edition_param(name: &str, value: &str) -> bool {
    let (n, v) = (name.to_ascii_lowercase(), value.to_ascii_lowercase());
    (n == "outputtype" && v == "amp")
        || (n == "amp" && matches!(v.as_str(), "" | "1" | "true"))
        || n == "_amp"
}

/// The canonical form of an http(s) URL; `None` for other schemes. AMP and
/// mobile editions (`amp.`, `m.`, `/amp`, `?outputType=amp`) share the
/// canonical form of the article itself.
pub fn canonicalize(url: &Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    // `Url` already lower-cases scheme and host, applies IDNA and drops
    // default ports; what is left is edition, fragment and query.
    let mut out = url.clone();
    out.set_fragment(None);
    // Editions stack ("amp.m.example.com", "/amp/story/amp"): strip until
    // none is left, so the canonical form of a canonical URL is itself.
    if let Some(mut host) = url.host_str() {
        // Only while what is left is still a registrable name ("m.example.com", not "m.com").
        while let Some(rest) = EDITION_HOST_PREFIXES
            .iter()
            .find_map(|p| host.strip_prefix(*p))
            .filter(|rest| rest.contains('.'))
        {
            host = rest;
        }
        if Some(host) != url.host_str() {
            let _ = out.set_host(Some(host));
        }
    }
    let mut path = out.path().to_string();
    let original_len = path.len();
    while let Some(p) = path
        .strip_suffix("/amp/")
        .or_else(|| path.strip_suffix("/amp"))
        .or_else(|| path.strip_suffix(".amp"))
        .map(str::to_string)
        .or_else(|| path.starts_with("/amp/").then(|| path[4..].to_string()))
    {
        path = if p.is_empty() { "/".to_string() } else { p };
    }
    if path.len() != original_len {
        out.set_path(&path);
    }
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, v)| !is_tracking_param(k) && !is_edition_param(k, v))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.is_empty() {
        out.set_query(None);
    } else {
        pairs.sort();
        out.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Some(out.into())
}

/// Parses `s` and canonicalises it; relative references resolve against `base`.
pub fn canonicalize_str(s: &str, base: Option<&Url>) -> Option<String> {
    let url = match base {
        Some(b) => b.join(s.trim()).ok()?,
        None => Url::parse(s.trim()).ok()?,
    };
    canonicalize(&url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonicalize_str(s, None).unwrap()
    }

    #[test]
    fn case_port_fragment() {
        assert_eq!(
            c("HTTPS://WWW.Example.COM:443/World/Story-1#comments"),
            "https://example.com/World/Story-1"
        );
        assert_eq!(c("http://example.com:80/a"), "http://example.com/a");
        assert_eq!(c("http://example.com:8080/a"), "http://example.com:8080/a");
    }

    #[test]
    fn tracking_parameters_go_and_the_rest_is_sorted() {
        assert_eq!(
            c("https://www.theguardian.com/world/2025/apr/11/witkoff-putin?utm_source=twitter&utm_medium=social&CMP=share_btn_tw"),
            "https://theguardian.com/world/2025/apr/11/witkoff-putin?CMP=share_btn_tw"
        );
        assert_eq!(
            c("https://example.com/a?z=1&fbclid=IwAR0x&a=2&gclid=abc&mc_cid=1&mc_eid=2"),
            "https://example.com/a?a=2&z=1"
        );
        assert_eq!(
            c("https://example.com/a?utm_campaign=x"),
            "https://example.com/a"
        );
        assert_eq!(
            c("https://example.com/a?UTM_Source=x&id=7"),
            "https://example.com/a?id=7"
        );
    }

    #[test]
    fn amp_and_mobile_editions_share_the_article_url() {
        let article = "https://www.example.com/world/2025/04/11/witkoff-putin";
        for variant in [
            "https://amp.example.com/world/2025/04/11/witkoff-putin",
            "https://www.example.com/world/2025/04/11/witkoff-putin/amp",
            "https://www.example.com/world/2025/04/11/witkoff-putin/amp/",
            "https://www.example.com/amp/world/2025/04/11/witkoff-putin",
            "https://www.example.com/world/2025/04/11/witkoff-putin?outputType=amp",
            "https://www.example.com/world/2025/04/11/witkoff-putin?amp=1&utm_source=x",
        ] {
            assert_eq!(c(variant), c(article), "{variant}");
        }
        assert_eq!(c("https://m.example.com/a"), "https://example.com/a");
        assert_eq!(c("https://m.bbc.co.uk/news/1"), "https://bbc.co.uk/news/1");
        // A bare two-label host keeps its name.
        assert_eq!(c("https://m.com/a"), "https://m.com/a");
        // Words that merely contain "amp" stay.
        assert_eq!(
            c("https://www.example.com/news/champions"),
            "https://example.com/news/champions"
        );
    }

    #[test]
    fn idn_hosts_take_their_ascii_form() {
        assert_eq!(
            c("https://Bücher.example/über"),
            "https://xn--bcher-kva.example/%C3%BCber"
        );
        assert_eq!(
            c("https://xn--bcher-kva.example/%C3%BCber"),
            "https://xn--bcher-kva.example/%C3%BCber"
        );
    }

    #[test]
    fn relative_links_resolve_against_the_feed() {
        let base = Url::parse("https://www.arenanet.com/en/games/neverwinter/news/").unwrap();
        assert_eq!(
            canonicalize_str("/en/games/neverwinter/news/1?utm_source=rss", Some(&base)).unwrap(),
            "https://arenanet.com/en/games/neverwinter/news/1"
        );
    }

    /// Found by the `canonical` fuzz target: stacked editions took two
    /// passes, so a stored canonical URL did not equal its own canonical form.
    #[test]
    fn stacked_editions_canonicalise_in_one_pass() {
        for u in [
            "https://amp.m.example.com/x/amp/",
            "https://m.amp.www.example.com/amp/story.amp",
            "https://example.com/amp/amp",
        ] {
            let once = canonicalize_str(u, None).unwrap();
            assert_eq!(canonicalize_str(&once, None).unwrap(), once, "{u}");
        }
        assert_eq!(
            canonicalize_str("https://amp.m.example.com/x/amp/", None).unwrap(),
            "https://example.com/x"
        );
    }

    #[test]
    fn other_schemes_have_no_canonical_form() {
        assert_eq!(canonicalize_str("mailto:a@example.com", None), None);
        assert_eq!(canonicalize_str("javascript:alert(1)", None), None);
        assert_eq!(canonicalize_str("not a url", None), None);
    }
}
