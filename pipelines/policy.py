"""The grading policy: a versioned TOML file holding every number of the rules.

Rates are kept as exact ``Fraction``s so that thresholds compare by integer
cross-multiplication: 3 bad orders out of 100 is exactly 3%, never "below 3%".
A broken policy is refused before anything runs, with a message naming the key.

Policies change over time without rewriting history: each file says the month it takes
effect from (``effective_from = "YYYY-MM"``), and a policy folder is a calendar
(``PolicyCalendar``): a month is graded under the latest policy in force for it.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipelines.months import EARLIEST_GRADEABLE_MONTH, parse_month

# The shipped calendar: every policy file of this folder, each from its effective_from.
DEFAULT_POLICY_DIR = Path(__file__).parent / "policies"
DEFAULT_POLICY_PATH = DEFAULT_POLICY_DIR / "policy-2026.1.toml"
# Top-level keys a policy file may hold that the rules themselves do not read:
# ``effective_from`` dates a policy in the policy calendar.
KNOWN_UNREAD_KEYS = frozenset({"effective_from"})

# Metric name -> (policy key suffix, comparison). "max" is strict <, "min" is >=.
RATE_METRICS = (
    "bad_order_rate",
    "seller_dispute_rate",
    "positive_feedback_rate",
    "on_time_ship_rate",
    "response_rate_24h",
)
UPPER_BOUNDED = ("bad_order_rate", "seller_dispute_rate")  # condition: value < max
LOWER_BOUNDED = (
    "positive_feedback_rate",
    "dsr_item_avg",
    "on_time_ship_rate",
    "response_rate_24h",
)  # condition: value >= min


class PolicyError(ValueError):
    """The policy file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class TierRule:
    """Conditions of one tier. ``None`` means the condition does not apply."""

    name: str
    min_assessed_orders: int
    max_rates: dict[str, Fraction]  # metric -> strict upper bound
    min_rates: dict[str, Fraction]  # metric -> inclusive lower bound


