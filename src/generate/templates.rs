//! German event templates: turns (town, day, category) into a *true event*, the
//! real-world happening that sources later print in their own ways.
//!
//! Invariants: a [`TrueEvent`] only refers to venues of its own town; carnival
//! kinds only fall on carnival-season days; `dates` is non-empty and sorted.

use super::world::{Dialect, Town, VenueKind, World};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub type Hm = (u32, u32);

#[derive(Clone, Debug)]
pub struct TrueEvent {
    /// Formal listing name (what a calendar prints).
    pub title: String,
    /// Shorter form some sources use (`Halbtageswanderung`).
    pub short: Option<String>,
    /// Journalistic headline for articles.
    pub headline: String,
    /// Club or series name used as `Org: Title` or `Org - Title`.
    pub organizer: Option<String>,
    pub category: &'static str,
    pub kind: &'static str,
    pub family: &'static str,
    pub tags: Vec<&'static str>,
    pub town: usize,
    pub venue: usize,
    pub dates: Vec<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub start: Option<Hm>,
    pub end: Option<Hm>,
    /// Doors-open time some sources print instead of the start.
    pub doors: Option<Hm>,
    pub facts: Vec<String>,
    pub price: Option<String>,
    pub family_event: Option<bool>,
    pub child: bool,
    pub free: Option<bool>,
    pub registration: bool,
    /// Big events get printed by more sources.
    pub big: bool,
}

/// Key carnival days of one year (Swabian-Alemannic Fasnet follows Easter).
#[derive(Clone, Copy, Debug)]
pub struct Carnival {
    pub season_start: NaiveDate,
    pub schmudo: NaiveDate,
    pub sonntag: NaiveDate,
    pub rosenmontag: NaiveDate,
    pub dienstag: NaiveDate,
    pub aschermittwoch: NaiveDate,
    pub funkensonntag: NaiveDate,
}

pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or_default()
}

pub fn carnival(year: i32) -> Carnival {
    let e = easter(year);
    Carnival {
        season_start: NaiveDate::from_ymd_opt(year, 1, 7).unwrap_or_default(),
        schmudo: e - Duration::days(52),
        sonntag: e - Duration::days(49),
        rosenmontag: e - Duration::days(48),
        dienstag: e - Duration::days(47),
        aschermittwoch: e - Duration::days(46),
        funkensonntag: e - Duration::days(42),
    }
}

pub fn in_season(d: NaiveDate) -> bool {
    let c = carnival(d.year());
    d >= c.season_start && d <= c.dienstag
}

/// Lent (Ash Wednesday to Easter) for church kinds like Kreuzweg.
fn in_lent(d: NaiveDate) -> bool {
    let c = carnival(d.year());
    d >= c.aschermittwoch && d < easter(d.year())
}

const FIRST: &[&str] = &[
    "Martin", "Susanne", "Thomas", "Ulrike", "Georg", "Jürgen", "Sabine", "Matthias", "Anna",
    "Stefan", "Claudia", "Michael", "Birgit", "Andreas", "Petra", "Klaus", "Monika", "Felix",
    "Lena", "Tobias", "Hannah", "Wolfgang", "Elke", "Bernd",
];
const LAST: &[&str] = &[
    "Schwab",
    "Roth",
    "Fischer",
    "Huber",
    "Ruf",
    "Kopp",
    "Armbruster",
    "Gießler",
    "Bühler",
    "Schneider",
    "Wölfle",
    "Kern",
    "Isele",
    "Hättich",
    "Zimmermann",
    "Baumann",
    "Bruder",
    "Schmieder",
    "Falk",
    "Vollmer",
    "Lehmann",
    "Winterhalter",
    "Fehrenbach",
    "Disch",
];
const GENRES: &[&str] = &[
    "Swing",
    "Jazz",
    "Blues",
    "Rock",
    "Folk",
    "Soul",
    "Pop",
    "Klassik",
    "Liedermacher",
];
const ALBUMS: &[&str] = &[
    "Menschenbilder",
    "Heimweh",
    "Zwischenzeit",
    "Nachtflug",
    "Unterwegs",
    "Rückenwind",
    "Lichtblicke",
];
const COMPOSERS: &[&str] = &[
    "Mozart",
    "Schubert",
    "Händel",
    "Bach",
    "Haydn",
    "Brahms",
    "Mendelssohn",
    "Vivaldi",
];
const TALKS: &[&str] = &[
    "Streuobstwiesen erhalten",
    "Vögel im Winter",
    "Gesunder Schlaf",
    "Trickbetrug am Telefon",
    "Die Salpeterer im Hotzenwald",
    "Geschichte der Flößerei",
    "Wildbienen im Garten",
    "Photovoltaik auf dem eigenen Dach",
    "Patientenverfügung und Vorsorgevollmacht",
    "Mit dem Fahrrad durch Patagonien",
    "Demenz verstehen",
    "Der Westweg in Bildern",
    "Heilpflanzen am Wegesrand",
    "Klimawandel im Schwarzwald",
    "Energie sparen im Altbau",
    "Die Römer am Oberrhein",
    "Pilze der Region",
    "Erste Hilfe bei Kindern",
    "Sicher im Netz",
    "Ahnenforschung für Einsteiger",
    "Der Wolf kehrt zurück",
    "Island – Land aus Feuer und Eis",
];
const BOOKS: &[&str] = &[
    "Die Raupe Nimmersatt",
    "Der Grüffelo",
    "Das kleine Gespenst",
    "Frederick",
    "Der Regenbogenfisch",
    "Irgendwie Anders",
    "Die kleine Hexe",
    "Pettersson und Findus",
    "Der kleine Drache Kokosnuss",
];
const PLAYS: &[&str] = &[
    "Der zerbrochne Krug",
    "Der Hauptmann von Köpenick",
    "Pension Schöller",
    "Der Brandner Kaspar",
    "Arsen und Spitzenhäubchen",
    "Die Physiker",
    "Charleys Tante",
    "Ein Sommernachtstraum",
    "Der Geizige",
    "Das Haus in Montevideo",
];
const PROGRAMS: &[&str] = &[
    "Alles im grünen Bereich",
    "Badisch für Anfänger",
    "Mir sin mir",
    "Kopfkino",
    "Ausgerechnet jetzt",
    "Heimatabend deluxe",
];
const EXHIBITIONS: &[&str] = &[
    "Spurensuche",
    "Menschenbilder",
    "Blickwechsel",
    "Farbklänge",
    "Zwischen Himmel und Erde",
    "Schwarzwaldansichten",
    "Licht und Schatten",
    "Papierwelten",
    "Heimat im Wandel",
    "Stille Orte",
];
const MEDIA: &[&str] = &[
    "Malerei",
    "Acrylbilder",
    "Fotografien",
    "Skulpturen",
    "Aquarelle",
    "Holzschnitte",
    "Keramik",
];
const FILM_A: &[&str] = &[
    "Die Nacht",
    "Ankunft",
    "Der verlorene Fluss",
    "Die zweite Grenze",
    "Zwei Wochen",
    "Georg und der Zug",
    "Das Haus",
    "Ein Sommer",
    "Der letzte Walzer",
    "Die Schwestern",
    "Das Flüstern",
    "Helden",
];
const FILM_B: &[&str] = &[
    "in Sizilien",
    "in Montana",
    "am See",
    "im Schnee",
    "von Lissabon",
    "der Erinnerung",
    "ohne Namen",
    "",
];
const WALK_GOALS: &[&str] = &[
    "zum Rebberg",
    "zur Burgruine",
    "über den Westweg",
    "zum Aussichtsturm",
    "durchs Kinzigtal",
    "zur Kapelle",
];
const DISHES: &[&str] = &[
    "Badische Küche",
    "Vegetarisch genießen",
    "Brot backen",
    "Wildkräuter",
    "Suppen für den Winter",
];
const BANDS: &[&str] = &[
    "die Trachtenkapelle",
    "die Stadtkapelle",
    "eine Blaskapelle",
    "die Band „Schwarzwaldfetzer“",
    "ein Alleinunterhalter",
];
const FILLERS: &[&str] = &[
    "Die Veranstalter freuen sich auf zahlreiche Gäste.",
    "Für das leibliche Wohl ist gesorgt.",
    "Bereits im vergangenen Jahr war die Veranstaltung gut besucht.",
    "Die Vorbereitungen laufen auf Hochtouren.",
    "Wer dabei sein möchte, sollte rechtzeitig kommen.",
    "Parkplätze sind in ausreichender Zahl vorhanden.",
    "Die Besucher dürfen sich auf einen abwechslungsreichen Abend freuen.",
];

