//! The fixed geography the generator draws from: towns (real ones of the
//! Ortenau / Kinzigtal / Elztal / Breisgau region first, then synthesized ones on
//! a jittered grid), their districts and venues, and the sources that cover them.
//!
//! Invariants: the world is a pure function of (seed, town count, source count);
//! town names are unique; every town is covered by at least one general source;
//! all collections are `Vec`s so iteration order is deterministic.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

/// How a town spells its carnival; drives titles such as `Fasentumzug`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Fasent,
    Fasnet,
    Fasnacht,
    Fasching,
}

impl Dialect {
    /// The noun as used in compounds (`Fasnet` + `sumzug`).
    pub fn word(self) -> &'static str {
        match self {
            Dialect::Fasent => "Fasent",
            Dialect::Fasnet => "Fasnet",
            Dialect::Fasnacht => "Fasnacht",
            Dialect::Fasching => "Fasching",
        }
    }

    /// Compound stem: `Fasnets` in `Fasnetsumzug`, `Fasent` in `Fasentumzug`.
    pub fn stem(self) -> &'static str {
        match self {
            Dialect::Fasent => "Fasent",
            Dialect::Fasnet => "Fasnets",
            Dialect::Fasnacht => "Fasnachts",
            Dialect::Fasching => "Faschings",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VenueKind {
    Rathaus,
    Platz,
    Halle,
    Kirche,
    Pfarrheim,
    Buecherei,
    Gasthaus,
    Kultur,
    Kino,
    Sport,
}

#[derive(Clone, Debug)]
pub struct Venue {
    pub name: String,
    /// Spellings other sources use for the same place.
    pub variants: Vec<String>,
    pub kind: VenueKind,
    pub district: Option<usize>,
    pub street: String,
    pub street_no: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Clone, Debug)]
pub struct District {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Clone, Debug)]
pub struct Town {
    /// The sanitizer's authoritative municipality name (`Lahr/Schwarzwald`).
    pub official: String,
    /// How sources print the town (`Lahr`, `Lahr/Schw.`); first is the common one.
    pub printed: Vec<String>,
    pub zip: String,
    pub lat: f64,
    pub lon: f64,
    pub districts: Vec<District>,
    pub dialect: Dialect,
    pub venues: Vec<Venue>,
    /// Relative event volume (bigger towns host more).
    pub weight: f64,
    pub clubs: Vec<String>,
    pub saint: &'static str,
}

impl Town {
    pub fn short(&self) -> &str {
        &self.printed[0]
    }

    pub fn venues_of(&self, kind: VenueKind) -> Vec<usize> {
        (0..self.venues.len())
            .filter(|&i| self.venues[i].kind == kind)
            .collect()
    }
}

/// Editorial profile of a source; see `render.rs` for how each knob is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Archetype {
    /// Daily or weekly newspaper: mostly articles, broad categories.
    Paper,
    /// Weekly free paper / community bulletin: mixed.
    Weekly,
    /// Calendar magazine: terse listings, many events.
    Calendar,
    /// Culture calendar: only concerts, stage, exhibitions, cinema, talks, tours.
    Culture,
    /// Carnival timetable: only fasnacht events, published during the season.
    Carnival,
}

#[derive(Clone, Debug)]
pub struct Source {
    pub code: String,
    pub name: String,
    pub archetype: Archetype,
    /// 7 = weekly issues, 14 = fortnightly.
    pub period: u32,
    /// Days between the issue date and the first day it covers.
    pub lead: i64,
    pub artikel_share: f64,
    pub time_seconds: bool,
    pub upper: f64,
    pub translit: f64,
    pub town_prefix: f64,
    pub cat_prefix: f64,
    pub typo: f64,
    pub sanitizer: f64,
    pub street: f64,
    pub end_time: f64,
    pub dialect: Option<Dialect>,
    /// Chance to pick this source when a town it covers has an event.
    pub reach: f64,
    pub towns: Vec<usize>,
}

impl Source {
    pub fn accepts(&self, category: &str) -> bool {
        match self.archetype {
            Archetype::Carnival => category == "fasnacht",
            Archetype::Culture => matches!(
                category,
                "musik" | "buehne" | "ausstellung" | "kino" | "vortrag" | "fuehrung"
            ),
            _ => true,
        }
    }
}

pub struct World {
    pub towns: Vec<Town>,
    pub sources: Vec<Source>,
    /// For each town, the sources covering it (ascending).
    pub town_sources: Vec<Vec<usize>>,
    /// For each town, the other towns by distance (nearest first, up to 8).
    pub neighbours: Vec<Vec<usize>>,
}

type RealTown = (
    &'static str,
    &'static [&'static str],
    &'static str,
    f64,
    f64,
    &'static [&'static str],
    Dialect,
    f64,
);

