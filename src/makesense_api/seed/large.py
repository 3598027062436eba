"""A large synthetic network for load and performance work.

At scale 1.0: about 2,000 chapters (network → 8 regions → 60 countries → 1,400 cities → 530
neighbourhoods), 200,000 people with skills and causes, 220,000 memberships, 20,000 projects
with about 60,000 needs and 40,000 contributions; and, from `seed.large_activity`, five
programs, 100,000 events with 1,000,000 registrations, 60,000 enrolments and goals. Every
count is multiplied by `scale`.

Rows are bulk-inserted with SQLAlchemy Core (`insert(table)` with lists of parameter dicts,
executed as one executemany per batch), one transaction per batch, so memory stays bounded and
PostgreSQL loads the full network in a few minutes. The closure table is computed here rather
than by the chapter service. Every choice comes from one seeded random generator, so the same
scale always yields the same network (only ids and timestamps differ).

More data plugs in as further steps: a `SeedStep` receives the `LargeSeed` state, which
exposes what earlier steps made (chapters, people and their home chapters, organizers, projects,
programs), the random generator, scaled counts and a batched writer. Register one with
`register_step` or pass `steps=` to `seed_large`; the activity steps of `seed.large_activity`
(programs, events, enrolments) are registered when `makesense_api.seed` is imported.
"""

import random
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa

from makesense_api.authz.principal import Scope
from makesense_api.chapters.models import ChapterKind, ChapterStatus
from makesense_api.impact import rollup
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database
from makesense_api.kit.ids import new_id
from makesense_api.models import metadata
from makesense_api.people.models import Role
from makesense_api.projects.models import NeedStatus, ProjectStage, ProjectStatus
from makesense_api.seed.demo import (
    ANSWERED,
    CAUSE_WEIGHTS,
    FIRST_NAMES,
    LAST_NAMES,
    SKILLS,
    contribution_plan,
)

LARGE_RANDOM_SEED = 180_000_000
BATCH_ROWS = 5_000  # rows per INSERT executemany
Row = dict[str, Any]
Progress = Callable[[str, int, int], None]

# Counts at scale 1.0.
REGIONS_FULL = 8
COUNTRIES_FULL = 60
CITIES_FULL = 1_400
NEIGHBOURHOODS_FULL = 531
PEOPLE_FULL = 200_000
PROJECTS_FULL = 20_000


class LargePlan(NamedTuple):
    """How many of each thing a scale yields."""

    regions: int
    countries: int
    cities: int
    neighbourhoods: int
    people: int
    projects: int

    @property
    def chapters(self) -> int:
        return 1 + self.regions + self.countries + self.cities + self.neighbourhoods


def scaled(full: int, scale: float) -> int:
    """`full × scale`, rounded, never below one."""
    return max(1, round(full * scale))


