"""A deterministic, realistic long podcast transcript (no download): two hosts work through
several subjects, each with its own vocabulary, in whisper-like segments of a few seconds.

Used by the summaries tests and bench/summarize.py. Same arguments → same transcript.
"""

import random

_TOPICS = {
    "soil and composting": (
        ["compost", "soil", "worms", "mulch", "nitrogen", "carbon", "garden beds", "leaf litter", "microbes", "clay"],
        [
            "The thing about {a} is that it feeds the {b} long before it feeds the plants.",
            "We turned the {a} pile every week and the {b} came back within a month.",
            "If your {a} smells sour, add more {b} and let it breathe.",
            "Most people underestimate how much {a} a small garden actually needs.",
            "I tested the {a} in spring and the {b} numbers were much higher than I expected.",
            "You can read a lot about {a} from the way the {b} crumbles in your hand.",
        ],
    ),
    "sourdough baking": (
        ["starter", "dough", "flour", "hydration", "crust", "oven", "gluten", "rye", "proofing", "levain"],
        [
            "A lively {a} makes the {b} rise evenly overnight.",
            "I bake with high {a} because the {b} gets that open, glossy crumb.",
            "Cold {a} slows everything down, and the {b} develops more flavour.",
            "The first loaf I ever made had a {a} you could break a tooth on.",
            "Feed the {a} twice a day and it will forgive you for almost anything.",
            "Steam in the {a} is what gives the {b} its blistered finish.",
        ],
    ),
    "city cycling": (
        [
            "bike lanes",
            "commute",
            "traffic",
            "helmets",
            "cargo bikes",
            "intersections",
            "city council",
            "parking",
            "safety",
            "routes",
        ],
        [
            "Protected {a} changed my {b} more than any new bicycle ever did.",
            "When the {a} voted for the new {b}, the number of riders doubled in a year.",
            "The most dangerous moments on a {a} are at {b}, not on the open road.",
            "Families started using {a} once the {b} felt calm enough for children.",
            "Every car space turned into {a} pays for itself in local shops.",
            "I plan my {a} around quiet {b} even if it adds five minutes.",
        ],
    ),
    "sleep science": (
        [
            "sleep",
            "circadian rhythm",
            "melatonin",
            "caffeine",
            "naps",
            "deep sleep",
            "screens",
            "morning light",
            "insomnia",
            "dreams",
        ],
        [
            "Your {a} is set mostly by {b} in the first hour after waking.",
            "A late {a} can quietly steal an hour of {b} without you noticing.",
            "The research on {a} keeps pointing back to consistency over duration.",
            "Short {a} in the early afternoon barely touch your {b} at night.",
            "People with {a} often spend too long in bed trying to force {b}.",
            "Dimming {a} before bed gives {b} a chance to do its work.",
        ],
    ),
    "jazz history": (
        ["jazz", "saxophone", "bebop", "improvisation", "big bands", "records", "rhythm section", "clubs", "swing", "trumpet"],
        [
            "Early {a} grew out of dance halls where the {b} had to keep people moving.",
            "When {a} arrived, the {b} suddenly had room to argue with the soloist.",
            "Listen to the {a} on those old {b} and you can hear the room itself.",
            "The great {a} players treated every chorus as a new conversation.",
            "Small {a} replaced the {b} because the economics simply stopped working.",
            "Nobody wrote down the best {a}; it lived on the bandstand at night.",
        ],
    ),
    "ocean tides": (
        [
            "tides",
            "moon",
            "coastline",
            "estuaries",
            "tide pools",
            "currents",
            "sea level",
            "harbours",
            "storm surge",
            "sandbanks",
        ],
        [
            "The {a} follow the {b}, but the shape of the {c} decides how high they climb.",
            "In narrow {a} the {b} can rise faster than a person can walk.",
            "Fishermen learned to read the {a} long before anyone could explain the {b}.",
            "Rising {a} turns an ordinary high tide into a flood for low {b}.",
            "The {a} near the harbour mouth move the {b} a little every winter.",
            "Spend an afternoon at the {a} and you will see a whole ecosystem reset twice a day.",
        ],
    ),
}
_BANTER = [
    "Yeah, that's a really good point.",
    "Okay, so let me push back on that a little.",
    "I think our listeners will recognise that.",
    "Right, and that surprised me too.",
    "Let's take a quick step back here.",
    "That's exactly what I kept hearing.",
]
CLOSING_LINE = (
    "And that is where we will stop today, so thank you for listening to the whole marathon episode of Castnotes Radio."
)


def _sentence(rng: random.Random, topic: str) -> str:
    words, templates = _TOPICS[topic]
    template = rng.choice(templates)
    a, b, c = rng.sample(words, 3)
    sentence = template.format(a=a, b=b, c=c)
    return sentence[0].upper() + sentence[1:]


def long_transcript(hours: float, *, seed: int = 7, words_per_minute: int = 155) -> dict:
    """`{"segments": [{start, end, text}], "text": ...}` of about `hours` of speech."""
    rng = random.Random(seed)
    topics = list(_TOPICS)
    total_seconds = hours * 3600
    topic_seconds = max(total_seconds / max(round(hours * 5), 1), 300)  # ~12 min per subject
    segments: list[dict] = []
    clock = 0.0
    while clock < total_seconds:
        topic = topics[int(clock // topic_seconds) % len(topics)]
        if segments and int(clock // topic_seconds) != int(segments[-1]["start"] // topic_seconds):
            text = f"Let's move on and talk about {topic} for a while."
        else:
            count = rng.choice((1, 1, 2))
            parts = [rng.choice(_BANTER) if rng.random() < 0.12 else _sentence(rng, topic) for _ in range(count)]
            text = " ".join(parts)
        seconds = len(text.split()) / words_per_minute * 60
        segments.append({"start": round(clock, 2), "end": round(clock + seconds, 2), "text": text})
        clock += seconds + 0.3
    seconds = len(CLOSING_LINE.split()) / words_per_minute * 60
    segments.append({"start": round(clock, 2), "end": round(clock + seconds, 2), "text": CLOSING_LINE})
    return {"segments": segments, "text": " ".join(s["text"] for s in segments)}


def short_transcript() -> dict:
    """A realistic five-minute episode about composting."""
    lines = [
        "Welcome back to the show, today we are talking about compost and why your soil needs it.",
        "My guest has been running a community garden in the city for over ten years.",
        "The biggest mistake people make is treating compost like rubbish instead of food for the soil.",
        "You want a mix of green material like kitchen scraps and brown material like dry leaves.",
        "If the pile gets too wet it starts to smell, and that means the microbes are starving for air.",
        "Turning the pile once a week keeps it warm and speeds everything up.",
        "Worms are the best sign that your garden beds are healthy and alive.",
        "We measured the soil before and after two seasons of compost and the difference was enormous.",
        "Clay soil especially benefits, because compost opens it up and lets the roots breathe.",
        "Let's talk about leaf mould, which is the most underrated thing you can make in autumn.",
        "You simply pile up the leaves, keep them damp, and wait about a year.",
        "The result is a dark crumbly material that holds water like a sponge.",
        "So my advice is start small, be patient, and feed the soil rather than the plant.",
        "Thank you for joining us, and happy gardening until next week.",
    ]
    segments, clock = [], 0.0
    for line in lines:
        seconds = len(line.split()) / 150 * 60
        segments.append({"start": round(clock, 2), "end": round(clock + seconds, 2), "text": line})
        clock += seconds + 0.5
    return {"segments": segments, "text": " ".join(s["text"] for s in segments)}
