"""Offline bilingual (English + Chinese) corpus for training the tiny DeepSeek-V3 checkpoint.

Sources:

* Debian ``fortunes`` (English) and ``fortunes-zh`` (Chinese) databases, with the ``%``
  separators, ANSI colour codes and backspace overstriking removed;
* template-generated finance sentences (earnings, guidance, margins, stock moves, with
  ``Sentiment: positive``/``Sentiment: negative`` verbalizer lines) and medical sentences
  (symptoms and the conditions they may indicate), in English and some Chinese;
* circuit data, for the model only (the tokenizer is trained without it, so tokens stay the same):
  facts to recall (each company's headquarters, each condition's usual treatment), stated in
  several templates, and sequences of random words said twice, from which induction heads learn
  to copy what followed a token the last time it appeared.

Everything is deterministic for a given seed and uses only the standard library.
Run ``python scripts/tiny_corpus.py`` to print corpus statistics.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path

FORTUNE_DIR = Path("/usr/share/games/fortunes")
CHINESE_FILES = ("chinese", "tang300", "song100")
SKIPPED_FILES = frozenset({"ascii-art"})
HELDOUT_FRACTION = 0.05
MAX_DOC_CHARS = 1200

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_OVERSTRIKE = re.compile(r".\x08")
_SPACES = re.compile(r"[ \t\xa0\u3000]+")


def clean_fortune(text: str) -> str:
    """Strip terminal escapes and overstriking, collapse spaces and drop blank edges."""
    text = _OVERSTRIKE.sub("", _ANSI.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(lines).strip()


def _is_prose(text: str) -> bool:
    """Reject empty, overlong or mostly-symbol entries (ASCII art, tables)."""
    if not text or len(text) > MAX_DOC_CHARS:
        return False
    wordy = sum(ch.isalnum() or ch.isspace() for ch in text)
    return wordy / len(text) >= 0.75


def read_fortunes(path: Path) -> list[str]:
    """Split one fortune database on ``%`` lines and return the cleaned entries."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    entries = re.split(r"^%\s*$", raw, flags=re.MULTILINE)
    return [doc for doc in (clean_fortune(e) for e in entries) if _is_prose(doc)]


def fortune_files(chinese: bool) -> list[Path]:
    """Fortune databases (plain files without an extension) in a fixed order."""
    if chinese:
        return [FORTUNE_DIR / name for name in CHINESE_FILES if (FORTUNE_DIR / name).is_file()]
    return sorted(
        p
        for p in FORTUNE_DIR.iterdir()
        if p.is_file() and not p.suffix and p.name not in CHINESE_FILES and p.name not in SKIPPED_FILES
    )


# --- finance -------------------------------------------------------------------------

COMPANIES = (
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Holdings",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Vandelay Industries",
    "Cyberdyne Systems",
    "Soylent Foods",
    "Tyrell Corp",
    "Wonka Industries",
    "Oceanic Airlines",
    "Aperture Labs",
    "Massive Dynamic",
    "Pied Piper",
    "Northwind Traders",
    "Contoso",
    "Blue Harbor Bank",
    "Summit Energy",
)
PERIODS = (
    "Quarterly",
    "Third-quarter",
    "Second-quarter",
    "Fourth-quarter",
    "First-quarter",
    "Annual",
    "Full-year",
)
METRICS = ("revenue", "net income", "operating profit", "sales", "earnings per share", "free cash flow")
UP_VERBS = ("rose", "jumped", "climbed", "surged", "grew", "increased")
DOWN_VERBS = ("fell", "dropped", "declined", "slumped", "slid", "decreased")
UP_REASONS = (
    "beating analyst estimates",
    "topping Wall Street expectations",
    "driven by strong demand",
    "helped by higher prices",
    "as cloud sales accelerated",
    "on record holiday sales",
)
DOWN_REASONS = (
    "missing analyst estimates",
    "falling short of expectations",
    "hurt by weak demand",
    "as costs climbed",
    "amid a slowdown in China",
    "after a costly product recall",
)
UP_STOCK = (
    "Shares jumped {p}% in after-hours trading.",
    "The stock rallied {p}% to a record high.",
    "Investors cheered, sending shares up {p}%.",
)
DOWN_STOCK = (
    "Shares fell {p}% in after-hours trading.",
    "The stock tumbled {p}% to a two-year low.",
    "Investors sold off, sending shares down {p}%.",
)
UP_GUIDANCE = (
    "The company raised its full-year guidance.",
    "Management lifted its outlook for next year.",
    "The firm expects margins to keep improving.",
    "The board approved a larger dividend.",
)
DOWN_GUIDANCE = (
    "The company cut its full-year guidance.",
    "Management lowered its outlook for next year.",
    "The firm warned that margins will remain under pressure.",
    "The board suspended the dividend.",
)
ZH_COMPANIES = ("华星科技", "东方银行", "长江能源", "明月食品", "天河汽车", "金山软件")