def plan(scale: float = 1.0) -> LargePlan:
    """The counts `seed_large(scale=scale)` produces."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    return LargePlan(
        regions=min(scaled(REGIONS_FULL, scale), len(REGIONS)),
        countries=min(scaled(COUNTRIES_FULL, scale), sum(len(r.countries) for r in REGIONS)),
        cities=scaled(CITIES_FULL, scale),
        neighbourhoods=scaled(NEIGHBOURHOODS_FULL, scale),
        people=scaled(PEOPLE_FULL, scale),
        projects=scaled(PROJECTS_FULL, scale),
    )


# -- geography -----------------------------------------------------------------------------


class City(NamedTuple):
    name: str
    lat: float
    lon: float
    timezone: str | None = None  # when it differs from the country's


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    timezone: str
    languages: tuple[str, ...]
    names: str  # the people-name pool
    weight: int  # relative number of cities and volunteers
    cities: tuple[City, ...]


@dataclass(frozen=True)
class Region:
    slug: str
    name: str
    timezone: str
    languages: tuple[str, ...]
    lat: float
    lon: float
    countries: tuple[Country, ...]


def _c(code: str, name: str, tz: str, langs: tuple[str, ...], names: str, weight: int,
       *cities: City) -> Country:
    return Country(code, name, tz, langs, names, weight, cities)


C = City
REGIONS: tuple[Region, ...] = (
    Region("europe", "Europe", "Europe/Paris", ("en", "fr"), 50.11, 8.68, (
        _c("FR", "France", "Europe/Paris", ("fr",), "fr", 10,
           C("Paris", 48.8566, 2.3522), C("Lyon", 45.7640, 4.8357),
           C("Marseille", 43.2965, 5.3698), C("Lille", 50.6292, 3.0573),
           C("Bordeaux", 44.8378, -0.5792), C("Nantes", 47.2184, -1.5536),
           C("Toulouse", 43.6047, 1.4442)),
        _c("ES", "España", "Europe/Madrid", ("es", "ca"), "es", 6,
           C("Madrid", 40.4168, -3.7038), C("Barcelona", 41.3874, 2.1686),
           C("Valencia", 39.4699, -0.3763), C("Sevilla", 37.3891, -5.9845),
           C("Bilbao", 43.2630, -2.9350)),
        _c("PT", "Portugal", "Europe/Lisbon", ("pt",), "br", 3,
           C("Lisboa", 38.7223, -9.1393), C("Porto", 41.1579, -8.6291),
           C("Coimbra", 40.2033, -8.4103)),
        _c("IT", "Italia", "Europe/Rome", ("it",), "it", 5,
           C("Roma", 41.9028, 12.4964), C("Milano", 45.4642, 9.1900),
           C("Torino", 45.0703, 7.6869), C("Napoli", 40.8518, 14.2681),
           C("Bologna", 44.4949, 11.3426)),
        _c("DE", "Deutschland", "Europe/Berlin", ("de",), "de", 6,
           C("Berlin", 52.5200, 13.4050), C("Hamburg", 53.5511, 9.9937),
           C("München", 48.1351, 11.5820), C("Köln", 50.9375, 6.9603)),
        _c("BE", "Belgique", "Europe/Brussels", ("fr", "nl"), "fr", 3,
           C("Bruxelles", 50.8503, 4.3517), C("Liège", 50.6326, 5.5797),
           C("Gent", 51.0543, 3.7174)),
        _c("NL", "Nederland", "Europe/Amsterdam", ("nl",), "nl", 3,
           C("Amsterdam", 52.3676, 4.9041), C("Rotterdam", 51.9244, 4.4777),
           C("Utrecht", 52.0907, 5.1214)),
        _c("GB", "United Kingdom", "Europe/London", ("en",), "en", 6,
           C("London", 51.5074, -0.1278), C("Manchester", 53.4808, -2.2426),
           C("Bristol", 51.4545, -2.5879), C("Glasgow", 55.8642, -4.2518)),
        _c("IE", "Ireland", "Europe/Dublin", ("en", "ga"), "en", 1,
           C("Dublin", 53.3498, -6.2603), C("Cork", 51.8985, -8.4756)),
        _c("CH", "Suisse", "Europe/Zurich", ("fr", "de", "it"), "fr", 2,
           C("Genève", 46.2044, 6.1432), C("Zürich", 47.3769, 8.5417),
           C("Lausanne", 46.5197, 6.6323)),
        _c("PL", "Polska", "Europe/Warsaw", ("pl",), "pl", 3,
           C("Warszawa", 52.2297, 21.0122), C("Kraków", 50.0647, 19.9450)),
        _c("SE", "Sverige", "Europe/Stockholm", ("sv",), "nordic", 2,
           C("Stockholm", 59.3293, 18.0686), C("Göteborg", 57.7089, 11.9746)),
        _c("DK", "Danmark", "Europe/Copenhagen", ("da",), "nordic", 1,
           C("København", 55.6761, 12.5683), C("Aarhus", 56.1629, 10.2039)),
        _c("GR", "Ελλάδα", "Europe/Athens", ("el",), "el", 2,
           C("Athína", 37.9838, 23.7275), C("Thessaloníki", 40.6401, 22.9444)),
        _c("RO", "România", "Europe/Bucharest", ("ro",), "ro", 2,
           C("București", 44.4268, 26.1025), C("Cluj-Napoca", 46.7712, 23.6236)),
    )),
    Region("west-central-africa", "West & Central Africa", "Africa/Lagos", ("en", "fr"),
           9.08, 8.68, (
        _c("SN", "Sénégal", "Africa/Dakar", ("fr", "wo"), "sn", 4,
           C("Dakar", 14.7167, -17.4677), C("Thiès", 14.7910, -16.9256),
           C("Saint-Louis", 16.0179, -16.4896), C("Ziguinchor", 12.5681, -16.2733)),
        _c("CI", "Côte d'Ivoire", "Africa/Abidjan", ("fr",), "ci", 4,
           C("Abidjan", 5.3600, -4.0083), C("Bouaké", 7.6906, -5.0304),
           C("Yamoussoukro", 6.8276, -5.2893)),
        _c("NG", "Nigeria", "Africa/Lagos", ("en", "yo", "ig", "ha"), "ng", 8,
           C("Lagos", 6.5244, 3.3792), C("Abuja", 9.0765, 7.3986),
           C("Ibadan", 7.3775, 3.9470), C("Port Harcourt", 4.8156, 7.0498),
           C("Kano", 12.0022, 8.5920), C("Enugu", 6.4584, 7.5464)),
        _c("GH", "Ghana", "Africa/Accra", ("en",), "ng", 4,
           C("Accra", 5.6037, -0.1870), C("Kumasi", 6.6885, -1.6244),
           C("Tamale", 9.4008, -0.8393)),
        _c("CM", "Cameroun", "Africa/Douala", ("fr", "en"), "ci", 3,
           C("Douala", 4.0511, 9.7679), C("Yaoundé", 3.8480, 11.5021)),
        _c("BJ", "Bénin", "Africa/Porto-Novo", ("fr",), "ci", 2,
           C("Cotonou", 6.3703, 2.3912), C("Porto-Novo", 6.4969, 2.6289)),
        _c("ML", "Mali", "Africa/Bamako", ("fr",), "ci", 2, C("Bamako", 12.6392, -8.0029)),
        _c("BF", "Burkina Faso", "Africa/Ouagadougou", ("fr",), "ci", 2,
           C("Ouagadougou", 12.3714, -1.5197), C("Bobo-Dioulasso", 11.1771, -4.2979)),
        _c("TG", "Togo", "Africa/Lome", ("fr",), "ci", 1, C("Lomé", 6.1256, 1.2254)),
    )),
    Region("east-southern-africa", "East & Southern Africa", "Africa/Nairobi", ("en", "sw"),
           -1.29, 36.82, (
        _c("KE", "Kenya", "Africa/Nairobi", ("en", "sw"), "ke", 5,
           C("Nairobi", -1.2921, 36.8219), C("Mombasa", -4.0435, 39.6682),
           C("Kisumu", -0.0917, 34.7680)),
        _c("UG", "Uganda", "Africa/Kampala", ("en", "sw"), "ke", 3,
           C("Kampala", 0.3476, 32.5825), C("Gulu", 2.7724, 32.2881)),
        _c("RW", "Rwanda", "Africa/Kigali", ("rw", "fr", "en"), "ke", 2,
           C("Kigali", -1.9441, 30.0619)),
        _c("TZ", "Tanzania", "Africa/Dar_es_Salaam", ("sw", "en"), "ke", 3,
           C("Dar es Salaam", -6.7924, 39.2083), C("Arusha", -3.3869, 36.6830)),
        _c("ET", "Ethiopia", "Africa/Addis_Ababa", ("am", "en"), "ke", 3,
           C("Addis Ababa", 9.0054, 38.7636)),
        _c("ZA", "South Africa", "Africa/Johannesburg", ("en", "zu", "af"), "ke", 5,
           C("Johannesburg", -26.2041, 28.0473), C("Cape Town", -33.9249, 18.4241),
           C("Durban", -29.8587, 31.0218)),
        _c("MG", "Madagascar", "Indian/Antananarivo", ("mg", "fr"), "ke", 2,
           C("Antananarivo", -18.8792, 47.5079)),
    )),
    Region("mena", "Middle East & North Africa", "Asia/Beirut", ("en", "ar", "fr"),
           33.89, 35.50, (
        _c("MA", "Maroc", "Africa/Casablanca", ("ar", "fr"), "ma", 5,
           C("Casablanca", 33.5731, -7.5898), C("Rabat", 34.0209, -6.8416),
           C("Marrakech", 31.6295, -7.9811), C("Tanger", 35.7595, -5.8340),
           C("Fès", 34.0181, -5.0078)),
        _c("DZ", "Algérie", "Africa/Algiers", ("ar", "fr"), "ma", 3,
           C("Alger", 36.7538, 3.0588), C("Oran", 35.6971, -0.6308)),
        _c("TN", "Tunisie", "Africa/Tunis", ("ar", "fr"), "ma", 3,
           C("Tunis", 36.8065, 10.1815), C("Sfax", 34.7406, 10.7603)),
        _c("EG", "Egypt", "Africa/Cairo", ("ar", "en"), "lb", 4,
           C("Cairo", 30.0444, 31.2357), C("Alexandria", 31.2001, 29.9187)),
        _c("LB", "Lebanon", "Asia/Beirut", ("ar", "fr", "en"), "lb", 2,
           C("Beirut", 33.8938, 35.5018), C("Tripoli", 34.4367, 35.8497)),
        _c("JO", "Jordan", "Asia/Amman", ("ar", "en"), "lb", 2, C("Amman", 31.9454, 35.9284)),
        _c("AE", "United Arab Emirates", "Asia/Dubai", ("ar", "en"), "lb", 2,
           C("Dubai", 25.2048, 55.2708), C("Abu Dhabi", 24.4539, 54.3773)),
    )),
    Region("latin-america", "América Latina", "America/Sao_Paulo", ("es", "pt"),
           -14.24, -51.93, (
        _c("BR", "Brasil", "America/Sao_Paulo", ("pt-BR",), "br", 9,
           C("São Paulo", -23.5505, -46.6333), C("Rio de Janeiro", -22.9068, -43.1729),
           C("Belo Horizonte", -19.9167, -43.9345),
           C("Salvador", -12.9777, -38.5016, "America/Bahia"),
           C("Recife", -8.0476, -34.8770, "America/Recife"),
           C("Porto Alegre", -30.0346, -51.2177), C("Curitiba", -25.4284, -49.2733)),
        _c("MX", "México", "America/Mexico_City", ("es",), "mx", 7,
           C("Ciudad de México", 19.4326, -99.1332), C("Guadalajara", 20.6597, -103.3496),
           C("Monterrey", 25.6866, -100.3161, "America/Monterrey"),
           C("Puebla", 19.0414, -98.2063), C("Oaxaca", 17.0732, -96.7266)),
        _c("CO", "Colombia", "America/Bogota", ("es",), "mx", 5,
           C("Bogotá", 4.7110, -74.0721), C("Medellín", 6.2442, -75.5812),
           C("Cali", 3.4516, -76.5320)),
        _c("PE", "Perú", "America/Lima", ("es",), "mx", 3,
           C("Lima", -12.0464, -77.0428), C("Cusco", -13.5320, -71.9675),
           C("Arequipa", -16.4090, -71.5375)),
        _c("CL", "Chile", "America/Santiago", ("es",), "es", 3,
           C("Santiago", -33.4489, -70.6693), C("Valparaíso", -33.0472, -71.6127)),
        _c("AR", "Argentina", "America/Argentina/Buenos_Aires", ("es",), "es", 4,
           C("Buenos Aires", -34.6037, -58.3816), C("Córdoba", -31.4201, -64.1888,
                                                      "America/Argentina/Cordoba"),
           C("Rosario", -32.9442, -60.6505)),
        _c("EC", "Ecuador", "America/Guayaquil", ("es",), "mx", 2,
           C("Quito", -0.1807, -78.4678), C("Guayaquil", -2.1710, -79.9224)),
        _c("GT", "Guatemala", "America/Guatemala", ("es",), "mx", 1,
           C("Ciudad de Guatemala", 14.6349, -90.5069)),
    )),
    Region("north-america", "North America", "America/New_York", ("en", "fr", "es"),
           40.71, -74.01, (
        _c("US", "United States", "America/New_York", ("en", "es"), "en", 6,
           C("New York", 40.7128, -74.0060), C("Chicago", 41.8781, -87.6298, "America/Chicago"),
           C("San Francisco", 37.7749, -122.4194, "America/Los_Angeles"),
           C("Boston", 42.3601, -71.0589)),
        _c("CA", "Canada", "America/Toronto", ("en", "fr"), "en", 3,
           C("Montréal", 45.5017, -73.5673), C("Toronto", 43.6532, -79.3832),
           C("Vancouver", 49.2827, -123.1207, "America/Vancouver")),
    )),
    Region("asia", "Asia", "Asia/Singapore", ("en",), 1.35, 103.82, (
        _c("PH", "Philippines", "Asia/Manila", ("en", "fil"), "ph", 4,
           C("Manila", 14.5995, 120.9842), C("Cebu City", 10.3157, 123.8854),
           C("Davao City", 7.1907, 125.4553)),
        _c("ID", "Indonesia", "Asia/Jakarta", ("id", "en"), "id", 5,
           C("Jakarta", -6.2088, 106.8456), C("Bandung", -6.9175, 107.6191),
           C("Surabaya", -7.2575, 112.7521), C("Yogyakarta", -7.7956, 110.3695),
           C("Denpasar", -8.6705, 115.2126, "Asia/Makassar")),
        _c("IN", "India", "Asia/Kolkata", ("en", "hi"), "in", 8,
           C("Mumbai", 19.0760, 72.8777), C("Delhi", 28.7041, 77.1025),
           C("Bengaluru", 12.9716, 77.5946), C("Chennai", 13.0827, 80.2707),
           C("Kolkata", 22.5726, 88.3639), C("Pune", 18.5204, 73.8567)),
        _c("TH", "Thailand", "Asia/Bangkok", ("th", "en"), "th", 3,
           C("Bangkok", 13.7563, 100.5018), C("Chiang Mai", 18.7883, 98.9853)),
        _c("VN", "Việt Nam", "Asia/Ho_Chi_Minh", ("vi", "en"), "vi", 3,
           C("Hà Nội", 21.0278, 105.8342), C("Thành phố Hồ Chí Minh", 10.8231, 106.6297)),
        _c("SG", "Singapore", "Asia/Singapore", ("en", "zh", "ms"), "en", 2,
           C("Singapore", 1.3521, 103.8198)),
        _c("JP", "Japan", "Asia/Tokyo", ("ja",), "jp", 3,
           C("Tokyo", 35.6762, 139.6503), C("Osaka", 34.6937, 135.5023),
           C("Kyoto", 35.0116, 135.7681)),
        _c("KR", "South Korea", "Asia/Seoul", ("ko",), "kr", 2,
           C("Seoul", 37.5665, 126.9780), C("Busan", 35.1796, 129.0756)),
        _c("BD", "Bangladesh", "Asia/Dhaka", ("bn", "en"), "in", 3,
           C("Dhaka", 23.8103, 90.4125), C("Chattogram", 22.3569, 91.7832)),
    )),
    Region("oceania", "Oceania", "Australia/Sydney", ("en",), -33.87, 151.21, (
        _c("AU", "Australia", "Australia/Sydney", ("en",), "en", 4,
           C("Sydney", -33.8688, 151.2093), C("Melbourne", -37.8136, 144.9631,
                                              "Australia/Melbourne"),
           C("Brisbane", -27.4698, 153.0251, "Australia/Brisbane"),
           C("Perth", -31.9505, 115.8605, "Australia/Perth")),
        _c("NZ", "New Zealand", "Pacific/Auckland", ("en", "mi"), "en", 2,
           C("Auckland", -36.8485, 174.7633), C("Wellington", -41.2865, 174.7762)),
        _c("FJ", "Fiji", "Pacific/Fiji", ("en", "fj"), "en", 1, C("Suva", -18.1248, 178.4501)),
    )),
)

# Synthetic towns beyond the real cities listed above.
TOWN_HEADS = ("Ala", "Bel", "Cor", "Dor", "Esp", "Fal", "Gal", "Hal", "Ist", "Jur", "Kal",
              "Lor", "Mar", "Nor", "Or", "Pal", "Quin", "Ros", "Sal", "Tor", "Ul", "Val",
              "Wen", "Yar", "Zan", "Bor", "Cal", "Lun", "Mir", "Sen")
TOWN_TAILS = ("ville", "mont", "ia", "ona", "ara", "ino", "burg", "ford", "port", "dale",
              "gate", "haven", "field", "stad", "heim", "polis", "ana", "eira", "ita", "bay")
QUARTERS = ("Centre", "North", "South", "East", "West", "Old Town", "Riverside", "Harbour",
            "University", "Market", "Station", "Hillside", "Garden", "Bridge", "Lakeside")

DESCRIPTIONS: Mapping[str, str] = {
    "fr": "Le chapitre makesense de {name} : bénévoles, ateliers et projets à impact.",
    "es": "El capítulo makesense de {name}: voluntariado, talleres y proyectos de impacto.",
    "pt": "O capítulo makesense de {name}: voluntariado, oficinas e projetos de impacto.",
    "it": "Il capitolo makesense di {name}: volontariato, workshop e progetti a impatto.",
    "de": "Das makesense-Chapter {name}: Freiwillige, Workshops und Impact-Projekte.",
    "en": "The makesense chapter of {name}: volunteers, workshops and impact projects.",
}

# People names beyond the demo's pools.
MORE_FIRST: Mapping[str, Sequence[str]] = {
    "it": ("Giulia", "Francesca", "Chiara", "Sara", "Alessandro", "Lorenzo", "Matteo",
           "Marco", "Elena", "Davide", "Martina", "Luca"),
    "de": ("Anna", "Lena", "Laura", "Julia", "Jonas", "Leon", "Felix", "Lukas", "Marie",
           "Paul", "Sophie", "Maximilian"),
    "nl": ("Daan", "Sanne", "Bram", "Femke", "Lotte", "Sem", "Tess", "Lucas", "Emma", "Thijs"),
    "nordic": ("Elsa", "Astrid", "Freja", "Ida", "Oskar", "Lars", "Erik", "Nils", "Maja",
               "Emil", "Karin", "Anders"),
    "pl": ("Zuzanna", "Julia", "Maja", "Jakub", "Antoni", "Kacper", "Aleksandra", "Piotr",
           "Katarzyna", "Tomasz"),
    "el": ("Maria", "Eleni", "Katerina", "Georgios", "Dimitris", "Nikos", "Sofia", "Ioanna",
           "Kostas", "Giannis"),
    "ro": ("Andreea", "Ioana", "Elena", "Maria", "Andrei", "Alexandru", "Mihai", "Ștefan",
           "Ana", "Bogdan"),
    "en": ("Olivia", "Amelia", "Isla", "Jack", "Harry", "Oliver", "Emily", "James", "Grace",
           "Noah", "Chloe", "Liam"),
    "ci": ("Aya", "Adjoua", "Koffi", "Yao", "Amenan", "Serge", "Fanta", "Drissa", "Salimata",
           "Mariam", "Ange", "Brice"),
    "ke": ("Wanjiru", "Achieng", "Njeri", "Amani", "Baraka", "Juma", "Otieno", "Kamau",
           "Neema", "Zawadi", "Thandiwe", "Sipho"),
    "in": ("Aarav", "Priya", "Ananya", "Rohan", "Arjun", "Diya", "Ishaan", "Kavya", "Rahul",
           "Sneha", "Farhana", "Tanvir"),
    "th": ("Somchai", "Niran", "Ploy", "Mali", "Anan", "Kanya", "Chai", "Dao", "Lamai",
           "Arthit"),
    "vi": ("Linh", "Anh", "Minh", "Huong", "Tuan", "Trang", "Duc", "Mai", "Quang", "Thao"),
    "jp": ("Yui", "Haruto", "Sota", "Aoi", "Ren", "Sakura", "Hina", "Yuto", "Mei", "Kaito"),
    "kr": ("Ji-woo", "Seo-yeon", "Min-jun", "Ha-eun", "Do-yun", "Ji-ho", "Su-bin", "Ye-jin",
           "Hyun-woo", "Eun-ji"),
}
MORE_LAST: Mapping[str, Sequence[str]] = {
    "it": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
           "Marino", "Greco", "Bruno", "Gallo"),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Hoffmann", "Schulz", "Koch", "Richter"),
    "nl": ("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit",
           "Meijer", "de Boer", "Mulder"),
    "nordic": ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsen",
               "Nielsen", "Hansen", "Pedersen", "Lindqvist", "Berg", "Holm"),
    "pl": ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński",
           "Lewandowski", "Zieliński", "Szymański", "Woźniak"),
    "el": ("Papadopoulos", "Papadakis", "Georgiou", "Oikonomou", "Nikolaidis", "Vlachos",
           "Antoniou", "Karagiannis", "Dimitriou", "Christodoulou"),
    "ro": ("Popescu", "Ionescu", "Popa", "Dumitru", "Stan", "Stoica", "Gheorghe", "Rusu",
           "Munteanu", "Constantin"),
    "en": ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
           "Murphy", "Walsh", "Campbell", "Clarke"),
    "ci": ("Koné", "Traoré", "Kouassi", "Ouattara", "Coulibaly", "Bamba", "Yao", "Konan",
           "Diabaté", "Touré", "Kouamé", "Diarra"),
    "ke": ("Mwangi", "Otieno", "Kamau", "Odhiambo", "Wanjiku", "Mutua", "Okello", "Nakato",
           "Uwimana", "Haile", "Nkosi", "Dlamini"),
    "in": ("Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Singh", "Nair", "Das", "Chatterjee",
           "Khan", "Rahman", "Hossain"),
    "th": ("Saetang", "Srisuk", "Wongsakul", "Chaiyaporn", "Thongchai", "Rattanakorn",
           "Suksawat", "Kittisak", "Boonmee", "Phrom"),
    "vi": ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu", "Dang", "Bui", "Do"),
    "jp": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura",
           "Kobayashi", "Kato"),
    "kr": ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim"),
}

# Project themes and the SDGs they serve.
THEMES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("Community Compost", (12, 11, 15)), ("Repair Café", (12, 11)), ("Solar Kiosk", (7, 13)),
    ("Urban Farm", (2, 11)), ("Zero-Waste Market", (12, 8)), ("Coding Club", (4, 5, 8)),
    ("Clean Water Point", (6, 3)), ("Bike Workshop", (11, 13)), ("Food Bank", (1, 2)),
    ("Mangrove Restoration", (14, 13, 15)), ("Circular Fashion Lab", (12, 5)),
    ("Youth Mentoring", (4, 10)), ("Refugee Welcome Desk", (10, 16)),
    ("Tree Planting", (15, 13)), ("Plastic Upcycling", (12, 14)),
    ("Energy Cooperative", (7, 11)), ("Women Entrepreneurs Circle", (5, 8)),
    ("Digital Literacy", (4, 10)), ("Seed Library", (2, 15)), ("Rainwater Harvesting", (6, 13)),
    ("Health Outreach", (3, 1)), ("Fair Trade Cooperative", (8, 12, 17)),
)
STAGES = (ProjectStage.IDEA, ProjectStage.LAUNCH, ProjectStage.GROWTH, ProjectStage.SCALE)


def slugify(text: str) -> str:
    """ASCII slug: lowercase letters and digits joined by single hyphens."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(ch if ch.isalnum() else " " for ch in plain).split()
    return "-".join(words)[:70].strip("-")