/// Real municipalities, biggest first, with approximate centre coordinates.
const REAL_TOWNS: &[RealTown] = {
    use Dialect::*;
    &[
        (
            "Offenburg",
            &["Offenburg"],
            "77652",
            48.4721,
            7.9406,
            &[
                "Zunsweier",
                "Bohlsbach",
                "Rammersweier",
                "Elgersweier",
                "Windschläg",
            ],
            Fasent,
            3.0,
        ),
        (
            "Freiburg im Breisgau",
            &["Freiburg", "Freiburg i. Br."],
            "79098",
            47.9990,
            7.8421,
            &["Waltershofen", "Opfingen", "Tiengen", "Munzingen", "Lehen"],
            Fasnet,
            3.0,
        ),
        (
            "Lahr/Schwarzwald",
            &["Lahr", "Lahr/Schw.", "Lahr/Schwarzwald"],
            "77933",
            48.3397,
            7.8717,
            &["Sulz", "Reichenbach", "Hugsweier", "Kuhbach"],
            Fasent,
            2.4,
        ),
        (
            "Kehl",
            &["Kehl", "Kehl am Rhein"],
            "77694",
            48.5727,
            7.8155,
            &["Kork", "Auenheim", "Marlen", "Goldscheuer"],
            Fasent,
            2.0,
        ),
        (
            "Emmendingen",
            &["Emmendingen"],
            "79312",
            48.1210,
            7.8490,
            &[
                "Mundingen",
                "Kollmarsreute",
                "Wasser",
                "Windenreute",
                "Maleck",
            ],
            Fasnet,
            1.8,
        ),
        (
            "Waldkirch",
            &["Waldkirch"],
            "79183",
            48.0940,
            7.9610,
            &["Kollnau", "Buchholz", "Suggental", "Siensbach"],
            Fasnet,
            1.6,
        ),
        (
            "Oberkirch",
            &["Oberkirch"],
            "77704",
            48.5305,
            8.0786,
            &["Zusenhofen", "Nußbach", "Butschbach"],
            Fasent,
            1.4,
        ),
        (
            "Haslach im Kinzigtal",
            &["Haslach im Kinzigtal", "Haslach i. K.", "Haslach"],
            "77716",
            48.2780,
            8.0870,
            &["Bollenbach", "Schnellingen"],
            Fasent,
            1.2,
        ),
        (
            "Kenzingen",
            &["Kenzingen"],
            "79341",
            48.1920,
            7.7680,
            &["Nordweil", "Hecklingen", "Bombach"],
            Fasnet,
            1.1,
        ),
        (
            "Neuried",
            &["Neuried"],
            "77743",
            48.4500,
            7.8160,
            &["Altenheim", "Ichenheim", "Dundenheim", "Müllen"],
            Fasent,
            1.1,
        ),
        (
            "Denzlingen",
            &["Denzlingen"],
            "79211",
            48.0680,
            7.8810,
            &[],
            Fasnet,
            1.1,
        ),
        (
            "Gengenbach",
            &["Gengenbach"],
            "77723",
            48.4040,
            8.0150,
            &["Bermersbach", "Schwaibach"],
            Fasent,
            1.1,
        ),
        (
            "Friesenheim",
            &["Friesenheim"],
            "77948",
            48.3730,
            7.8750,
            &["Oberschopfheim", "Schuttern", "Heiligenzell"],
            Fasent,
            1.0,
        ),
        (
            "Hohberg",
            &["Hohberg"],
            "77749",
            48.4190,
            7.8960,
            &["Diersburg", "Hofweier", "Niederschopfheim"],
            Fasent,
            1.0,
        ),
        (
            "Herbolzheim",
            &["Herbolzheim"],
            "79336",
            48.2180,
            7.7800,
            &["Broggingen", "Tutschfelden", "Bleichheim"],
            Fasnet,
            1.0,
        ),
        (
            "Ettenheim",
            &["Ettenheim"],
            "77955",
            48.2560,
            7.8120,
            &["Altdorf", "Ettenheimweiler", "Münchweier"],
            Fasent,
            1.0,
        ),
        (
            "Willstätt",
            &["Willstätt"],
            "77731",
            48.5410,
            7.8930,
            &["Sand", "Eckartsweier", "Legelshurst"],
            Fasent,
            0.9,
        ),
        (
            "Teningen",
            &["Teningen"],
            "79331",
            48.1290,
            7.8120,
            &["Nimburg", "Köndringen", "Heimbach"],
            Fasnet,
            0.9,
        ),
        (
            "Elzach",
            &["Elzach"],
            "79215",
            48.1740,
            8.0690,
            &["Prechtal", "Yach", "Oberprechtal"],
            Fasnet,
            0.9,
        ),
        (
            "Steinach",
            &["Steinach"],
            "77790",
            48.2990,
            8.0530,
            &["Welschensteinach"],
            Fasent,
            0.8,
        ),
        (
            "Seelbach",
            &["Seelbach"],
            "77960",
            48.3100,
            7.9400,
            &["Wittelbach", "Schönberg"],
            Fasent,
            0.8,
        ),
        (
            "Wolfach",
            &["Wolfach"],
            "77709",
            48.2960,
            8.2210,
            &["Kirnbach", "Kinzigtal"],
            Fasnet,
            0.8,
        ),
        (
            "Zell am Harmersbach",
            &["Zell am Harmersbach", "Zell a. H."],
            "77736",
            48.3480,
            8.0640,
            &["Unterentersbach", "Unterharmersbach"],
            Fasent,
            0.8,
        ),
        (
            "Hausach",
            &["Hausach"],
            "77756",
            48.2840,
            8.1760,
            &["Einbach"],
            Fasent,
            0.7,
        ),
        (
            "Schutterwald",
            &["Schutterwald"],
            "77746",
            48.4580,
            7.8800,
            &["Langhurst", "Höfen"],
            Fasent,
            0.7,
        ),
        (
            "Appenweier",
            &["Appenweier"],
            "77767",
            48.5400,
            7.9790,
            &["Urloffen", "Nesselried"],
            Fasent,
            0.7,
        ),
        (
            "Freiamt",
            &["Freiamt"],
            "79348",
            48.1700,
            7.9030,
            &["Ottoschwanden", "Mußbach"],
            Fasnet,
            0.6,
        ),
        (
            "Biberach (Baden)",
            &["Biberach (Baden)", "Biberach/Baden"],
            "77781",
            48.3390,
            8.0300,
            &["Prinzbach"],
            Fasent,
            0.6,
        ),
        (
            "Kippenheim",
            &["Kippenheim"],
            "77971",
            48.2960,
            7.8230,
            &["Schmieheim", "Kippenheimweiler"],
            Fasent,
            0.6,
        ),
        (
            "Ortenberg",
            &["Ortenberg"],
            "77799",
            48.4500,
            7.9730,
            &[],
            Fasent,
            0.6,
        ),
        (
            "Gutach im Breisgau",
            &[
                "Gutach im Breisgau",
                "Gutach i. Br.",
                "Gutach (Breisgau)",
                "Gutach",
            ],
            "79261",
            48.1120,
            7.9920,
            &["Bleibach", "Siegelau"],
            Fasnet,
            0.6,
        ),
        (
            "Rheinhausen",
            &["Rheinhausen"],
            "79365",
            48.2470,
            7.7080,
            &["Oberhausen", "Niederhausen"],
            Fasnet,
            0.6,
        ),
        (
            "Schwanau",
            &["Schwanau"],
            "77963",
            48.3700,
            7.7900,
            &["Ottenheim", "Nonnenweiler", "Allmannsweier"],
            Fasent,
            0.6,
        ),
        (
            "Schuttertal",
            &["Schuttertal"],
            "77978",
            48.2880,
            7.9600,
            &["Dörlinbach", "Schweighausen"],
            Fasent,
            0.5,
        ),
        (
            "Simonswald",
            &["Simonswald"],
            "79263",
            48.1000,
            8.0600,
            &["Obersimonswald"],
            Fasnet,
            0.5,
        ),
        (
            "Mahlberg",
            &["Mahlberg"],
            "77972",
            48.2870,
            7.8130,
            &["Orschweier"],
            Fasent,
            0.5,
        ),
        (
            "Oberharmersbach",
            &["Oberharmersbach"],
            "77784",
            48.3730,
            8.1200,
            &[],
            Fasent,
            0.4,
        ),
        (
            "Nordrach",
            &["Nordrach"],
            "77787",
            48.3960,
            8.0860,
            &[],
            Fasent,
            0.4,
        ),
        (
            "Durbach",
            &["Durbach"],
            "77770",
            48.4940,
            8.0180,
            &["Ebersweier"],
            Fasent,
            0.4,
        ),
        (
            "Gutach (Schwarzwaldbahn)",
            &["Gutach (Schwarzwaldbahn)", "Gutach"],
            "77793",
            48.2470,
            8.2090,
            &[],
            Fasnet,
            0.4,
        ),
        (
            "Sexau",
            &["Sexau"],
            "79350",
            48.1000,
            7.9050,
            &[],
            Fasnet,
            0.4,
        ),
        (
            "Rust",
            &["Rust"],
            "77977",
            48.2660,
            7.7240,
            &[],
            Fasent,
            0.4,
        ),
    ]
};

