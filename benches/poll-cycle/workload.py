#!/usr/bin/env python3
"""Deterministic feed workload for benches/poll-cycle.sh.

usage: workload.py -n FEEDS -m ITEMS [--seed S] [--article FILE] -o OUTDIR

Writes FEEDS feeds of ITEMS items each into OUTDIR/feeds/ (about 70 % RSS 2.0, 30 % Atom),
OUTDIR/feeds.txt (their paths relative to OUTDIR, one a line) and OUTDIR/manifest.json (the
counts, the names taken from the article, and which items are copies, on-story items and
near misses). The same arguments always give byte-identical files: every item is a function
of (seed, feed, slot) alone, and every file's mtime is set from its newest item.

Items are news-like: a title, an HTML description of 400-2,800 visible characters, a date,
a GUID or Atom id and a link. Besides ordinary items over nine topics there are
  copies      about 5 %: another feed's item republished with the same title and text under
              this feed's own GUID and another URL, dated a little later;
  on-story    about 3 %: diplomacy items naming two to four of the capitalised names found in
              the --article text at run time, half of them quoting one of its sentences;
  near misses about 4 %: items on another topic that mention one of those names in passing
              (a racehorse, a street, a restaurant), so that a name alone must not match.
The people of ordinary items are made up from lists of first names and surnames and their
places drawn from a list of cities, leaving out any word of the article's names, so that the
article's names appear where the manifest says and (for the default article) nowhere else.

Python standard library only.
"""
import argparse
import email.utils
import hashlib
import json
import os
import random
import re
import sys
import uuid
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape, quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ARTICLE = os.path.join(HERE, "..", "..", "config", "demo", "stories", "ceasefire-talks.txt")
NEWEST = datetime(2025, 11, 20, 12, 0, tzinfo=timezone.utc)   # every feed's items end around here

# --------------------------------------------------------------------------------------------
# Names taken from the article
# --------------------------------------------------------------------------------------------
CAP_WORD = r"[A-Z][\w]*(?:[-'\u2019][\w]+)*"
CAP_RUN = re.compile(rf"{CAP_WORD}(?: {CAP_WORD})*")
# capitalised words that are calendar words, not names
CALENDAR = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
            "January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December"}


def strip_possessive(word):
    return re.sub(r"['\u2019]s$", "", word)


def article_names(text):
    """Capitalised phrases of the article's running text, most frequent first.

    A word that the article also writes in lower case ("The", "President" beside "president")
    is not part of a name and splits a phrase there. A single word that only ever stands first
    in a sentence ("Meanwhile", "Neither") is taken for sentence case, not a name.
    """
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    lower = {w.lower() for w in re.findall(r"\b[a-z][\w-]*", text)}
    inside = set()       # capitalised words seen after the first word of a sentence
    for s in sentences:
        words = re.findall(r"[\w'\u2019-]+", s)
        inside.update(strip_possessive(w) for w in words[1:] if w[:1].isupper())
    counts = {}
    for s in sentences:
        lead = len(s) - len(s.lstrip())
        for m in CAP_RUN.finditer(s):
            at_start = m.start() == lead
            segment, first = [], False    # first: the segment opens its sentence
            for i, word in enumerate(m.group().split(" ") + [""]):
                word = strip_possessive(word)
                if word and word.lower() not in lower and word not in CALENDAR:
                    if not segment:
                        first = at_start and i == 0
                    segment.append(word)
                    continue
                if segment and (len(segment) > 1 or not first or segment[0] in inside):
                    name = " ".join(segment)
                    counts[name] = counts.get(name, 0) + 1
                segment = []
    singles = {n for n in counts if " " not in n}
    for n in list(counts):
        # "US-Russian" and demonyms such as "Russian" beside "Russia" describe, they do not name
        if "-" in n or any(n != v and len(v) > 3 and n.startswith(v[:-1]) for v in singles):
            del counts[n]
    return sorted(counts, key=lambda n: (-counts[n], n))


