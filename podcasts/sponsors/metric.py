"""MinusPod's ad-detection score: F1 over spans at IoU >= 0.5, after merging spans < 15 s apart."""

from dataclasses import dataclass

MERGE_GAP_SECONDS = 15.0
IOU_THRESHOLD = 0.5


def merge_spans(spans, gap: float = MERGE_GAP_SECONDS) -> list[tuple[float, float]]:
    """Sorted (start, end) pairs with every pair less than `gap` seconds apart joined."""
    merged: list[list[float]] = []
    for start, end in sorted((float(s), float(e)) for s, e in spans):
        if merged and start - merged[-1][1] < gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class SpanScore:
    truth: int
    predicted: int
    tp: int

    @property
    def fp(self) -> int:
        return self.predicted - self.tp

    @property
    def fn(self) -> int:
        return self.truth - self.tp

    @property
    def f1(self) -> float:
        # An episode with no ads and no predictions is a perfect score.
        if self.truth == 0 and self.predicted == 0:
            return 1.0
        return 2 * self.tp / (self.truth + self.predicted)

    def __add__(self, other: "SpanScore") -> "SpanScore":
        return SpanScore(self.truth + other.truth, self.predicted + other.predicted, self.tp + other.tp)


def score_spans(predicted, truth) -> SpanScore:
    """One-to-one greedy matching by best IoU; each labelled span matches at most one prediction."""
    pred = merge_spans(predicted)
    gold = merge_spans(truth)
    pairs = sorted(
        ((iou(p, g), i, j) for i, p in enumerate(pred) for j, g in enumerate(gold)),
        reverse=True,
    )
    used_p, used_g, tp = set(), set(), 0
    for value, i, j in pairs:
        if value < IOU_THRESHOLD:
            break
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        tp += 1
    return SpanScore(truth=len(gold), predicted=len(pred), tp=tp)