# -- state shared by steps ---------------------------------------------------------------


@dataclass
class SeedChapter:
    """A generated chapter; `parent` and the lists below index into `LargeSeed.chapters`."""

    id: uuid.UUID
    slug: str
    name: str
    kind: ChapterKind
    parent: int | None
    depth: int
    default_language: str
    languages: tuple[str, ...]
    timezone: str
    country_code: str | None
    city: str | None
    lat: float
    lon: float
    status: ChapterStatus
    created_at: datetime
    names: str = "en"  # people-name pool
    weight: float = 0.0  # share of volunteers living there (leaves only)


@dataclass
class SeedProject:
    id: uuid.UUID
    chapter: int
    owners: tuple[int, ...]
    status: ProjectStatus
    created_at: datetime


@dataclass(frozen=True)
class SeedProgram:
    id: uuid.UUID
    slug: str
    chapter: int  # the organizing chapter
    chapters: tuple[int, ...]  # the chapters taking part, organizer first
    starts_at: datetime
    ends_at: datetime
    share: float  # its part of all enrolments


@dataclass
class LargeSeed:
    """What the steps share: the database, the generator, and everything made so far.

    People, chapters and projects are referred to by their index in the lists below.
    """

    database: Database
    scale: float
    rng: random.Random
    now: datetime
    report: Progress
    plan: LargePlan
    batch_rows: int = BATCH_ROWS
    chapters: list[SeedChapter] = field(default_factory=list)
    people: list[uuid.UUID] = field(default_factory=list)
    person_home: list[int] = field(default_factory=list)
    person_created: list[datetime] = field(default_factory=list)
    residents: dict[int, list[int]] = field(default_factory=dict)  # chapter → people
    organizers: dict[int, list[int]] = field(default_factory=dict)  # chapter → people
    projects: list[SeedProject] = field(default_factory=list)
    programs: list[SeedProgram] = field(default_factory=list)

    def count(self, full: int) -> int:
        """A count at scale 1.0, scaled (never below one)."""
        return scaled(full, self.scale)

    def between(self, start: datetime, end: datetime | None = None) -> datetime:
        """A random instant in [start, end] (end defaults to now), to the second."""
        end = end or self.now
        span = max(0, int((end - start).total_seconds()))
        return start + timedelta(seconds=self.rng.randint(0, span))

    async def write(self, *parts: tuple[sa.Table, Sequence[Row]]) -> None:
        """Insert rows into tables, in order, in one transaction (one executemany per
        `batch_rows` rows)."""
        async with self.database.engine.begin() as conn:
            for table, rows in parts:
                for chunk in _chunks(rows, self.batch_rows):
                    await conn.execute(sa.insert(table), chunk)

    def leaves(self) -> list[int]:
        """Chapters volunteers live in: cities and neighbourhoods."""
        return [i for i, c in enumerate(self.chapters)
                if c.kind in (ChapterKind.CITY, ChapterKind.NEIGHBOURHOOD)]

    def subtree(self, root: int) -> list[int]:
        """The chapter and its descendants (chapters are stored parents first)."""
        inside = {root}
        for i in range(root + 1, len(self.chapters)):
            parent = self.chapters[i].parent
            if parent is not None and parent in inside:
                inside.add(i)
        return sorted(inside)