const SAINTS: &[&str] = &[
    "Margarethe",
    "Martin",
    "Peter und Paul",
    "Bartholomäus",
    "Nikolaus",
    "Laurentius",
    "Michael",
    "Gallus",
    "Mauritius",
    "Johannes",
    "Bonifatius",
    "Ulrich",
];
const STREETS: &[&str] = &[
    "Hauptstraße",
    "Kirchstraße",
    "Schulstraße",
    "Bahnhofstraße",
    "Am Sportplatz",
    "Talstraße",
    "Weingartenstraße",
    "Turnhallenstraße",
    "Lindenstraße",
    "Friedhofstraße",
    "Gartenstraße",
    "Mühlenweg",
    "Schwarzwaldstraße",
    "Dorfstraße",
    "Festhallenstraße",
    "Goethestraße",
    "Schillerstraße",
    "Im Winkel",
    "Rebstraße",
    "Kronenstraße",
];
const INNS: &[&str] = &[
    "Adler", "Löwen", "Hirsch", "Krone", "Sonne", "Hecht", "Ochsen", "Rebstock", "Engel", "Linde",
    "Rössle", "Schwanen",
];
const CLUB_KINDS: &[&str] = &[
    "Musikverein",
    "Sportverein",
    "Turnverein",
    "Narrenzunft",
    "Gesangverein",
    "Männergesangverein",
    "Landfrauen",
    "Heimatverein",
    "Obst- und Gartenbauverein",
    "Schwarzwaldverein",
    "Förderverein der Grundschule",
    "Freiwillige Feuerwehr",
    "Kolpingsfamilie",
    "Trachtenkapelle",
];