pub fn fillers() -> &'static [&'static str] {
    FILLERS
}

fn pick<'a>(rng: &mut ChaCha8Rng, xs: &[&'a str]) -> &'a str {
    xs.choose(rng).copied().unwrap_or("")
}

fn person(rng: &mut ChaCha8Rng) -> String {
    format!("{} {}", pick(rng, FIRST), pick(rng, LAST))
}

pub fn film(rng: &mut ChaCha8Rng) -> String {
    let b = pick(rng, FILM_B);
    let a = pick(rng, FILM_A);
    if b.is_empty() || a.contains(" und ") {
        a.to_string()
    } else {
        format!("{a} {b}")
    }
}

/// Genitive of a club name for titles like `Jahreskonzert des Musikvereins Sulz`.
fn genitive(club: &str) -> String {
    let (head, rest) = club.split_once(' ').unwrap_or((club, ""));
    let phrase = if head.ends_with("verein") || head.ends_with("chor") {
        format!("des {head}s")
    } else if head.ends_with("kapelle")
        || head.ends_with("zunft")
        || head == "Landfrauen"
        || head == "Freiwillige"
    {
        format!("der {head}")
    } else {
        format!("von {head}")
    };
    if rest.is_empty() {
        phrase
    } else {
        format!("{phrase} {rest}")
    }
}

/// Everything a template needs to place one event.
pub struct Slot<'a> {
    pub world: &'a World,
    pub town: usize,
    pub date: NaiveDate,
    pub venue: Option<usize>,
}

impl Slot<'_> {
    fn town(&self) -> &Town {
        &self.world.towns[self.town]
    }

    fn venue_of(&self, rng: &mut ChaCha8Rng, kinds: &[VenueKind]) -> usize {
        if let Some(v) = self.venue {
            return v;
        }
        let t = self.town();
        let cands: Vec<usize> = (0..t.venues.len())
            .filter(|&i| kinds.contains(&t.venues[i].kind))
            .collect();
        cands.choose(rng).copied().unwrap_or(0)
    }

    fn club(&self, rng: &mut ChaCha8Rng, kinds: &[&str]) -> String {
        let t = self.town();
        let matching: Vec<&String> = t
            .clubs
            .iter()
            .filter(|c| kinds.iter().any(|k| c.starts_with(k)))
            .collect();
        match matching.choose(rng) {
            Some(c) => (*c).clone(),
            None => format!("{} {}", pick(rng, kinds), t.short()),
        }
    }
}

fn hm(h: u32, m: u32) -> Option<Hm> {
    Some((h, m))
}

fn plus(t: Option<Hm>, minutes: i64) -> Option<Hm> {
    t.map(|(h, m)| {
        let total = (h as i64 * 60 + m as i64 + minutes).clamp(0, 23 * 60 + 59);
        ((total / 60) as u32, (total % 60) as u32)
    })
}

fn time_of(rng: &mut ChaCha8Rng, options: &[(u32, u32)]) -> Option<Hm> {
    options.choose(rng).copied()
}

fn base(
    slot: &Slot,
    venue: usize,
    category: &'static str,
    kind: &'static str,
    title: String,
    headline: String,
) -> TrueEvent {
    TrueEvent {
        title,
        short: None,
        headline,
        organizer: None,
        category,
        kind,
        family: "single",
        tags: vec![category],
        town: slot.town,
        venue,
        dates: vec![slot.date],
        end_date: None,
        start: None,
        end: None,
        doors: None,
        facts: Vec::new(),
        price: None,
        family_event: Some(false),
        child: false,
        free: Some(false),
        registration: false,
        big: false,
    }
}

/// Categories with their weights for a given day.
pub fn category_weights(date: NaiveDate) -> Vec<(&'static str, f64)> {
    let fas = if in_season(date) { 36.0 } else { 0.0 };
    vec![
        ("fasnacht", fas),
        ("musik", 9.0),
        ("kinder", 8.0),
        ("versammlung", 7.0),
        ("fest", 6.5),
        ("vortrag", 7.0),
        ("sport", 6.0),
        ("freizeit", 5.0),
        ("kirche", 5.0),
        ("buehne", 4.5),
        ("markt", 3.5),
        ("fuehrung", 3.0),
        ("ausstellung", 2.4),
    ]
}

pub fn single(rng: &mut ChaCha8Rng, slot: &Slot, category: &str) -> TrueEvent {
    match category {
        "fasnacht" => fasnacht(rng, slot, None),
        "musik" => musik(rng, slot),
        "kinder" => kinder(rng, slot),
        "versammlung" => versammlung(rng, slot),
        "fest" => fest(rng, slot),
        "vortrag" => vortrag(rng, slot, None, None),
        "sport" => sport(rng, slot),
        "freizeit" => freizeit(rng, slot),
        "kirche" => kirche(rng, slot),
        "buehne" => buehne(rng, slot),
        "markt" => markt(rng, slot),
        "fuehrung" => fuehrung(rng, slot),
        _ => ausstellung(rng, slot),
    }
}