@dataclass(frozen=True)
class Policy:
    """Every number of the grading rules, validated."""

    version: str
    max_quarantine_ratio: Fraction
    positive_min_stars: int
    negative_max_stars: int
    min_order_amount_usd: Fraction
    period_start_days: tuple[int, ...]
    level_lower_bounds: tuple[int, ...]
    window_days: int
    min_dsr_item_count: int
    min_shipments_due: int
    min_messages_received: int
    tiers: tuple[TierRule, ...]
    fallback_tier: str
    provisional_min_assessed_orders: int
    provisional_tier: str
    min_product_count_exclusive: int
    individual_account_limit: int
    enterprise_account_limit: int
    level_step: Fraction
    tier_multiplier: dict[str, Fraction]
    showcase_slots: dict[str, int]
    promotion_eligible: dict[str, bool]
    email_quota: dict[str, int]
    source: str = field(default="", compare=False)
    # The first month the policy is in force for ("YYYY-MM"); None: from the start. Not a
    # rule: moving it changes which months the policy grades, not how it grades them.
    effective_from: str | None = field(default=None, compare=False)

    @property
    def in_force_from(self) -> str:
        """When the policy takes effect, for a message: its month, or the first month."""
        return self.effective_from or "the first month"

    @property
    def tier_names(self) -> tuple[str, ...]:
        """All tiers from the top, the fallback last."""
        return tuple(t.name for t in self.tiers) + (self.fallback_tier,)


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate a policy file (the shipped default when ``path`` is None)."""
    path = Path(path) if path is not None else DEFAULT_POLICY_PATH
    if path.is_dir():
        raise PolicyError(
            f"{path} is a folder, not a policy file (a folder of policy files is a "
            "calendar: --policy DIR)"
        )
    try:
        raw = read_toml(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file {path} does not exist") from exc
    except OSError as exc:
        raise PolicyError(f"policy file {path} cannot be read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from exc
    return parse_policy(raw, source=str(path))


def read_toml(text: str) -> dict[str, Any]:
    """The TOML of a policy file, with every float read as the decimal written
    (``Decimal``), not as a binary float: ``0.9300000000000000001`` written unquoted is
    that number, where a float would have made it 0.93 and graded 93 of 100 as reaching it
    (found by a review, 2026-12-06)."""
    return tomllib.loads(text, parse_float=Decimal)


# The largest numerator or denominator a threshold may have: the rules cross-multiply it
# with 64-bit counts in 128-bit integers (pipelines.rules.tiers), which hold any such
# product (2**63 * 10**19 < 2**127). 10**19 is every decimal of up to 19 places.
MAX_THRESHOLD_TERM = 10**19
# The most a discrete resource may be: showcase_slots and email_quota are 32-bit INTEGER
# columns of exposure_weights (spec §8 gives no type; the warehouse's is INTEGER).
MAX_RESOURCE = 2**31 - 1
# The longest assessment window: a century. A longer one has no practical use, and past
# some 700,000 days its start leaves the calendar (Python's dates end at year 1), which
# stopped every month with "date value out of range" naming no key.
MAX_WINDOW_DAYS = 36_525


def parse_policy(raw: dict[str, Any], source: str = "<policy>") -> Policy:
    """Build a validated ``Policy`` from the parsed TOML mapping.

    Every key of the file must be one the rules read. A misspelt key is named as such
    (with the key it may have meant) even where the key it replaced is then missing.
    """
    r = _Reader(raw, source)
    try:
        policy = _read_policy(r, source)
    except PolicyError:
        _refuse_misspelt_key(raw, r, source)
        raise
    _refuse_unknown_keys(raw, r.read_keys, source)
    _check_semantics(policy, source)
    return policy


def _refuse_misspelt_key(raw: dict[str, Any], r: _Reader, source: str) -> None:
    """A key found missing may be there under a misspelt name: name that one instead."""
    unread = _leaf_keys(raw) - r.read_keys - KNOWN_UNREAD_KEYS
    for missing in sorted(r.missing_keys):
        table, _, name = missing.rpartition(".")
        siblings = {k.rpartition(".")[2]: k for k in unread if k.rpartition(".")[0] == table}
        close = difflib.get_close_matches(name, sorted(siblings), n=1, cutoff=0.85)
        if close:
            raise PolicyError(
                f"{source}: unknown key {siblings[close[0]]!r} (did you mean {missing!r}?); "
                f"a policy holds only the keys of {DEFAULT_POLICY_PATH.name}"
            )


def _read_policy(r: _Reader, source: str) -> Policy:
    """Every value of the policy, read and typed (the checks across values come after)."""
    tier_names = [k for k, v in r.table("tiers").items() if isinstance(v, dict)]
    if not tier_names:
        raise PolicyError(f"{source}: [tiers] defines no tier")
    tiers = tuple(_tier(r, name) for name in tier_names)
    fallback = r.text("tiers.fallback")
    all_tiers = tuple(tier_names) + (fallback,)

    bounds = tuple(
        r.integer(f"credit.level_lower_bounds[{i}]", v)
        for i, v in enumerate(r.list("credit.level_lower_bounds"))
    )
    if len(bounds) != 10:
        raise PolicyError(
            f"{source}: credit.level_lower_bounds must hold 10 bounds (L1..L10), "
            f"found {len(bounds)}"
        )
    if any(b <= a for a, b in zip(bounds, bounds[1:], strict=False)):
        raise PolicyError(
            f"{source}: credit.level_lower_bounds must strictly increase: {list(bounds)}"
        )
    if bounds[0] < 0:
        raise PolicyError(
            f"{source}: credit.level_lower_bounds[0] must not be negative, got {bounds[0]}: "
            "negative credit points are L0"
        )
    periods = tuple(
        r.integer(f"credit.period_start_days[{i}]", v)
        for i, v in enumerate(r.list("credit.period_start_days"))
    )
    if (
        not periods
        or periods[0] != 1
        or any(b <= a for a, b in zip(periods, periods[1:], strict=False))
        or periods[-1] > 28
    ):
        raise PolicyError(
            f"{source}: credit.period_start_days must start at 1, strictly "
            f"increase and stay within day 28: {list(periods)}"
        )

    return Policy(
        version=r.text("policy_version"),
        max_quarantine_ratio=r.rate("ingest.max_quarantine_ratio"),
        positive_min_stars=r.integer("credit.positive_min_stars"),
        negative_max_stars=r.integer("credit.negative_max_stars"),
        min_order_amount_usd=r.fraction("credit.min_order_amount_usd"),
        period_start_days=periods,
        level_lower_bounds=bounds,
        window_days=r.integer("window.days"),
        min_dsr_item_count=r.integer("window.min_dsr_item_count"),
        min_shipments_due=r.integer("window.min_shipments_due"),
        min_messages_received=r.integer("window.min_messages_received"),
        tiers=tiers,
        fallback_tier=fallback,
        provisional_min_assessed_orders=r.integer("provisional.min_assessed_orders"),
        provisional_tier=r.text("provisional.tier"),
        min_product_count_exclusive=r.integer("compliance.min_product_count_exclusive"),
        individual_account_limit=r.integer("compliance.individual_account_limit"),
        enterprise_account_limit=r.integer("compliance.enterprise_account_limit"),
        level_step=r.fraction("exposure.level_step"),
        tier_multiplier={t: r.fraction(f"exposure.tier_multiplier.{t}") for t in all_tiers},
        showcase_slots={t: r.integer(f"exposure.showcase_slots.{t}") for t in all_tiers},
        promotion_eligible={t: r.boolean(f"exposure.promotion_eligible.{t}") for t in all_tiers},
        email_quota={t: r.integer(f"exposure.email_quota.{t}") for t in all_tiers},
        source=source,
        effective_from=_effective_from(r.raw, source),
    )


def _refuse_unknown_keys(raw: dict[str, Any], read: set[str], source: str) -> None:
    """Refuse any key the rules never read: a misspelt ``min_dsr_item_cout`` would
    otherwise be ignored while the default it meant to change silently applies."""
    unknown = sorted(_leaf_keys(raw) - read - KNOWN_UNREAD_KEYS)
    if unknown:
        guess = difflib.get_close_matches(unknown[0], sorted(read), n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        raise PolicyError(
            f"{source}: unknown key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}{hint}; a policy holds only the keys of "
            f"{DEFAULT_POLICY_PATH.name}"
        )


def _leaf_keys(table: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted names of every value in the parsed TOML (an empty table counts as one)."""
    keys: set[str] = set()
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and value:
            keys |= _leaf_keys(value, f"{key}.")
        else:
            keys.add(key)
    return keys


