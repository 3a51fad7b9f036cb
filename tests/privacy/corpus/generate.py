"""Generate the labelled redaction corpus: synthetic safeguarding narratives, gold spans.

    python tests/privacy/corpus/generate.py            # writes narratives.jsonl beside it

Deterministic (seeded). Every name, address and identifier is invented here. The names are
held out from the redactor: hub/privacy/redaction holds no name list at all (only keep-lists
of common words and safe terms), and the only names it is told are the narrative's own
subject's (the exact-match list the transform passes); third parties' names are never
passed, and the benchmark reports their recall separately.

Each line: {"id", "text", "identifiers" (what the transform would pass: the subject's own
values), "spans": [{"start", "end", "type", "role"}]} with types PERSON, ADDRESS, POSTCODE,
PHONE, EMAIL, DOB, VEHICLE_REG, NHS_NUMBER, PNC_ID, NI_NUMBER.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def words(text: str) -> list[str]:
    return text.split()


OUT = Path(__file__).parent / "narratives.jsonl"
HELDOUT_OUT = Path(__file__).parent / "heldout.jsonl"
FRESH_OUT = Path(__file__).parent / "fresh.jsonl"
COUNT = 360
SEED = 20261205

# Names: ordinary, also English words, non-English (with diacritics), invented compounds.
GIVEN_PLAIN = words("""Oliver Amelia Callum Jessica Tyler Chloe Liam Megan Kieran Shannon
Declan Leah Jordan Kayleigh Reece Danielle Connor Abbie Bradley Courtney""")
GIVEN_WORDS = words("""Hope Rose Frank Will Mark Grace Joy Bill Amber Ruby Holly Dawn Faith Iris
Jack Sky Summer Robin Penny Carol Rocky Hunter Brook""")
GIVEN_FOREIGN = words("""Wiktoria Mihai Besnik Oluwaseun Siobhán Aoife Mohammed Fatima Yusuf Dritan
Ionuț Agnieszka Zainab Chidi Kwame Bartosz Elif Mehmet Anh Xiao Jiayi Niamh Saoirse Tomasz
Raluca Ardit Kofi Amara Łukasz Thảo Björn Zoë Oisín Chiamaka Ngozi Emre""")
FAMILY_PLAIN = words("""Walsh Hughes Murphy Doyle Roberts Jackson McCarthy O'Neill Fitzgerald
Gallagher Molyneux Kavanagh Donnelly Rimmer McGuinness""")
FAMILY_WORDS = words("""Smith Hope Rose Frank Baker Young King Brown Green White Hunter Mason Bell
Wood Hill Cook Ward Wells Fisher Turner Hall Moss Marsh Bird""")
FAMILY_FOREIGN = words("""Kowalczyk Popescu Nguyen Hoxha Adeyemi Okafor Yilmaz Wiśniewska
Dumitrescu Mensah Chukwu Zhang Tran Krasniqi Nowak Achterberg Ní Bhriain Al-Rashid
Ó Súilleabháin Głowacki Phạm Øvergaard""")
FAMILY_INVENTED = words("""Canarybrook Thistlewood Marrowfield Quillfeather Brackenridge Ashcombe
Fernleigh Gorsebury Pellinghurst Wrenhaven""")
# Multi-word surnames above were split by .split(): rebuild the two-word ones.
FAMILY_FOREIGN = [f for f in FAMILY_FOREIGN if f not in ("Ní", "Bhriain", "Ó", "Súilleabháin")] + [
    "Ní Bhriain",
    "Ó Súilleabháin",
    "Mac Giolla Phádraig",
]
HYPHENATED = words("""Smith-Jones Okafor-Reid Taylor-Hope Ward-Baker Nowak-Green Rose-Ellis
Hughes-Mensah Frank-Doyle Popescu-Hall King-Achterberg""")
NICKNAMES = words("""Tinks Biggsy Dezzy JJ Smudge Kaz Mo Shaz Tezza Bubbles""")

STREETS = words("""Elm Canal Priory Stanley Queens Marsh Orchard Chapel Rice Moss Ashfield Church
Derby Ullet Granby Kirkdale Walton Breck Scotland Mill""")
SUFFIXES = words("Road Street Avenue Lane Close Drive Way Crescent Grove Terrace Court Gardens")
TOWNS = words("Bootle Kirkby Huyton Birkenhead Wallasey Toxteth Everton Anfield Halewood")
OUTWARD = words("L1 L4 L5 L6 L8 L20 L32 L36 CH41 CH44 WA10 PR9 L13 L15")
AGENCIES = [
    "Merseyside Police",
    "the MASH",
    "Children's Social Care",
    "the school",
    "Alder Hey A&E",
    "the GP",
    "Probation",
    "the Modern Slavery Network",
]
WEEKDAYS = words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
MONTHS = words(
    "January February March April May June July August September October November December"
)
RELATIONS = [
    "his boss",
    "her boss",
    "his brother",
    "her sister",
    "her friend",
    "his friend",
    "her aunt",
    "his uncle\n",
    "her boyfriend",
    "his girlfriend",
    "her mum's partner",
    "his cousin",
    "her neighbour",
    "his landlord\n",
    "the man she calls her boyfriend",
    "an older male known as",
    "a female named",
    "a man called",
]
RELATIONS = [r.strip() for r in RELATIONS]


_TITLE = re.compile(r"^(?:mr|mrs|ms|miss) ", re.IGNORECASE)


@dataclass
class Builder:
    rng: random.Random
    parts: list[str] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    pos: int = 0

    def add(self, text: str, kind: str | None = None, role: str = "third_party") -> None:
        if kind is not None:
            self.spans.append(
                {"start": self.pos, "end": self.pos + len(text), "type": kind, "role": role}
            )
        self.parts.append(text)
        self.pos += len(text)

    def template(self, tpl: str, slots: dict[str, tuple[str, str | None, str]]) -> None:
        """tpl uses {slot}; slots map to (text, type, role)."""
        for piece in re.split(r"(\{\w+\})", tpl):
            m = re.fullmatch(r"\{(\w+)\}", piece)
            if m:
                text, kind, role = slots[m[1]]
                title = _TITLE.match(text) if kind == "PERSON" else None
                if title:  # "Ms Day-Lewis": the title alone identifies nobody; not gold
                    self.add(title.group())
                    text = text[title.end() :]
                self.add(text, kind, role)
            elif piece:
                self.add(piece)


class Person:
    def __init__(self, rng: random.Random, pools: Pools) -> None:
        self.given = rng.choice(rng.choice(pools.given))
        self.family = rng.choice(rng.choice(pools.family))
        self.rng = rng

    def mention(self, first: bool = False) -> str:
        """A way a narrative writes this person's name."""
        r = self.rng.random()
        if first or r < 0.35:
            name = f"{self.given} {self.family}"
        elif r < 0.6:
            name = self.given
        elif r < 0.72:
            name = self.family
        elif r < 0.8:
            name = f"{self.rng.choice(['Mr', 'Mrs', 'Ms', 'Miss'])} {self.family}"
        elif r < 0.88:
            name = self.family.upper()
        else:
            name = f"{self.given[0]}. {self.family}"
        if self.rng.random() < 0.15:
            name = name.lower()  # typed in lower case, as some case notes are
        return name