fn musik(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let t = slot.town().short().to_string();
    if rng.gen_bool(0.45) {
        let club = slot.club(
            rng,
            &[
                "Musikverein",
                "Gesangverein",
                "Männergesangverein",
                "Trachtenkapelle",
            ],
        );
        let club = if rng.gen_bool(0.25) {
            format!("Kirchenchor St. {}", slot.town().saint)
        } else {
            club
        };
        let what = pick(
            rng,
            &[
                "Jahreskonzert",
                "Winterkonzert",
                "Frühjahrskonzert",
                "Wunschkonzert",
                "Kirchenkonzert",
            ],
        );
        let kinds = if club.starts_with("Kirchenchor") || what == "Kirchenkonzert" {
            vec![VenueKind::Kirche]
        } else {
            vec![VenueKind::Halle, VenueKind::Kirche]
        };
        let v = slot.venue_of(rng, &kinds);
        let title = format!("{what} {}", genitive(&club));
        let headline = pick(
            rng,
            &["{w}: {c} lädt ein", "{c} gibt {w}", "{w} mit dem {c}"],
        )
        .replace("{w}", what)
        .replace("{c}", &club);
        let mut e = base(slot, v, "musik", "konzert", title, headline);
        e.short = Some(what.to_string());
        e.organizer = Some(club);
        let (c1, c2) = (pick(rng, COMPOSERS), pick(rng, COMPOSERS));
        e.facts
            .push(format!("Auf dem Programm stehen Werke von {c1} und {c2}."));
        e.facts
            .push(format!("Unter der Leitung von {}.", person(rng)));
        e.facts
            .push("In der Pause werden Getränke angeboten.".into());
        e.start = time_of(rng, &[(19, 30), (20, 0), (18, 0), (17, 0)]);
        e.end = plus(e.start, 120);
        e.doors = plus(e.start, -60);
        e.price = Some(format!("Eintritt: {} Euro, ermäßigt {} Euro.", 12, 6));
        e.tags = vec!["musik", "konzert"];
        e.free = Some(false);
        e
    } else {
        let artist = person(rng);
        let genre = pick(rng, GENRES);
        let v = slot.venue_of(
            rng,
            &[VenueKind::Gasthaus, VenueKind::Kultur, VenueKind::Halle],
        );
        let title = if rng.gen_bool(0.5) {
            artist.clone()
        } else {
            format!("{genre} mit {artist}")
        };
        let headline = match rng.gen_range(0..3) {
            0 => format!("{artist} – {genre} vom Feinsten"),
            1 => format!("{artist} live in {t}"),
            _ => format!("{genre}-Abend mit {artist}"),
        };
        let mut e = base(slot, v, "musik", "konzert", title, headline);
        e.short = Some(format!("Konzert: {artist}"));
        e.facts.push(format!(
            "{artist} gilt als eine der spannendsten {genre}-Stimmen der Region."
        ));
        e.facts.push(format!(
            "{artist} präsentiert das neue Album „{}“.",
            pick(rng, ALBUMS)
        ));
        e.facts.push(format!(
            "Der Musiker {artist} steht für handgemachten {genre}."
        ));
        e.start = time_of(rng, &[(20, 0), (19, 0), (20, 30), (19, 30)]);
        e.end = plus(e.start, 120);
        e.doors = plus(e.start, -30);
        let p = rng.gen_range(8..25);
        e.price = Some(format!("Tickets kosten {p} Euro im Vorverkauf."));
        e.tags = if rng.gen_bool(0.5) {
            vec!["musik", "konzert"]
        } else {
            vec!["musik"]
        };
        e.family_event = Some(rng.gen_bool(0.3));
        e
    }
}

fn versammlung(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let t = slot.town().short().to_string();
    let club = slot.club(
        rng,
        &[
            "Musikverein",
            "Sportverein",
            "Turnverein",
            "Heimatverein",
            "Landfrauen",
            "Obst- und Gartenbauverein",
            "Schwarzwaldverein",
            "Narrenzunft",
        ],
    );
    let v = slot.venue_of(
        rng,
        &[
            VenueKind::Gasthaus,
            VenueKind::Rathaus,
            VenueKind::Pfarrheim,
            VenueKind::Halle,
        ],
    );
    let (title, short, headline, tags) = match rng.gen_range(0..6) {
        0 | 1 => {
            let w = pick(
                rng,
                &[
                    "Mitgliederversammlung",
                    "Jahreshauptversammlung",
                    "Generalversammlung",
                ],
            );
            (
                format!("{w} {club}"),
                Some(w.to_string()),
                format!("{club} zieht Bilanz"),
                vec!["versammlung", "verein"],
            )
        }
        2 => (
            "Bürgerversammlung".to_string(),
            None,
            format!("Bürgerversammlung in {t}: Rathaus informiert"),
            vec!["versammlung", "politik"],
        ),
        3 => (
            "Öffentliche Gemeinderatssitzung".to_string(),
            Some("Gemeinderatssitzung".into()),
            format!("Gemeinderat {t} tagt"),
            vec!["versammlung", "politik"],
        ),
        4 => (
            "SPD-Veranstaltung: Bürgerdialog zur Ortsmitte".to_string(),
            Some("Bürgerdialog zur Ortsmitte".into()),
            format!("SPD lädt zum Bürgerdialog in {t}"),
            vec!["versammlung", "politik"],
        ),
        _ => (
            "Wahlkampfstand Bündnis 90/Die Grünen - Infostand am Markt".to_string(),
            Some("Infostand am Markt".into()),
            format!("Grüne informieren in {t}"),
            vec!["politik", "versammlung"],
        ),
    };
    let variant = if title.contains(&club) {
        0
    } else if title.starts_with("SPD") {
        2
    } else if title.starts_with("Wahlkampfstand") {
        3
    } else {
        1
    };
    let v = if variant == 3 {
        slot.venue_of(rng, &[VenueKind::Platz])
    } else {
        v
    };
    let mut e = base(slot, v, "versammlung", "versammlung", title, headline);
    e.short = short;
    e.tags = tags;
    match variant {
        0 => {
            e.organizer = Some(club.clone());
            e.facts
                .push("Auf der Tagesordnung stehen Berichte, Ehrungen und Wahlen.".into());
            e.facts
                .push("Alle Mitglieder sind herzlich eingeladen.".into());
        }
        1 => {
            e.facts.push(
                "Die Sitzung ist öffentlich, Fragen aus der Bürgerschaft sind willkommen.".into(),
            );
            e.facts.push(format!(
                "Bürgermeister {} stellt die aktuellen Projekte vor.",
                person(rng)
            ));
        }
        2 => {
            e.facts.push(format!(
                "Die Landtagskandidatin {} stellt sich den Fragen der Bürgerinnen und Bürger.",
                person(rng)
            ));
            e.facts
                .push("Im Mittelpunkt steht die Neugestaltung der Ortsmitte.".into());
        }
        _ => {
            e.facts
                .push("Am Infostand gibt es Informationen zum Wahlprogramm.".into());
            e.facts.push(format!(
                "Vor Ort ist unter anderem Stadträtin {}.",
                person(rng)
            ));
        }
    }
    e.start = if variant == 3 {
        time_of(rng, &[(9, 0), (10, 0)])
    } else {
        time_of(rng, &[(19, 0), (19, 30), (20, 0), (18, 30)])
    };
    e.free = Some(true);
    e
}

fn vortrag(rng: &mut ChaCha8Rng, slot: &Slot, topic: Option<&str>, start: Option<Hm>) -> TrueEvent {
    let topic = topic
        .map(str::to_string)
        .unwrap_or_else(|| pick(rng, TALKS).to_string());
    let speaker = format!(
        "{}{}",
        if rng.gen_bool(0.4) { "Dr. " } else { "" },
        person(rng)
    );
    let v = slot.venue_of(
        rng,
        &[
            VenueKind::Buecherei,
            VenueKind::Pfarrheim,
            VenueKind::Gasthaus,
            VenueKind::Kultur,
            VenueKind::Rathaus,
        ],
    );
    let prefix = if rng.gen_bool(0.2) {
        "Bildervortrag"
    } else {
        "Vortrag"
    };
    let headline = match rng.gen_range(0..3) {
        0 => format!("{speaker} spricht über „{topic}“"),
        1 => format!("{topic}: Vortrag in {}", slot.town().short()),
        _ => format!("Vortrag über {topic}"),
    };
    let mut e = base(
        slot,
        v,
        "vortrag",
        "vortrag",
        format!("{prefix}: {topic}"),
        headline,
    );
    e.short = Some(topic.clone());
    let club = slot.club(
        rng,
        &[
            "Obst- und Gartenbauverein",
            "Heimatverein",
            "Schwarzwaldverein",
            "Landfrauen",
            "Kolpingsfamilie",
        ],
    );
    e.facts.push(format!("Referent ist {speaker}."));
    e.facts
        .push(format!("Der {club} lädt zu diesem Vortrag ein."));
    e.facts
        .push("Der Eintritt ist frei, Spenden sind willkommen.".into());
    e.start = start.or_else(|| time_of(rng, &[(19, 0), (19, 30), (20, 0)]));
    e.end = plus(e.start, 90);
    e.tags = vec!["vortrag", "bildung"];
    e.free = Some(true);
    e.registration = rng.gen_bool(0.15);
    e
}

