//! Renders one printed copy of a true event with the habits of its source:
//! title form, prefixes, case, transliteration, abbreviations, dialect words,
//! typos, time format and shifts, wrong dates, venue and city spellings, street
//! presence, geocoding quality, long vs terse descriptions, category/flag noise.
//!
//! Invariants: output always satisfies the input format (`input-format.md`):
//! valid `YYYY-MM-DD` dates, `HH:MM[:SS]` times, strings where strings are
//! required; the noise never changes which true event a copy belongs to.

use super::templates::{fillers, month_name, weekday_name, Hm, TrueEvent};
use super::world::{round_to, Archetype, Dialect, Source, Town, World};
use chrono::{Datelike, Duration, NaiveDate};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
pub struct Listing {
    pub id: String,
    pub title: String,
    pub short_description: Option<String>,
    pub description: Option<String>,
    pub highlights: Option<Vec<String>>,
    pub event_dates: Vec<DateOut>,
    pub location: Option<LocationOut>,
    pub source_type: &'static str,
    pub categories: Option<Vec<String>>,
    pub is_family_event: Option<bool>,
    pub is_child_focused: Option<bool>,
    pub admission_free: Option<bool>,
    pub registration_required: Option<bool>,
    pub registration_contact: Option<String>,
    pub confidence_score: f64,
    #[serde(rename = "_batch_index")]
    pub batch_index: u32,
    #[serde(rename = "_event_index")]
    pub event_index: u32,
    #[serde(rename = "_extracted_at")]
    pub extracted_at: String,
}

#[derive(Serialize)]
pub struct DateOut {
    pub date: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub end_date: Option<String>,
}

#[derive(Serialize)]
pub struct LocationOut {
    pub name: Option<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_no: Option<String>,
    pub zipcode: Option<String>,
    #[serde(rename = "_sanitizeResult", skip_serializing_if = "Option::is_none")]
    pub sanitize_result: Option<SanitizeOut>,
    #[serde(rename = "_sanitized", skip_serializing_if = "Option::is_none")]
    pub sanitized: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo: Option<GeoOut>,
}

#[derive(Serialize)]
pub struct SanitizeOut {
    pub city: Option<String>,
    pub district: Option<String>,
    pub confidence: Value,
    #[serde(rename = "matchType")]
    pub match_type: &'static str,
    #[serde(rename = "requiresReview")]
    pub requires_review: bool,
}

#[derive(Serialize)]
pub struct GeoOut {
    pub latitude: f64,
    pub longitude: f64,
    pub confidence: f64,
    pub country: &'static str,
}

/// What a copy needs beyond the true event: where and when it is printed.
pub struct CopyCtx<'a> {
    pub world: &'a World,
    pub source: &'a Source,
    /// First day the issue covers (exhibitions already running are listed from here).
    pub window_start: NaiveDate,
}

pub fn render(rng: &mut ChaCha8Rng, ctx: &CopyCtx, ev: &TrueEvent) -> Listing {
    let town = &ctx.world.towns[ev.town];
    let artikel = rng.gen_bool(ctx.source.artikel_share);
    let title = render_title(rng, ctx, town, ev, artikel);
    let dates = render_dates(rng, ctx, ev);
    let (short, long) = render_text(rng, ctx, town, ev, artikel, &dates);
    let highlights = (artikel && ev.facts.len() >= 2 && rng.gen_bool(0.35)).then(|| {
        ev.facts
            .iter()
            .take(2)
            .map(|f| f.trim_end_matches('.').to_string())
            .collect()
    });
    let contact = ev.registration.then(|| match rng.gen_range(0..3) {
        0 => "Anmeldung beim Veranstalter".to_string(),
        1 => format!(
            "Tel. 07{} {}",
            rng.gen_range(800..900),
            rng.gen_range(10000..99999)
        ),
        _ => format!("info@{}.de", ascii_slug(town.short())),
    });
    Listing {
        id: String::new(),
        title,
        short_description: short,
        description: long,
        highlights,
        event_dates: dates,
        location: Some(render_location(rng, ctx, town, ev)),
        source_type: if artikel { "artikel" } else { "terminliste" },
        categories: render_categories(rng, ctx, ev),
        is_family_event: noisy_flag(rng, ev.family_event),
        is_child_focused: noisy_flag(rng, Some(ev.child)),
        admission_free: noisy_flag(rng, ev.free),
        registration_required: noisy_flag(rng, Some(ev.registration)),
        registration_contact: contact,
        confidence_score: rng.gen_range(72..100) as f64 / 100.0,
        batch_index: 0,
        event_index: 0,
        extracted_at: String::new(),
    }
}