def _chunks(rows: Sequence[Row], size: int) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def table(name: str) -> sa.Table:
    return metadata.tables[name]


@dataclass(frozen=True)
class SeedStep:
    """One stage of the large seed; `run` may read and extend the shared state."""

    name: str
    run: Callable[[LargeSeed], Awaitable[None]]


# -- chapters ------------------------------------------------------------------------------


def _interleave(regions: Sequence[Region]) -> list[tuple[int, Country]]:
    """Countries in round-robin order over regions, so a small scale still spans regions."""
    out: list[tuple[int, Country]] = []
    depth = max(len(r.countries) for r in regions)
    for k in range(depth):
        for i, region in enumerate(regions):
            if k < len(region.countries):
                out.append((i, region.countries[k]))
    return out


def _town_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(TOWN_HEADS) + rng.choice(TOWN_TAILS)
        if rng.random() < 0.25:
            name = f"{rng.choice(('Saint', 'San', 'Port', 'New', 'Upper', 'Lower'))} {name}"
        if name not in taken:
            taken.add(name)
            return name


def _description(language: str, name: str) -> str:
    template = DESCRIPTIONS.get(language.split("-")[0]) or DESCRIPTIONS["en"]
    return template.format(name=name)


def _contacts(slug: str) -> list[dict[str, Any]]:
    return [
        {"kind": "email", "value": f"{slug}@makesense.example.org", "private": False},
        {"kind": "whatsapp", "value": f"https://chat.example.org/makesense-{slug}",
         "private": True},
    ]