fn kinder(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let season = in_season(slot.date);
    let mut e = match rng.gen_range(0..5) {
        0 => {
            let book = pick(rng, BOOKS);
            let v = slot.venue_of(rng, &[VenueKind::Buecherei]);
            let mut e = base(
                slot,
                v,
                "kinder",
                "bilderbuchkino",
                format!("Bilderbuchkino: {book}"),
                format!("{book} – Bilderbuchkino"),
            );
            e.short = Some("Bilderbuchkino".into());
            e.facts.push(format!("Gelesen und gezeigt wird „{book}“."));
            e.facts
                .push("Für Kinder ab 4 Jahren. Eintritt frei, Anmeldung erwünscht.".into());
            e.start = time_of(rng, &[(15, 0), (15, 30), (16, 0)]);
            e.free = Some(true);
            e.registration = rng.gen_bool(0.5);
            e
        }
        1 => {
            let v = slot.venue_of(rng, &[VenueKind::Halle]);
            let title = pick(
                rng,
                &[
                    "Kinderflohmarkt",
                    "Kinderkleider- und Spielzeugbörse",
                    "Kinderbasar",
                ],
            )
            .to_string();
            let mut e = base(
                slot,
                v,
                "kinder",
                "kinderflohmarkt",
                title.clone(),
                format!("{title}: Schnäppchen für Familien"),
            );
            e.facts.push(
                "Verkauft werden gut erhaltene Kinderkleidung, Spielsachen und Kinderwagen.".into(),
            );
            e.facts
                .push("Der Erlös der Cafeteria kommt dem Kindergarten zugute.".into());
            e.start = time_of(rng, &[(9, 0), (10, 0), (13, 30)]);
            e.end = plus(e.start, 180);
            e.tags = vec!["kinder", "markt", "familie"];
            e.free = Some(true);
            e
        }
        2 => {
            let what = if season {
                "Basteln für Fasching"
            } else {
                "Basteln mit Naturmaterialien"
            };
            let (title, org) = if rng.gen_bool(0.5) {
                (
                    format!("Kolping Kids - {what}"),
                    Some("Kolping Kids".to_string()),
                )
            } else {
                (format!("Kinderprogramm: {what}"), None)
            };
            let v = slot.venue_of(rng, &[VenueKind::Pfarrheim, VenueKind::Buecherei]);
            let mut e = base(
                slot,
                v,
                "kinder",
                "basteln",
                title,
                format!("{what}: Kreative Nachmittage für Kinder"),
            );
            e.short = Some(what.to_string());
            e.organizer = org;
            e.facts
                .push("Material wird gestellt, bitte Schere mitbringen.".into());
            e.start = time_of(rng, &[(14, 0), (14, 30), (15, 0)]);
            e.registration = true;
            e
        }
        3 => {
            let play = pick(
                rng,
                &[
                    "Der Grüffelo",
                    "Pippi Langstrumpf",
                    "Das kleine Gespenst",
                    "Räuber Hotzenplotz",
                ],
            );
            let v = slot.venue_of(rng, &[VenueKind::Halle, VenueKind::Kultur]);
            let mut e = base(
                slot,
                v,
                "kinder",
                "kindertheater",
                format!("Kindertheater: {play}"),
                format!("„{play}“ begeistert kleine Zuschauer"),
            );
            e.short = Some(play.to_string());
            e.facts.push(format!(
                "Das Figurentheater spielt „{play}“ für Kinder ab drei Jahren."
            ));
            e.start = time_of(rng, &[(15, 0), (16, 0), (11, 0)]);
            e
        }
        _ => {
            let book = pick(rng, BOOKS);
            let v = slot.venue_of(rng, &[VenueKind::Buecherei]);
            let mut e = base(
                slot,
                v,
                "kinder",
                "vorlesen",
                "Vorlesestunde für Kinder".into(),
                format!("Vorlesen: {book}"),
            );
            e.short = Some("Vorlesestunde".into());
            e.facts.push(format!("Heute wird aus „{book}“ vorgelesen."));
            e.start = time_of(rng, &[(15, 0), (16, 0), (10, 30)]);
            e.free = Some(true);
            e
        }
    };
    e.child = true;
    e.family_event = Some(true);
    if e.tags.len() == 1 {
        e.tags = vec!["kinder", "familie"];
    }
    e
}

fn fest(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let club = slot.club(
        rng,
        &[
            "Sportverein",
            "Musikverein",
            "Freiwillige Feuerwehr",
            "Turnverein",
            "Landfrauen",
            "Heimatverein",
        ],
    );
    let what = pick(
        rng,
        &[
            "Starkbierfest",
            "Schlachtfest",
            "Schnitzelessen",
            "Dorffest",
            "Helferfest",
            "Winterfest",
            "Suppenfest",
            "Kesselfleischessen",
            "Weinprobe",
        ],
    );
    let v = slot.venue_of(rng, &[VenueKind::Halle, VenueKind::Gasthaus]);
    let headline = match rng.gen_range(0..3) {
        0 => format!("{what} beim {club}"),
        1 => format!("{club} lädt zum {what}"),
        _ => format!("{what} lockt Besucher nach {}", slot.town().short()),
    };
    let mut e = base(slot, v, "fest", "fest", what.to_string(), headline);
    e.organizer = Some(club.clone());
    e.facts.push(format!("Der {club} lädt ein."));
    e.facts
        .push(format!("Für Unterhaltung sorgt {}.", pick(rng, BANDS)));
    e.facts.push(
        pick(
            rng,
            &[
                "Es gibt Schlachtplatte, Bratwurst und Kuchen.",
                "Auf der Speisekarte stehen regionale Spezialitäten.",
            ],
        )
        .to_string(),
    );
    e.start = time_of(rng, &[(18, 0), (17, 0), (11, 0), (19, 0)]);
    e.end = if rng.gen_bool(0.3) {
        hm(23, 59)
    } else {
        plus(e.start, 300)
    };
    e.tags = vec!["fest", "kulinarik"];
    e.family_event = Some(rng.gen_bool(0.5));
    e.free = Some(true);
    e.big = rng.gen_bool(0.3);
    e
}