fn ascii_slug(s: &str) -> String {
    transliterate(s)
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

fn noisy_flag(rng: &mut ChaCha8Rng, v: Option<bool>) -> Option<bool> {
    let r: f64 = rng.gen();
    if r < 0.08 {
        None
    } else if r < 0.12 {
        v.map(|b| !b).or(Some(false))
    } else {
        v
    }
}

fn category_label(ev: &TrueEvent, rng: &mut ChaCha8Rng) -> &'static str {
    let options: &[&str] = match ev.category {
        "musik" => &["Musik", "Konzert"],
        "buehne" => &["Theater", "Bühne"],
        "ausstellung" => &["Kunst", "Ausstellung"],
        "kino" => &["Kino", "Film"],
        "vortrag" => &["Vortrag", "Bildung"],
        "fasnacht" => &["Brauchtum", "Fasnet"],
        "kinder" => &["Kinder", "Familie"],
        "markt" => &["Markt"],
        "sport" => &["Sport"],
        "fest" => &["Feste", "Geselligkeit"],
        "kirche" => &["Kirche"],
        "fuehrung" => &["Führung"],
        "versammlung" => &["Verein", "Versammlung"],
        _ => &["Freizeit"],
    };
    options.choose(rng).copied().unwrap_or("Termine")
}

fn render_title(
    rng: &mut ChaCha8Rng,
    ctx: &CopyCtx,
    town: &Town,
    ev: &TrueEvent,
    artikel: bool,
) -> String {
    let venue = &town.venues[ev.venue];
    let short = ev.short.clone().unwrap_or_else(|| ev.title.clone());
    let r: f64 = rng.gen();
    let mut t = if artikel {
        if r < 0.5 {
            ev.headline.clone()
        } else if r < 0.8 {
            ev.title.clone()
        } else if r < 0.9 {
            organizer_form(ev, &short).unwrap_or_else(|| ev.title.clone())
        } else {
            short
        }
    } else if r < 0.62 {
        ev.title.clone()
    } else if r < 0.82 {
        short
    } else if r < 0.92 {
        organizer_form(ev, &short).unwrap_or_else(|| ev.title.clone())
    } else if r < 0.97 {
        format!("{} im {}", ev.title, venue.name)
    } else {
        ev.headline.clone()
    };
    t = apply_dialect(rng, ctx.source.dialect, town.dialect, t);
    if rng.gen_bool(0.15) {
        t = split_compound(&t);
    }
    if rng.gen_bool(0.2) {
        t = abbreviate(&t);
    }
    let p: f64 = rng.gen();
    if p < ctx.source.town_prefix {
        let name = town.printed.choose(rng).cloned().unwrap_or_default();
        if !t.contains(&name) {
            t = format!("{name}: {t}");
        }
    } else if p < ctx.source.town_prefix + ctx.source.cat_prefix {
        let label = category_label(ev, rng);
        if !t.starts_with(label) {
            t = format!("{label}: {t}");
        }
    }
    if rng.gen_bool(ctx.source.translit) {
        t = transliterate(&t);
    }
    if rng.gen_bool(ctx.source.upper) {
        t = t.to_uppercase();
    }
    if rng.gen_bool(ctx.source.typo) {
        t = typo(rng, &t);
    }
    t
}

