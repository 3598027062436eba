"""A realistic demo network: the data a first run shows.

Thirty chapters on five continents (network → region → country → city, with two Paris
neighbourhoods), 150 volunteers with multilingual names, every membership role, two partner
organisations with grants on a subtree, twenty projects with needs and contributions, and
their activity (`seed.activity`): events past and upcoming with registrations and check-ins, a
weekly series across a daylight-saving change, two programs with enrolments, and goals.

Everything is deterministic: a fixed random seed drives every choice, so slugs, names and the
shape of the data are the same on every run (only ids and timestamps differ); event dates are
placed relative to the day the seed runs. Chapters and people go through their services (the
chapter closure table depends on it); partners and projects are plain rows that keep the same
invariants as their services.

Personal data is fictitious: e-mail addresses use example.org, and the only phone numbers are
in the unassigned French range +33 6 00 00 00 xx.
"""

import random
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Scope
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter, ChapterKind
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.impact import rollup
from makesense_api.kit import clock
from makesense_api.partners.models import PartnerGrant, PartnerOrganisation
from makesense_api.people import service as people
from makesense_api.people.models import Role
from makesense_api.people.schemas import PersonCreate
from makesense_api.projects.models import (
    Contribution,
    ContributionStatus,
    Need,
    NeedStatus,
    Project,
    ProjectCause,
    ProjectOwner,
    ProjectStage,
    ProjectStatus,
)
from makesense_api.seed.activity import Network, seed_activity

DEMO_RANDOM_SEED = 2031
ROOT_SLUG = "makesense"


@dataclass(frozen=True)
class DemoSummary:
    """How many rows of each kind the demo seed created."""

    chapters: int
    people: int
    memberships: int
    partners: int
    grants: int
    projects: int
    needs: int
    contributions: int
    events: int
    series: int
    registrations: int
    programs: int
    enrolments: int
    goals: int


async def has_data(session: AsyncSession) -> bool:
    """Whether the database already holds a chapter (then the demo seed is skipped)."""
    found = (await session.exec(select(Chapter.id).limit(1))).first()
    return found is not None


# -- chapters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    slug: str
    name: str
    kind: ChapterKind
    parent: str | None
    timezone: str
    default_language: str
    languages: tuple[str, ...]
    country_code: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    description: str | None = None
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    people: int = 0  # volunteers whose home chapter this is
    names: str = ""  # the name pool their names come from


NETWORK, REGION, COUNTRY, CITY, HOOD = (
    ChapterKind.NETWORK,
    ChapterKind.REGION,
    ChapterKind.COUNTRY,
    ChapterKind.CITY,
    ChapterKind.NEIGHBOURHOOD,
)