fn sport(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let t = slot.town().short().to_string();
    match rng.gen_range(0..3) {
        0 => {
            let goal = pick(rng, WALK_GOALS);
            let kind = pick(
                rng,
                &["Halbtageswanderung", "Winterwanderung", "Seniorenwanderung"],
            );
            let v = slot.venue_of(rng, &[VenueKind::Rathaus, VenueKind::Platz]);
            let vname = slot.town().venues[v].name.clone();
            let mut e = base(
                slot,
                v,
                "sport",
                "sport",
                format!("{kind} {goal}"),
                format!("Mit dem Schwarzwaldverein {goal}"),
            );
            e.short = Some(kind.to_string());
            e.organizer = Some(slot.club(rng, &["Schwarzwaldverein"]));
            e.facts.push(format!("Treffpunkt ist am {vname}."));
            e.facts.push("Einkehr ist vorgesehen.".into());
            e.facts.push(format!("Wanderführer ist {}.", person(rng)));
            e.start = time_of(rng, &[(9, 30), (9, 0), (13, 30)]);
            e.end = plus(e.start, 300);
            e.tags = vec!["sport", "wandern"];
            e.free = Some(true);
            e
        }
        1 => {
            let v = slot.venue_of(rng, &[VenueKind::Sport]);
            let what = pick(
                rng,
                &[
                    "Hallenfußballturnier",
                    "Tischtennis-Vereinsmeisterschaft",
                    "Volleyball-Mixed-Turnier",
                    "Kinderturnen-Wettkampf",
                ],
            );
            let mut e = base(
                slot,
                v,
                "sport",
                "sport",
                format!("{what} in {t}"),
                format!("{what}: Spannung in der Sporthalle"),
            );
            e.short = Some(what.to_string());
            e.facts.push(format!(
                "Ausrichter ist der {}.",
                slot.club(rng, &["Sportverein", "Turnverein"])
            ));
            e.facts.push(
                "Zuschauer sind willkommen, die Bewirtung übernimmt die Jugendabteilung.".into(),
            );
            e.start = time_of(rng, &[(9, 0), (10, 0), (13, 0)]);
            e.tags = vec!["sport", "freizeit"];
            e.family_event = Some(true);
            e
        }
        _ => {
            let other = slot.world.neighbours[slot.town]
                .first()
                .map(|&n| slot.world.towns[n].short().to_string())
                .unwrap_or_else(|| "Lahr".into());
            let v = slot.venue_of(rng, &[VenueKind::Sport]);
            let title = format!("Handball: TV {t} – HSG {other}");
            let mut e = base(
                slot,
                v,
                "sport",
                "sport",
                title,
                format!("Derby gegen {other}: TV {t} will punkten"),
            );
            e.short = Some(format!("TV {t} – HSG {other}"));
            e.facts
                .push("Es ist das letzte Heimspiel der Hinrunde.".into());
            e.start = time_of(rng, &[(17, 0), (19, 30), (18, 0)]);
            e.tags = vec!["sport"];
            e
        }
    }
}

/// (title, short form, venue kinds, start times, tags) of a leisure event.
type FreizeitSpec = (
    String,
    Option<String>,
    &'static [VenueKind],
    &'static [(u32, u32)],
    Vec<&'static str>,
);

fn freizeit(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let t = slot.town().short().to_string();
    let (title, short, kinds, start, tags): FreizeitSpec = match rng.gen_range(0..7) {
        0 => (
            "Seniorennachmittag".into(),
            None,
            &[VenueKind::Pfarrheim, VenueKind::Halle],
            &[(14, 30), (15, 0)],
            vec!["freizeit"],
        ),
        1 => (
            "Repair-Café".into(),
            None,
            &[VenueKind::Pfarrheim, VenueKind::Buecherei],
            &[(10, 0), (14, 0)],
            vec!["freizeit"],
        ),
        2 => {
            let d = pick(rng, DISHES);
            (
                format!("Kochworkshop: {d}"),
                Some(d.to_string()),
                &[VenueKind::Pfarrheim, VenueKind::Gasthaus],
                &[(18, 0), (18, 30)],
                vec!["freizeit", "bildung"],
            )
        }
        3 => (
            "Textil-Tag: Flicken und Nähen".into(),
            Some("Flicken und Nähen".into()),
            &[VenueKind::Buecherei, VenueKind::Pfarrheim],
            &[(10, 0), (14, 0)],
            vec!["freizeit"],
        ),
        4 => (
            "FreiTagZeit: Offener Treff".into(),
            Some("Offener Treff".into()),
            &[VenueKind::Pfarrheim],
            &[(16, 0), (17, 0)],
            vec!["freizeit"],
        ),
        5 => (
            "Jungentreff: Kicker-Turnier".into(),
            Some("Kicker-Turnier".into()),
            &[VenueKind::Pfarrheim, VenueKind::Sport],
            &[(17, 0), (18, 0)],
            vec!["freizeit", "kinder"],
        ),
        _ => (
            format!("Tag der offenen Tür - Feuerwehr {t}"),
            Some(format!("Feuerwehr {t}")),
            &[VenueKind::Rathaus, VenueKind::Halle],
            &[(10, 0), (11, 0)],
            vec!["freizeit", "familie"],
        ),
    };
    let v = slot.venue_of(rng, kinds);
    let headline = format!("{} in {t}", short.clone().unwrap_or_else(|| title.clone()));
    let mut e = base(slot, v, "freizeit", "freizeit", title, headline);
    e.short = short;
    e.facts.push(
        pick(
            rng,
            &[
                "Alle sind herzlich willkommen.",
                "Neue Teilnehmer sind herzlich willkommen.",
                "Kaffee und Kuchen stehen bereit.",
            ],
        )
        .to_string(),
    );
    e.facts
        .push(format!("Ansprechpartner ist {}.", person(rng)));
    e.start = time_of(rng, start);
    e.end = plus(e.start, 150);
    e.tags = tags;
    e.free = Some(rng.gen_bool(0.7));
    e
}

fn kirche(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let saint = slot.town().saint;
    let lent = in_lent(slot.date);
    let v = slot.venue_of(rng, &[VenueKind::Kirche]);
    let (title, kind, headline) = match rng.gen_range(0..4) {
        0 if lent => (
            "Kreuzweg".to_string(),
            "kreuzweg",
            "Kreuzweg in der Fastenzeit".to_string(),
        ),
        1 if lent => (
            "Fastenessen".to_string(),
            "fastenessen",
            "Fastenessen zugunsten von Misereor".to_string(),
        ),
        0 | 1 => (
            "Ökumenischer Gottesdienst".to_string(),
            "gottesdienst",
            "Christen feiern gemeinsam".to_string(),
        ),
        2 => (
            "Taizé-Gebet".to_string(),
            "taize",
            "Gesänge aus Taizé".to_string(),
        ),
        _ => (
            format!("Orgelkonzert in St. {saint}"),
            "orgel",
            format!("Orgelmusik in St. {saint}"),
        ),
    };
    let mut e = base(slot, v, "kirche", kind, title, headline);
    e.facts.push(
        pick(
            rng,
            &[
                "Musikalisch gestaltet vom Kirchenchor.",
                "Anschließend Begegnung bei Tee und Gebäck.",
                "Die Kollekte ist für die Ukrainehilfe bestimmt.",
            ],
        )
        .to_string(),
    );
    e.start = time_of(rng, &[(10, 0), (18, 0), (19, 0), (19, 30)]);
    e.tags = vec!["kirche", "religion"];
    e.free = Some(true);
    e
}

