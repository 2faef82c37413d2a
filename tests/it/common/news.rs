//! A small story and RSS builders for end-to-end tests.
#![allow(dead_code)]

/// A reference article written for the tests (the shape of the real one).
pub const REFERENCE: &str = "US envoy Steve Witkoff meets Vladimir Putin in St Petersburg on Ukraine ceasefire\n\
US special envoy Steve Witkoff met Russian President Vladimir Putin in St Petersburg on Friday to push for a ceasefire in Ukraine.\n\
Kremlin spokesman Dmitry Peskov said the process of normalising relations between Moscow and Washington was continuing.\n\
Earlier in the week the two countries completed a prisoner swap that freed Ksenia Karelina in exchange for Arthur Petrov.\n\
In Brussels, allies of Kyiv pledged €21bn in military aid. Donald Trump said Russia must get moving.\n";

pub fn item(guid: &str, title: &str, text: &str, date: &str) -> String {
    format!(
        "<item><title>{title}</title><link>http://news.example/{guid}</link><guid>{guid}</guid><pubDate>{date}</pubDate><description>{text}</description></item>"
    )
}

pub fn rss(items: &[String]) -> String {
    format!("<rss version=\"2.0\"><channel><title>t</title><link>http://news.example/</link>{}</channel></rss>", items.concat())
}

pub fn now_rfc2822() -> String {
    chrono::Utc::now().to_rfc2822()
}

/// Three follow-ups of the story, each its own report (no two cluster).
pub fn three_followups() -> String {
    let now = now_rfc2822();
    rss(&[
        item("f1", "Witkoff to return to Russia next week, Kremlin says",
            "Dmitry Peskov said Steve Witkoff would return to Russia next week to meet Vladimir Putin again on a Ukraine ceasefire.", &now),
        item("f2", "Kremlin says prisoner swap talks with Washington continue",
            "Kremlin spokesman Dmitry Peskov said Moscow and Washington were discussing another prisoner swap after Ksenia Karelina was freed, and Steve Witkoff was involved.", &now),
        item("f3", "Allies add to €21bn military aid for Ukraine as Putin meets Witkoff",
            "European allies said the €21bn military aid package for Ukraine would grow, while Vladimir Putin met Steve Witkoff in St Petersburg for ceasefire talks.", &now),
    ])
}