PLACES: tuple[_Place, ...] = (
    _Place(
        ROOT_SLUG, "makesense", NETWORK, None, "Europe/Paris", "en",
        ("en", "fr", "es", "pt", "ar"), lat=48.8566, lon=2.3522,
        description=(
            "A worldwide community of citizens, entrepreneurs and organisations who act "
            "together for social and environmental change."
        ),
        translations={
            "fr": {"description": "Une communauté mondiale de citoyens, d'entrepreneurs et "
                                  "d'organisations qui agissent ensemble pour un changement "
                                  "social et environnemental."},
            "es": {"description": "Una comunidad mundial de ciudadanos, emprendedores y "
                                  "organizaciones que actúan juntos por el cambio social y "
                                  "ambiental."},
            "pt": {"description": "Uma comunidade mundial de cidadãos, empreendedores e "
                                  "organizações que agem juntos pela mudança social e "
                                  "ambiental."},
            "ar": {"description": "مجتمع عالمي من المواطنين ورواد الأعمال والمنظمات يعملون "
                                  "معًا من أجل التغيير الاجتماعي والبيئي."},
        },
    ),
    # Europe
    _Place(
        "europe", "Europe", REGION, ROOT_SLUG, "Europe/Paris", "en", ("en", "fr", "es"),
        lat=48.8566, lon=2.3522,
        translations={"fr": {"name": "Europe"}, "es": {"name": "Europa"}},
    ),
    _Place(
        "france", "France", COUNTRY, "europe", "Europe/Paris", "fr", ("fr",), "FR",
        lat=46.6034, lon=1.8883,
        description="Les chapitres makesense en France.",
        translations={"en": {"description": "The makesense chapters in France."}},
    ),
    _Place(
        "paris", "Paris", CITY, "france", "Europe/Paris", "fr", ("fr", "en"), "FR", "Paris",
        48.8566, 2.3522,
        description="Ateliers, hackathons citoyens et mobilisations pour les entrepreneurs "
                    "sociaux d'Île-de-France.",
        translations={"en": {"description": "Workshops, citizen hackathons and mobilisations "
                                             "for social entrepreneurs around Paris."}},
        people=16, names="fr",
    ),
    _Place(
        "paris-belleville", "Paris Belleville", HOOD, "paris", "Europe/Paris", "fr", ("fr",),
        "FR", "Paris", 48.8722, 2.3767,
        description="Le groupe de quartier de Belleville : repair cafés et apéros solidaires.",
        people=6, names="fr",
    ),
    _Place(
        "paris-goutte-d-or", "Paris Goutte d'Or", HOOD, "paris", "Europe/Paris", "fr",
        ("fr", "ar"), "FR", "Paris", 48.8852, 2.3537,
        description="Jardins partagés et cuisine solidaire à la Goutte d'Or.",
        people=4, names="fr",
    ),
    _Place(
        "lyon", "Lyon", CITY, "france", "Europe/Paris", "fr", ("fr",), "FR", "Lyon",
        45.7640, 4.8357, people=12, names="fr",
    ),
    _Place(
        "spain", "España", COUNTRY, "europe", "Europe/Madrid", "es", ("es", "ca"), "ES",
        lat=40.4637, lon=-3.7492, translations={"en": {"name": "Spain"}, "fr": {"name": "Espagne"}},
    ),
    _Place(
        "madrid", "Madrid", CITY, "spain", "Europe/Madrid", "es", ("es",), "ES", "Madrid",
        40.4168, -3.7038,
        description="Emprendimiento social y voluntariado ciudadano en Madrid.",
        people=12, names="es",
    ),
    _Place(
        "barcelona", "Barcelona", CITY, "spain", "Europe/Madrid", "ca", ("ca", "es", "en"),
        "ES", "Barcelona", 41.3874, 2.1686,
        description="Comunitat ciutadana per a l'emprenedoria social a Barcelona.",
        translations={"es": {"description": "Comunidad ciudadana para el emprendimiento "
                                            "social en Barcelona."}},
        people=10, names="ca",
    ),
    # Africa
    _Place(
        "africa", "Africa", REGION, ROOT_SLUG, "Africa/Lagos", "en", ("en", "fr"),
        lat=9.0820, lon=8.6753, translations={"fr": {"name": "Afrique"}},
    ),
    _Place(
        "senegal", "Sénégal", COUNTRY, "africa", "Africa/Dakar", "fr", ("fr", "wo"), "SN",
        lat=14.4974, lon=-14.4524, translations={"en": {"name": "Senegal"}},
    ),
    _Place(
        "dakar", "Dakar", CITY, "senegal", "Africa/Dakar", "fr", ("fr", "wo"), "SN", "Dakar",
        14.7167, -17.4677,
        description="Le chapitre de Dakar accompagne les entrepreneurs de l'économie "
                    "circulaire et de la santé.",
        translations={"en": {"description": "The Dakar chapter supports circular-economy "
                                             "and health entrepreneurs."}},
        people=12, names="sn",
    ),
    _Place(
        "nigeria", "Nigeria", COUNTRY, "africa", "Africa/Lagos", "en", ("en", "yo", "ig", "ha"),
        "NG", lat=9.0820, lon=8.6753,
    ),
    _Place(
        "lagos", "Lagos", CITY, "nigeria", "Africa/Lagos", "en", ("en", "yo"), "NG", "Lagos",
        6.5244, 3.3792,
        description="Tech for good, e-waste and girls' education in Lagos.",
        people=12, names="ng",
    ),
    # Middle East and North Africa
    _Place(
        "mena", "Middle East & North Africa", REGION, ROOT_SLUG, "Africa/Casablanca", "en",
        ("en", "ar", "fr"), lat=33.8938, lon=35.5018,
        translations={
            "fr": {"name": "Moyen-Orient et Afrique du Nord"},
            "ar": {"name": "الشرق الأوسط وشمال أفريقيا"},
        },
    ),
    _Place(
        "morocco", "Maroc", COUNTRY, "mena", "Africa/Casablanca", "fr", ("ar", "fr"), "MA",
        lat=31.7917, lon=-7.0926,
        translations={"ar": {"name": "المغرب"}, "en": {"name": "Morocco"}},
    ),
    _Place(
        "casablanca", "Casablanca", CITY, "morocco", "Africa/Casablanca", "fr", ("fr", "ar"),
        "MA", "Casablanca", 33.5731, -7.5898,
        description="Économie circulaire et inclusion des jeunes à Casablanca.",
        translations={
            "ar": {"name": "الدار البيضاء",
                   "description": "الاقتصاد الدائري وإدماج الشباب في الدار البيضاء."},
            "en": {"description": "Circular economy and youth inclusion in Casablanca."},
        },
        people=10, names="ma",
    ),
    _Place(
        "lebanon", "Lebanon", COUNTRY, "mena", "Asia/Beirut", "en", ("ar", "fr", "en"), "LB",
        lat=33.8547, lon=35.8623, translations={"ar": {"name": "لبنان"}, "fr": {"name": "Liban"}},
    ),
    _Place(
        "beirut", "Beirut", CITY, "lebanon", "Asia/Beirut", "en", ("ar", "en", "fr"), "LB",
        "Beirut", 33.8938, 35.5018,
        description="Solar energy, education and neighbourhood solidarity in Beirut.",
        translations={"ar": {"name": "بيروت"}, "fr": {"name": "Beyrouth"}},
        people=10, names="lb",
    ),
    # Latin America
    _Place(
        "latin-america", "América Latina", REGION, ROOT_SLUG, "America/Sao_Paulo", "es",
        ("es", "pt"), lat=-14.2350, lon=-51.9253,
        translations={"en": {"name": "Latin America"}, "pt": {"name": "América Latina"}},
    ),
    _Place(
        "brazil", "Brasil", COUNTRY, "latin-america", "America/Sao_Paulo", "pt-BR", ("pt-BR",),
        "BR", lat=-14.2350, lon=-51.9253, translations={"en": {"name": "Brazil"}},
    ),
    _Place(
        "sao-paulo", "São Paulo", CITY, "brazil", "America/Sao_Paulo", "pt-BR", ("pt-BR",),
        "BR", "São Paulo", -23.5505, -46.6333,
        description="Mobilização cidadã para negócios de impacto em São Paulo.",
        translations={"en": {"description": "Citizen mobilisation for impact businesses "
                                             "in São Paulo."}},
        people=12, names="br",
    ),
    _Place(
        "mexico", "México", COUNTRY, "latin-america", "America/Mexico_City", "es", ("es",),
        "MX", lat=23.6345, lon=-102.5528, translations={"en": {"name": "Mexico"}},
    ),
    _Place(
        "mexico-city", "Ciudad de México", CITY, "mexico", "America/Mexico_City", "es",
        ("es", "en"), "MX", "Ciudad de México", 19.4326, -99.1332,
        description="Agua, alimentación local y emprendimiento social en la CDMX.",
        translations={"en": {"name": "Mexico City"}},
        people=12, names="mx",
    ),
    # Asia
    _Place(
        "asia", "Asia", REGION, ROOT_SLUG, "Asia/Manila", "en", ("en",),
        lat=14.5995, lon=120.9842,
    ),
    _Place(
        "philippines", "Philippines", COUNTRY, "asia", "Asia/Manila", "en", ("en", "fil"),
        "PH", lat=12.8797, lon=121.7740, translations={"fil": {"name": "Pilipinas"}},
    ),
    _Place(
        "manila", "Manila", CITY, "philippines", "Asia/Manila", "en", ("en", "fil"), "PH",
        "Manila", 14.5995, 120.9842,
        description="Coastal protection and zero-waste communities in Metro Manila.",
        translations={"fil": {"name": "Maynila"}},
        people=12, names="ph",
    ),
    _Place(
        "indonesia", "Indonesia", COUNTRY, "asia", "Asia/Jakarta", "id", ("id", "en"), "ID",
        lat=-0.7893, lon=113.9213,
    ),
    _Place(
        "jakarta", "Jakarta", CITY, "indonesia", "Asia/Jakarta", "id", ("id", "en"), "ID",
        "Jakarta", -6.2088, 106.8456,
        description="Pengelolaan sampah dan ekonomi sirkular di Jakarta.",
        translations={"en": {"description": "Waste management and the circular economy "
                                             "in Jakarta."}},
        people=10, names="id",
    ),
)