def article_sentences(text, names):
    """The article's sentences that name at least one of its names, for on-story items to quote."""
    out = []
    for s in re.split(r"(?<=[.!?])\s+|\n+", text):
        s = s.strip()
        if 60 <= len(s) <= 320 and any(re.search(rf"\b{re.escape(n)}\b", s) for n in names):
            out.append(s)
    return out


# --------------------------------------------------------------------------------------------
# Vocabulary: names of no story; Workload leaves out any word that the article's names use
# --------------------------------------------------------------------------------------------
FIRST = ["Amara", "Bruno", "Chiara", "Dario", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas",
         "Keiko", "Liam", "Maren", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sami", "Tilde",
         "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zofia"]
LAST = ["Almeida", "Brandt", "Castellano", "Dahl", "Eklund", "Ferreira", "Gallo", "Haddad",
        "Ishikawa", "Jovanovic", "Kowalczyk", "Lindqvist", "Moreau", "Nakamura", "Oduya",
        "Pellegrini", "Quist", "Rautio", "Sorensen", "Takeda", "Uribe", "Valdivia", "Wojcik",
        "Yilmaz", "Zeller"]
PLACES = ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Perth", "Quito", "Tallinn", "Porto",
          "Bergen", "Cork", "Gdansk", "Leeds", "Lyon", "Malmo", "Valparaiso", "Hobart", "Tromso",
          "Bilbao", "Utrecht", "Kaunas", "Mombasa", "Cuenca", "Halifax"]
TOPICS = {
    "diplomacy": dict(weight=12, things=[
        "peace talks", "ceasefire proposal", "envoy visit", "prisoner swap", "sanctions package",
        "security pact", "trade corridor", "aid pledge", "summit agenda", "border dispute",
        "draft framework", "monitoring mission"],
        verbs=["welcomed", "rejected", "questioned", "postponed", "endorsed", "revised", "discussed"],
        orgs=["the foreign ministry", "the UN Security Council", "the defence ministry",
              "the embassy", "the foreign affairs committee", "a regional bloc"]),
    "markets": dict(weight=12, things=[
        "rate decision", "bond auction", "inflation figure", "jobs report", "earnings season",
        "currency swing", "oil price", "bank stress test", "merger bid", "pension reform"],
        verbs=["priced in", "shrugged off", "flagged", "warned about", "welcomed", "revised"],
        orgs=["the central bank", "the stock exchange", "a large pension fund",
              "the finance ministry", "a ratings agency", "the statistics office"]),
    "technology": dict(weight=12, things=[
        "chip plant", "software update", "data-centre plan", "privacy ruling", "battery recall",
        "satellite launch", "cloud contract", "open-source release", "app store rule"],
        verbs=["unveiled", "delayed", "scrapped", "expanded", "patched", "licensed", "defended"],
        orgs=["the competition authority", "a chipmaker", "a start-up", "the telecoms regulator",
              "an industry group", "a university lab"]),
    "sport": dict(weight=11, things=[
        "title race", "transfer deadline", "cup final", "hamstring injury", "new contract",
        "penalty shoot-out", "qualifying round", "home fixture", "relegation fight"],
        verbs=["won", "lost", "edged", "dominated", "withdrew from", "celebrated", "appealed"],
        orgs=["the league", "the national federation", "the club's board", "the players' union",
              "the organising committee"]),
    "climate": dict(weight=9, things=[
        "heatwave", "flood defence", "carbon market", "wildfire season", "drought plan",
        "storm surge", "emissions target", "water restriction", "coastal erosion survey"],
        verbs=["declared", "funded", "mapped", "underestimated", "tracked", "pledged", "approved"],
        orgs=["the weather service", "the environment agency", "a research institute",
              "the regional government", "a conservation charity"]),
    "health": dict(weight=9, things=[
        "measles outbreak", "vaccine trial", "drug shortage", "hospital waiting list",
        "screening programme", "clinical guideline", "nurses' pay deal"],
        verbs=["approved", "recalled", "investigated", "expanded", "paused", "recommended"],
        orgs=["the health ministry", "the medicines regulator", "the hospital trust",
              "a patients' group", "the public health institute"]),
    "local": dict(weight=10, things=[
        "housing plan", "bus lane", "school budget", "rent cap", "bike-share scheme",
        "water main repair", "library reopening", "zoning vote", "night-time economy review"],
        verbs=["approved", "blocked", "postponed", "funded", "opened", "consulted on"],
        orgs=["the city council", "the transit authority", "the planning board",
              "the school district", "a residents' association", "the fire service"]),
    "culture": dict(weight=8, things=[
        "world tour", "film festival", "book prize", "museum exhibition", "box-office record",
        "opera premiere", "streaming deal", "ballet season", "restoration project"],
        verbs=["premiered", "won", "cancelled", "announced", "extended", "curated", "sold out"],
        orgs=["the festival jury", "the national gallery", "a streaming service",
              "the public broadcaster", "the opera house"]),
    "science": dict(weight=7, things=[
        "telescope survey", "fusion experiment", "fossil find", "genome study", "rover mission",
        "ice-core sample", "particle detector", "deep-sea expedition"],
        verbs=["published", "confirmed", "replicated", "launched", "funded", "paused"],
        orgs=["the space agency", "the national academy", "a university team",
              "an observatory", "the research council"]),
}
TOPIC_NAMES = sorted(TOPICS)
ADJ = ["stalled", "contentious", "closely watched", "long-delayed", "unexpected", "fragile",
       "ambitious", "costly", "divisive", "modest", "sweeping", "tentative"]