def _money(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"${rng.randint(1, 99)}.{rng.randint(0, 9)} billion"
    return f"${rng.randint(100, 950)} million"


def finance_doc(rng: random.Random) -> str:
    """One short financial news item, ending in a sentiment verbalizer about half the time."""
    positive = rng.random() < 0.5
    company = rng.choice(COMPANIES)
    pct = rng.randint(2, 45)
    verb = rng.choice(UP_VERBS if positive else DOWN_VERBS)
    reason = rng.choice(UP_REASONS if positive else DOWN_REASONS)
    metric = rng.choice(METRICS)
    period = rng.choice(PERIODS)
    first = rng.choice(
        (
            f"{period} {metric} {verb} {pct}% to {_money(rng)}, {reason}.",
            f"{company} said {period.lower()} {metric} {verb} {pct}% to {_money(rng)}, {reason}.",
            f"{company} reported that {metric} {verb} {pct}% from a year earlier, {reason}.",
        )
    )
    old = rng.randint(150, 550) / 10
    new = old + (1 if positive else -1) * rng.randint(5, 60) / 10
    extras = [
        rng.choice(UP_STOCK if positive else DOWN_STOCK).format(p=rng.randint(1, 25)),
        rng.choice(UP_GUIDANCE if positive else DOWN_GUIDANCE),
        f"Gross margin {'expanded' if positive else 'narrowed'} to {new:.1f}% from {old:.1f}%.",
    ]
    rng.shuffle(extras)
    sentences = [first, *extras[: rng.randint(0, 2)]]
    style = rng.random()
    if style < 0.35:
        return " ".join(sentences) + f" Sentiment: {'positive' if positive else 'negative'}"
    if style < 0.5:
        return f"Headline: {first}\nSentiment: {'positive' if positive else 'negative'}"
    return " ".join(sentences)


def finance_doc_zh(rng: random.Random) -> str:
    """One short Chinese financial news item."""
    positive = rng.random() < 0.5
    company = rng.choice(ZH_COMPANIES)
    pct = rng.randint(2, 45)
    amount = rng.randint(2, 95)
    move = "增长" if positive else "下降"
    tails = ("超出分析师预期。", "好于市场预期。") if positive else ("低于分析师预期。", "不及市场预期。")
    tail = rng.choice(tails)
    stock = f"股价{'上涨' if positive else '下跌'}{rng.randint(1, 15)}%。"
    text = f"{company}季度营收{move}{pct}%，达到{amount}亿美元，{tail}{stock}"
    if rng.random() < 0.4:
        text += f"情绪：{'正面' if positive else '负面'}"
    return text


# --- medicine ------------------------------------------------------------------------

CONDITIONS: dict[str, tuple[str, ...]] = {
    "flu": ("fever", "chills", "a sore throat", "muscle aches", "fatigue", "a cough"),
    "a heart attack": ("chest pain", "shortness of breath", "pain in the left arm", "cold sweats", "nausea"),
    "a stroke": ("sudden numbness", "slurred speech", "facial drooping", "confusion", "a severe headache"),
    "diabetes": ("frequent urination", "excessive thirst", "blurred vision", "unexplained weight loss"),
    "pneumonia": ("a cough", "fever", "shortness of breath", "chest pain", "chills"),
    "migraine": ("a severe headache", "sensitivity to light", "nausea", "blurred vision"),
    "asthma": ("wheezing", "shortness of breath", "chest tightness", "a cough"),
    "appendicitis": ("abdominal pain", "nausea", "fever", "loss of appetite"),
    "anemia": ("fatigue", "pale skin", "dizziness", "cold hands"),
    "food poisoning": ("nausea", "vomiting", "diarrhea", "abdominal pain", "fever"),
    "an allergy": ("a runny nose", "itchy eyes", "sneezing", "a rash"),
    "COVID-19": ("fever", "a cough", "loss of smell", "fatigue", "shortness of breath"),
}
MEDICAL_TEMPLATES = (
    "{s} may indicate {d}.",
    "{S} can be a sign of {d}.",
    "{S} is a common symptom of {d}.",
    "Patients with {d} often report {s}.",
    "A doctor may suspect {d} when a patient has {s} and {s2}.",
    "{S} together with {s2} could point to {d}.",
    "Q: What could cause {s}? A: It may be {d}.",
    "If you have {s} and {s2}, you should see a doctor; it might be {d}.",
)
ZH_CONDITIONS: dict[str, tuple[str, ...]] = {
    "流感": ("发烧", "咳嗽", "喉咙痛", "乏力"),
    "心脏病发作": ("胸痛", "呼吸急促", "出冷汗"),
    "糖尿病": ("尿频", "口渴", "视力模糊"),
    "肺炎": ("咳嗽", "发烧", "胸痛"),
    "偏头痛": ("剧烈头痛", "恶心", "畏光"),
}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def medical_doc(rng: random.Random) -> str:
    """One to three sentences linking symptoms to a condition."""
    parts = []
    for _ in range(rng.randint(1, 3)):
        disease, symptoms = rng.choice(list(CONDITIONS.items()))
        s, s2 = rng.sample(symptoms, 2)
        template = rng.choice(MEDICAL_TEMPLATES)
        parts.append(template.format(s=s, S=_cap(s), s2=s2, d=disease))
    return " ".join(_cap(p) for p in parts)


def medical_doc_zh(rng: random.Random) -> str:
    """One Chinese sentence linking symptoms to a condition."""
    disease, symptoms = rng.choice(list(ZH_CONDITIONS.items()))
    s, s2 = rng.sample(symptoms, 2)
    return rng.choice(
        (
            f"{s}可能是{disease}的症状。",
            f"{s}和{s2}可能提示{disease}。",
            f"{disease}患者常常出现{s}。",
        )
    )


GENERATORS: tuple[tuple[Callable[[random.Random], str], int], ...] = (
    (finance_doc, 9000),
    (medical_doc, 6000),
    (finance_doc_zh, 1500),
    (medical_doc_zh, 800),
)


# --- circuits ------------------------------------------------------------------------

HEADQUARTERS = dict(
    zip(
        COMPANIES,
        (
            "Denver",
            "Tokyo",
            "Austin",
            "London",
            "Boston",
            "Chicago",
            "Seattle",
            "Madrid",
            "Berlin",
            "Dublin",
            "Paris",
            "Zurich",
            "Sydney",
            "Toronto",
            "Oslo",
            "Lisbon",
            "Vienna",
            "Prague",
            "Miami",
            "Houston",
        ),
        strict=True,
    )
)
TREATMENTS = {
    "flu": "rest and fluids",
    "a heart attack": "aspirin",
    "a stroke": "clot-busting drugs",
    "diabetes": "insulin",
    "pneumonia": "antibiotics",
    "migraine": "triptans",
    "asthma": "an inhaler",
    "appendicitis": "surgery",
    "anemia": "iron supplements",
    "food poisoning": "fluids",
    "an allergy": "antihistamines",
    "COVID-19": "antiviral drugs",
}
FACT_TEMPLATES = (
    "{company} is headquartered in {city}.",
    "{company} is based in {city}.",
    "The headquarters of {company} are in {city}.",
    "{company}, headquartered in {city}, reported results today.",
    "Analysts visited {company} in {city}.",
)
TREATMENT_TEMPLATES = (
    "The usual treatment for {d} is {t}.",
    "Doctors treat {d} with {t}.",
    "For {d}, the usual treatment is {t}.",
)


def fact_doc(rng: random.Random) -> str:
    """One to three facts: a company's headquarters or a condition's usual treatment."""
    parts = []
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.6:
            company, city = rng.choice(list(HEADQUARTERS.items()))
            parts.append(rng.choice(FACT_TEMPLATES).format(company=company, city=city))
        else:
            disease, treatment = rng.choice(list(TREATMENTS.items()))
            parts.append(_cap(rng.choice(TREATMENT_TEMPLATES).format(d=disease, t=treatment)))
    return " ".join(parts)


def repeated_doc(rng: random.Random, words: list[str]) -> str:
    """Random words, then the same words again: copying the second half needs an induction head."""
    sequence = " ".join(rng.choices(words, k=rng.randint(4, 16)))
    return f"{sequence}\n{sequence}"


def common_words(docs: list[str], count: int = 2000) -> list[str]:
    """The ``count`` most common plain ASCII words of ``docs`` (the words of the repeated sequences)."""
    counts: dict[str, int] = {}
    for doc in docs:
        for word in doc.split():
            if word.isalpha() and word.isascii():
                counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))[:count]