def _contacts(place: _Place) -> list[dict[str, Any]]:
    """Public e-mail; member-only WhatsApp group and video room."""
    return [
        {"kind": "email", "value": f"{place.slug}@makesense.example.org", "private": False},
        {"kind": "whatsapp", "value": f"https://chat.example.org/makesense-{place.slug}",
         "private": True},
        {"kind": "video", "value": f"https://meet.example.org/makesense-{place.slug}",
         "private": True},
    ]


def _chapter_input(place: _Place, parent_id: uuid.UUID | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": place.slug,
        "name": place.name,
        "description": place.description,
        "default_language": place.default_language,
        "translations": {tag: dict(values) for tag, values in place.translations.items()},
        "kind": place.kind,
        "country_code": place.country_code,
        "city": place.city,
        "timezone": place.timezone,
        "languages": list(place.languages),
        "latitude": place.lat,
        "longitude": place.lon,
        "contacts": _contacts(place),
    }
    if parent_id is not None:
        data["parent_id"] = parent_id
    return data


# -- people --------------------------------------------------------------------------------

FIRST_NAMES: Mapping[str, Sequence[str]] = {
    "fr": ("Camille", "Léa", "Manon", "Chloé", "Inès", "Hugo", "Lucas", "Louis", "Théo",
           "Nathan", "Jeanne", "Sarah", "Julien", "Mathilde", "Antoine", "Yasmine", "Karim"),
    "es": ("Lucía", "Martina", "María", "Paula", "Alba", "Pablo", "Daniel", "Javier",
           "Álvaro", "Carmen", "Nerea", "Sergio", "Irene", "Diego"),
    "ca": ("Jordi", "Montserrat", "Núria", "Pau", "Marc", "Laia", "Arnau", "Mireia", "Oriol",
           "Queralt", "Marta", "Pol"),
    "sn": ("Aminata", "Fatou", "Awa", "Mariama", "Khady", "Moussa", "Ousmane", "Mamadou",
           "Cheikh", "Ibrahima", "Abdoulaye", "Astou"),
    "ng": ("Chinedu", "Ngozi", "Adaeze", "Emeka", "Tunde", "Folake", "Bisi", "Yusuf", "Aisha",
           "Ifeoma", "Oluwaseun", "Kelechi"),
    "ma": ("Youssef", "Salma", "Imane", "Mehdi", "Hamza", "Khadija", "Omar", "Nadia",
           "Soukaina", "Amine", "Hajar", "Karim"),
    "lb": ("Rami", "Maya", "Nour", "Karim", "Lara", "Hadi", "Rana", "Ziad", "Yasmine",
           "Tarek", "Joelle", "Ali"),
    "br": ("João", "Ana", "Beatriz", "Lucas", "Gabriel", "Mariana", "Rafael", "Juliana",
           "Pedro", "Larissa", "Thiago", "Camila"),
    "mx": ("Sofía", "Valentina", "Ximena", "Diego", "Santiago", "Mateo", "Regina",
           "Emiliano", "Fernanda", "Andrés", "Guadalupe", "Luis"),
    "ph": ("Maria", "Jose", "Angelica", "Mark", "Kristine", "Paolo", "Bea", "Carlo", "Joy",
           "Miguel", "Patricia", "Rafael"),
    "id": ("Putri", "Dewi", "Siti", "Ayu", "Budi", "Agus", "Rizky", "Andi", "Fajar", "Nurul",
           "Indah", "Bayu"),
}