const SYN_PREFIX: &[&str] = &[
    "Ober", "Unter", "Nieder", "Alt", "Neu", "Hinter", "Vorder", "Klein",
];
const SYN_STEM: &[&str] = &[
    "Eichen", "Buch", "Lind", "Birk", "Hasel", "Erl", "Mühl", "Stein", "Kirch", "Sand", "Wies",
    "Ros", "Fels", "Sonn", "Wolf", "Bär", "Hirsch", "Reb", "Matt", "Holz", "Brunn", "Weid", "Tann",
    "Fisch", "Hof", "Dorn", "Gold", "Eisen", "Rot", "Schwarz", "Grün", "Alb", "Kapp", "Ett",
    "Mund", "Wald", "Berg", "Bühl", "Ried", "Hasl", "Lauten", "Schramb", "Orsch", "Kürz", "Dunden",
    "Ichen", "Alten", "Hugs", "Diers", "Eggen", "Fauten", "Gais", "Hatt", "Ingers", "Jech",
    "Kappel", "Lenz", "Mietters", "Nuss", "Prinz", "Sasb", "Tutsch",
];
const SYN_SUFFIX: &[&str] = &[
    "bach", "weiler", "ingen", "heim", "hausen", "hofen", "au", "feld", "dorf", "stetten", "weier",
    "tal", "berg", "wald", "reute", "schwand", "bronn", "zell", "kirch", "matt",
];

/// Events per town per day the dev set has (≈ 800 listings / 40 towns / 42 days).
pub const BASE_TOWNS: usize = 42;

pub fn build(rng: &mut ChaCha8Rng, n_towns: usize, n_sources: usize) -> World {
    let towns = build_towns(rng, n_towns);
    let sources = build_sources(rng, &towns, n_sources);
    let mut town_sources = vec![Vec::new(); towns.len()];
    for (si, s) in sources.iter().enumerate() {
        for &t in &s.towns {
            town_sources[t].push(si);
        }
    }
    let neighbours = (0..towns.len())
        .map(|i| nearest(&towns, towns[i].lat, towns[i].lon, 9, Some(i)))
        .collect();
    World {
        towns,
        sources,
        town_sources,
        neighbours,
    }
}

fn dist2(lat: f64, lon: f64, t: &Town) -> f64 {
    let dy = lat - t.lat;
    let dx = (lon - t.lon) * 0.67;
    dy * dy + dx * dx
}

/// Indices of the `k` towns nearest to a point, nearest first (ties by index).
fn nearest(towns: &[Town], lat: f64, lon: f64, k: usize, skip: Option<usize>) -> Vec<usize> {
    let mut idx: Vec<(f64, usize)> = towns
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(i, t)| (dist2(lat, lon, t), i))
        .collect();
    let k = k.min(idx.len());
    if k == 0 {
        return Vec::new();
    }
    idx.select_nth_unstable_by(k - 1, |a, b| {
        a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal)
    });
    idx.truncate(k);
    idx.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    idx.into_iter().map(|(_, i)| i).collect()
}