/// `Org: Title` (or `Org - Title` for carnival and dash-prefixed series).
fn organizer_form(ev: &TrueEvent, short: &str) -> Option<String> {
    let org = ev.organizer.as_ref()?;
    if ev.title.starts_with(org.as_str()) {
        return Some(ev.title.clone());
    }
    let dash = ev.category == "fasnacht" || org == "Kommunales Kino" || org == "Kolping Kids";
    Some(if dash {
        format!("{org} - {short}")
    } else {
        format!("{org}: {short}")
    })
}

/// Swaps the town's carnival word for the source's own (Fasent → Fasching).
fn apply_dialect(rng: &mut ChaCha8Rng, src: Option<Dialect>, town: Dialect, t: String) -> String {
    let Some(src) = src else { return t };
    if src == town || !rng.gen_bool(0.6) {
        return t;
    }
    let mut out = t.replace(town.stem(), src.stem());
    out = out.replace(town.word(), src.word());
    let (lw, sw) = (town.word().to_lowercase(), src.word().to_lowercase());
    out.replace(&lw, &sw)
}

fn split_compound(t: &str) -> String {
    for (glued, split) in [
        ("sumzug", "s-Umzug"),
        ("tumzug", "t-Umzug"),
        ("rumzug", "r-Umzug"),
        ("sverbrennung", "s-Verbrennung"),
        ("tverbrennung", "t-Verbrennung"),
        ("baumstellen", "baum-Stellen"),
        ("Kinderflohmarkt", "Kinder-Flohmarkt"),
        ("Seniorennachmittag", "Senioren-Nachmittag"),
    ] {
        if t.contains(glued) {
            return t.replacen(glued, split, 1);
        }
    }
    t.to_string()
}

pub fn abbreviate(t: &str) -> String {
    let mut s = t.to_string();
    for (long, short) in [
        ("Katholische", "Kath."),
        ("Evangelische", "Ev."),
        ("straße", "str."),
        ("Straße", "Str."),
        ("Sankt ", "St. "),
        ("Männergesangverein", "MGV"),
        ("Musikverein", "MV"),
        ("Sportverein", "SV"),
        ("Turnverein", "TV"),
        ("Freiwillige Feuerwehr", "FFW"),
        ("Obst- und Gartenbauverein", "OGV"),
    ] {
        s = s.replace(long, short);
    }
    s
}

pub fn transliterate(t: &str) -> String {
    let mut s = String::with_capacity(t.len() + 4);
    for c in t.chars() {
        match c {
            'ä' => s.push_str("ae"),
            'ö' => s.push_str("oe"),
            'ü' => s.push_str("ue"),
            'Ä' => s.push_str("Ae"),
            'Ö' => s.push_str("Oe"),
            'Ü' => s.push_str("Ue"),
            'ß' => s.push_str("ss"),
            _ => s.push(c),
        }
    }
    s
}

/// OCR-like damage to one word: swapped, dropped or doubled letter, `rn`/`m`.
fn typo(rng: &mut ChaCha8Rng, t: &str) -> String {
    let chars: Vec<char> = t.chars().collect();
    let letters: Vec<usize> = (1..chars.len().saturating_sub(1))
        .filter(|&i| chars[i].is_alphabetic() && chars[i + 1].is_alphabetic())
        .collect();
    let Some(&i) = letters.choose(rng) else {
        return t.to_string();
    };
    let mut c = chars.clone();
    match rng.gen_range(0..5) {
        0 => c.swap(i, i + 1),
        1 => {
            c.remove(i);
        }
        2 => c.insert(i, c[i]),
        3 => {
            if c[i] == 'm' {
                c.splice(i..=i, ['r', 'n']);
            } else if c[i] == 'ü' {
                c[i] = 'u';
            } else {
                c[i] = if c[i] == 'l' { 'I' } else { 'l' };
            }
        }
        _ => {
            if c[i] == ' ' {
                c.remove(i);
            } else {
                c.insert(i + 1, ' ');
            }
        }
    }
    c.into_iter().collect()
}