LAST_NAMES: Mapping[str, Sequence[str]] = {
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy",
           "Moreau", "Laurent", "Lefebvre", "Garnier", "Fontaine", "Rousseau", "Mercier",
           "Benali", "Traoré"),
    "es": ("García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz",
           "Díaz", "Moreno", "Navarro", "Torres"),
    "ca": ("Puig", "Vila", "Soler", "Ferrer", "Serra", "Roca", "Font", "Casals", "Pujol",
           "Bosch", "Camps", "Riera"),
    "sn": ("Diop", "Ndiaye", "Fall", "Sow", "Diallo", "Sarr", "Gueye", "Faye", "Ba", "Mbaye",
           "Seck", "Cissé"),
    "ng": ("Okafor", "Adeyemi", "Bakare", "Okonkwo", "Eze", "Balogun", "Olawale", "Nwosu",
           "Abubakar", "Ogunleye", "Afolabi", "Obi"),
    "ma": ("El Amrani", "Benali", "Alaoui", "Bennani", "Tazi", "El Idrissi", "Berrada",
           "Chraibi", "Lahlou", "Ouazzani", "Filali", "Sqalli"),
    "lb": ("Haddad", "Khoury", "Nassar", "Saad", "Aoun", "Frem", "Chami", "Hajj", "Mansour",
           "Salameh", "Karam", "Daher"),
    "br": ("Silva", "Souza", "Oliveira", "Santos", "Pereira", "Costa", "Rodrigues", "Almeida",
           "Nascimento", "Lima", "Araújo", "Ferreira"),
    "mx": ("Hernández", "García", "Martínez", "López", "González", "Rodríguez", "Ramírez",
           "Flores", "Cruz", "Morales", "Reyes", "Vázquez"),
    "ph": ("Santos", "Reyes", "Cruz", "Bautista", "Ocampo", "Garcia", "Mendoza", "Torres",
           "Villanueva", "Castillo", "Dela Cruz", "Aquino"),
    "id": ("Santoso", "Wijaya", "Saputra", "Hidayat", "Kusuma", "Pratama", "Nugroho",
           "Setiawan", "Lestari", "Susanto", "Halim", "Gunawan"),
}

SKILLS: tuple[str, ...] = (
    "web-design", "fundraising", "legal", "communication", "facilitation", "accounting",
    "translation", "photography", "data-analysis", "social-media", "project-management",
    "graphic-design", "video-editing", "event-planning", "mentoring", "software-development",
    "marketing", "community-management", "urban-gardening", "copywriting",
)

# The SDGs volunteers pick most often come first and are drawn more often.
CAUSE_WEIGHTS: Mapping[int, int] = {
    13: 9, 12: 8, 11: 7, 4: 6, 5: 5, 10: 5, 3: 4, 2: 4, 1: 4, 14: 3, 15: 3, 8: 3, 6: 2,
    7: 2, 16: 2, 17: 2, 9: 1,
}

BIOS: Mapping[str, Sequence[str]] = {
    "fr": ("Bénévole depuis {year}, j'aime faciliter des ateliers.",
           "Curieuse de tout ce qui touche à l'économie circulaire.",
           "Je donne un coup de main aux projets de mon quartier."),
    "es": ("Voluntaria desde {year}, me encanta organizar talleres.",
           "Me interesa la economía circular y la alimentación local."),
    "ca": ("Voluntari des de {year}, m'agrada dinamitzar tallers.",),
    "pt-BR": ("Voluntária desde {year}, adoro facilitar oficinas.",
              "Apaixonada por moda circular e hortas urbanas."),
    "ar": ("متطوع منذ {year}، أحب تنظيم ورش العمل.",),
    "en": ("Volunteering since {year}; I love running workshops.",
           "Keen on the circular economy and community energy.",
           "Happy to help local entrepreneurs with my skills."),
    "id": ("Relawan sejak {year}, senang membantu komunitas.",),
}


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum() or ch == " ").replace(" ", "")


@dataclass
class _Volunteer:
    id: uuid.UUID
    place: _Place
    index: int  # rank within the home chapter: 0 runs it, 1-2 organize