OUTCOMES = ["change course", "collapse", "be revised again", "win broad support",
            "face legal challenges", "cost more than planned", "set a precedent", "be shelved"]
WHEN = ["within weeks", "by the end of the year", "next quarter", "in the coming days",
        "by spring", "as early as Friday", "before the next budget"]
SOURCES = ["officials said", "a spokesperson said", "according to people familiar with the matter",
           "documents seen by reporters show", "local media reported", "a statement said"]
QUOTES = ["We will not be rushed", "This is a first step, not the last", "Nothing has been agreed yet",
          "We expect more clarity soon", "The numbers speak for themselves",
          "We have heard the concerns and we will respond"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
CROWDS = ["people", "delegates", "staff", "residents", "fans", "investors", "volunteers"]
FILLERS = ["Officials declined to comment further.", "The details have not been made public.",
           "Critics said the move came too late.", "It was not immediately clear what happens next.",
           "Further meetings are expected later this month.", "The figures could not be verified.",
           "Reaction online was swift and divided.", "Several questions remain unanswered."]
SITE_A = ["Harbour", "Northern", "Evening", "Metro", "Valley", "Capital", "Coastal", "Morning",
          "Upland", "Riverside", "Central", "Eastern"]
SITE_B = ["Courier", "Ledger", "Dispatch", "Herald", "Observer", "Gazette", "Bulletin", "Wire",
          "Chronicle", "Review", "Signal", "Post"]
AUTHORS = ["Staff", "Newsdesk", "Wire services"] + [f"{a} {b}" for a, b in zip(FIRST[::3], LAST[1::3])]

# sentences that bring one of the article's names into an unrelated story
NEAR_MISS = [
    "A racehorse called {n} finished third at the weekend meeting, at odds of 12 to 1.",
    "The {n} Street branch of the library reopened on {day} after months of repairs.",
    "Diners at a new restaurant named {n} waited up to an hour for a table.",
    "{n} was also the name given to a storm that crossed the coast last winter.",
    "A gallery is showing photographs of {n} taken by an amateur in the 1970s.",
    "The choir, which first sang in {n} in 1952, performs twice a year.",
    "Among the lots at the auction was a 1960s poster mentioning {n}.",
]
NEAR_MISS_TITLES = ["{n} Street library reopens", "Racehorse {n} places third",
                    "Storm named {n} remembered", "Photographs of {n} go on show"]


def cap(s):
    return s[:1].upper() + s[1:]


def slug(s):
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:60]


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------
class Workload:
    def __init__(self, seed, n_feeds, m_items, names, quotes, atom_share, copy_rate, story_rate,
                 near_rate):
        self.seed, self.n, self.m = seed, n_feeds, m_items
        self.names, self.quotes = names, quotes
        self.short_names = [n for n in names if n.count(" ") < 2]   # fit "The {n} Street ..."
        self.copy_rate, self.story_rate, self.near_rate = copy_rate, story_rate, near_rate
        taken = {w for name in names for w in name.split()}
        self.first = [w for w in FIRST if w not in taken]
        self.last = [w for w in LAST if w not in taken]
        self.places = [p for p in PLACES if p not in taken]
        order = list(range(n_feeds))
        random.Random(f"{seed}:kinds").shuffle(order)
        atom = set(order[:round(n_feeds * atom_share)])
        self.feeds = [self.site(f, "atom" if f in atom else "rss") for f in range(n_feeds)]

    def rng(self, *key):
        return random.Random(":".join(str(k) for k in (self.seed,) + key))

    def site(self, f, kind):
        r = self.rng("site", f)
        name = f"{r.choice(SITE_A)} {r.choice(SITE_B)} {f}"
        return dict(index=f, kind=kind, name=name, domain=f"{slug(name)}.example",
                    path=f"feeds/{f:05d}.{kind}.xml", topics=r.sample(TOPIC_NAMES, 3),
                    minutes=r.randint(10, 240), offset=r.randint(0, 600),
                    guid=r.choice(["permalink", "opaque", "tag", "uuid"]),
                    cdata=r.random() < 0.5, atom_tag=r.choice(["content", "summary"]),
                    lang=r.choice(["en", "en-gb", "en-us"]))

    def role(self, f, s):
        u = self.rng("role", f, s).random()
        if self.n > 1 and u < self.copy_rate:
            return "copy"
        u -= self.copy_rate
        if self.names and u < self.story_rate:
            return "story"
        if self.names and u < self.story_rate + self.near_rate:
            return "near_miss"
        return "plain"

    def item(self, f, s):
        """The item in slot s of feed f (slot 0 is the newest)."""
        role = self.role(f, s)
        if role == "copy":
            r = self.rng("copy", f, s)
            for _ in range(20):
                g = r.randrange(self.n - 1)
                g += g >= f
                if self.role(g, s) != "copy":
                    return self.copy_of(f, s, self.original(g, s), r)
            role = "plain"
        return self.original(f, s, role)

    def original(self, f, s, role=None):
        site = self.feeds[f]
        role = role or self.role(f, s)
        r = self.rng("item", f, s)
        when = NEWEST - timedelta(minutes=site["offset"] + s * site["minutes"]
                                  + r.randint(0, site["minutes"] // 2))
        mentioned = []
        if role == "story":
            topic = "diplomacy"
            mentioned = self.pick_names(r)
            title = self.story_title(r, mentioned)
            text = self.story_text(r, mentioned)
        else:
            topic = r.choice(site["topics"]) if r.random() < 0.6 else \
                r.choices(TOPIC_NAMES, weights=[TOPICS[t]["weight"] for t in TOPIC_NAMES])[0]
            title = self.title(r, topic)
            text = self.text(r, topic)
            if role == "near_miss":
                n = r.choice(self.short_names)
                mentioned = [n]
                day = r.choice(WEEKDAYS)
                text.insert(r.randrange(1, len(text) + 1), r.choice(NEAR_MISS).format(n=n, day=day))
                if r.random() < 0.3:
                    title = r.choice(NEAR_MISS_TITLES).format(n=n)
        sid = hashlib.sha1(f"{self.seed}:{f}:{s}".encode()).hexdigest()[:10]
        link = f"https://www.{site['domain']}/{topic}/{when:%Y/%m/%d}/{slug(title)}-{sid}"
        return dict(feed=f, slot=s, role=role, topic=topic, title=title, link=link,
                    guid=self.guid(site, r, link, sid), when=when,
                    author=r.choice(AUTHORS), html=self.html(r, text, link), names=mentioned)

    def copy_of(self, f, s, orig, r):
        site = self.feeds[f]
        sid = hashlib.sha1(f"{self.seed}:copy:{f}:{s}".encode()).hexdigest()[:10]
        if r.random() < 0.5:   # the original URL with tracking parameters added
            link = f"{orig['link']}?utm_source={slug(site['name'])}&utm_medium=rss&utm_campaign=s{sid[:6]}"
        else:                  # the same story under this site's own URL
            link = f"https://www.{site['domain']}/syndicated/{slug(orig['title'])}-{sid}"
        return dict(orig, feed=f, slot=s, role="copy", link=link,
                    guid=self.guid(site, r, link, sid),
                    when=orig["when"] + timedelta(minutes=r.randint(5, 120)),
                    copy_of=dict(feed=orig["feed"], guid=orig["guid"], role=orig["role"]))

    def guid(self, site, r, link, sid):
        style = site["guid"]
        if style == "permalink":
            return link
        if style == "tag":
            return f"tag:{site['domain']},2025:{sid}"
        if style == "uuid":
            return "urn:uuid:" + str(uuid.UUID(int=r.getrandbits(128), version=4))
        if site["kind"] == "atom":          # an Atom id must be an IRI
            return f"urn:x-workload:{site['index']:05d}-{sid}"
        return f"{site['index']:05d}-{sid}"

    # ---- text
    def person(self, r):
        return f"{r.choice(self.first)} {r.choice(self.last)}"

    def sentence(self, r, topic):
        t = TOPICS[topic]
        thing, org, place = r.choice(t["things"]), r.choice(t["orgs"]), r.choice(self.places)
        form = r.randrange(9)
        if form == 0:
            return (f"{self.person(r)}, a spokesperson for {org}, said the {thing} would "
                    f"{r.choice(OUTCOMES)} {r.choice(WHEN)}.")
        if form == 1:
            return (f"The {thing} was {r.choice(t['verbs'])} on {r.choice(WEEKDAYS)} after "
                    f"{org} raised objections to an earlier draft.")
        if form == 2:
            return (f"According to {org}, about {r.randint(20, 9000):,} {r.choice(CROWDS)} in "
                    f"{place} are affected by the {thing}.")
        if form == 3:
            return f"\u201c{r.choice(QUOTES)},\u201d {self.person(r)} told reporters in {place}."
        if form == 4:
            return (f"Critics in {place} called the {thing} {r.choice(ADJ)}, while supporters said "
                    f"it was long overdue.")
        if form == 5:
            return (f"Figures published on {r.choice(WEEKDAYS)} showed a change of "
                    f"{r.randint(2, 48)} percent, {r.choice(SOURCES)}.")
        if form == 6:
            return f"{cap(org)} {r.choice(t['verbs'])} the {r.choice(ADJ)} {thing}, {r.choice(SOURCES)}."
        if form == 7:
            return f"The {thing} is expected to come up again {r.choice(WHEN)} in {place}."
        return r.choice(FILLERS)

    def title(self, r, topic):
        t = TOPICS[topic]
        thing, org, place = r.choice(t["things"]), r.choice(t["orgs"]), r.choice(self.places)
        return r.choice([
            f"{cap(org)} {r.choice(t['verbs'])} {thing} in {place}",
            f"{self.person(r)} says {thing} could {r.choice(OUTCOMES)}",
            f"{place}: {r.choice(ADJ)} {thing} under scrutiny",
            f"Why the {thing} matters for {place}",
            f"{cap(thing)} in {place}: what we know so far",
        ])

    def text(self, r, topic):
        out, size, target = [], 0, r.randint(400, 2800)
        while size < target:
            other = r.random() < 0.07                     # an aside from another topic
            s = self.sentence(r, r.choice(TOPIC_NAMES) if other else topic)
            out.append(s)
            size += len(s) + 1
        return out

    def pick_names(self, r):
        """Two to four of the article's names, one of several words first when there is one.

        The article's most frequent names come up most often, as in real follow-up coverage.
        """
        k = min(len(self.names), r.randint(2, 4))
        long = [n for n in self.names if " " in n]
        picked = [self.weighted(r, long)] if long else []
        while len(picked) < k:
            n = self.weighted(r, self.names)
            if n not in picked:
                picked.append(n)
        return picked

    @staticmethod
    def weighted(r, names):
        return r.choices(names, weights=[1 / (i + 1) for i in range(len(names))])[0]

    def story_title(self, r, names):
        thing = r.choice(TOPICS["diplomacy"]["things"])
        a, b = names[0], names[1 % len(names)]
        return r.choice([
            f"{a} and {b} at the centre of new {thing}",
            f"{a}: {thing} {r.choice(['stalls', 'resumes', 'gathers pace', 'hits a snag'])}",
            f"What {a} said about the {thing}",
            f"Will the {thing} involving {a} {r.choice(OUTCOMES)}?",
        ])

    def story_text(self, r, names):
        t = TOPICS["diplomacy"]
        out = []
        for n in names:
            thing = r.choice(t["things"])
            out.append(r.choice([
                f"{n} featured again in the latest round of the {thing}, {r.choice(SOURCES)}.",
                f"Officials pointed to {n} when asked about the {r.choice(ADJ)} {thing}.",
                f"Reports mentioning {n} described the {thing} as {r.choice(ADJ)}.",
                f"The {thing} involving {n} could {r.choice(OUTCOMES)} {r.choice(WHEN)}.",
            ]))
        if self.quotes and r.random() < 0.5:
            out.insert(1, r.choice(self.quotes))
        body = self.text(r, "diplomacy")
        return out + body[: max(2, len(body) // 2)]

    def html(self, r, sentences, link):
        paras, i = [], 0
        while i < len(sentences):
            k = r.randint(2, 5)
            text = " ".join(escape(s) for s in sentences[i:i + k])
            u = r.random()
            if not paras and u < 0.25:
                text = f"<strong>{text}</strong>"
            elif u < 0.12:
                text += f' <a href={quoteattr(link + "#more")}>Read more</a>'
            elif u < 0.2:
                text = text.replace(" the ", " <em>the</em> ", 1)
            paras.append(f"<p>{text}</p>")
            i += k
        if r.random() < 0.1:
            paras.insert(1, f'<img src={quoteattr(link + "/lead.jpg")} alt="" width="640" height="360"/>')
        return "\n".join(paras)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def rss(site, items, self_url):
    def body(html):
        if site["cdata"]:
            return "<![CDATA[" + html.replace("]]>", "]]]]><![CDATA[>") + "]]>"
        return escape(html)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
             'xmlns:dc="http://purl.org/dc/elements/1.1/">', "<channel>",
             f"<title>{escape(site['name'])}</title>", f"<link>https://www.{site['domain']}/</link>",
             f'<atom:link href={quoteattr(self_url)} rel="self" type="application/rss+xml"/>',
             f"<description>News from {escape(site['name'])}</description>",
             f"<language>{site['lang']}</language>",
             f"<lastBuildDate>{email.utils.format_datetime(items[0]['when'])}</lastBuildDate>",
             "<ttl>15</ttl>"]
    for it in items:
        perma = "true" if it["guid"] == it["link"] else "false"
        lines += ["<item>", f"<title>{escape(it['title'])}</title>", f"<link>{escape(it['link'])}</link>",
                  f'<guid isPermaLink="{perma}">{escape(it["guid"])}</guid>',
                  f"<pubDate>{email.utils.format_datetime(it['when'])}</pubDate>",
                  f"<dc:creator>{escape(it['author'])}</dc:creator>",
                  f"<category>{it['topic']}</category>",
                  f"<description>{body(it['html'])}</description>", "</item>"]
    return "\n".join(lines + ["</channel>", "</rss>", ""])


def atom(site, items, self_url):
    def stamp(dt):
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{site["lang"]}">',
             f"<title>{escape(site['name'])}</title>", f"<id>tag:{site['domain']},2025:feed</id>",
             f"<updated>{stamp(items[0]['when'])}</updated>",
             f'<link rel="alternate" type="text/html" href="https://www.{site["domain"]}/"/>',
             f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>',
             f"<author><name>{escape(site['name'])}</name></author>"]
    tag = site["atom_tag"]
    for it in items:
        lines += ["<entry>", f'<title type="text">{escape(it["title"])}</title>',
                  f'<link rel="alternate" type="text/html" href={quoteattr(it["link"])}/>',
                  f"<id>{escape(it['guid'])}</id>", f"<published>{stamp(it['when'])}</published>",
                  f"<updated>{stamp(it['when'])}</updated>",
                  f"<author><name>{escape(it['author'])}</name></author>",
                  f'<category term="{it["topic"]}"/>',
                  f'<{tag} type="html">{escape(it["html"])}</{tag}>', "</entry>"]
    return "\n".join(lines + ["</feed>", ""])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--feeds", type=int, required=True, help="number of feeds")
    ap.add_argument("-m", "--items", type=int, required=True, help="items per feed")
    ap.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    ap.add_argument("--article", default=DEFAULT_ARTICLE,
                    help="the story's reference article, for its names (default: the repository's "
                         "config/demo/stories/ceasefire-talks.txt)")
    ap.add_argument("-o", "--out", required=True, help="folder to write (created)")
    ap.add_argument("--atom-share", type=float, default=0.3)
    ap.add_argument("--copy-rate", type=float, default=0.05)
    ap.add_argument("--story-rate", type=float, default=0.03)
    ap.add_argument("--near-miss-rate", type=float, default=0.04)
    a = ap.parse_args(argv)
    if a.feeds < 1 or a.items < 1:
        ap.error("-n and -m must be at least 1")

    with open(a.article, encoding="utf-8") as fh:
        text = fh.read()
    names = article_names(text)
    if not names:
        ap.error(f"no capitalised names found in {a.article}")
    wl = Workload(a.seed, a.feeds, a.items, names, article_sentences(text, names), a.atom_share,
                  a.copy_rate, a.story_rate, a.near_miss_rate)

    os.makedirs(os.path.join(a.out, "feeds"), exist_ok=True)
    roles = {"plain": 0, "copy": 0, "story": 0, "near_miss": 0}
    copies, story, near = [], [], []
    digest, total_bytes = hashlib.sha256(), 0
    for site in wl.feeds:
        items = sorted((wl.item(site["index"], s) for s in range(a.items)),
                       key=lambda it: it["when"], reverse=True)
        render = atom if site["kind"] == "atom" else rss
        data = render(site, items, "/" + site["path"]).encode("utf-8")
        path = os.path.join(a.out, site["path"])
        with open(path, "wb") as fh:
            fh.write(data)
        mtime = items[0]["when"].timestamp() + 60       # Last-Modified: just after its newest item
        os.utime(path, (mtime, mtime))
        digest.update(data)
        total_bytes += len(data)
        for it in items:
            roles[it["role"]] += 1
            ref = {"feed": it["feed"], "guid": it["guid"], "link": it["link"]}
            if it["role"] == "copy":
                copies.append(dict(ref, copy_of=it["copy_of"]))
            kind = it.get("copy_of", {}).get("role", it["role"])
            if kind == "story":
                story.append(dict(ref, names=it["names"]))
            elif kind == "near_miss":
                near.append(dict(ref, names=it["names"]))

    manifest = {
        "generator": "benches/poll-cycle/workload.py", "seed": a.seed,
        "feeds": a.feeds, "items_per_feed": a.items, "total_items": a.feeds * a.items,
        "rss_feeds": sum(s["kind"] == "rss" for s in wl.feeds),
        "atom_feeds": sum(s["kind"] == "atom" for s in wl.feeds),
        "roles": roles, "bytes": total_bytes, "sha256": digest.hexdigest(),
        "article": os.path.abspath(a.article),
        "article_names": names,
        "copies": copies, "story_items": story, "near_miss_items": near,
    }
    with open(os.path.join(a.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")
    with open(os.path.join(a.out, "feeds.txt"), "w") as fh:
        fh.write("".join(s["path"] + "\n" for s in wl.feeds))
    print(json.dumps({"out": a.out, "feeds": a.feeds, "items": a.feeds * a.items, "roles": roles,
                      "bytes": total_bytes, "sha256": digest.hexdigest()[:16]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