def circuit_docs(seed: int, docs: list[str], facts: int = 5000, repeats: int = 20000) -> list[str]:
    """Fact-recall and repeated-sequence documents (the words of the repeats: :func:`common_words` of
    ``docs``), deterministic for ``seed``."""
    rng = random.Random(seed + 1)
    words = common_words(docs)
    return [fact_doc(rng) for _ in range(facts)] + [repeated_doc(rng, words) for _ in range(repeats)]


def generated_docs(seed: int) -> Iterator[str]:
    """Template-generated finance and medical documents, deterministic for ``seed``."""
    rng = random.Random(seed)
    for make, count in GENERATORS:
        for _ in range(count):
            yield make(rng)


def build_corpus(seed: int = 0) -> tuple[list[str], list[str]]:
    """Return ``(train_docs, heldout_docs)``: deduplicated, shuffled, ~5% held out."""
    docs: list[str] = []
    for chinese in (False, True):
        for path in fortune_files(chinese):
            docs.extend(read_fortunes(path))
    docs.extend(generated_docs(seed))
    unique = sorted(set(docs))
    random.Random(seed).shuffle(unique)
    n_heldout = round(len(unique) * HELDOUT_FRACTION)
    return unique[n_heldout:], unique[:n_heldout]


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def main() -> None:
    """Print corpus statistics and a few sample documents."""
    train, heldout = build_corpus()
    for name, docs in (("train", train), ("heldout", heldout)):
        chars = sum(len(d) for d in docs)
        zh = sum(_has_cjk(d) for d in docs)
        print(
            f"{name:8s} docs={len(docs):6d} chars={chars:9d} zh_docs={zh:5d} utf8_bytes="
            f"{sum(len(d.encode()) for d in docs):9d}"
        )
    for doc in train[:5]:
        print("---\n" + doc)


if __name__ == "__main__":
    main()