class _PeopleMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names: set[str] = set()
        self.emails: set[str] = set()
        self.phones = 0

    def person(self, place: _Place) -> PersonCreate:
        rng = self.rng
        while True:
            first = rng.choice(FIRST_NAMES[place.names])
            last = rng.choice(LAST_NAMES[place.names])
            display = f"{first} {last}"
            if display not in self.names:
                self.names.add(display)
                break
        languages = list(place.languages[:2])
        if "en" not in languages and rng.random() < 0.5:
            languages.append("en")
        causes: set[int] = set()
        for _ in range(rng.randint(1, 4)):
            causes.add(rng.choices(list(CAUSE_WEIGHTS), weights=list(CAUSE_WEIGHTS.values()))[0])
        email = None
        if rng.random() < 0.25:
            email = f"{_ascii(first)}.{_ascii(last)}@example.org"
            if email in self.emails:
                email = email.replace("@", f".{len(self.emails)}@")
            self.emails.add(email)
        phone = None
        if place.country_code == "FR" and rng.random() < 0.3:
            self.phones += 1
            phone = f"+33 6 00 00 00 {self.phones:02d}"
        bio = None
        if rng.random() < 0.4:
            pool = BIOS.get(place.default_language) or BIOS["en"]
            bio = rng.choice(pool).format(year=rng.randint(2014, 2025))
        return PersonCreate(
            display_name=display,
            city=place.city,
            country_code=place.country_code,
            bio=bio,
            languages=languages,
            skills=rng.sample(SKILLS, k=rng.randint(1, 4)),
            causes=sorted(causes),
            email=email,
            phone=phone,
            open_to_matching=rng.random() < 0.4,
        )


# -- partners ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Partner:
    slug: str
    name: str
    website: str
    chapter: str  # the subtree its grants cover
    scopes: tuple[str, ...]


PARTNERS: tuple[_Partner, ...] = (
    _Partner(
        "terra-impact-fund", "Terra Impact Fund", "https://terra-impact.example.org", "europe",
        (Scope.CHAPTERS_READ, Scope.EVENTS_READ, Scope.PROJECTS_READ, Scope.IMPACT_READ),
    ),
    _Partner(
        "mobilise-chat", "Mobilise Chat", "https://mobilise-chat.example.org", "africa",
        (Scope.CHAPTERS_READ, Scope.EVENTS_READ, Scope.REGISTRATIONS_WRITE, Scope.PEOPLE_WRITE),
    ),
)


# -- projects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Need:
    skill: str
    title: str
    description: str | None = None
    filled: bool = False


@dataclass(frozen=True)
class _Project:
    slug: str
    chapter: str
    title: str
    description: str
    language: str
    stage: ProjectStage
    status: ProjectStatus
    causes: tuple[int, ...]
    needs: tuple[_Need, ...]
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


IDEA, LAUNCH, GROWTH, SCALE = (
    ProjectStage.IDEA, ProjectStage.LAUNCH, ProjectStage.GROWTH, ProjectStage.SCALE,
)
DRAFT, PUBLISHED, ARCHIVED = ProjectStatus.DRAFT, ProjectStatus.PUBLISHED, ProjectStatus.ARCHIVED