def _nhs(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            s = "".join(map(str, digits)) + str(check)
            return rng.choice([f"{s[:3]} {s[3:6]} {s[6:]}", s, f"{s[:3]}-{s[3:6]}-{s[6:]}"])


def _pnc(rng: random.Random) -> str:
    year = rng.randint(0, 25)
    number = rng.randint(1, 999_999)
    letter = rng.choice("ABCDEFGHJKLMNPQRTUVWXYZ")
    pnc = rng.choice([f"{year:02d}/{number}{letter}", f"{2000 + year}/{number:07d}{letter}"])
    return pnc.lower() if rng.random() < 0.2 else pnc


def _ni(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCEGHJKLMNPRSTWXYZ") for _ in range(2))
    d = [f"{rng.randint(0, 99):02d}" for _ in range(3)]
    suffix = rng.choice("ABCD")
    ni = rng.choice([f"{letters} {d[0]} {d[1]} {d[2]} {suffix}", f"{letters}{''.join(d)}{suffix}"])
    return ni.lower() if rng.random() < 0.2 else ni


def _postcode(rng: random.Random) -> str:
    inward = (
        f"{rng.randint(0, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFHJLNPRTUWXY')}"
    )
    pc = rng.choice([f"{rng.choice(OUTWARD)} {inward}", f"{rng.choice(OUTWARD)}{inward}"])
    return pc.lower() if rng.random() < 0.2 else pc


def _reg(rng: random.Random) -> str:
    L = "ABCDEFGHJKLMNOPRSTUVWXY"
    kind = rng.random()
    if kind < 0.6:
        reg = f"{rng.choice(L)}{rng.choice(L)}{rng.randint(10, 74)} {''.join(rng.choices(L, k=3))}"
    elif kind < 0.8:
        reg = f"{rng.choice(L)}{rng.randint(1, 999)} {''.join(rng.choices(L, k=3))}"
    else:
        reg = f"{''.join(rng.choices(L, k=3))} {rng.randint(1, 999)}{rng.choice(L)}"
    if rng.random() < 0.2:
        reg = reg.replace(" ", "")
    return reg.lower() if rng.random() < 0.2 else reg


def _phone(rng: random.Random) -> str:
    mobile = f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
    land = f"0151 {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
    return rng.choice(
        [mobile, mobile.replace(" ", ""), "+44 " + mobile[1:], land, f"(0151) {land[5:]}"]
    )


def _email(rng: random.Random, p: Person) -> str:
    local = re.sub(r"[^a-z]", "", (p.given + "." + p.family).lower()) or "someone"
    local = local if rng.random() < 0.5 else f"{local[:8]}{rng.randint(1, 99)}"
    return f"{local}@{rng.choice(['example.org', 'mail.example.com', 'example.co.uk'])}"


def _dob(rng: random.Random) -> tuple[str, str]:
    y, m, d = rng.randint(1975, 2012), rng.randint(1, 12), rng.randint(1, 28)
    iso = f"{y}-{m:02d}-{d:02d}"
    month = MONTHS[m - 1]
    text = rng.choice(
        [
            f"{d:02d}/{m:02d}/{y}",
            f"{d}/{m}/{y}",
            f"{d} {month} {y}",
            f"{d}th of {month} {y}",
            f"{month} {d}, {y}",
            iso,
            f"{d:02d}.{m:02d}.{y % 100:02d}",
        ]
    )
    return text, iso


def _address(rng: random.Random) -> str:
    street = f"{rng.choice(STREETS)} {rng.choice(SUFFIXES)}"
    number = rng.randint(1, 240)
    addr = f"{number} {street}"
    if rng.random() < 0.25:
        addr = f"Flat {rng.randint(1, 30)}, {addr}"
    return addr.lower() if rng.random() < 0.15 else addr


# Sentences. {S} the subject, {A} {B} {C} third parties, others identifiers.
SENTENCES = [
    "{S} says {rel_a} {A} keeps {poss} passport and takes {poss} wages.",
    "{S} disclosed that {A} and {B} drove {obj} to a car wash in {town} each morning.",
    "{A} told officers that {B} had threatened {obj}.",
    "{S} was seen getting into a silver Vauxhall, registration {REG}, driven by {A}.",
    "The address given was {ADDR}, {town} {PC}.",
    "{S} is staying at {ADDR} with {A}.",
    "Contact for {A} is {PHONE}; {rel_b} {B} can be reached on {PHONE2}.",
    "{A} emailed the school from {EMAIL} on {weekday}.",
    "{S} (DOB {DOB}, NHS number {NHS}) attended Alder Hey A&E on {weekday}.",
    "PNC checks on {A} show record {PNC}; NI number {NI} was used to open a bank account.",
    "{A}, {B} and {C} were present when officers arrived.",
    "{S} said that {A}'s van is always parked outside {ADDR}.",
    "{rel_cap} {A} collects the money every {weekday}.",
    "i stay with {a_low} and {b_low} at the house and {c_low} brings food.",
    "{S} stated {pron} is frightened of {A} and of {rel_c} {B}.",
    "Concerns were raised by {agency} after {A} was seen with {S} near {town} station.",
    "{A} is believed to be controlling {S}'s phone and bank card.",
    "Vehicle {REG} is registered to {A}, born {DOB2}.",
    "{S} gave a mobile number of {PHONE} and an email of {EMAIL}.",
    "A referral was made to {agency} and the case was discussed at the strategy meeting.",
    "{agency} shared information on {weekday}; no further action at this stage.",
    "{A} said {pron} does not know {B}.",
    "{S} described {rel_a} {A}, who lives in {town}.",
    "The NRM referral was completed by {agency} with {S}'s consent.",
    "{S}'s {relword} {A} was present and spoke for {obj}, which raised concerns.",
    "Nominal {A} ({PNC}) was arrested at {ADDR} {PC}.",
    "{A}'s NI number is {NI} and {pron2} date of birth is {DOB2}.",
    "Officers spoke to {A} on {PHONE}, who said {B} had left for {town}.",
]
RELWORDS = words("brother sister mum dad aunt uncle cousin boyfriend girlfriend partner")


# The held-out set: names, places and sentences written after the redactor's rules were
# frozen, and measured once (tests/privacy/corpus/README.md says how the sets are used).
HELDOUT_GIVEN_PLAIN = words("""Ethan Sophie Mason Ellie Harvey Lacey Jayden Paige Kyle Demi""")
HELDOUT_GIVEN_WORDS = words("""Hazel Pearl Clay Miles Jay Dean Rusty Misty Star Gem Sunny Autumn
Heather Ivy Cliff Drew Chase Lane Victor Basil Olive Poppy""")
HELDOUT_GIVEN_FOREIGN = words("""Oleksandr Svetlana Chinonso Adebayo Mateusz Giedrė Ahmad
Layla Darius Gheorghe Veronika Tadhg Caoimhe Mohamud Abdirahman Hamza Shirin Văn Đức""")
HELDOUT_FAMILY_PLAIN = words("""Rooney Carragher Gerrard McManaman Aldridge Fowler Heaton""")
HELDOUT_FAMILY_WORDS = words("""Fox Field Ford Bull Lamb Rich Cross Best Steel Stone Gold Day Page
Read Love Sharp Lord Pope Nash Bishop""")
HELDOUT_FAMILY_FOREIGN = [
    *words("""Kovalenko Petrauskas Ivanova Mahamud Abubakar Eze Ogunleye Ferreira Lungu Horvath
    Szabó Đorđević Çelik Karimi Hussaini"""),
    "Van der Berg",
    "Dos Santos",
]
HELDOUT_FAMILY_INVENTED = words("""Gullwhistle Ploverdale Harrowmere Kestrelton Sloeberry""")
HELDOUT_HYPHENATED = words("""Stone-Fox Day-Lewis Eze-Ferreira Lamb-Nash Gold-Rooney""")
HELDOUT_SENTENCES = [
    "During the visit {A} answered the door and would not let staff speak to {S}.",
    "{S} explained that {pron} owes {A} money for the journey from {town}.",
    "the worker asked about {a_low} but {S} changed the subject.",
    "A man known locally as {NICK} has been seen outside {ADDR} {PC}.",
    "{A} ({DOB2}) and {B} share a phone, {PHONE}.",
    "Messages from {EMAIL} were signed by {A}.",
    "{S}'s {relword}, {A}, works at a nail bar run by {B}.",
    "Text received from {A}: tell {b_low} to come tonight.",
    "CCTV shows {REG} collecting {S} from school; the keeper is {A}.",
    "Checks: NHS {NHS}, PNC {PNC}, NINO {NI}.",
    "{S} named {A} and {B} as the people who moved {obj} between addresses.",
    "Worried about {c_low}, who is only fifteen.",
    "No concerns were noted by the GP at the last appointment.",
    "Staff from {agency} will visit on {weekday}.",
    "{A} drives a black Audi ({REG}) and uses the number {PHONE}.",
    "{S} now lives with {rel_a} {A} at {ADDR}.",
    "Referral sent to {agency}; {A} to be spoken to by the police.",
    "According to {S}, {A} takes everyone's passports.",
    "{A} shouted at {S} and {B} in the street on {weekday}.",
    "{S} was born on {DOB} and has been in the UK for two years.",
]


# The fresh set: written after the rules were frozen for the last time, measured once.
FRESH_GIVEN_PLAIN = words("""Ryan Natalie Dylan Jodie Aaron Gemma Luke Stacey Lewis Kerry""")
FRESH_GIVEN_WORDS = words("""Honey Melody Sage Willow Storm River Glen Reed Forrest Bernard Ernest
Patience Charity Constance Sterling Royal Crystal Precious Blessing Destiny""")
FRESH_GIVEN_FOREIGN = words("""Kateryna Dmytro Ifeoluwa Tunde Wojciech Rasa Aurelija Yasmin Omid
Reza Bogdan Alina Fionnuala Ruairí Liban Khadra Thu Huong Gökhan""")
FRESH_FAMILY_PLAIN = words("""Dalglish Barnes Rush Grobbelaar Hansen Nicol Beardsley""")
FRESH_FAMILY_WORDS = words("""Carpenter Butcher Mills Banks Fields Rivers Woods Brooks Booth Coates
Grant Holder Chance Savage Noble Swift Small Little Wise Good""")
FRESH_FAMILY_FOREIGN = [
    *words("""Shevchenko Bondarenko Adewale Olatunji Zieliński Kazlauskas Rahimi Hosseini Moldovan
    Ionescu Ó Briain Warsame Hashi Lê Öztürk"""),
    "D'Souza",
    "de la Cruz",
]
FRESH_FAMILY_INVENTED = words("""Wimbleforth Curlewstone Bramblehurst Tansleigh Marlowbrook""")
FRESH_HYPHENATED = words("""Banks-Olatunji Rivers-Small Good-Hashi Noble-Barnes Swift-Ionescu""")
FRESH_SENTENCES = [
    "Mother: {A}. Father: {B}. Both refused to engage.",
    "{S} was collected from the hostel by {A} in a grey Ford Transit, {REG}.",
    "{S} refers to {A} only as '{NICK}'.",
    "The landlord, {A}, asked that correspondence go to {EMAIL}.",
    "SUBJECT STATES {A_UP} TOOK THE MONEY.",
    "{A} and {b_low} were overheard arranging to meet at {ADDR}.",
    "Call from {PHONE} (believed to be {A}) at 02:15 on {weekday}.",
    "{S} has a scar on the left hand; {A} says it was an accident at work.",
    "Identifiers held: {NHS} (NHS), {NI} (NI), {PNC} (PNC).",
    "c/o {A}, {ADDR}, {PC}.",
    "{S} asked us not to tell {rel_a} {A}.",
    "Previous address: {ADDR}, {town}, {PC}.",
    "{A}, dob {DOB2}, is the registered keeper.",
    "Home visit completed; the flat was cold and there was little food.",
    "{S} is 15 and attends school irregularly.",
    "{S} said '{a_low} hits me when i dont work'.",
    "Police attended after neighbours reported shouting; {A} had left before arrival.",
    "{S} gave {poss} date of birth as {DOB}.",
    "Safeguarding lead informed; strategy discussion arranged for {weekday}.",
    "{A} and {B} ({rel_b}) were both at the address.",
]


@dataclass(frozen=True)
class Pools:
    given: tuple[list[str], ...]
    family: tuple[list[str], ...]
    sentences: list[str]
    seed: int
    prefix: str


DEV = Pools(
    (GIVEN_PLAIN, GIVEN_WORDS, GIVEN_FOREIGN, GIVEN_WORDS),
    (FAMILY_PLAIN, FAMILY_WORDS, FAMILY_FOREIGN, FAMILY_INVENTED, HYPHENATED),
    SENTENCES,
    SEED,
    "n",
)
HELDOUT = Pools(
    (HELDOUT_GIVEN_PLAIN, HELDOUT_GIVEN_WORDS, HELDOUT_GIVEN_FOREIGN, HELDOUT_GIVEN_WORDS),
    (
        HELDOUT_FAMILY_PLAIN,
        HELDOUT_FAMILY_WORDS,
        HELDOUT_FAMILY_FOREIGN,
        HELDOUT_FAMILY_INVENTED,
        HELDOUT_HYPHENATED,
    ),
    HELDOUT_SENTENCES,
    SEED + 1,
    "h",
)


FRESH = Pools(
    (FRESH_GIVEN_PLAIN, FRESH_GIVEN_WORDS, FRESH_GIVEN_FOREIGN, FRESH_GIVEN_WORDS),
    (
        FRESH_FAMILY_PLAIN,
        FRESH_FAMILY_WORDS,
        FRESH_FAMILY_FOREIGN,
        FRESH_FAMILY_INVENTED,
        FRESH_HYPHENATED,
    ),
    FRESH_SENTENCES,
    SEED + 2,
    "f",
)


def narrative(rng: random.Random, idx: int, pools: Pools = DEV) -> dict[str, Any]:
    subject = Person(rng, pools)
    others = [Person(rng, pools) for _ in range(3)]
    s_dob_text, s_dob_iso = _dob(rng)
    s_addr, s_pc, s_nhs, s_pnc = _address(rng), _postcode(rng), _nhs(rng), _pnc(rng)
    pron, poss, obj = rng.choice([("she", "her", "her"), ("he", "his", "him")])
    b = Builder(rng)
    picked = rng.sample(pools.sentences, k=rng.randint(3, 6))
    for n, tpl in enumerate(picked):
        o_dob = _dob(rng)[0]
        rel_a, rel_b, rel_c = (rng.choice(RELATIONS) for _ in range(3))
        slots: dict[str, tuple[str, str | None, str]] = {
            "S": (subject.mention(first=n == 0), "PERSON", "subject"),
            "A": (others[0].mention(), "PERSON", "third_party"),
            "B": (others[1].mention(), "PERSON", "third_party"),
            "C": (others[2].mention(), "PERSON", "third_party"),
            "a_low": (others[0].given.lower(), "PERSON", "third_party"),
            "b_low": (others[1].given.lower(), "PERSON", "third_party"),
            "c_low": (f"{others[2].given} {others[2].family}".lower(), "PERSON", "third_party"),
            "REG": (_reg(rng), "VEHICLE_REG", "third_party"),
            "ADDR": (s_addr if rng.random() < 0.5 else _address(rng), "ADDRESS", "third_party"),
            "PC": (s_pc if rng.random() < 0.5 else _postcode(rng), "POSTCODE", "third_party"),
            "PHONE": (_phone(rng), "PHONE", "third_party"),
            "PHONE2": (_phone(rng), "PHONE", "third_party"),
            "EMAIL": (_email(rng, others[0]), "EMAIL", "third_party"),
            "DOB": (s_dob_text, "DOB", "subject"),
            "DOB2": (o_dob, "DOB", "third_party"),
            "NHS": (s_nhs, "NHS_NUMBER", "subject"),
            "PNC": (_pnc(rng), "PNC_ID", "third_party"),
            "NI": (_ni(rng), "NI_NUMBER", "third_party"),
            "NICK": (rng.choice(NICKNAMES), "PERSON", "third_party"),
            "A_UP": (f"{others[0].given} {others[0].family}".upper(), "PERSON", "third_party"),
        }
        plain = {
            "rel_a": rel_a,
            "rel_b": rel_b,
            "rel_c": rel_c,
            "rel_cap": rel_a[:1].upper() + rel_a[1:],
            "town": rng.choice(TOWNS),
            "weekday": rng.choice(WEEKDAYS),
            "agency": rng.choice(AGENCIES),
            "pron": pron,
            "pron2": rng.choice(["his", "her"]),
            "poss": poss,
            "obj": obj,
            "relword": rng.choice(RELWORDS),
        }
        slots.update({k: (v, None, "") for k, v in plain.items()})
        b.template(tpl, slots)
        b.add(" ")
    text = "".join(b.parts).rstrip()
    identifiers = [
        f"{subject.given} {subject.family}",
        subject.given,
        subject.family,
        s_addr,
        s_pc,
        s_dob_iso,
        s_nhs,
        s_pnc,
    ]
    return {
        "id": f"{pools.prefix}{idx:04d}",
        "text": text,
        "identifiers": identifiers,
        "spans": [s for s in b.spans if s["end"] <= len(text)],
    }


def generate(pools: Pools = DEV, count: int = COUNT) -> list[dict[str, Any]]:
    rng = random.Random(pools.seed)
    return [narrative(rng, i, pools) for i in range(count)]


def main() -> None:
    for pools, path in ((DEV, OUT), (HELDOUT, HELDOUT_OUT), (FRESH, FRESH_OUT)):
        with path.open("w", encoding="utf-8") as f:
            for item in generate(pools):
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
        print(f"wrote {COUNT} narratives to {path}")


if __name__ == "__main__":
    main()