fn buehne(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let t = slot.town().short().to_string();
    let v = slot.venue_of(rng, &[VenueKind::Halle, VenueKind::Kultur]);
    if rng.gen_bool(0.55) {
        let play = pick(rng, PLAYS);
        let group = format!("Theatergruppe {t}");
        let mut e = base(
            slot,
            v,
            "buehne",
            "theater",
            format!("Theaterabend: {play}"),
            format!("{group} spielt „{play}“"),
        );
        e.short = Some(play.to_string());
        e.organizer = Some(group.clone());
        e.facts.push(format!(
            "Die {group} bringt die Komödie „{play}“ auf die Bühne."
        ));
        e.facts.push(format!("Regie führt {}.", person(rng)));
        e.start = time_of(rng, &[(19, 30), (20, 0), (19, 0)]);
        e.doors = plus(e.start, -60);
        e.price = Some(format!(
            "Karten gibt es für {} Euro an der Abendkasse.",
            rng.gen_range(8..16)
        ));
        e.tags = vec!["theater", "kultur", "buehne"];
        e
    } else {
        let artist = person(rng);
        let prog = pick(rng, PROGRAMS);
        let mut e = base(
            slot,
            v,
            "buehne",
            "kabarett",
            format!("{artist}: {prog}"),
            format!("Kabarett mit {artist}"),
        );
        e.short = Some(format!("Kabarett mit {artist}"));
        e.facts
            .push(format!("{artist} zeigt das Programm „{prog}“."));
        e.facts
            .push("Ein Abend voller Wortwitz und badischer Eigenheiten.".into());
        e.start = time_of(rng, &[(20, 0), (19, 30)]);
        e.doors = plus(e.start, -30);
        e.price = Some(format!("Eintritt {} €.", rng.gen_range(15..28)));
        e.tags = vec!["kabarett", "kultur", "buehne"];
        e
    }
}

fn markt(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let what = pick(
        rng,
        &[
            "Flohmarkt",
            "Bauernmarkt",
            "Ostermarkt",
            "Kunsthandwerkermarkt",
            "Bücherflohmarkt",
            "Primel-Aktion auf dem Wochenmarkt",
        ],
    );
    let v = slot.venue_of(rng, &[VenueKind::Platz, VenueKind::Halle]);
    let mut e = base(
        slot,
        v,
        "markt",
        "markt",
        what.to_string(),
        format!("{what} lockt Besucher nach {}", slot.town().short()),
    );
    e.facts.push(
        pick(
            rng,
            &[
                "Angeboten wird ein buntes Sortiment.",
                "Rund 40 Aussteller haben sich angemeldet.",
                "Der Förderverein verkauft Frühlingsprimeln zugunsten der Kinderkrebshilfe.",
            ],
        )
        .to_string(),
    );
    e.start = time_of(rng, &[(8, 0), (9, 0), (10, 0), (11, 0)]);
    e.end = plus(e.start, 360);
    e.tags = if rng.gen_bool(0.7) {
        vec!["markt"]
    } else {
        vec!["markt", "shopping"]
    };
    e.free = Some(true);
    e.family_event = Some(true);
    e.big = rng.gen_bool(0.3);
    e
}

fn fuehrung(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let t = slot.town().short().to_string();
    let saint = slot.town().saint;
    let (title, kinds): (String, &[VenueKind]) = match rng.gen_range(0..4) {
        0 => (
            format!("Stadtführung: {t} im Mittelalter"),
            &[VenueKind::Rathaus, VenueKind::Platz],
        ),
        1 => ("Museumsführung".into(), &[VenueKind::Kultur]),
        2 => (format!("Kirchenführung St. {saint}"), &[VenueKind::Kirche]),
        _ => (
            "Kräuterführung am Waldrand".into(),
            &[VenueKind::Platz, VenueKind::Rathaus],
        ),
    };
    let v = slot.venue_of(rng, kinds);
    let mut e = base(
        slot,
        v,
        "fuehrung",
        "fuehrung",
        title.clone(),
        format!("Unterwegs mit {}", person(rng)),
    );
    e.facts
        .push(format!("Die Führung übernimmt {}.", person(rng)));
    e.facts
        .push("Die Teilnahme kostet 5 Euro, Kinder sind frei.".into());
    e.start = time_of(rng, &[(14, 0), (15, 0), (11, 0), (18, 0)]);
    e.end = plus(e.start, 90);
    e.tags = vec!["fuehrung", "kultur"];
    e.registration = rng.gen_bool(0.3);
    e
}

pub fn ausstellung(rng: &mut ChaCha8Rng, slot: &Slot) -> TrueEvent {
    let name = pick(rng, EXHIBITIONS);
    let artist = person(rng);
    let medium = pick(rng, MEDIA);
    let v = slot.venue_of(
        rng,
        &[VenueKind::Kultur, VenueKind::Buecherei, VenueKind::Rathaus],
    );
    let vname = slot.town().venues[v].name.clone();
    let headline = match rng.gen_range(0..3) {
        0 => format!("Neue Ausstellung im {vname}"),
        1 => format!("„{name}“ – {medium} von {artist}"),
        _ => format!("{artist}: {name}"),
    };
    let mut e = base(
        slot,
        v,
        "ausstellung",
        "ausstellung",
        format!("Ausstellung: {name}"),
        headline,
    );
    e.short = Some(name.to_string());
    let end = slot.date + Duration::days(rng.gen_range(14..60));
    e.end_date = Some(end);
    e.facts
        .push(format!("Gezeigt werden {medium} von {artist}."));
    e.facts.push(format!(
        "Die Ausstellung ist bis {}. {} zu sehen.",
        end.day(),
        month_name(end.month())
    ));
    e.facts
        .push("Geöffnet zu den üblichen Öffnungszeiten.".into());
    e.tags = vec!["ausstellung", "kunst", "kultur"];
    e.free = Some(true);
    e.big = true;
    e
}

pub fn vernissage(rng: &mut ChaCha8Rng, show: &TrueEvent) -> TrueEvent {
    let name = show.short.clone().unwrap_or_else(|| show.title.clone());
    let mut e = show.clone();
    e.title = format!("Vernissage: {name}");
    e.short = Some(format!("Ausstellungseröffnung „{name}“"));
    e.headline = format!("Eröffnung der Ausstellung „{name}“");
    e.kind = "vernissage";
    e.end_date = None;
    e.start = time_of(rng, &[(19, 0), (18, 30), (11, 0)]);
    e.end = None;
    e.facts = vec![
        "Zur Eröffnung spricht die Bürgermeisterin, musikalisch umrahmt.".into(),
        show.facts.first().cloned().unwrap_or_default(),
    ];
    e.big = false;
    e
}

pub fn month_name(m: u32) -> &'static str {
    [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ][(m.clamp(1, 12) - 1) as usize]
}

pub fn weekday_name(d: NaiveDate) -> &'static str {
    match d.weekday() {
        Weekday::Mon => "Montag",
        Weekday::Tue => "Dienstag",
        Weekday::Wed => "Mittwoch",
        Weekday::Thu => "Donnerstag",
        Weekday::Fri => "Freitag",
        Weekday::Sat => "Samstag",
        Weekday::Sun => "Sonntag",
    }
}

/// Carnival kinds that are fixed to one day of the season.
pub fn fixed_carnival_kind(date: NaiveDate) -> Vec<&'static str> {
    let c = carnival(date.year());
    if date == c.schmudo {
        vec!["rathaussturm", "narrenbaum", "hemdglunker"]
    } else if date == c.sonntag || date == c.rosenmontag {
        vec!["umzug", "kinderball"]
    } else if date == c.dienstag {
        vec!["verbrennung", "umzug", "kinderball"]
    } else if date.weekday() == Weekday::Sat || date.weekday() == Weekday::Fri {
        vec!["ball", "zunftabend", "kinderball"]
    } else if date.weekday() == Weekday::Sun {
        vec!["narrentreffen", "umzug", "kinderball", "zunftabend"]
    } else {
        vec!["zunftabend", "ball"]
    }
}