def _build_tree(seed: LargeSeed) -> None:
    """Generate the chapter tree in memory, parents before children."""
    rng, p = seed.rng, seed.plan
    slugs: set[str] = set()

    def unique(slug: str) -> str:
        base, n = slug, 2
        while slug in slugs:
            slug = f"{base}-{n}"
            n += 1
        slugs.add(slug)
        return slug

    def add(chapter: SeedChapter) -> int:
        seed.chapters.append(chapter)
        return len(seed.chapters) - 1

    founded = seed.now - timedelta(days=365 * 12)
    root = add(SeedChapter(
        new_id(), unique("makesense"), "makesense", ChapterKind.NETWORK, None, 0, "en",
        ("en", "fr", "es", "pt", "ar"), "Europe/Paris", None, None, 48.8566, 2.3522,
        ChapterStatus.ACTIVE, founded,
    ))
    regions = REGIONS[: p.regions]
    region_index: list[int] = []
    for region in regions:
        region_index.append(add(SeedChapter(
            new_id(), unique(region.slug), region.name, ChapterKind.REGION, root, 1,
            region.languages[0], region.languages, region.timezone, None, None, region.lat,
            region.lon, ChapterStatus.ACTIVE,
            seed.between(founded, founded + timedelta(days=365 * 3)),
        )))

    countries = _interleave(regions)[: p.countries]
    country_index: list[int] = []
    for r, country in countries:
        parent = seed.chapters[region_index[r]]
        capital = country.cities[0]
        country_index.append(add(SeedChapter(
            new_id(), unique(slugify(country.name) or country.code.lower()), country.name,
            ChapterKind.COUNTRY,
            region_index[r], 2, country.languages[0], country.languages, country.timezone,
            country.code, None, capital.lat, capital.lon, ChapterStatus.ACTIVE,
            seed.between(parent.created_at, parent.created_at + timedelta(days=365 * 2)),
            names=country.names,
        )))

    # Every country gets a city before any gets a second; the rest follow country weights.
    per_country = [0] * len(countries)
    for k in range(min(p.cities, len(countries))):
        per_country[k] += 1
    weights = [c.weight for _, c in countries]
    extra = max(0, p.cities - len(countries))
    for k in rng.choices(range(len(countries)), weights=weights, k=extra):
        per_country[k] += 1

    towns: set[str] = set()
    city_index: list[int] = []
    for k, (_, country) in enumerate(countries):
        parent_i = country_index[k]
        parent = seed.chapters[parent_i]
        for n in range(per_country[k]):
            if n < len(country.cities):
                city, real = country.cities[n], True
            else:
                near = rng.choice(country.cities)
                city = City(
                    _town_name(rng, towns),
                    round(max(-89.0, min(89.0, near.lat + rng.uniform(-0.8, 0.8))), 4),
                    round(((near.lon + rng.uniform(-0.8, 0.8) + 180) % 360) - 180, 4),
                    near.timezone,
                )
                real = False
            slug = slugify(city.name)
            slug = unique(slug if real else f"{slug}-{country.code.lower()}")
            status = ChapterStatus.ACTIVE
            if not real:
                roll = rng.random()
                status = (ChapterStatus.CLOSED if roll < 0.01 else
                          ChapterStatus.DORMANT if roll < 0.07 else ChapterStatus.ACTIVE)
            city_index.append(add(SeedChapter(
                new_id(), slug, city.name, ChapterKind.CITY, parent_i, 3,
                country.languages[0], country.languages, city.timezone or country.timezone,
                country.code, city.name, city.lat, city.lon, status,
                seed.between(parent.created_at), names=country.names,
                weight=country.weight * (12.0 if real else 1.0),
            )))

    hood_cities = rng.choices(
        city_index, weights=[seed.chapters[i].weight for i in city_index], k=p.neighbourhoods
    )
    used: dict[int, int] = {}
    for city_i in hood_cities:
        town = seed.chapters[city_i]
        n = used.get(city_i, 0)
        used[city_i] = n + 1
        quarter = QUARTERS[n % len(QUARTERS)]
        if n >= len(QUARTERS):
            quarter = f"{quarter} {n // len(QUARTERS) + 1}"
        assert town.city is not None
        add(SeedChapter(
            new_id(), unique(f"{town.slug}-{slugify(quarter)}"), f"{town.city} {quarter}",
            ChapterKind.NEIGHBOURHOOD, city_i, 4, town.default_language, town.languages,
            town.timezone, town.country_code, town.city,
            round(town.lat + rng.uniform(-0.05, 0.05), 4),
            round(town.lon + rng.uniform(-0.05, 0.05), 4),
            town.status,
            seed.between(town.created_at), names=town.names, weight=town.weight * 0.3,
        ))


