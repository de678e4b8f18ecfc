"""Random landing folders of valid rows, heavy on the contract's boundaries.

Written for the twenty-first review (docs/decisions/conformance-review.md) with
tests/spec_oracle.py: rates at and one off every threshold of spec §5, the counts at which
a metric becomes defined, orders at the window's first instant and the cutoff, feedback of
4.99 and 5.00 orders on ten-day period edges, a buyer's feedback on both sides of the
window's start in one period, credit points at level bounds and negative, ties of
``registered_at`` between ids such as ``M9`` and ``M10``, enterprise groups of six and seven,
banned, suspended and terminated accounts, a category where no one is eligible, offsets that
cross midnight and month ends, and each month's rows split between a CSV and a Parquet file.
Every row is valid, so a difference from the oracle is about the rules, not the quarantine.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.datasets import BAD_ORDERS, DATASETS

UTC = dt.UTC
# The landing headers, read from the dataset definitions (docs/decisions/tests-layout.md).
COLS = {dataset.name: list(dataset.columns) for dataset in DATASETS}
REASONS = list(BAD_ORDERS.enums["reason"])


def add_months(y, m, n):
    m0 = y * 12 + (m - 1) + n
    return m0 // 12, m0 % 12 + 1


def mstart(y, m):
    return dt.datetime(y, m, 1, tzinfo=UTC)


def fill(total: int, caps: list[int]) -> list[int]:
    """``total`` given out day by day, each day at most its cap (a day stays valid)."""
    given = []
    for cap in caps:
        given.append(min(total, cap))
        total -= given[-1]
    return given


def write_landing(seed: int, out: str) -> list[str]:
    """Write seed's landing folder to ``out``; its months, in order."""
    R = random.Random(seed)
    nmonths = R.choice([2, 3, 4, 4, 4])
    y0, m0 = R.choice(
        [(2026, 1), (2025, 12), (2024, 2), (2024, 3), (2025, 5), (2026, 4), (2025, 10), (2024, 12)]
    )
    months = [add_months(y0, m0, i) for i in range(nmonths)]
    mnames = [f"{y:04d}-{m:02d}" for y, m in months]
    lo = mstart(*months[0])
    hi = mstart(*add_months(*months[-1], 1))

    def cutoff(i):
        return mstart(*add_months(*months[i], 1))

    def wstart(i):
        ld = (cutoff(i) - dt.timedelta(days=1)).date() - dt.timedelta(days=89)
        return dt.datetime(ld.year, ld.month, ld.day, tzinfo=UTC)

    def fmt(ts):
        k = R.random()
        frac = f".{ts.microsecond:06d}" if ts.microsecond else ""
        if k < 0.35:
            return ts.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"
        if k < 0.55:
            return ts.strftime("%Y-%m-%d %H:%M:%S") + frac
        off = R.choice([8, -5, 2, -10, 14, -3.5, 5.5])
        tz = dt.timezone(dt.timedelta(hours=off))
        return ts.astimezone(tz).isoformat()

    def rnd_ts(a, b):  # uniform in [a,b)
        if b <= a:
            return a
        s = int((b - a).total_seconds())
        return a + dt.timedelta(seconds=R.randrange(max(s, 1)))

    def in_land(ts):
        return lo <= ts < hi

    def edge_ts(a, b):
        """timestamp in [a,b), biased to period edges/month ends/midnights"""
        cands = []
        d = a.date()
        while True:
            day = dt.datetime(d.year, d.month, d.day, tzinfo=UTC)
            if day >= b:
                break
            if d.day in (1, 10, 11, 20, 21) or (d + dt.timedelta(days=1)).day == 1:
                for t in (
                    day,
                    day + dt.timedelta(hours=23, minutes=59, seconds=59),
                    day + dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999000),
                    day + dt.timedelta(hours=R.randrange(24)),
                ):
                    if a <= t < b:
                        cands.append(t)
            d += dt.timedelta(days=1)
        if cands and R.random() < 0.5:
            return R.choice(cands)
        return rnd_ts(a, b)

    # ---------------- merchants ----------------
    cats = ["apparel", "home", "toys", "books"]  # books: nobody eligible
    n = R.randint(12, 26)
    mids = []
    used = set()
    for _ in range(n):
        while True:
            mid = R.choice(
                [f"M{R.randint(1, 120)}", f"M{R.randint(1, 120):03d}", f"X{R.randint(1, 30)}"]
            )
            if mid not in used:
                break
        used.add(mid)
        mids.append(mid)
    base_reg = [
        dt.datetime(2023, 5, 1, tzinfo=UTC),
        dt.datetime(2023, 5, 1, 8, tzinfo=UTC),
        dt.datetime(2022, 1, 1, tzinfo=UTC),
    ]
    ents = ["E1", "E2", "E3", "E4"]
    mrow = {}
    for mid in mids:
        cat = R.choice(cats)
        atype = R.choice(["individual", "enterprise"])
        ent = R.choice(ents) if R.random() < 0.8 else "E_" + mid
        pc = R.choice([0, 10, 5]) if cat == "books" else R.choice([10, 11, 11, 50, 200, 12])
        mrow[mid] = dict(
            merchant_id=mid,
            account_type=atype,
            auth_entity_id=ent,
            real_name_verified=R.random() > 0.1,
            collection_account_set=R.random() > 0.1,
            sales_plan=R.choice(["basic", "standard"]),
            store_type=R.choice(["official", "exclusive", "specialty", "other"]),
            main_category=cat,
            product_count=pc,
            status="active",
            registered_at=R.choice(base_reg)
            if R.random() < 0.6
            else rnd_ts(dt.datetime(2022, 1, 1, tzinfo=UTC), lo),
        )
    # a big enterprise group of 6 or 7 accounts
    if R.random() < 0.7:
        grp = R.sample(mids, min(len(mids), R.choice([6, 7, 8])))
        for mid in grp:
            mrow[mid]["account_type"] = "enterprise"
            mrow[mid]["auth_entity_id"] = "ENT_BIG"
    # per-month status
    statuses = {}
    for i in range(nmonths):
        for mid in mids:
            s = "active"
            r = R.random()
            if r < 0.06:
                s = "suspended"
            elif r < 0.10:
                s = "banned"
            elif r < 0.12:
                s = "terminated"
            statuses[(i, mid)] = s
    # a merchant appearing only from a later month
    late = set(R.sample(mids, 2)) if nmonths > 1 else set()

    # ---------------- per-merchant activity ----------------
    rows = {ds: {mn: [] for mn in mnames} for ds in COLS}
    ocount = [0]

    def month_idx(ts):
        for i in range(nmonths):
            if mstart(*months[i]) <= ts < cutoff(i):
                return i
        return None

    def add(ds, ts_or_date, row):
        if isinstance(ts_or_date, dt.date) and not isinstance(ts_or_date, dt.datetime):
            ts = dt.datetime(ts_or_date.year, ts_or_date.month, ts_or_date.day, tzinfo=UTC)
        else:
            ts = ts_or_date
        i = month_idx(ts)
        if i is None:
            return False
        if ds == "bad_orders":
            if (row["order_id"], row["reason"]) in badkeys:
                return False
            badkeys.add((row["order_id"], row["reason"]))
        if "merchant_id" in row and ds != "merchants" and i < first_month_of[row["merchant_id"]]:
            return False
        rows[ds][mnames[i]].append(row)
        return True

    badkeys = set()
    first_month_of = {}
    for mid in mids:
        first_month_of[mid] = R.randrange(1, nmonths) if mid in late else 0
    buyers_pool = [f"B{k}" for k in range(1, 8)]

    for mid in mids:
        fm = first_month_of[mid]
        t = R.choice(range(fm, nmonths)) if R.random() < 0.4 else nmonths - 1
        ws, co = max(wstart(t), mstart(*months[fm])), cutoff(t)
        clean = R.random() < 0.65
        A = R.choice(
            [0, 5, 29, 30, 31, 34, 50, 89, 90, 91, 99, 100, 101, 124, 125, 126, 134, 167, 200]
        )
        # orders in window of target month
        orders = []

        def mk_order(ended, status=None, amount=None, mid=mid, orders=orders):
            ocount[0] += 1
            oid = f"O{ocount[0]:06d}"
            st = status or R.choices(["completed", "cancelled", "refunded"], [0.85, 0.1, 0.05])[0]
            amt = (
                amount
                if amount is not None
                else R.choice(
                    [
                        Decimal("4.99"),
                        Decimal("5.00"),
                        Decimal("5"),
                        Decimal("12.50"),
                        Decimal("99.99"),
                        Decimal("0"),
                        Decimal("5.01"),
                    ]
                )
            )
            created = ended - dt.timedelta(hours=R.randrange(0, 300))
            o = dict(
                order_id=oid,
                merchant_id=mid,
                buyer_id=R.choice(buyers_pool),
                created_at=created,
                ended_at=ended,
                status=st,
                amount_usd=amt,
            )
            if add("orders", ended, o):
                orders.append(o)
                return o
            return None

        for k in range(A):
            if k == 0 and ws == wstart(t):
                e = ws
            elif k == 1:
                e = co - dt.timedelta(seconds=1)
            else:
                e = edge_ts(ws, co)
            mk_order(e)
        # edge orders just outside
        if R.random() < 0.7:
            mk_order(wstart(t) - dt.timedelta(seconds=1))
        if R.random() < 0.7:
            mk_order(co)
        for _ in range(R.randint(0, 6)):  # noise anywhere in landing after first month
            mk_order(rnd_ts(mstart(*months[fm]), hi))
        win = [o for o in orders if ws <= o["ended_at"] < co]

        def bad_record(o, reason, recorded_at, exempt, mid=mid):
            row = dict(
                order_id=o["order_id"],
                merchant_id=mid,
                reason=reason,
                recorded_at=recorded_at,
                exempt=exempt,
            )
            return add("bad_orders", recorded_at, row)

        # bad orders
        thr = R.choice([0.03, 0.06, 0.12, 0.008, 0.0])
        B = int(round(thr * len(win))) + R.choice([-1, 0, 0, 1])
        B = max(0, min(B, len(win)))
        bad = R.sample(win, B)
        if clean:
            S = max(0, int(round(0.008 * len(win))) + R.choice([-1, 0, 0, 1]))
            disp = set(o["order_id"] for o in bad[:S])
        for o in bad:
            if clean:
                reason = (
                    "seller_responsible_dispute"
                    if o["order_id"] in disp
                    else R.choice([x for x in REASONS if x != "seller_responsible_dispute"])
                )
            else:
                reason = R.choice(REASONS) if R.random() < 0.6 else "seller_responsible_dispute"
            rec = (
                rnd_ts(o["ended_at"], co)
                if R.random() < 0.7
                else R.choice(
                    [co - dt.timedelta(seconds=1), max(o["ended_at"], co - dt.timedelta(seconds=1))]
                )
            )
            bad_record(o, reason, rec, False)
            if R.random() < 0.3:  # second reason
                r2 = R.choice(
                    [
                        x
                        for x in REASONS
                        if x != reason and (not clean or x != "seller_responsible_dispute")
                    ]
                )
                rec2 = rnd_ts(o["ended_at"], hi)
                bad_record(o, r2, rec2, R.random() < 0.5)
        for o in R.sample(
            orders, min(len(orders), R.randint(0, 3))
        ):  # exempt / late / outside window records
            reason = R.choice(REASONS)
            rec = R.choice([rnd_ts(o["ended_at"], hi), co, co - dt.timedelta(seconds=1)])
            if rec < o["ended_at"]:
                rec = o["ended_at"]
            ex = R.random() < 0.6
            if clean and not (rec >= co or not (ws <= o["ended_at"] < co)):
                ex = True
            bad_record(o, reason, rec, ex)
        # feedback
        comp = [o for o in orders if o["status"] == "completed"]
        R.shuffle(comp)
        pos_t, neg_t = R.choice(
            [
                (97, 3),
                (96, 4),
                (95, 5),
                (94, 6),
                (19, 1),
                (18, 2),
                (9, 1),
                (0, 0),
                (0, 1),
                (30, 1),
                (3, 0),
                (10, 0),
                (2, 0),
                (9, 0),
                (29, 0),
                (1, 2),
            ]
        )
        used_slots = set()

        def period(ts):
            return (ts.year, ts.month, 0 if ts.day <= 10 else (1 if ts.day <= 20 else 2))

        def fb(o, stars, ts, buyer, mid=mid):
            return add(
                "feedback",
                ts,
                dict(
                    order_id=o["order_id"],
                    merchant_id=mid,
                    buyer_id=buyer,
                    stars=stars,
                    feedback_at=ts,
                ),
            )

        fbd = set()
        for want, starsset in ((pos_t, [4, 5]), (neg_t, [1, 2])):
            made = 0
            for o in comp:
                if made >= want:
                    break
                if o["order_id"] in fbd:
                    continue
                lo_t = max(o["ended_at"], ws)
                if lo_t >= co:
                    continue
                ts = edge_ts(lo_t, co)
                if R.random() < 0.4 and o["amount_usd"] < Decimal("5"):
                    pass  # counts nothing, deliberately not bumping made
                stars = R.choice(starsset)
                cat = 1 if stars >= 4 else -1
                b = R.choice(buyers_pool)
                if (b, period(ts), cat) in used_slots and R.random() < 0.7:
                    b = "U" + o["order_id"]
                if fb(o, stars, ts, b):
                    fbd.add(o["order_id"])
                    used_slots.add((b, period(ts), cat))
                    if o["amount_usd"] >= Decimal("5"):
                        made += 1
        # neutral + noise feedback on remaining orders, anywhere after the order ends
        for o in comp:
            if o["order_id"] in fbd or R.random() < 0.5:
                continue
            ts = (
                edge_ts(o["ended_at"], hi)
                if R.random() < 0.7
                else rnd_ts(o["ended_at"], min(hi, o["ended_at"] + dt.timedelta(days=3)))
            )
            stars = R.choice([1, 2, 3, 4, 5])
            if clean and ts < co and o["amount_usd"] >= Decimal("5"):
                stars = 3
            if fb(o, stars, ts, R.choice(buyers_pool)):
                fbd.add(o["order_id"])
        # straddle: same buyer & category around the target window start
        wt = wstart(t)
        pre = [o for o in comp if o["order_id"] not in fbd and o["ended_at"] < wt]
        if pre and in_land(wt - dt.timedelta(days=1)):
            extra = mk_order(
                wt - dt.timedelta(hours=R.randrange(1, 30)),
                status="completed",
                amount=Decimal("10"),
            )
            o1 = pre[0]
            stars = R.choice([5, 1, 3])
            ts1 = wt - dt.timedelta(hours=R.randrange(1, 24))
            if period(ts1) == period(wt) and o1["ended_at"] <= ts1:
                fb(o1, stars, ts1, "BSTR")
                fbd.add(o1["order_id"])
                if extra is not None:
                    fb(extra, stars, wt + dt.timedelta(hours=R.randrange(0, 20)), "BSTR")
                    fbd.add(extra["order_id"])
        # service metrics
        wsd = wstart(t).date()
        ld = (co - dt.timedelta(days=1)).date()
        dcount = R.choice([0, 9, 10, 11, 20, 30])
        dsr_t = R.choice([Decimal("4.7"), Decimal("4.5"), Decimal("4.8"), Decimal("4.0")])
        dsum = int(dsr_t * dcount) + R.choice([-1, 0, 0, 1])
        dsum = max(dcount, min(5 * dcount, dsum))
        due = R.choice([0, 19, 20, 21, 40, 100])
        ot_t = R.choice([0.95, 0.90, 0.80])
        ont = max(0, min(due, int(round(ot_t * due)) + R.choice([-1, 0, 0, 1])))
        rec = R.choice([0, 9, 10, 11, 20, 50])
        rp = max(0, min(rec, int(round(0.8 * rec)) + R.choice([-1, 0, 0, 1])))
        days = []
        d = max(wsd, months[fm] and dt.date(*months[fm], 1))
        while d <= ld:
            days.append(d)
            d += dt.timedelta(days=1)
        if not days:
            continue
        k = R.randint(1, min(len(days), 6))
        chosen = sorted(set([days[0], days[-1]] + R.sample(days, k)))

        # distribute totals over chosen days, keeping per-day validity
        def split(total, parts):
            cuts = sorted(R.randint(0, total) for _ in range(parts - 1))
            return [b - a for a, b in zip([0] + cuts, cuts + [total], strict=False)]

        cnts = split(dcount, len(chosen))
        # each day its least sum (its count), then the rest within 4 x count
        extra = fill(dsum - dcount, [4 * c for c in cnts])
        sums = [c + e for c, e in zip(cnts, extra, strict=True)]
        dues = split(due, len(chosen))
        onts = fill(ont, dues)
        recs = split(rec, len(chosen))
        rps = fill(rp, recs)
        for j, day in enumerate(chosen):
            add(
                "service_metrics",
                day,
                dict(
                    merchant_id=mid,
                    metric_date=day,
                    messages_received=recs[j],
                    messages_replied_24h=rps[j],
                    dsr_item_sum=sums[j],
                    dsr_item_count=cnts[j],
                    shipments_due=dues[j],
                    shipments_on_time=onts[j],
                ),
            )
        # just-outside days
        for day in (wsd - dt.timedelta(days=1), ld + dt.timedelta(days=1)):
            add(
                "service_metrics",
                day,
                dict(
                    merchant_id=mid,
                    metric_date=day,
                    messages_received=5,
                    messages_replied_24h=0,
                    dsr_item_sum=5,
                    dsr_item_count=5,
                    shipments_due=10,
                    shipments_on_time=0,
                ),
            )

    # merchants snapshots
    for i, mn in enumerate(mnames):
        for mid in mids:
            if first_month_of[mid] > i:
                continue
            if i > first_month_of[mid] and R.random() < 0.04:
                continue  # absent from this snapshot
            r = dict(mrow[mid])
            r["status"] = statuses[(i, mid)]
            if R.random() < 0.1 and r["main_category"] != "books":
                r["product_count"] = R.choice([10, 11])
            rows["merchants"][mn].append(r)
    # ---------------- write ----------------
    if os.path.exists(out):
        shutil.rmtree(out)
    for ds in COLS:
        for mn in mnames:
            rs = rows[ds][mn]
            if not rs and ds in ("bad_orders", "service_metrics"):
                continue
            d = os.path.join(out, ds, f"month={mn}")
            os.makedirs(d, exist_ok=True)
            R.shuffle(rs)
            cut = len(rs) if R.random() < 0.6 else R.randint(0, len(rs))
            a, b = rs[:cut], rs[cut:]
            with open(os.path.join(d, "part-a.csv"), "w") as f:
                f.write(",".join(COLS[ds]) + "\n")
                for r in a:
                    vals = []
                    for c in COLS[ds]:
                        v = r[c]
                        if isinstance(v, dt.datetime):
                            v = fmt(v)
                        elif isinstance(v, dt.date):
                            v = v.isoformat()
                        elif isinstance(v, bool):
                            spellings = [["true", "false"], ["TRUE", "FALSE"], ["1", "0"]]
                            v = R.choice([*spellings, ["True", "False"]])[0 if v else 1]
                        vals.append(str(v))
                    f.write(",".join(vals) + "\n")
            if b:
                fields = []
                for c in COLS[ds]:
                    v0 = b[0][c]
                    if isinstance(v0, dt.datetime):
                        t = pa.timestamp("us", tz="UTC")
                    elif isinstance(v0, dt.date):
                        t = pa.date32()
                    elif isinstance(v0, bool):
                        t = pa.bool_()
                    elif isinstance(v0, int):
                        t = pa.int64()
                    elif isinstance(v0, Decimal):
                        t = pa.decimal128(12, 2)
                    else:
                        t = pa.string()
                    fields.append(pa.field(c, t))
                tbl = pa.Table.from_pylist(
                    [{c: r[c] for c in COLS[ds]} for r in b], schema=pa.schema(fields)
                )
                pq.write_table(tbl, os.path.join(d, "part-b.parquet"))
    return mnames
