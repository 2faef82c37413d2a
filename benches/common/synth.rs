//! Synthetic text for the store benches: a fixed vocabulary of 6,000
//! made-up words, so texts rarely share shingles by chance (as distinct news
//! reports rarely do), drawn by a seeded generator so every run measures
//! the same items.

/// xorshift64*: deterministic, so every run measures the same texts.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub fn vocabulary() -> Vec<String> {
    let syl = [
        "ka", "lo", "mir", "sen", "tov", "ra", "vik", "den", "sho", "bel", "gru", "zan", "pe",
        "tri", "os", "lu",
    ];
    (0..6000)
        .map(|i| {
            format!(
                "{}{}{}",
                syl[i % 16],
                syl[(i / 16) % 16],
                syl[(i / 256) % 16]
            )
        })
        .collect()
}

pub fn text(rng: &mut Rng, vocab: &[String], words: usize) -> Vec<String> {
    (0..words)
        .map(|_| vocab[rng.below(vocab.len())].clone())
        .collect()
}

/// A feed of its own name on an `.example` host, as the store benches file
/// their items under.
pub fn feed(name: &str) -> storywatch::config::FeedConfig {
    storywatch::config::FeedConfig {
        name: name.into(),
        url: url::Url::parse(&format!("https://{name}.example/rss")).unwrap(),
        interval: std::time::Duration::from_secs(900),
        full_text: storywatch::config::FullText::Off,
        allow_hosts: Vec::new(),
        title: None,
        category: None,
    }
}