def closure_rows(chapters: Sequence[SeedChapter]) -> list[Row]:
    """One row per (ancestor, descendant) pair, each chapter with itself at depth 0."""
    rows: list[Row] = []
    for chapter in chapters:
        node: SeedChapter | None = chapter
        depth = 0
        while node is not None:
            rows.append({"ancestor_id": node.id, "descendant_id": chapter.id, "depth": depth})
            node = chapters[node.parent] if node.parent is not None else None
            depth += 1
    return rows


async def seed_chapters(seed: LargeSeed) -> None:
    """The chapter tree and its closure table."""
    _build_tree(seed)
    total = len(seed.chapters)
    seed.report("chapters", 0, total)
    rows: list[Row] = []
    for c in seed.chapters:
        parent = seed.chapters[c.parent].id if c.parent is not None else None
        translations: dict[str, dict[str, str]] = {}
        if c.default_language != "en" and c.kind in (ChapterKind.COUNTRY, ChapterKind.CITY):
            translations["en"] = {"description": _description("en", c.name)}
        rows.append({
            "id": c.id, "created_at": c.created_at, "updated_at": c.created_at,
            "slug": c.slug, "name": c.name,
            "description": _description(c.default_language, c.name),
            "default_language": c.default_language, "translations": translations,
            "kind": str(c.kind), "parent_id": parent, "depth": c.depth,
            "country_code": c.country_code, "city": c.city, "timezone": c.timezone,
            "languages": list(c.languages), "latitude": c.lat, "longitude": c.lon,
            "status": str(c.status), "contacts": _contacts(c.slug),
        })
    await seed.write(
        (table("chapter"), rows), (table("chapter_closure"), closure_rows(seed.chapters))
    )
    seed.report("chapters", total, total)


# -- people --------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    return "".join(ch for ch in slugify(text) if ch.isalnum())