fn build_towns(rng: &mut ChaCha8Rng, n: usize) -> Vec<Town> {
    let mut used: BTreeSet<String> = BTreeSet::new();
    for r in REAL_TOWNS {
        used.insert(r.0.to_string());
        for d in r.5 {
            used.insert(d.to_string());
        }
    }
    let mut towns = Vec::with_capacity(n);
    for r in REAL_TOWNS.iter().take(n) {
        let (official, printed, zip, lat, lon, dists, dialect, weight) = *r;
        let districts = dists
            .iter()
            .map(|d| jitter_district(rng, d.to_string(), lat, lon))
            .collect();
        towns.push(finish_town(
            rng,
            official.to_string(),
            printed.iter().map(|s| s.to_string()).collect(),
            zip.to_string(),
            (lat, lon),
            districts,
            dialect,
            weight,
        ));
    }
    let extra = n.saturating_sub(towns.len());
    for (lat, lon) in grid_points(rng, extra) {
        let name = synth_name(rng, &mut used);
        let n_dist = rng.gen_range(0..=3);
        let districts = (0..n_dist)
            .map(|_| {
                let d = synth_name(rng, &mut used);
                jitter_district(rng, d, lat, lon)
            })
            .collect();
        let dialect = match rng.gen_range(0..10) {
            0 => Dialect::Fasnacht,
            1 => Dialect::Fasching,
            _ if lat > 48.28 => Dialect::Fasent,
            _ => Dialect::Fasnet,
        };
        let zip = format!(
            "{}{:03}",
            if lat > 48.25 { 77 } else { 79 },
            rng.gen_range(100..1000)
        );
        let weight = 0.3 + rng.gen::<f64>().powi(3) * 1.7;
        towns.push(finish_town(
            rng,
            name.clone(),
            vec![name],
            zip,
            (lat, lon),
            districts,
            dialect,
            weight,
        ));
    }
    towns
}

/// Spacing of synthetic towns: about 6 km, the density of municipalities in
/// Baden-Württemberg (one per ~32 km²).
const TOWN_SPACING_LAT: f64 = 0.055;
const TOWN_SPACING_LON: f64 = 0.08;
/// Centre of the region the grid grows from (inside the blocking region box).
const REGION_CENTRE: (f64, f64) = (48.0, 7.9);

/// `n` points on a jittered grid with realistic town spacing, filled outward from the
/// region centre. More towns cover a larger area rather than packing the same area
/// denser, so events per 10 km grid cell per day stay realistic at any size (beyond
/// the blocking region box towns only get city blocking keys, as real ones would).
fn grid_points(rng: &mut ChaCha8Rng, n: usize) -> Vec<(f64, f64)> {
    if n == 0 {
        return Vec::new();
    }
    let side = ((n as f64).sqrt().ceil() as i64 / 2 + 2).max(2);
    let mut cells: Vec<(i64, i64)> = (-side..=side)
        .flat_map(|r| (-side..=side).map(move |c| (r, c)))
        .collect();
    // Nearest to the centre first; ties in a fixed order.
    cells.sort_by_key(|&(r, c)| (r * r + c * c, r, c));
    cells.truncate(n);
    cells
        .into_iter()
        .map(|(r, c)| {
            let lat = REGION_CENTRE.0 + TOWN_SPACING_LAT * (r as f64 + rng.gen_range(-0.35..0.35));
            let lon = REGION_CENTRE.1 + TOWN_SPACING_LON * (c as f64 + rng.gen_range(-0.35..0.35));
            (round_to(lat, 4), round_to(lon, 4))
        })
        .collect()
}