fn fmt_time(t: Hm, seconds: bool) -> String {
    if seconds {
        format!("{:02}:{:02}:00", t.0, t.1)
    } else {
        format!("{:02}:{:02}", t.0, t.1)
    }
}

fn render_dates(rng: &mut ChaCha8Rng, ctx: &CopyCtx, ev: &TrueEvent) -> Vec<DateOut> {
    let secs = ctx.source.time_seconds;
    let mut dates = ev.dates.clone();
    if dates.len() > 1 && rng.gen_bool(0.15) {
        dates.truncate(1);
    }
    if dates.len() == 1 && rng.gen_bool(0.025) {
        let shift = *[-7i64, -1, 1, 7, 1].choose(rng).unwrap_or(&1);
        dates[0] += Duration::days(shift);
    }
    if let Some(end) = ev.end_date {
        let listed_late = ctx.source.archetype == Archetype::Calendar && rng.gen_bool(0.3);
        if listed_late && ctx.window_start > dates[0] && ctx.window_start < end {
            dates[0] = ctx.window_start + Duration::days(rng.gen_range(0..5));
        }
    }
    let start = if rng.gen_bool(0.08) {
        None
    } else if ev.doors.is_some() && rng.gen_bool(0.12) {
        ev.doors
    } else {
        ev.start
    };
    let end_time = ev
        .end
        .filter(|_| start.is_some() && rng.gen_bool(ctx.source.end_time));
    let end_date = ev.end_date.map(|d| d.format("%Y-%m-%d").to_string());
    dates
        .iter()
        .map(|d| DateOut {
            date: d.format("%Y-%m-%d").to_string(),
            start_time: start.map(|t| fmt_time(t, secs)),
            end_time: end_time.map(|t| fmt_time(t, secs)),
            end_date: end_date.clone(),
        })
        .collect()
}

fn spoken_time(t: Hm) -> String {
    if t.1 == 0 {
        format!("{} Uhr", t.0)
    } else {
        format!("{}.{:02} Uhr", t.0, t.1)
    }
}

fn date_sentence(
    rng: &mut ChaCha8Rng,
    d: NaiveDate,
    start: Option<Hm>,
    venue: &str,
    town: &str,
) -> String {
    let wd = weekday_name(d);
    let long = format!("{wd}, {}. {}", d.day(), month_name(d.month()));
    let at = start
        .map(|t| format!(" um {}", spoken_time(t)))
        .unwrap_or_default();
    match rng.gen_range(0..4) {
        0 => format!("Die Veranstaltung findet am {long}{at} statt (Ort: {venue}, {town})."),
        1 => format!("Termin: {long}{at}, {venue}, {town}."),
        2 => format!("Beginn ist am {long}{at} ({venue})."),
        _ => format!(
            "Am {wd}, {:02}.{:02}.,{} geht es los. Veranstaltungsort: {venue}.",
            d.day(),
            d.month(),
            start
                .map(|t| format!(" um {},", spoken_time(t)))
                .unwrap_or_default()
        ),
    }
}