def _pool(names: str) -> tuple[Sequence[str], Sequence[str]]:
    if names in MORE_FIRST:
        return MORE_FIRST[names], MORE_LAST[names]
    return FIRST_NAMES[names], LAST_NAMES[names]


async def seed_people(seed: LargeSeed) -> None:
    """People living in cities and neighbourhoods, with skills and causes."""
    rng, total = seed.rng, seed.plan.people
    leaves = seed.leaves()
    homes = rng.choices(leaves, weights=[seed.chapters[i].weight for i in leaves], k=total)
    causes, cause_weights = list(CAUSE_WEIGHTS), list(CAUSE_WEIGHTS.values())
    seed.report("people", 0, total)
    step = seed.batch_rows
    for start in range(0, total, step):
        people: list[Row] = []
        skills: list[Row] = []
        person_causes: list[Row] = []
        for n in range(start, min(total, start + step)):
            home_i = homes[n]
            home = seed.chapters[home_i]
            first_names, last_names = _pool(home.names)
            first, last = rng.choice(first_names), rng.choice(last_names)
            person_id = new_id()
            created = seed.between(home.created_at)
            languages = list(home.languages[:2])
            if "en" not in languages and rng.random() < 0.4:
                languages.append("en")
            email = None
            if rng.random() < 0.15:
                email = f"{_ascii(first)}.{_ascii(last)}.{n}@example.org"
            people.append({
                "id": person_id, "created_at": created, "updated_at": created,
                "display_name": f"{first} {last}", "city": home.city,
                "country_code": home.country_code, "bio": None, "languages": languages,
                "email": email, "phone": None, "home_chapter_id": home.id,
                "open_to_matching": rng.random() < 0.3, "consents": {},
                "created_by_client_id": None, "erased_at": None,
            })
            for skill in rng.sample(SKILLS, k=rng.randint(1, 4)):
                skills.append({"person_id": person_id, "skill": skill})
            picked = rng.choices(causes, weights=cause_weights, k=rng.randint(1, 3))
            for cause in sorted(set(picked)):
                person_causes.append({"person_id": person_id, "cause": cause})
            seed.people.append(person_id)
            seed.person_home.append(home_i)
            seed.person_created.append(created)
            seed.residents.setdefault(home_i, []).append(n)
        await seed.write(
            (table("person"), people),
            (table("person_skill"), skills),
            (table("person_cause"), person_causes),
        )
        seed.report("people", min(total, start + step), total)


# -- memberships ---------------------------------------------------------------------------