/// A carnival event; `kind` forces the kind (used by the same-title families).
pub fn fasnacht(rng: &mut ChaCha8Rng, slot: &Slot, kind: Option<&'static str>) -> TrueEvent {
    let town = slot.town();
    let d: Dialect = town.dialect;
    let (w, s) = (d.word(), d.stem());
    let t = town.short().to_string();
    let kinds = fixed_carnival_kind(slot.date);
    let kind = kind.unwrap_or_else(|| kinds.choose(rng).copied().unwrap_or("ball"));
    let forced_district = slot.venue.and_then(|v| town.venues[v].district);
    let district = if forced_district.is_some() || town.districts.is_empty() {
        forced_district
    } else {
        Some(rng.gen_range(0..town.districts.len()))
    };
    let dname = district
        .map(|i| town.districts[i].name.clone())
        .unwrap_or_else(|| t.clone());
    let district_hall = || -> Vec<VenueKind> { vec![VenueKind::Halle] };
    let (title, headline, venue_kinds, times): (String, String, Vec<VenueKind>, &[(u32, u32)]) =
        match kind {
            "umzug" => {
                let c = carnival(slot.date.year());
                let title = if slot.date == c.rosenmontag {
                    "Rosenmontagsumzug".to_string()
                } else if rng.gen_bool(0.6) {
                    format!("Großer {s}umzug")
                } else {
                    format!("{s}umzug in {dname}")
                };
                (
                    title,
                    format!("Tausende Narren erwartet: {s}umzug in {t}"),
                    vec![VenueKind::Platz],
                    &[(14, 0), (13, 33), (14, 11), (13, 30)],
                )
            }
            "rathaussturm" => (
                "Rathaussturm".into(),
                format!("Narren stürmen das Rathaus in {t}"),
                vec![VenueKind::Rathaus],
                &[(11, 11), (14, 0), (15, 0)],
            ),
            "narrenbaum" => (
                "Narrenbaumstellen".into(),
                format!("Narrenbaum steht in {t}"),
                vec![VenueKind::Platz],
                &[(10, 0), (11, 11), (17, 0)],
            ),
            "hemdglunker" => {
                let v = pick(
                    rng,
                    &[
                        "Hemdglunker-Umzug",
                        "Hemdglunkerumzug",
                        "Hemdklunkerumzug",
                        "Hemdglunki-Umzug",
                    ],
                );
                (
                    v.to_string(),
                    format!("Hemdglunker ziehen durch {t}"),
                    vec![VenueKind::Platz],
                    &[(19, 0), (19, 30), (20, 0)],
                )
            }
            "verbrennung" => (
                format!("{s}verbrennung"),
                format!("Abschied von der {w} in {t}"),
                vec![VenueKind::Platz],
                &[(19, 0), (20, 0), (21, 0)],
            ),
            "kinderball" => {
                let title = if rng.gen_bool(0.5) {
                    "Kinderball".to_string()
                } else {
                    format!("Kinder{}", w.to_lowercase())
                };
                (
                    title,
                    format!("Kleine Narren feiern in {dname}"),
                    district_hall(),
                    &[(14, 0), (14, 30), (15, 0)],
                )
            }
            "zunftabend" => {
                let v = pick(
                    rng,
                    &[
                        "Zunftabend",
                        "Schnurrabend",
                        "Brauchtumsabend",
                        "Bunter Abend",
                        "Närrischer Abend",
                    ],
                );
                (
                    v.to_string(),
                    format!("{v}: Narren zeigen ihr Können"),
                    district_hall(),
                    &[(19, 0), (19, 30), (20, 0), (20, 11)],
                )
            }
            "narrentreffen" => (
                format!("Narrentreffen in {dname}"),
                format!("Narrentreffen: Zünfte aus der Region zu Gast in {dname}"),
                vec![VenueKind::Platz],
                &[(13, 0), (14, 0)],
            ),
            "heringsessen" => (
                "Heringsessen".into(),
                format!("Heringsessen zum Ende der {w}"),
                vec![VenueKind::Gasthaus, VenueKind::Halle],
                &[(18, 0), (19, 0)],
            ),
            "funken" => (
                "Funkenfeuer".into(),
                format!("Funkenfeuer erhellt {t}"),
                vec![VenueKind::Platz],
                &[(18, 30), (19, 0)],
            ),
            _ => {
                let v = pick(
                    rng,
                    &[
                        "Narrenball",
                        "Lumpenball",
                        "Zunftball",
                        "Preismaskenball",
                        "Hemdglunkerball",
                    ],
                );
                (
                    v.to_string(),
                    format!("{v} in {dname}: Masken, Musik und Narretei"),
                    district_hall(),
                    &[(19, 30), (20, 0), (20, 11), (19, 0)],
                )
            }
        };
    let mut venue_kinds = venue_kinds;
    if venue_kinds == vec![VenueKind::Halle] {
        let in_district: Vec<usize> = (0..town.venues.len())
            .filter(|&i| {
                town.venues[i].kind == VenueKind::Halle
                    && town.venues[i].district.is_some()
                    && town.venues[i].district == district
            })
            .collect();
        if slot.venue.is_none() && !in_district.is_empty() && rng.gen_bool(0.7) {
            venue_kinds.clear();
        }
    }
    let v = if venue_kinds.is_empty() {
        let cands: Vec<usize> = (0..town.venues.len())
            .filter(|&i| {
                town.venues[i].kind == VenueKind::Halle && town.venues[i].district == district
            })
            .collect();
        slot.venue
            .unwrap_or_else(|| cands.choose(rng).copied().unwrap_or(0))
    } else {
        slot.venue_of(rng, &venue_kinds)
    };
    let mut e = base(slot, v, "fasnacht", kind, title, headline);
    let zunft = match t.as_str() {
        "Waldkirch" => {
            if rng.gen_bool(0.5) {
                "Narrenzunft Bergteufel".to_string()
            } else {
                "Fasnet im Ladhof".to_string()
            }
        }
        "Kenzingen" => "Nordwiler Narrenfahrplan".to_string(),
        _ => format!("Narrenzunft {dname}"),
    };
    e.organizer = Some(zunft.clone());
    e.facts.push(format!("Veranstalter ist die {zunft}."));
    e.facts.push(match kind {
        "umzug" => format!(
            "Über {} Zünfte und Musikkapellen ziehen durch die Straßen.",
            rng.gen_range(20..80)
        ),
        "hemdglunker" => {
            "Im Nachthemd und mit Zipfelmütze ziehen die Narren mit Laternen durch den Ort.".into()
        }
        "rathaussturm" => {
            "Der Bürgermeister wird abgesetzt und die Narren übernehmen den Rathausschlüssel."
                .into()
        }
        "ball" | "zunftabend" => "Für Stimmung sorgen Guggenmusiken und Garden.".into(),
        _ => format!("Anschließend {w}streiben im Ort.").replace("Fasentstreiben", "Narrentreiben"),
    });
    e.start = time_of(rng, times);
    if matches!(kind, "zunftabend" | "narrentreffen") && rng.gen_bool(0.2) {
        e.dates.push(slot.date + Duration::days(1));
    }
    e.doors = if matches!(kind, "ball" | "zunftabend") {
        plus(e.start, -60)
    } else {
        None
    };
    e.tags = if kind == "kinderball" {
        vec!["fasnacht", "kinder"]
    } else if rng.gen_bool(0.2) {
        vec!["fasnacht", "familie"]
    } else {
        vec!["fasnacht"]
    };
    e.child = kind == "kinderball";
    e.family_event = Some(matches!(kind, "kinderball" | "umzug" | "narrenbaum"));
    e.free = Some(matches!(
        kind,
        "umzug" | "narrenbaum" | "rathaussturm" | "hemdglunker" | "verbrennung" | "funken"
    ));
    e.big = matches!(kind, "umzug" | "narrentreffen");
    e
}