fn render_text(
    rng: &mut ChaCha8Rng,
    ctx: &CopyCtx,
    town: &Town,
    ev: &TrueEvent,
    artikel: bool,
    dates: &[DateOut],
) -> (Option<String>, Option<String>) {
    let first = dates
        .first()
        .and_then(|d| NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").ok())
        .unwrap_or(ev.dates[0]);
    let venue = &town.venues[ev.venue];
    let vname = if rng.gen_bool(0.7) {
        venue.name.clone()
    } else {
        venue.variants.choose(rng).cloned().unwrap_or_default()
    };
    let mut facts = ev.facts.clone();
    facts.shuffle(rng);
    if artikel {
        let mut parts: Vec<String> = Vec::new();
        match rng.gen_range(0..3) {
            0 => parts.push(format!(
                "Am {} heißt es wieder: {}.",
                weekday_name(first),
                ev.title
            )),
            1 => parts.push(format!("{}:", ev.title)),
            _ => {}
        }
        parts.push(date_sentence(rng, first, ev.start, &vname, town.short()));
        let n = rng.gen_range(1..=facts.len().max(1));
        parts.extend(facts.iter().take(n).cloned());
        let mut fill: Vec<&str> = fillers().to_vec();
        fill.shuffle(rng);
        parts.extend(fill.iter().take(rng.gen_range(1..3)).map(|s| s.to_string()));
        if let Some(p) = &ev.price {
            parts.push(p.clone());
        }
        let long = parts.join(" ");
        let short = match rng.gen_range(0..4) {
            0 => Some(date_sentence(rng, first, ev.start, &vname, town.short())),
            1 => Some(format!("{} in {}.", ev.title, town.short())),
            2 => facts.first().cloned(),
            _ => None,
        };
        (short, Some(long))
    } else {
        let n = rng.gen_range(0..=facts.len().min(2));
        let short = (n > 0 && !rng.gen_bool(0.12)).then(|| facts[..n].join(" "));
        let long = match rng.gen_range(0..5) {
            0 => Some(String::new()),
            1 => None,
            2 => short.clone(),
            3 => Some(
                format!(
                    "{} {}",
                    short.clone().unwrap_or_default(),
                    date_sentence(rng, first, ev.start, &vname, town.short())
                )
                .trim()
                .to_string(),
            ),
            _ => Some(String::new()),
        };
        let long = if ctx.source.archetype == Archetype::Carnival {
            None
        } else {
            long
        };
        (short, long)
    }
}

fn render_location(
    rng: &mut ChaCha8Rng,
    ctx: &CopyCtx,
    town: &Town,
    ev: &TrueEvent,
) -> LocationOut {
    let venue = &town.venues[ev.venue];
    let district = venue.district.map(|d| town.districts[d].name.clone());
    let name = if rng.gen_bool(0.6) {
        venue.name.clone()
    } else {
        venue
            .variants
            .choose(rng)
            .cloned()
            .unwrap_or_else(|| venue.name.clone())
    };
    let name = if rng.gen_bool(ctx.source.translit * 0.5) {
        transliterate(&name)
    } else {
        name
    };
    let (city, city_is_district) = match &district {
        Some(d) => match rng.gen_range(0..20) {
            0..=8 => (town.short().to_string(), false),
            9..=12 => (format!("{}-{d}", town.short()), true),
            13..=17 => (d.clone(), true),
            _ => (town.printed.choose(rng).cloned().unwrap_or_default(), false),
        },
        None => {
            let p = if rng.gen_bool(0.75) {
                town.printed[0].clone()
            } else {
                town.printed.choose(rng).cloned().unwrap_or_default()
            };
            (p, false)
        }
    };
    let district_field = district.clone().filter(|_| rng.gen_bool(0.8));
    let sanitize = rng.gen_bool(ctx.source.sanitizer).then(|| {
        if rng.gen_bool(0.02) {
            SanitizeOut {
                city: None,
                district: None,
                confidence: Value::from(0.3),
                match_type: "none",
                requires_review: true,
            }
        } else if city_is_district {
            SanitizeOut {
                city: Some(town.official.clone()),
                district: district.clone(),
                confidence: Value::from(0.9),
                match_type: "district",
                requires_review: false,
            }
        } else {
            SanitizeOut {
                city: Some(town.official.clone()),
                district: None,
                confidence: Value::from(1),
                match_type: "exact",
                requires_review: false,
            }
        }
    });
    let (street, street_no) = if rng.gen_bool(ctx.source.street) {
        match rng.gen_range(0..4) {
            0 => (Some(venue.street.clone()), Some(venue.street_no.clone())),
            1 => (Some(venue.street.clone()), None),
            _ => (Some(format!("{} {}", venue.street, venue.street_no)), None),
        }
    } else {
        (None, None)
    };
    let street = street.map(|s| if rng.gen_bool(0.2) { abbreviate(&s) } else { s });
    LocationOut {
        name: Some(name),
        city: Some(city),
        district: district_field,
        street,
        street_no,
        zipcode: rng.gen_bool(0.7).then(|| town.zip.clone()),
        sanitized: sanitize.as_ref().map(|_| true),
        sanitize_result: sanitize,
        geo: render_geo(rng, ctx, town, ev),
    }
}

/// Geocoder output: venue-level hits (a few cached results per venue), town or
/// district centroids with low confidence, missing geo, rare gross errors.
fn render_geo(rng: &mut ChaCha8Rng, ctx: &CopyCtx, town: &Town, ev: &TrueEvent) -> Option<GeoOut> {
    let venue = &town.venues[ev.venue];
    let r: f64 = rng.gen();
    let (lat, lon, conf) = if r < 0.865 {
        let k = match rng.gen_range(0..20) {
            0..=11 => 0u64,
            12..=16 => 1,
            _ => 2,
        };
        let h = venue_hash(ctx.world, ev.town, ev.venue, k);
        let dlat = ((h & 0xffff) as f64 / 65535.0 - 0.5) * 0.0008;
        let dlon = (((h >> 16) & 0xffff) as f64 / 65535.0 - 0.5) * 0.0008;
        let conf = 0.86 + ((h >> 32) % 14) as f64 / 100.0;
        (venue.lat + dlat, venue.lon + dlon, conf)
    } else if r < 0.965 {
        let (lat, lon) = match venue.district {
            Some(d) if rng.gen_bool(0.6) => (town.districts[d].lat, town.districts[d].lon),
            _ => (town.lat, town.lon),
        };
        (lat, lon, rng.gen_range(50..81) as f64 / 100.0)
    } else if r < 0.99 {
        return None;
    } else {
        let (lat, lon) = match rng.gen_range(0..3) {
            0 => (
                46.9480 + rng.gen_range(-0.05..0.05),
                7.4474 + rng.gen_range(-0.05..0.05),
            ),
            1 => (48.5734, 7.7521),
            _ => {
                let other = &ctx.world.towns[rng.gen_range(0..ctx.world.towns.len())];
                (other.lat, other.lon)
            }
        };
        (lat, lon, rng.gen_range(55..92) as f64 / 100.0)
    };
    Some(GeoOut {
        latitude: round_to(lat, 7),
        longitude: round_to(lon, 7),
        confidence: round_to(conf, 2),
        country: "DEU",
    })
}

fn venue_hash(world: &World, town: usize, venue: usize, k: u64) -> u64 {
    let mut x = (town as u64) << 24 ^ (venue as u64) << 4 ^ k ^ (world.towns.len() as u64) << 44;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ceb9fe1a85ec53);
    x ^ (x >> 33)
}

fn render_categories(rng: &mut ChaCha8Rng, ctx: &CopyCtx, ev: &TrueEvent) -> Option<Vec<String>> {
    if rng.gen_bool(0.01) {
        return None;
    }
    let mut tags: Vec<String> = ev.tags.iter().map(|s| s.to_string()).collect();
    let terse = matches!(
        ctx.source.archetype,
        Archetype::Calendar | Archetype::Carnival
    );
    if tags.len() > 1 && rng.gen_bool(if terse { 0.4 } else { 0.2 }) {
        tags.truncate(1);
    }
    if tags.len() > 1 && rng.gen_bool(0.25) {
        tags.shuffle(rng);
    }
    if ev.category == "fasnacht" && rng.gen_bool(0.08) {
        tags[0] = ["karneval", "fasching", "brauchtum"]
            .choose(rng)
            .copied()
            .unwrap_or("karneval")
            .to_string();
    }
    if rng.gen_bool(0.04) {
        let extra = ["brauchtum", "familie", "kultur", "freizeit"]
            .choose(rng)
            .copied()
            .unwrap_or("kultur");
        if !tags.iter().any(|t| t == extra) {
            tags.push(extra.to_string());
        }
    }
    Some(tags)
}