def _effective_from(raw: dict[str, Any], source: str) -> str | None:
    """The optional ``effective_from`` key, a month "YYYY-MM"."""
    value = raw.get("effective_from")
    if value is None:
        return None
    if not isinstance(value, str) or not _is_month(value):
        raise PolicyError(f"{source}: 'effective_from' must be a month \"YYYY-MM\", got {value!r}")
    return value


def _is_month(text: str) -> bool:
    try:
        parse_month(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class PolicyCalendar:
    """The policies of a folder (or one file), each in force from its ``effective_from``.

    A month is graded under the policy with the latest ``effective_from`` not after it,
    so adding a policy from July leaves every earlier month's policy (and run key) as it
    was. A policy without ``effective_from`` is in force from the start.
    """

    policies: tuple[Policy, ...]  # by effective_from, one without it first
    source: str

    def policy_for(self, month: str) -> Policy:
        """The policy in force for ``month``; refused when none is."""
        in_force = [p for p in self.policies if (p.effective_from or "") <= month]
        if in_force:
            return in_force[-1]
        earliest = self.policies[0]
        raise PolicyError(
            f"no policy of {self.source} is in force for {month}: the earliest, "
            f"{earliest.version} ({earliest.source}), takes effect from "
            f"{earliest.effective_from}; add a policy with an earlier effective_from, or "
            f"grade {month} with --policy-override FILE"
        )


def load_calendar(path: str | Path | None = None) -> PolicyCalendar:
    """The policy calendar of a folder of ``*.toml`` files, or of one file (a calendar of
    one policy); the shipped folder when ``path`` is None. Every file is validated."""
    path = Path(path) if path is not None else DEFAULT_POLICY_DIR
    if path.is_dir():
        files = sorted(path.glob("*.toml"))
        if not files:
            raise PolicyError(f"policy folder {path} holds no *.toml policy file")
    else:
        files = [path]
    policies = sorted((load_policy(f) for f in files), key=lambda p: p.effective_from or "")
    _check_calendar(policies)
    return PolicyCalendar(tuple(policies), str(path))


def _check_calendar(policies: list[Policy]) -> None:
    """Refuse a calendar where a month or a version would be ambiguous.

    A file without ``effective_from`` is in force from the start, until the first dated
    one: a base policy (the shipped one is). When that dated one starts at or before the
    earliest gradeable month, the undated file grades no month, and a file added that way
    would silently never apply (found by an audit): refused.
    """
    undated = [p for p in policies if p.effective_from is None]
    dated = [p for p in policies if p.effective_from is not None]
    if undated and dated and dated[0].effective_from <= EARLIEST_GRADEABLE_MONTH:
        raise PolicyError(
            f"{undated[0].source} has no effective_from, so it is in force only before "
            f"{dated[0].effective_from}, the first month of {dated[0].source}: for no month "
            f"from {EARLIEST_GRADEABLE_MONTH}, the earliest gradeable. Say the month it takes "
            f'effect from (effective_from = "YYYY-MM")'
        )
    for earlier, later in zip(policies, policies[1:], strict=False):
        if earlier.effective_from == later.effective_from:
            start = later.effective_from or "the start (no effective_from)"
            raise PolicyError(
                f"policies {earlier.source} and {later.source} both take effect from {start}"
            )
    by_version: dict[str, Policy] = {}
    for policy in policies:
        other = by_version.setdefault(policy.version, policy)
        if other is not policy:
            raise PolicyError(
                f"policies {other.source} and {policy.source} both have policy_version "
                f"{policy.version!r}: every published row names its policy by version"
            )


def _tier(r: _Reader, name: str) -> TierRule:
    table = r.table(f"tiers.{name}")
    known = (
        {"min_assessed_orders"}
        | {f"{m}_max" for m in UPPER_BOUNDED}
        | {f"{m}_min" for m in LOWER_BOUNDED}
    )
    unknown = sorted(set(table) - known)
    if unknown:
        raise PolicyError(
            f"{r.source}: tiers.{name} has unknown keys {unknown}; allowed: {sorted(known)}"
        )
    max_rates = {m: r.rate(f"tiers.{name}.{m}_max") for m in UPPER_BOUNDED if f"{m}_max" in table}
    min_rates = {}
    for m in LOWER_BOUNDED:
        if f"{m}_min" in table:
            key = f"tiers.{name}.{m}_min"
            min_rates[m] = r.fraction(key) if m == "dsr_item_avg" else r.rate(key)
    dsr_min = min_rates.get("dsr_item_avg")
    if dsr_min is not None and not 1 <= dsr_min <= 5:
        raise PolicyError(
            f"{r.source}: 'tiers.{name}.dsr_item_avg_min' is an average of 1 to 5 stars "
            f"and must lie in [1, 5], got {float(dsr_min)}"
        )
    min_orders = r.integer(f"tiers.{name}.min_assessed_orders")
    if min_orders < 0:
        raise PolicyError(
            f"{r.source}: 'tiers.{name}.min_assessed_orders' must not be negative, got {min_orders}"
        )
    return TierRule(name, min_orders, max_rates, min_rates)


def _check_semantics(p: Policy, source: str) -> None:
    """Refuse policies whose numbers contradict each other."""
    if len(set(p.tier_names)) != len(p.tier_names):
        raise PolicyError(f"{source}: tier names repeat: {list(p.tier_names)}")
    if p.provisional_tier not in p.tier_names:
        raise PolicyError(
            f"{source}: provisional.tier {p.provisional_tier!r} is not one of {list(p.tier_names)}"
        )
    if not 1 <= p.negative_max_stars < p.positive_min_stars <= 5:
        raise PolicyError(
            f"{source}: credit stars must satisfy 1 <= negative_max_stars < positive_min_stars <= 5"
        )
    if not 1 <= p.window_days <= MAX_WINDOW_DAYS:
        raise PolicyError(
            f"{source}: window.days must be from 1 to {MAX_WINDOW_DAYS:,} (a century), "
            f"got {p.window_days}"
        )
    if p.provisional_min_assessed_orders < 0:
        raise PolicyError(
            f"{source}: provisional.min_assessed_orders must not be negative, "
            f"got {p.provisional_min_assessed_orders}"
        )
    # A rate's minimum denominator: at 0, a merchant with none would have a rate of 0/0
    # "defined" (found by an audit, 2026-12-05: accepted, then every month failed its
    # merchant_grades check, which expects a value wherever the minimum is reached).
    for key, value in (
        ("window.min_dsr_item_count", p.min_dsr_item_count),
        ("window.min_shipments_due", p.min_shipments_due),
        ("window.min_messages_received", p.min_messages_received),
    ):
        if value < 1:
            raise PolicyError(
                f"{source}: {key} must be at least 1 (the rate is defined from that many on, "
                f"and over 0 it has no value), got {value}"
            )
    for upper, lower in zip(p.tiers, p.tiers[1:], strict=False):
        where = f"{source}: tiers.{upper.name} must be at least as strict as tiers.{lower.name}"
        if upper.min_assessed_orders < lower.min_assessed_orders:
            raise PolicyError(
                f"{where}: min_assessed_orders {upper.min_assessed_orders} < "
                f"{lower.min_assessed_orders}"
            )
        for m, low_max in lower.max_rates.items():
            up_max = upper.max_rates.get(m)
            if up_max is None or up_max > low_max:
                raise PolicyError(f"{where}: {m}_max {_show(up_max)} > {_show(low_max)}")
        for m, low_min in lower.min_rates.items():
            up_min = upper.min_rates.get(m)
            if up_min is None or up_min < low_min:
                raise PolicyError(f"{where}: {m}_min {_show(up_min)} < {_show(low_min)}")
    for table in ("tier_multiplier", "showcase_slots", "email_quota"):
        for tier, value in getattr(p, table).items():
            if value < 0:
                raise PolicyError(f"{source}: exposure.{table}.{tier} must not be negative")
            if table != "tier_multiplier" and value > MAX_RESOURCE:
                raise PolicyError(
                    f"{source}: exposure.{table}.{tier} must be at most {MAX_RESOURCE:,} "
                    f"(exposure_weights.{table} is a 32-bit integer), got {value:,}"
                )
    for key, number in (
        ("exposure.level_step", p.level_step),
        ("credit.min_order_amount_usd", p.min_order_amount_usd),
        ("compliance.min_product_count_exclusive", p.min_product_count_exclusive),
    ):
        if number < 0:
            raise PolicyError(f"{source}: {key} must not be negative, got {float(number):g}")
    for key, limit in (
        ("compliance.individual_account_limit", p.individual_account_limit),
        ("compliance.enterprise_account_limit", p.enterprise_account_limit),
    ):
        if limit < 1:  # the account itself is one: a limit of 0 breaks every account
            raise PolicyError(f"{source}: {key} must be at least 1, got {limit}")


def _show(value: Fraction | None) -> str:
    return "(missing)" if value is None else str(float(value))


def decimal_text(value: Fraction) -> str:
    """A policy number as the exact decimal it is: ``0.1200000000000000001``, not the
    ``0.12`` a float shows (a review saw the at-risk list's limit read 0.12 beside the
    reason's 0.1200000000000000001, 2026-12-06). Policy numbers have at most 19 decimals
    (MAX_THRESHOLD_TERM), so the decimal ends; one that does not (a value computed in
    Python) falls back to 19 places, cut."""
    value = Fraction(value)
    places = next((k for k in range(40) if (value * 10**k).denominator == 1), 19)
    scaled = value.numerator * 10**places // value.denominator
    sign, (whole, part) = ("-" if scaled < 0 else ""), divmod(abs(scaled), 10**places)
    return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"


class _Reader:
    """Typed access to dotted keys, with errors that name the missing or bad key."""

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source
        self.read_keys: set[str] = set()  # every key read: the others are unknown
        self.missing_keys: set[str] = set()

    def get(self, key: str) -> Any:
        node: Any = self.raw
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                self.missing_keys.add(key)
                raise PolicyError(f"{self.source}: missing key {key!r}")
            node = node[part]
        self.read_keys.add(key)
        return node

    def table(self, key: str) -> dict[str, Any]:
        value = self.get(key)
        if not isinstance(value, dict):
            raise PolicyError(f"{self.source}: {key!r} must be a table")
        return value

    def list(self, key: str) -> list[Any]:
        value = self.get(key)
        if not isinstance(value, list):
            raise PolicyError(f"{self.source}: {key!r} must be a list")
        return value

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value:
            raise PolicyError(f"{self.source}: {key!r} must be a non-empty string")
        return value

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise PolicyError(f"{self.source}: {key!r} must be true or false")
        return value

    def integer(self, key: str, value: Any = None) -> int:
        value = self.get(key) if value is None else value
        if isinstance(value, bool) or not isinstance(value, int):
            raise PolicyError(f"{self.source}: {key!r} must be an integer, got {value!r}")
        if not -(2**63) <= value < 2**63:
            # TOML integers have no size limit; the counts every integer of the policy is
            # compared with are 64-bit, and a larger one failed the explanations.
            raise PolicyError(
                f"{self.source}: {key!r} must fit a 64-bit integer (at most "
                f"{2**63 - 1:,}), got {value:,}"
            )
        return value

    def fraction(self, key: str) -> Fraction:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise PolicyError(f"{self.source}: {key!r} must be a number, got {value!r}")
        try:
            # A file's unquoted decimals arrive as Decimal (read_toml); a float (from a
            # what-if in Python) as its shortest round-trip form: 0.03 -> "0.03" -> 3/100.
            number = Fraction(str(value).strip())
        except ValueError as exc:
            raise PolicyError(f"{self.source}: {key!r} is not a number: {value!r}") from exc
        if max(abs(number.numerator), number.denominator) > MAX_THRESHOLD_TERM:
            raise PolicyError(
                f"{self.source}: {key!r} has more digits than exact comparisons take: "
                f"{value!r} is {number} as a fraction, and its numerator and denominator "
                f"may be at most 10**19 (up to 19 decimal places)"
            )
        return number

    def rate(self, key: str) -> Fraction:
        value = self.fraction(key)
        if not 0 <= value <= 1:
            raise PolicyError(
                f"{self.source}: {key!r} is a rate and must lie in [0, 1], got {float(value)}"
            )
        return value


def policy_digest(policy: Policy) -> str:
    """Digest of the policy's rules and numbers (not of where its file lies, nor of the
    month it takes effect from: that decides which months it grades, not how)."""
    rules_only = dataclasses.replace(policy, source="", effective_from=None)
    return hashlib.sha256(repr(rules_only).encode()).hexdigest()