pub fn round_to(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

fn synth_name(rng: &mut ChaCha8Rng, used: &mut BTreeSet<String>) -> String {
    for attempt in 0..200 {
        let stem = SYN_STEM.choose(rng).copied().unwrap_or("Wald");
        let suffix = SYN_SUFFIX.choose(rng).copied().unwrap_or("bach");
        let mut name = format!("{stem}{suffix}");
        if rng.gen_bool(0.3) || attempt > 50 {
            let p = SYN_PREFIX.choose(rng).copied().unwrap_or("Ober");
            name = format!("{p}{}", name.to_lowercase());
        }
        if attempt > 120 {
            name = format!("{name} im {}", ["Tal", "Ried", "Wald"][attempt % 3]);
        }
        if used.insert(name.clone()) {
            return name;
        }
    }
    let name = format!("Neusiedlung {}", used.len());
    used.insert(name.clone());
    name
}

fn jitter_district(rng: &mut ChaCha8Rng, name: String, lat: f64, lon: f64) -> District {
    District {
        name,
        lat: round_to(lat + rng.gen_range(-0.03..0.03), 4),
        lon: round_to(lon + rng.gen_range(-0.04..0.04), 4),
    }
}

#[allow(clippy::too_many_arguments)]
fn finish_town(
    rng: &mut ChaCha8Rng,
    official: String,
    printed: Vec<String>,
    zip: String,
    (lat, lon): (f64, f64),
    districts: Vec<District>,
    dialect: Dialect,
    weight: f64,
) -> Town {
    let mut town = Town {
        official,
        printed,
        zip,
        lat,
        lon,
        districts,
        dialect,
        venues: Vec::new(),
        weight,
        clubs: Vec::new(),
        saint: SAINTS.choose(rng).copied().unwrap_or("Martin"),
    };
    town.venues = build_venues(rng, &town);
    town.clubs = build_clubs(rng, &town);
    town
}

fn build_clubs(rng: &mut ChaCha8Rng, town: &Town) -> Vec<String> {
    let mut places: Vec<&str> = vec![town.short()];
    places.extend(town.districts.iter().map(|d| d.name.as_str()));
    let mut kinds: Vec<&str> = CLUB_KINDS.to_vec();
    kinds.shuffle(rng);
    kinds
        .iter()
        .take(6)
        .map(|k| {
            format!(
                "{k} {}",
                places.choose(rng).copied().unwrap_or(town.short())
            )
        })
        .collect()
}

struct VenueSpec {
    name: String,
    variants: Vec<String>,
    kind: VenueKind,
    district: Option<usize>,
    street: String,
}

fn build_venues(rng: &mut ChaCha8Rng, town: &Town) -> Vec<Venue> {
    let t = town.short().to_string();
    let big = town.weight >= 1.0;
    let mut specs = vec![
        spec(
            "Rathaus",
            &[&format!("Rathaus {t}")],
            VenueKind::Rathaus,
            None,
            "Rathausplatz",
        ),
        spec(
            "Marktplatz",
            &[&format!("Marktplatz {t}")],
            VenueKind::Platz,
            None,
            "Marktplatz",
        ),
        spec(
            "Innenstadt",
            &["Altstadt", &format!("Innenstadt {t}")],
            VenueKind::Platz,
            None,
            "Hauptstraße",
        ),
    ];
    let hall = if big { "Stadthalle" } else { "Festhalle" };
    specs.push(spec(
        &format!("{hall} {t}"),
        &[hall, &format!("{t}er {hall}")],
        VenueKind::Halle,
        None,
        "Festhallenstraße",
    ));
    let saint = town.saint;
    specs.push(spec(
        &format!("Kath. Kirche St. {saint}"),
        &[
            &format!("Katholische Kirche St. {saint}"),
            &format!("Pfarrkirche St. {saint}"),
            &format!("St. {saint}"),
        ],
        VenueKind::Kirche,
        None,
        "Kirchstraße",
    ));
    specs.push(spec(
        "Evangelische Kirche",
        &["Ev. Kirche", &format!("Evangelische Kirche {t}")],
        VenueKind::Kirche,
        None,
        "Kirchstraße",
    ));
    specs.push(spec(
        "Pfarrheim",
        &["Kath. Pfarrheim", &format!("Pfarrheim St. {saint}")],
        VenueKind::Pfarrheim,
        None,
        "Kirchstraße",
    ));
    let lib = if big {
        "Stadtbibliothek"
    } else {
        "Gemeindebücherei"
    };
    specs.push(spec(
        lib,
        &[&format!("{lib} {t}"), &format!("{lib}{t}"), "Bücherei"],
        VenueKind::Buecherei,
        None,
        "Schulstraße",
    ));
    let mut inns = INNS.to_vec();
    inns.shuffle(rng);
    for inn in inns.iter().take(2) {
        specs.push(spec(
            &format!("Gasthaus {inn}"),
            &[&format!("Gasthaus „{inn}“"), &format!("Gasthof {inn}"), inn],
            VenueKind::Gasthaus,
            None,
            STREETS.choose(rng).copied().unwrap_or("Hauptstraße"),
        ));
    }
    specs.push(spec(
        "Kulturhaus",
        &[&format!("Kulturhaus {t}"), &format!("{t}er Kulturhaus")],
        VenueKind::Kultur,
        None,
        "Schillerstraße",
    ));
    if big || rng.gen_bool(0.3) {
        specs.push(spec(
            &format!("Museum {t}"),
            &["Museum", "Heimatmuseum"],
            VenueKind::Kultur,
            None,
            "Am Schlossberg",
        ));
    }
    if big || rng.gen_bool(0.15) {
        let kino = [
            "Forum Cinema",
            "Kinopalast",
            "Kommunales Kino",
            "Central-Kino",
        ]
        .choose(rng)
        .copied()
        .unwrap_or("Kinopalast");
        specs.push(spec(
            &format!("{kino} {t}"),
            &[kino, &format!("{kino} ({t})")],
            VenueKind::Kino,
            None,
            "Bahnhofstraße",
        ));
    }
    specs.push(spec(
        "Sporthalle",
        &[&format!("Sporthalle {t}"), "Turnhalle"],
        VenueKind::Sport,
        None,
        "Am Sportplatz",
    ));
    for (di, d) in town.districts.iter().enumerate() {
        let n = &d.name;
        let kind = [
            "Gemeindehalle",
            "Festhalle",
            "Mehrzweckhalle",
            "Dorfgemeinschaftshaus",
        ]
        .choose(rng)
        .copied()
        .unwrap_or("Festhalle");
        specs.push(spec(
            &format!("{kind} {n}"),
            &[
                &format!("Halle {n}"),
                &format!("{kind} {t}-{n}"),
                &format!("{kind} {n}"),
            ],
            VenueKind::Halle,
            Some(di),
            "Turnhallenstraße",
        ));
        if rng.gen_bool(0.5) {
            let inn = INNS.choose(rng).copied().unwrap_or("Adler");
            specs.push(spec(
                &format!("Gasthaus {inn} {n}"),
                &[&format!("Gasthaus {inn}"), &format!("„{inn}“ {n}")],
                VenueKind::Gasthaus,
                Some(di),
                "Dorfstraße",
            ));
        }
    }
    specs
        .into_iter()
        .map(|s| place_venue(rng, town, s))
        .collect()
}

fn spec(
    name: &str,
    variants: &[&str],
    kind: VenueKind,
    district: Option<usize>,
    street: &str,
) -> VenueSpec {
    VenueSpec {
        name: name.to_string(),
        variants: variants.iter().map(|v| v.to_string()).collect(),
        kind,
        district,
        street: street.to_string(),
    }
}

fn place_venue(rng: &mut ChaCha8Rng, town: &Town, s: VenueSpec) -> Venue {
    let (clat, clon) = match s.district {
        Some(d) => (town.districts[d].lat, town.districts[d].lon),
        None => (town.lat, town.lon),
    };
    let street_no = if s.street.starts_with("Rathausplatz") {
        "1".to_string()
    } else if rng.gen_bool(0.1) {
        format!(
            "{}{}",
            rng.gen_range(1..60),
            ["a", "b"][rng.gen_range(0..2)]
        )
    } else {
        rng.gen_range(1..70).to_string()
    };
    Venue {
        name: s.name,
        variants: s.variants,
        kind: s.kind,
        district: s.district,
        street: s.street,
        street_no,
        lat: clat + rng.gen_range(-0.006..0.006),
        lon: clon + rng.gen_range(-0.008..0.008),
    }
}

struct SourceSeed {
    code: &'static str,
    name: &'static str,
    archetype: Archetype,
    centre: usize,
    cover: usize,
    /// (artikel share, issue period in days, times printed with seconds)
    style: (f64, u32, bool),
}

/// The nine hand-made sources of the base region (centres are town indices).
const BASE_SOURCES: &[SourceSeed] = &[
    SourceSeed {
        code: "otb",
        name: "Offenburger Tageblatt",
        archetype: Archetype::Paper,
        centre: 0,
        cover: 20,
        style: (0.66, 7, true),
    },
    SourceSeed {
        code: "kzt",
        name: "Kehler Zeitung",
        archetype: Archetype::Paper,
        centre: 3,
        cover: 14,
        style: (0.56, 7, true),
    },
    SourceSeed {
        code: "lzr",
        name: "Lahrer Zeitung",
        archetype: Archetype::Paper,
        centre: 2,
        cover: 14,
        style: (0.72, 7, false),
    },
    SourceSeed {
        code: "swk",
        name: "Schwarzwälder Bote Kinzigtal",
        archetype: Archetype::Weekly,
        centre: 7,
        cover: 16,
        style: (0.59, 7, false),
    },
    SourceSeed {
        code: "bwb",
        name: "Badisches Wochenblatt",
        archetype: Archetype::Weekly,
        centre: 8,
        cover: 18,
        style: (0.34, 7, true),
    },
    SourceSeed {
        code: "ekz",
        name: "Elztal-Kurier",
        archetype: Archetype::Weekly,
        centre: 5,
        cover: 11,
        style: (0.21, 14, true),
    },
    SourceSeed {
        code: "kuk",
        name: "Kultur-Kalender Ortenau",
        archetype: Archetype::Culture,
        centre: 0,
        cover: 24,
        style: (0.2, 14, true),
    },
    SourceSeed {
        code: "okl",
        name: "Ortenau-Kalender",
        archetype: Archetype::Calendar,
        centre: 12,
        cover: 30,
        style: (0.07, 14, false),
    },
    SourceSeed {
        code: "nfp",
        name: "Narrenfahrplan Ortenau-Breisgau",
        archetype: Archetype::Carnival,
        centre: 12,
        cover: 42,
        style: (0.0, 14, false),
    },
];

const PAPER_WORDS: &[(&str, Archetype)] = &[
    ("Anzeiger", Archetype::Paper),
    ("Zeitung", Archetype::Paper),
    ("Wochenblatt", Archetype::Weekly),
    ("Kurier", Archetype::Weekly),
    ("Bote", Archetype::Paper),
    ("Kalender", Archetype::Calendar),
    ("Kulturkalender", Archetype::Culture),
    ("Rundschau", Archetype::Weekly),
    ("Narrenfahrplan", Archetype::Carnival),
];

fn build_sources(rng: &mut ChaCha8Rng, towns: &[Town], n: usize) -> Vec<Source> {
    let mut out = Vec::with_capacity(n);
    let mut codes: BTreeSet<String> = BTreeSet::new();
    let scale = (towns.len() as f64 / BASE_TOWNS as f64).min(1.0);
    for s in BASE_SOURCES.iter().take(n) {
        let centre = s.centre.min(towns.len() - 1);
        let cover = ((s.cover as f64 * scale).ceil() as usize).clamp(1, towns.len());
        let list = nearest(towns, towns[centre].lat, towns[centre].lon, cover, None);
        codes.insert(s.code.to_string());
        let mut src = habits(
            rng,
            s.code.to_string(),
            s.name.to_string(),
            s.archetype,
            list,
        );
        (src.artikel_share, src.period, src.time_seconds) = s.style;
        out.push(src);
    }
    let extra = n.saturating_sub(out.len());
    let mut centres: Vec<usize> = (BASE_TOWNS.min(towns.len())..towns.len()).collect();
    centres.shuffle(rng);
    for k in 0..extra {
        let centre = centres
            .get(k)
            .copied()
            .unwrap_or_else(|| rng.gen_range(0..towns.len()));
        let (word, archetype) = PAPER_WORDS[k % PAPER_WORDS.len()];
        let cover = match archetype {
            Archetype::Calendar | Archetype::Culture => rng.gen_range(20..32),
            Archetype::Carnival => 40,
            _ => rng.gen_range(10..20),
        };
        let list = nearest(towns, towns[centre].lat, towns[centre].lon, cover, None);
        let base = towns[centre].short().to_string();
        let name = format!("{base}er {word}");
        let code = unique_code(rng, &base, word, &mut codes);
        out.push(habits(rng, code, name, archetype, list));
    }
    ensure_coverage(&mut out, towns);
    out
}

fn unique_code(
    rng: &mut ChaCha8Rng,
    base: &str,
    word: &str,
    used: &mut BTreeSet<String>,
) -> String {
    let letters: Vec<char> = base
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let w = word.chars().next().unwrap_or('x').to_ascii_lowercase();
    let first = letters.first().copied().unwrap_or('q');
    for i in 1..letters.len().max(2) {
        let second = letters.get(i).copied().unwrap_or('x');
        let code = format!("{first}{second}{w}");
        if used.insert(code.clone()) {
            return code;
        }
    }
    loop {
        let code: String = (0..3).map(|_| rng.gen_range(b'a'..=b'z') as char).collect();
        if used.insert(code.clone()) {
            return code;
        }
    }
}

/// Draws the editorial habits of one source from its archetype.
fn habits(
    rng: &mut ChaCha8Rng,
    code: String,
    name: String,
    archetype: Archetype,
    towns: Vec<usize>,
) -> Source {
    let (artikel, period, reach) = match archetype {
        Archetype::Paper => (rng.gen_range(0.55..0.75), 7, 1.0),
        Archetype::Weekly => (
            rng.gen_range(0.2..0.6),
            if rng.gen_bool(0.7) { 7 } else { 14 },
            0.8,
        ),
        Archetype::Calendar => (rng.gen_range(0.03..0.1), 14, 1.1),
        Archetype::Culture => (rng.gen_range(0.1..0.25), 14, 0.9),
        Archetype::Carnival => (0.0, 14, 1.2),
    };
    let calendar_like = matches!(archetype, Archetype::Calendar | Archetype::Carnival);
    Source {
        code,
        name,
        archetype,
        period,
        lead: rng.gen_range(1..=2),
        artikel_share: artikel,
        time_seconds: rng.gen_bool(0.55),
        upper: if calendar_like {
            rng.gen_range(0.0..0.2)
        } else {
            0.01
        },
        translit: if rng.gen_bool(0.3) {
            rng.gen_range(0.05..0.3)
        } else {
            0.01
        },
        town_prefix: rng.gen_range(0.05..0.35),
        cat_prefix: if matches!(archetype, Archetype::Culture | Archetype::Calendar) {
            rng.gen_range(0.2..0.5)
        } else {
            0.05
        },
        typo: rng.gen_range(0.01..0.05),
        sanitizer: rng.gen_range(0.7..0.95),
        street: rng.gen_range(0.6..0.95),
        end_time: rng.gen_range(0.0..0.5),
        dialect: match rng.gen_range(0..6) {
            0 => Some(Dialect::Fasching),
            1 => Some(Dialect::Fasnacht),
            2 => Some(Dialect::Fasnet),
            _ => None,
        },
        reach,
        towns,
    }
}

/// Adds every uncovered town to the general source with the nearest centre town.
fn ensure_coverage(sources: &mut [Source], towns: &[Town]) {
    let mut covered = vec![false; towns.len()];
    for s in sources.iter() {
        if matches!(
            s.archetype,
            Archetype::Paper | Archetype::Weekly | Archetype::Calendar
        ) {
            for &t in &s.towns {
                covered[t] = true;
            }
        }
    }
    for (t, ok) in covered.iter().enumerate() {
        if *ok {
            continue;
        }
        let best = sources
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                matches!(
                    s.archetype,
                    Archetype::Paper | Archetype::Weekly | Archetype::Calendar
                )
            })
            .map(|(i, s)| {
                (
                    dist2(towns[s.towns[0]].lat, towns[s.towns[0]].lon, &towns[t]),
                    i,
                )
            })
            .min_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        if let Some((_, i)) = best {
            sources[i].towns.push(t);
        }
    }
}
