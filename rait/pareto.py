"""A swept setting's trade-off: each point's accuracy against its wrong-answer rate, and the points no other beats on
both (the Pareto front). The points are the evaluations of a sweep's methods (``rait.plan.sweeps``), found by what
their eval files record (``config.sweep``), beside the evaluation of the method they vary, at its own setting."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from rait.plan.sweeps import lookup, value_text

# higher accuracy is better, a lower wrong-answer rate is better
AXES = ("accuracy", "wrong_rate")


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For each (accuracy, wrong-answer rate), whether no other point is at least as good on both and better on one.
    Equal points are on the front together or off it together."""
    def beats(q, p) -> bool:
        return q[0] >= p[0] and q[1] <= p[1] and (q[0] > p[0] or q[1] < p[1])

    return [not any(beats(q, p) for q in points) for p in points]


def _label(setting: str, value: float, fixed: Mapping) -> str:
    """"refusal=-0.5", "refusal=1, correct=2": the swept key's last name and value, then each fixed one's."""
    parts = [f"{setting.rsplit('.', 1)[-1]}={value_text(value)}"]

    def walk(section: Mapping):
        for key, nested in section.items():
            if isinstance(nested, Mapping):
                walk(nested)
            elif isinstance(nested, (int, float)) and not isinstance(nested, bool):
                parts.append(f"{key}={value_text(nested)}")

    walk(fixed)
    return ", ".join(parts)


def sweep_groups(results: Sequence[Mapping]) -> dict[tuple[str, str], list[dict]]:
    """(model, swept method) -> its points, each {"method", "label", "value", "test_sets"}: the evaluated sweep
    methods in the order of their values, and the swept method's own evaluation where there is one, at the value
    its training recorded. A group holds at least one point of a sweep."""
    points: dict[tuple[str, str], list[dict]] = defaultdict(list)
    settings: dict[tuple[str, str], str] = {}
    for result in results:
        sweep = (result.get("config") or {}).get("sweep")
        if sweep:
            key = (result["model"], sweep["method"])
            settings.setdefault(key, sweep["setting"])
            points[key].append({"method": result["method"], "value": sweep["value"], "fixed": bool(sweep["with"]),
                                "label": _label(sweep["setting"], sweep["value"], sweep["with"]),
                                "test_sets": result["test_sets"]})
    for result in results:
        key = (result["model"], result["method"])
        if key in points:
            value = lookup(result.get("config") or {}, settings[key])
            label = f"{result['method']}" + (f" ({_label(settings[key], value, {})})" if value is not None else "")
            points[key].append({"method": result["method"], "value": value, "fixed": False, "label": label,
                                "test_sets": result["test_sets"]})
    # by value, a sweep with fixed settings (KnowRL's point) after the plain ones
    return {key: sorted(group, key=lambda p: (p["fixed"], p["value"] if p["value"] is not None else 0.0, p["method"]))
            for key, group in points.items()}


def sweep_rows(group: Sequence[Mapping], test_set: str) -> list[dict]:
    """One row per point evaluated on ``test_set``: method, label, accuracy, wrong and refusal rate, their
    intervals, and whether it lies on the Pareto front (among the points with both numbers)."""
    rows = [{"method": p["method"], "label": p["label"], **p["test_sets"][test_set]}
            for p in group if test_set in p["test_sets"]]
    drawn = [row for row in rows if all(isinstance(row.get(axis), (int, float)) for axis in AXES)]
    front = pareto_front([(row["accuracy"], row["wrong_rate"]) for row in drawn])
    for row in rows:
        row["front"] = False
    for row, on in zip(drawn, front):
        row["front"] = on
    return rows