PROJECTS: tuple[_Project, ...] = (
    _Project(
        "la-cantine-zero-dechet", "paris", "La Cantine Zéro Déchet",
        "Une cantine de quartier qui cuisine les invendus des marchés parisiens.", "fr",
        LAUNCH, PUBLISHED, (12, 2),
        (_Need("communication", "Raconter le projet sur les réseaux"),
         _Need("accounting", "Mettre en place la comptabilité", filled=True),
         _Need("photography", "Photos des plats et de l'équipe")),
        {"en": {"title": "The Zero-Waste Canteen",
                "description": "A neighbourhood canteen cooking unsold food from Paris "
                               "markets."}},
    ),
    _Project(
        "repair-cafe-belleville", "paris-belleville", "Repair Café Belleville",
        "Chaque samedi, des bénévoles réparent avec les habitants plutôt que jeter.", "fr",
        GROWTH, PUBLISHED, (12, 11),
        (_Need("facilitation", "Animer l'accueil du samedi", filled=True),
         _Need("social-media", "Tenir le compte Instagram")),
    ),
    _Project(
        "jardin-partage-goutte-d-or", "paris-goutte-d-or", "Jardin partagé de la Goutte d'Or",
        "Transformer une friche en jardin nourricier ouvert aux habitants.", "fr",
        IDEA, DRAFT, (11, 15, 2),
        (_Need("urban-gardening", "Concevoir les premières parcelles"),),
    ),
    _Project(
        "velo-solidaire-lyon", "lyon", "Vélo Solidaire",
        "Des vélos reconditionnés prêtés aux personnes en insertion professionnelle.", "fr",
        GROWTH, PUBLISHED, (11, 13, 10),
        (_Need("fundraising", "Trouver des mécènes locaux"),
         _Need("web-design", "Refaire le site de réservation", filled=True)),
    ),
    _Project(
        "ateliers-numeriques-seniors", "lyon", "Ateliers numériques pour seniors",
        "Des ateliers pour que les personnes âgées gardent le lien grâce au numérique.", "fr",
        LAUNCH, ARCHIVED, (4, 10),
        (_Need("facilitation", "Co-animer les ateliers", filled=True),),
    ),
    _Project(
        "huertos-urbanos-madrid", "madrid", "Huertos Urbanos Solidarios",
        "Huertos comunitarios en azoteas que abastecen a comedores sociales.", "es",
        LAUNCH, PUBLISHED, (2, 11),
        (_Need("urban-gardening", "Diseñar el sistema de riego"),
         _Need("communication", "Campaña de voluntariado", filled=True),
         _Need("legal", "Convenio con el ayuntamiento")),
    ),
    _Project(
        "energia-comunitaria-bcn", "barcelona", "Energia Comunitària",
        "Cooperativa de veïns que instal·la plaques solars als terrats del barri.", "ca",
        SCALE, PUBLISHED, (7, 13),
        (_Need("data-analysis", "Analitzar la producció de les instal·lacions", filled=True),
         _Need("legal", "Estatuts de la cooperativa")),
        {"es": {"title": "Energía Comunitaria",
                "description": "Cooperativa vecinal que instala placas solares en las "
                               "azoteas del barrio."},
         "en": {"title": "Community Energy"}},
    ),
    _Project(
        "set-setal-plastique", "dakar", "Set Setal Plastique",
        "Collecte et recyclage des déchets plastiques en pavés pour les quartiers.", "fr",
        GROWTH, PUBLISHED, (12, 14, 11),
        (_Need("project-management", "Coordonner les points de collecte", filled=True),
         _Need("video-editing", "Film de présentation"),
         _Need("fundraising", "Dossier pour un fonds d'amorçage")),
    ),
    _Project(
        "couveuses-solaires", "dakar", "Couveuses Solaires",
        "Des couveuses néonatales alimentées par l'énergie solaire pour les centres de "
        "santé ruraux.", "fr",
        IDEA, DRAFT, (3, 7),
        (_Need("software-development", "Prototype de suivi de température"),),
    ),
    _Project(
        "lagos-e-waste-hub", "lagos", "E-Waste Hub Lagos",
        "Collecting, repairing and safely recycling electronics in Lagos.", "en",
        LAUNCH, PUBLISHED, (12, 8),
        (_Need("marketing", "Partnerships with phone shops"),
         _Need("data-analysis", "Map collection volumes", filled=True)),
    ),
    _Project(
        "code-for-girls-lagos", "lagos", "Code for Girls Lagos",
        "Weekend coding bootcamps for secondary-school girls.", "en",
        GROWTH, PUBLISHED, (4, 5),
        (_Need("mentoring", "Mentor a bootcamp cohort", filled=True),
         _Need("software-development", "Build the course platform"),
         _Need("fundraising", "Laptop donation drive")),
    ),
    _Project(
        "souk-circulaire", "casablanca", "Souk Circulaire",
        "Un marché mensuel de seconde main et de réparation à Casablanca.", "fr",
        LAUNCH, PUBLISHED, (12, 8),
        (_Need("event-planning", "Organiser le prochain souk"),
         _Need("translation", "Traduire les supports en arabe", filled=True)),
        {"ar": {"title": "السوق الدائري"}},
    ),
    _Project(
        "beirut-solar-clinics", "beirut", "Solar Clinics Beirut",
        "Solar power for neighbourhood clinics facing daily blackouts.", "en",
        SCALE, PUBLISHED, (3, 7),
        (_Need("accounting", "Track installation costs", filled=True),
         _Need("communication", "Donor newsletter")),
        {"ar": {"title": "عيادات الطاقة الشمسية في بيروت"},
         "fr": {"title": "Cliniques solaires de Beyrouth"}},
    ),
    _Project(
        "tutoring-without-borders", "beirut", "Tutoring Without Borders",
        "Online tutoring for refugee children, run by volunteer teachers.", "en",
        GROWTH, ARCHIVED, (4, 10, 16),
        (_Need("mentoring", "Tutor twice a week", filled=True),
         _Need("translation", "Arabic-English materials", filled=True)),
    ),
    _Project(
        "horta-na-laje", "sao-paulo", "Horta na Laje",
        "Hortas nas lajes das comunidades para alimentação saudável e renda.", "pt-BR",
        LAUNCH, PUBLISHED, (2, 11, 1),
        (_Need("urban-gardening", "Oficinas de plantio", filled=True),
         _Need("graphic-design", "Identidade visual")),
        {"en": {"title": "Rooftop Gardens"}},
    ),
    _Project(
        "moda-circular-sp", "sao-paulo", "Moda Circular",
        "Costureiras da periferia transformam roupas descartadas em novas coleções.", "pt-BR",
        GROWTH, PUBLISHED, (12, 5, 8),
        (_Need("photography", "Fotos da coleção"),
         _Need("marketing", "Loja online", filled=True)),
    ),
    _Project(
        "agua-limpia-cdmx", "mexico-city", "Agua Limpia para Todos",
        "Sistemas de captación de lluvia para escuelas de Iztapalapa.", "es",
        LAUNCH, PUBLISHED, (6, 3),
        (_Need("project-management", "Coordinar instalaciones en escuelas"),
         _Need("communication", "Materiales para familias", filled=True),
         _Need("data-analysis", "Medir el agua captada")),
        {"en": {"title": "Clean Water for All"}},
    ),
    _Project(
        "mercado-de-productores", "mexico-city", "Mercado de Productores Locales",
        "Un mercado semanal que conecta a productores de Xochimilco con la ciudad.", "es",
        IDEA, PUBLISHED, (2, 12, 8),
        (_Need("event-planning", "Primer mercado piloto"),),
    ),
    _Project(
        "mangrove-guardians", "manila", "Mangrove Guardians",
        "Fisherfolk communities replant and monitor mangroves along Manila Bay.", "en",
        GROWTH, PUBLISHED, (14, 13, 15),
        (_Need("data-analysis", "Monitor seedling survival", filled=True),
         _Need("video-editing", "Documentary short"),
         _Need("fundraising", "Corporate adoption programme")),
        {"fil": {"title": "Mga Tagapag-ingat ng Bakawan"}},
    ),
    _Project(
        "bank-sampah-digital", "jakarta", "Bank Sampah Digital",
        "Aplikasi bank sampah: warga menukar sampah terpilah dengan poin belanja.", "id",
        GROWTH, PUBLISHED, (12, 11, 8),
        (_Need("software-development", "Aplikasi seluler", filled=True),
         _Need("community-management", "Relawan RT/RW")),
        {"en": {"title": "Digital Waste Bank",
                "description": "A waste-bank app: residents trade sorted waste for "
                               "shopping points."}},
    ),
)