def _plan_memberships(seed: LargeSeed) -> dict[tuple[int, int], Role]:
    """Who holds which role where, as (person, chapter) → role."""
    rng = seed.rng
    roles: dict[tuple[int, int], Role] = {}

    def give(person: int, chapter: int, role: Role) -> None:
        key = (person, chapter)
        roles[key] = max(role, roles.get(key, Role.MEMBER))
        if role >= Role.ORGANIZER:
            seed.organizers.setdefault(chapter, []).append(person)

    # Everyone joins their home chapter; each home chapter is run by its first residents.
    for chapter_i, residents in seed.residents.items():
        hood = seed.chapters[chapter_i].kind == ChapterKind.NEIGHBOURHOOD
        lead = Role.ORGANIZER if hood else Role.ADMIN
        organizers = min(len(residents) - 1, 1 + len(residents) // 80)
        for rank, person in enumerate(residents):
            give(person, chapter_i, lead if rank == 0 else
                 Role.ORGANIZER if rank <= organizers else Role.MEMBER)

    # Neighbourhood residents often join their city too; a few people join a second city.
    cities_by_country: dict[str | None, list[int]] = {}
    for i, c in enumerate(seed.chapters):
        if c.kind == ChapterKind.CITY:
            cities_by_country.setdefault(c.country_code, []).append(i)
    for person, home_i in enumerate(seed.person_home):
        home = seed.chapters[home_i]
        if home.kind == ChapterKind.NEIGHBOURHOOD and home.parent is not None:
            if rng.random() < 0.5:
                give(person, home.parent, Role.MEMBER)
        elif rng.random() < 0.05:
            give(person, rng.choice(cities_by_country[home.country_code]), Role.MEMBER)

    # Countries, regions and the network: admins and organizers from their own subtree.
    for i, c in enumerate(seed.chapters):
        if c.kind not in (ChapterKind.NETWORK, ChapterKind.REGION, ChapterKind.COUNTRY):
            continue
        pool = [p for leaf in seed.subtree(i) for p in seed.residents.get(leaf, ())]
        if not pool:
            continue
        admins, organizers = {
            ChapterKind.NETWORK: (2, 4), ChapterKind.REGION: (1, 2), ChapterKind.COUNTRY: (1, 2),
        }[c.kind]
        chosen = rng.sample(pool, k=min(len(pool), admins + organizers))
        for rank, person in enumerate(chosen):
            give(person, i, Role.ADMIN if rank < admins else Role.ORGANIZER)
    return roles


async def seed_memberships(seed: LargeSeed) -> None:
    roles = _plan_memberships(seed)
    total = len(roles)
    seed.report("memberships", 0, total)
    rows: list[Row] = []
    done = 0
    for (person, chapter), role in roles.items():
        created = seed.between(max(seed.person_created[person], seed.chapters[chapter].created_at))
        rows.append({
            "id": new_id(), "created_at": created, "updated_at": created,
            "person_id": seed.people[person], "chapter_id": seed.chapters[chapter].id,
            "role": int(role),
        })
        if len(rows) == seed.batch_rows * 2:
            await seed.write((table("membership"), rows))
            done += len(rows)
            seed.report("memberships", done, total)
            rows = []
    await seed.write((table("membership"), rows))
    seed.report("memberships", total, total)


# -- projects ------------------------------------------------------------------------------


async def seed_projects(seed: LargeSeed) -> None:
    """Projects in cities and neighbourhoods, owned by residents, with needs; published and
    archived ones have contributions from other residents of the same chapter."""
    rng, total = seed.rng, seed.plan.projects
    homes = [i for i in seed.leaves() if seed.residents.get(i)]
    weights = [len(seed.residents[i]) for i in homes]
    chosen = rng.choices(homes, weights=weights, k=total)
    statuses = (ProjectStatus.PUBLISHED, ProjectStatus.DRAFT, ProjectStatus.ARCHIVED)
    seed.report("projects", 0, total)
    step = max(1, seed.batch_rows // 4)
    for start in range(0, total, step):
        projects: list[Row] = []
        owners: list[Row] = []
        causes: list[Row] = []
        needs: list[Row] = []
        contributions: list[Row] = []
        for n in range(start, min(total, start + step)):
            chapter_i = chosen[n]
            chapter = seed.chapters[chapter_i]
            residents = seed.residents[chapter_i]
            theme, theme_causes = rng.choice(THEMES)
            status = rng.choices(statuses, weights=(70, 20, 10))[0]
            owner_people = tuple(rng.sample(residents, k=min(len(residents), rng.randint(1, 2))))
            project_id = new_id()
            earliest = max(seed.person_created[o] for o in owner_people)
            created = seed.between(earliest)
            title = f"{theme} {chapter.city or chapter.name}"
            projects.append({
                "id": project_id, "created_at": created, "updated_at": created,
                "slug": f"{slugify(title)[:60].strip('-')}-{n + 1}", "title": title,
                "description": f"{theme}: a citizen project of the {chapter.name} chapter.",
                "default_language": "en", "translations": {}, "home_chapter_id": chapter.id,
                "stage": str(rng.choice(STAGES)), "status": str(status),
            })
            seed.projects.append(SeedProject(project_id, chapter_i, owner_people, status, created))
            for o in owner_people:
                owners.append({"project_id": project_id, "person_id": seed.people[o]})
            extra = rng.choices(list(CAUSE_WEIGHTS), weights=list(CAUSE_WEIGHTS.values()))[0]
            for cause in sorted({*theme_causes, extra}):
                causes.append({"project_id": project_id, "cause": cause})
            for skill in rng.sample(SKILLS, k=rng.randint(1, 5)):
                filled = status == ProjectStatus.ARCHIVED or (
                    status == ProjectStatus.PUBLISHED and rng.random() < 0.35
                )
                need_id = new_id()
                need_created = seed.between(created)
                needs.append({
                    "id": need_id, "created_at": need_created, "updated_at": need_created,
                    "project_id": project_id, "skill": skill,
                    "title": f"Help with {skill.replace('-', ' ')}", "description": None,
                    "status": str(NeedStatus.FILLED if filled else NeedStatus.OPEN),
                })
                if status == ProjectStatus.DRAFT:
                    continue
                plan_ = contribution_plan(rng, filled, status == ProjectStatus.ARCHIVED)
                # Distinct residents who do not own the project, at most one per need.
                drawn = rng.sample(residents, k=min(len(residents), len(plan_) + 2))
                helpers = [r for r in drawn if r not in owner_people][: len(plan_)]
                for (c_status, hours), helper in zip(plan_, helpers, strict=False):
                    when = seed.between(max(need_created, seed.person_created[helper]))
                    contributions.append({
                        "id": new_id(), "created_at": when, "updated_at": when,
                        "need_id": need_id, "person_id": seed.people[helper],
                        "status": str(c_status), "message": None, "hours": hours,
                        "answered_at": when if c_status in ANSWERED else None,
                    })
        await seed.write(
            (table("project"), projects),
            (table("project_owner"), owners),
            (table("project_cause"), causes),
            (table("need"), needs),
            (table("contribution"), contributions),
        )
        seed.report("projects", min(total, start + step), total)


# -- partners ------------------------------------------------------------------------------


async def seed_partners(seed: LargeSeed) -> None:
    """One partner organisation per region, granted read scopes on that region."""
    regions = [i for i, c in enumerate(seed.chapters) if c.kind == ChapterKind.REGION]
    seed.report("partners", 0, len(regions))
    partners: list[Row] = []
    grants: list[Row] = []
    for i in regions:
        region = seed.chapters[i]
        partner_id = new_id()
        created = seed.between(region.created_at)
        partners.append({
            "id": partner_id, "created_at": created, "updated_at": created,
            "slug": f"{region.slug}-impact-partners", "name": f"{region.name} Impact Partners",
            "website": f"https://{region.slug}-impact.example.org", "active": True,
        })
        # A region's first organizer is its admin (see _plan_memberships).
        admins = seed.organizers.get(i, [])
        for scope in (Scope.CHAPTERS_READ, Scope.EVENTS_READ, Scope.PROJECTS_READ,
                      Scope.IMPACT_READ):
            grants.append({
                "id": new_id(), "created_at": created, "updated_at": created,
                "partner_id": partner_id, "chapter_id": region.id, "scope": str(scope),
                "granted_by_id": seed.people[admins[0]] if admins else None,
            })
    await seed.write((table("partner_organisation"), partners), (table("partner_grant"), grants))
    seed.report("partners", len(regions), len(regions))


# -- running -------------------------------------------------------------------------------

STEPS: list[SeedStep] = [
    SeedStep("chapters", seed_chapters),
    SeedStep("people", seed_people),
    SeedStep("memberships", seed_memberships),
    SeedStep("partners", seed_partners),
    SeedStep("projects", seed_projects),
]


def register_step(step: SeedStep, *, before: str | None = None) -> None:
    """Add a step to every later `seed_large` run (at the end, or before the named step).

    Registering a step of the same name again replaces it.
    """
    for i, existing in enumerate(STEPS):
        if existing.name == step.name:
            STEPS[i] = step
            return
    if before is None:
        STEPS.append(step)
        return
    names = [s.name for s in STEPS]
    STEPS.insert(names.index(before), step)


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


async def seed_large(
    database: Database,
    *,
    scale: float = 1.0,
    progress: Progress | None = None,
    steps: Iterable[SeedStep] | None = None,
) -> None:
    """Bulk-load a large synthetic network into an empty, migrated database.

    `scale` multiplies every count (1.0 gives about 2,000 chapters and 200,000 people).
    `progress(stage, done, total)` is called as each stage advances. `steps` replaces the
    registered steps (see `STEPS` and `register_step`). Each batch commits on its own, so
    an interrupted run leaves a partial network behind: reset the database to start over.
    """
    seed = LargeSeed(
        database=database,
        scale=scale,
        rng=random.Random(LARGE_RANDOM_SEED),  # noqa: S311 (reproducible data, not secrets)
        now=utcnow().replace(microsecond=0),
        report=progress or _quiet,
        plan=plan(scale),
    )
    async with database.engine.connect() as conn:
        existing = (await conn.execute(sa.select(table("chapter").c.id).limit(1))).first()
    if existing is not None:
        raise RuntimeError("the database already holds chapters; seed an empty database")
    for step in list(steps if steps is not None else STEPS):
        await step.run(seed)
    async with database.sessionmaker() as session:  # the rows above bypassed the services
        await rollup.rebuild(session)
        await session.commit()