/// Weekly series each town runs; index `k` picks one deterministically.
pub const SERIES: &[(&str, &str, VenueKind, (u32, u32))] = &[
    ("Lauftreff", "sport", VenueKind::Sport, (18, 0)),
    (
        "Seniorennachmittag",
        "freizeit",
        VenueKind::Pfarrheim,
        (14, 30),
    ),
    ("Nachtwächterführung", "fuehrung", VenueKind::Platz, (21, 0)),
    ("Spieleabend", "freizeit", VenueKind::Gasthaus, (19, 30)),
    ("Offener Singkreis", "musik", VenueKind::Pfarrheim, (19, 0)),
    ("Yoga für Einsteiger", "sport", VenueKind::Sport, (18, 30)),
    ("Strickcafé", "freizeit", VenueKind::Buecherei, (15, 0)),
    ("Wochenmarkt", "markt", VenueKind::Platz, (8, 0)),
    ("Taizé-Gebet", "kirche", VenueKind::Kirche, (19, 0)),
];

pub fn weekly(rng: &mut ChaCha8Rng, slot: &Slot, series: usize) -> TrueEvent {
    let (title, cat, vk, start) = SERIES[series % SERIES.len()];
    let cat: &'static str = cat;
    let has_kind = slot.town().venues.iter().any(|v| v.kind == vk);
    let v = slot.venue_of(rng, &[if has_kind { vk } else { VenueKind::Pfarrheim }]);
    let mut e = base(slot, v, cat, "weekly", title.to_string(), title.to_string());
    e.facts
        .push("Regelmäßiges Angebot, alle sind willkommen.".into());
    e.facts
        .push("Neue Teilnehmer sind herzlich willkommen.".into());
    e.start = Some(start);
    e.family = "hn:weekly";
    e.tags = vec![cat];
    e.free = Some(true);
    e
}

/// (title, category, kind, start) of a title several towns share on one day.
pub type SameTitle = (&'static str, &'static str, &'static str, (u32, u32));

/// Calendar-fixed titles (carnival, church year, customs) for a day.
pub fn special_same_title(date: NaiveDate) -> Option<SameTitle> {
    let c = carnival(date.year());
    if date == c.aschermittwoch {
        return Some(("Heringsessen", "fasnacht", "heringsessen", (18, 0)));
    }
    if date == c.rosenmontag {
        return Some(("Rosenmontagsumzug", "fasnacht", "umzug", (14, 11)));
    }
    if date == c.funkensonntag {
        return Some(("Funkenfeuer", "fasnacht", "funken", (18, 30)));
    }
    let first_friday_march = (1..=7)
        .filter_map(|d| NaiveDate::from_ymd_opt(date.year(), 3, d))
        .find(|d| d.weekday() == Weekday::Fri);
    if Some(date) == first_friday_march {
        return Some(("Weltgebetstag", "kirche", "gottesdienst", (19, 0)));
    }
    if date.month() == 4 && date.day() == 30 {
        return Some(("Maibaumstellen", "fest", "fest", (17, 0)));
    }
    if date.month() == 11 && date.day() == 11 {
        return Some(("Martinsumzug", "kinder", "umzug", (17, 30)));
    }
    None
}

/// Everyday titles neighbouring towns happen to share on the same weekday.
pub fn generic_same_title(rng: &mut ChaCha8Rng, date: NaiveDate) -> Option<SameTitle> {
    let options: &[SameTitle] = match date.weekday() {
        Weekday::Sat => &[
            ("Repair-Café", "freizeit", "freizeit", (10, 0)),
            ("Altpapiersammlung", "freizeit", "freizeit", (9, 0)),
            ("Dorfputzete", "freizeit", "freizeit", (9, 0)),
        ],
        Weekday::Mon | Weekday::Tue => &[
            ("Blutspendetermin", "freizeit", "freizeit", (14, 30)),
            ("Seniorentreff", "freizeit", "freizeit", (14, 30)),
        ],
        Weekday::Fri => &[
            ("Kinderkleiderbörse", "kinder", "kinderflohmarkt", (9, 0)),
            ("Weinprobe", "fest", "fest", (19, 0)),
        ],
        Weekday::Sun => &[("Frühschoppen", "fest", "fest", (10, 30))],
        _ => &[("Lesecafé", "freizeit", "freizeit", (15, 0))],
    };
    options.choose(rng).copied()
}

pub fn same_title(rng: &mut ChaCha8Rng, slot: &Slot, spec: SameTitle) -> TrueEvent {
    let (title, cat, kind, start) = spec;
    let mut e = if cat == "fasnacht" {
        let forced = if kind == "umzug" { "umzug" } else { kind };
        fasnacht(rng, slot, Some(forced))
    } else {
        let kinds: &[VenueKind] = match kind {
            "gottesdienst" => &[VenueKind::Kirche],
            "umzug" | "fest" => &[VenueKind::Platz],
            _ => &[VenueKind::Halle, VenueKind::Pfarrheim],
        };
        let v = slot.venue_of(rng, kinds);
        let mut e = base(
            slot,
            v,
            cat,
            kind,
            title.to_string(),
            format!("{title} in {}", slot.town().short()),
        );
        e.facts.push("Alle sind herzlich eingeladen.".into());
        e.tags = vec![cat];
        e.free = Some(true);
        e
    };
    e.title = title.to_string();
    e.short = None;
    e.dates = vec![slot.date];
    e.start = Some(start);
    e.family = "hn:same_title_towns";
    e
}

pub fn kino(rng: &mut ChaCha8Rng, slot: &Slot, name: String, dates: Vec<NaiveDate>) -> TrueEvent {
    let vname = slot.town().venues[slot.venue.unwrap_or(0)].name.clone();
    let mut e = base(
        slot,
        slot.venue.unwrap_or(0),
        "kino",
        "film",
        name.clone(),
        format!("Kinotipp: {name}"),
    );
    if vname.starts_with("Kommunales Kino") {
        e.organizer = Some("Kommunales Kino".into());
    }
    e.short = Some(format!("Kino: {name}"));
    e.dates = dates;
    e.start = time_of(rng, &[(17, 30), (20, 0), (20, 15), (18, 0)]);
    e.facts.push(format!("Der Film „{name}“ läuft im {vname}."));
    e.facts.push(format!(
        "{} Minuten, FSK {}.",
        rng.gen_range(85..140),
        pick(rng, &["0", "6", "12", "16"])
    ));
    e.tags = vec!["kino", "film"];
    e.family = "hn:kino";
    e
}

pub fn talk(rng: &mut ChaCha8Rng, slot: &Slot, topic: &str, start: Hm) -> TrueEvent {
    let mut e = vortrag(rng, slot, Some(topic), Some(start));
    e.family = "hn:two_talks";
    e
}

pub fn talk_topics() -> &'static [&'static str] {
    TALKS
}