CONTRIBUTION_MESSAGES: Mapping[str, Sequence[str]] = {
    "fr": ("Je suis disponible le samedi matin.", "J'ai fait ça pour une autre asso !",
           "Je peux aider quelques heures par mois."),
    "es": ("Puedo ayudar los fines de semana.", "Tengo experiencia en esto."),
    "ca": ("Puc ajudar els caps de setmana.",),
    "pt-BR": ("Posso ajudar aos sábados.", "Já fiz isso em outro projeto."),
    "id": ("Saya bisa membantu di akhir pekan.",),
    "en": ("Happy to help on weekends.", "I did this for another project last year.",
           "I can give a few hours a month."),
}


# -- the seed ------------------------------------------------------------------------------


async def seed_demo(ctx: Ctx) -> DemoSummary:
    """Create the demo network in `ctx`'s transaction (flushed, not committed).

    `ctx` must be the system principal (`Ctx.of(session, Principal.system())`): only it may
    create the root chapter. Call it on an empty database (see `has_data`).
    """
    rng = random.Random(DEMO_RANDOM_SEED)  # noqa: S311 (reproducible data, not secrets)
    session = ctx.session

    views: dict[str, ChapterView] = {}
    for place in PLACES:
        if place.parent is None:
            views[place.slug] = await chapters.create_root(ctx, _chapter_input(place, None))
        else:
            parent = views[place.parent]
            views[place.slug] = await chapters.create(ctx, _chapter_input(place, parent.id))

    maker = _PeopleMaker(rng)
    volunteers: list[_Volunteer] = []
    for place in PLACES:
        for index in range(place.people):
            data = maker.person(place)
            data.home_chapter_id = views[place.slug].id
            person = await people.new_person(ctx, data)
            volunteers.append(_Volunteer(person.id, place, index))

    memberships = await _memberships(ctx, views, volunteers)
    grants = await _partners(ctx, views)
    needs, contributions = await _projects(ctx, rng, views, volunteers)
    residents: dict[str, list[uuid.UUID]] = {}
    for v in volunteers:
        residents.setdefault(v.place.slug, []).append(v.id)
    activity = await seed_activity(ctx, Network(views, residents), clock.utcnow())
    await rollup.rebuild(session)  # contributions and enrolments above bypass the services
    await session.flush()
    return DemoSummary(
        chapters=len(views),
        people=len(volunteers),
        memberships=memberships,
        partners=len(PARTNERS),
        grants=grants,
        projects=len(PROJECTS),
        needs=needs,
        contributions=contributions,
        events=activity.events,
        series=activity.series,
        registrations=activity.registrations,
        programs=activity.programs,
        enrolments=activity.enrolments,
        goals=activity.goals,
    )


_BY_SLUG: Mapping[str, _Place] = {p.slug: p for p in PLACES}


def _region_of(slug: str) -> str:
    place = _BY_SLUG[slug]
    while place.kind not in (REGION, NETWORK):
        assert place.parent is not None
        place = _BY_SLUG[place.parent]
    return place.slug


async def _memberships(
    ctx: Ctx, views: Mapping[str, ChapterView], volunteers: Sequence[_Volunteer]
) -> int:
    """Everyone joins their home chapter; each city has an admin and two organizers,
    neighbourhoods are run by organizers, and regions, countries and the network have
    admins and organizers drawn from their cities."""
    roles: dict[tuple[uuid.UUID, str], Role] = {}

    def give(person: uuid.UUID, slug: str, role: Role) -> None:
        roles[(person, slug)] = max(role, roles.get((person, slug), Role.MEMBER))

    by_place: dict[str, list[_Volunteer]] = {}
    for v in volunteers:
        by_place.setdefault(v.place.slug, []).append(v)
        if v.place.kind == HOOD:
            give(v.id, v.place.slug, Role.ORGANIZER if v.index == 0 else Role.MEMBER)
            assert v.place.parent is not None
            give(v.id, v.place.parent, Role.MEMBER)
        else:
            role = Role.ADMIN if v.index == 0 else Role.ORGANIZER if v.index <= 2 else Role.MEMBER
            give(v.id, v.place.slug, role)

    # The network team: an admin and an organizer for network-wide programs.
    give(by_place["paris"][3].id, ROOT_SLUG, Role.ADMIN)
    give(by_place["lagos"][3].id, ROOT_SLUG, Role.ORGANIZER)
    # Each region: an admin from its first city and an organizer from its last one.
    # Each country: an admin from its first city.
    for place in PLACES:
        cities = [p.slug for p in PLACES if p.kind == CITY and _is_under(p.slug, place.slug)]
        if place.kind == REGION:
            give(by_place[cities[0]][4].id, place.slug, Role.ADMIN)
            give(by_place[cities[-1]][5].id, place.slug, Role.ORGANIZER)
        elif place.kind == COUNTRY:
            give(by_place[cities[0]][6].id, place.slug, Role.ADMIN)

    for (person, slug), role in roles.items():
        await people.set_role(ctx, views[slug].id, person, role.label)
    return len(roles)


