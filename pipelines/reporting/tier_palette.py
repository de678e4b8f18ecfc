"""The one tier palette of the dashboard and the notebooks.

Why a module of its own: the dashboard and the three notebooks used to spell their colours
out each, and two of them drew "excellent" and "good" as two greens that a reader with
red-green colour blindness cannot tell apart. The colours here are from the Okabe-Ito set,
which stays distinct under the common colour-vision deficiencies, and run from blue (best)
to vermillion (worst), so the order reads without a legend. Tier names come from the policy,
so the palette is keyed by a tier's rank, not by its name.
"""

from __future__ import annotations

from collections.abc import Sequence

# Best to worst: blue, sky blue, orange, vermillion; then reddish purple and yellow for a
# policy with more tiers than four.
RANKED_TIER_COLORS: tuple[str, ...] = (
    "#0072B2",
    "#56B4E9",
    "#E69F00",
    "#D55E00",
    "#CC79A7",
    "#F0E442",
)
# Provisional merchants (spec §4: too few orders to be graded on rates) are shown apart from
# the tier they were given, in a light tint of that tier's orange.
PROVISIONAL_COLOR = "#F5D38A"
# Anything the policy does not name (a tier of an older policy, "not graded").
OTHER_COLOR = "#999999"


def tier_colors(tier_names: Sequence[str]) -> dict[str, str]:
    """Map tier names, best first as the policy lists them, to their colours."""
    return {
        name: RANKED_TIER_COLORS[rank] if rank < len(RANKED_TIER_COLORS) else OTHER_COLOR
        for rank, name in enumerate(tier_names)
    }