def _is_under(slug: str, ancestor: str) -> bool:
    place: _Place | None = _BY_SLUG[slug]
    while place is not None:
        if place.slug == ancestor:
            return True
        place = _BY_SLUG[place.parent] if place.parent else None
    return False


async def _partners(ctx: Ctx, views: Mapping[str, ChapterView]) -> int:
    """Two partner organisations, each granted a set of scopes on one region's subtree by
    that region's admin."""
    grants = 0
    for partner in PARTNERS:
        row = PartnerOrganisation(slug=partner.slug, name=partner.name, website=partner.website)
        ctx.session.add(row)
        await ctx.session.flush()
        granted_by = await _admin_of(ctx, views[partner.chapter].id)
        for scope in partner.scopes:
            ctx.session.add(PartnerGrant(
                partner_id=row.id, chapter_id=views[partner.chapter].id, scope=str(scope),
                granted_by_id=granted_by,
            ))
            grants += 1
    await ctx.session.flush()
    return grants


async def _admin_of(ctx: Ctx, chapter_id: uuid.UUID) -> uuid.UUID | None:
    page = await people.list_members(ctx, chapter_id, role="admin", limit=1)
    return page.items[0].person_id if page.items else None


async def _projects(
    ctx: Ctx,
    rng: random.Random,
    views: Mapping[str, ChapterView],
    volunteers: Sequence[_Volunteer],
) -> tuple[int, int]:
    """Projects owned by volunteers of their home chapter; contributions come from the
    same region, never from the project's owners, at most one per person and need."""
    session = ctx.session
    needs_made = contributions_made = 0
    for spec in PROJECTS:
        home = [v for v in volunteers if v.place.slug == spec.chapter]
        owners = rng.sample(home, k=min(len(home), rng.randint(1, 2)))
        project = Project(
            slug=spec.slug,
            title=spec.title,
            description=spec.description,
            default_language=spec.language,
            translations={tag: dict(values) for tag, values in spec.translations.items()},
            home_chapter_id=views[spec.chapter].id,
            stage=spec.stage,
            status=spec.status,
        )
        session.add(project)
        await session.flush()
        for owner in owners:
            session.add(ProjectOwner(project_id=project.id, person_id=owner.id))
        for cause in sorted(set(spec.causes)):
            session.add(ProjectCause(project_id=project.id, cause=cause))

        region = _region_of(spec.chapter)
        owner_ids = {o.id for o in owners}
        helpers = [
            v for v in volunteers
            if v.id not in owner_ids and _region_of(v.place.slug) == region
        ]
        messages = CONTRIBUTION_MESSAGES.get(spec.language) or CONTRIBUTION_MESSAGES["en"]
        for need_spec in spec.needs:
            filled = need_spec.filled or spec.status == ARCHIVED
            need = Need(
                project_id=project.id,
                skill=people.normalize_skill(need_spec.skill),
                title=need_spec.title,
                description=need_spec.description,
                status=NeedStatus.FILLED if filled else NeedStatus.OPEN,
            )
            session.add(need)
            needs_made += 1
            if spec.status == DRAFT:
                continue
            await session.flush()
            plan = contribution_plan(rng, filled, spec.status == ARCHIVED)
            for (status, hours), helper in zip(plan, rng.sample(helpers, k=len(plan)), strict=True):
                session.add(Contribution(
                    need_id=need.id,
                    person_id=helper.id,
                    status=status,
                    message=rng.choice(messages),
                    hours=hours,
                    answered_at=clock.utcnow() if status in ANSWERED else None,
                ))
                contributions_made += 1
        await session.flush()
    return needs_made, contributions_made


ANSWERED = (ContributionStatus.ACCEPTED, ContributionStatus.DONE)  # statuses with `answered_at`


def contribution_plan(
    rng: random.Random, filled: bool, archived: bool
) -> list[tuple[ContributionStatus, float | None]]:
    """Statuses and hours of one need's contributions: a filled need has one accepted or
    done helper (hours are logged when the help is done); an open one has offers and perhaps
    a refusal."""
    plan: list[tuple[ContributionStatus, float | None]] = []
    if filled:
        if archived or rng.random() < 0.6:
            plan.append((ContributionStatus.DONE, float(rng.choice((2, 3, 4, 6, 8, 12, 16)))))
        else:
            plan.append((ContributionStatus.ACCEPTED, None))
        if rng.random() < 0.4:
            plan.append((ContributionStatus.DECLINED, None))
    else:
        for _ in range(rng.randint(0, 2)):
            plan.append((ContributionStatus.OFFERED, None))
        if rng.random() < 0.3:
            plan.append((ContributionStatus.DECLINED, None))
    return plan

