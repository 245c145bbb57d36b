"""The load test's data on top of a generated province (issue 15, point 7): change requests of
every type the queues show, in every state, and the load-test accounts.

    python -m bench.generate --url …/xueji_bench_load --pupils 3000000 --reset     # workload on by default for *load*
    python -m bench.generate --url …/xueji_bench_load --workload-only              # add it to a loaded province

Requests are written with COPY, as the pupils are (a few per school: ~18,000 requests and
~45,000 steps for the 5,997 schools), with the fields the engine (services/workflows.py) would
have written: the steps of the type's declaration (transfer: receiving school, its authority,
sending school, its authority; suspension: school, authority; dropout: authority; abroad: school),
the current step with a due date from services/workdays (so some are overdue), decided steps
before it, and for finished requests the pupil's resulting status (a completed suspension makes
the pupil 休学 with its suspension row, a completed transfer moves the pupil, and so on).

Accounts (ORM, 52 rows): 30 school registrars of distinct schools, 14 county officials (one county
per city) and 8 city officials, each `load-<level>-NN@xueji.demo`, password BENCH_PASSWORD;
the officials get the public demo TOTP secret (services/two_factor.py), as the bench users do.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

LOAD_DOMAIN = "xueji.demo"
N_SCHOOL_USERS, N_COUNTY_USERS, N_CITY_USERS = 30, 14, 8
SEED = 1515
KIND_GRADES = {"primary": (1, 2, 3, 4, 5, 6), "junior": (7, 8, 9), "nine_year": tuple(range(1, 10))}

# State of a transfer (S receives): weight. "stepN" = pending at step N; "overdue" = pending, due passed.
TRANSFER_STATES = (("step1", 22), ("step2", 16), ("step3", 14), ("step4", 10), ("overdue", 10), ("approved", 8),
                   ("completed", 10), ("rejected", 5), ("withdrawn", 5))
SUSPENSION_STATES = (("step1", 30), ("step2", 25), ("overdue", 10), ("completed", 25), ("rejected", 10))
ONE_STEP_STATES = (("step1", 45), ("overdue", 15), ("completed", 30), ("rejected", 10))
CR_COLUMNS = ("id", "version_id", "type", "status", "student_id", "from_school_id", "to_school_id", "from_path", "to_path",
              "reason_code", "reason_text", "payload", "grade_at_request", "current_seq", "requested_by_id",
              "requester_unit_id", "created_at", "finished_at")
STEP_COLUMNS = ("id", "request_id", "seq", "role", "unit_id", "workdays", "started_at", "due_date", "due_estimated",
                "decision", "decided_by_id", "decided_at", "comment")


def log(msg: str) -> None:
    print(f"[workload] {msg}", flush=True)


@dataclass
class Unit:
    id: int
    path: str
    level: str
    parent_id: int | None
    supervisor_id: int | None
    kind: str | None


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([s for s, _ in table], weights=[w for _, w in table])[0]


# --- accounts ----------------------------------------------------------------------------------------


def load_accounts(app: Any, password: str) -> dict[str, list[str]]:
    """Create the load-test accounts once (idempotent); level → emails."""
    from flask_security.utils import hash_password
    from sqlalchemy import func, select

    from cli.demo import ensure_roles
    from extensions import db
    from models.org import CITY, COUNTY, SCHOOL, OrgUnit
    from models.people import CITY_OFFICIAL, COUNTY_OFFICIAL, REGISTRAR, User
    from models.student import Student
    from services import passwords, two_factor

    with app.app_context():
        roles = ensure_roles()
        cities = list(db.session.scalars(select(OrgUnit).where(OrgUnit.level == CITY).order_by(OrgUnit.code)))
        counties = list(db.session.scalars(select(OrgUnit).where(OrgUnit.level == COUNTY).order_by(OrgUnit.code)))
        # One county per city: the one with most schools (most traffic), so each county official has a queue.
        nschools = dict(db.session.execute(select(OrgUnit.parent_id, func.count()).where(OrgUnit.level == SCHOOL)
                                           .group_by(OrgUnit.parent_id)).all())
        chosen: list[OrgUnit] = []
        for city in cities:
            mine = [c for c in counties if c.parent_id == city.id]
            if mine:
                chosen.append(max(mine, key=lambda c: (nschools.get(c.id, 0), c.code)))
        chosen = chosen[:N_COUNTY_USERS]
        # Registrars: schools of those counties with pupils, two or three per county, distinct.
        populated = set(db.session.scalars(select(Student.school_id).distinct()))
        schools: list[OrgUnit] = []
        per_county = -(-N_SCHOOL_USERS // max(1, len(chosen)))
        for county in chosen:
            mine = db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == county.id, OrgUnit.level == SCHOOL,
                                                            OrgUnit.supervisor_id == county.id).order_by(OrgUnit.code))
            schools += [s for s in mine if s.id in populated][:per_county]
        schools = schools[:N_SCHOOL_USERS]
        wanted: list[tuple[str, str, OrgUnit, str]] = []
        wanted += [(f"load-school-{i + 1:02d}@{LOAD_DOMAIN}", f"压测-学校{i + 1:02d}", u, REGISTRAR) for i, u in enumerate(schools)]
        wanted += [(f"load-county-{i + 1:02d}@{LOAD_DOMAIN}", f"压测-县{i + 1:02d}", u, COUNTY_OFFICIAL) for i, u in enumerate(chosen)]
        wanted += [(f"load-city-{i + 1:02d}@{LOAD_DOMAIN}", f"压测-市{i + 1:02d}", u, CITY_OFFICIAL)
                   for i, u in enumerate(cities[:N_CITY_USERS])]
        have = set(db.session.scalars(select(User.email).where(User.email.like(f"load-%@{LOAD_DOMAIN}"))))
        hashed = hash_password(password)  # one argon2 hash for all: the same known password
        for email, name, unit, role in wanted:
            if email in have:
                continue
            db.session.add(User(email=email, name=name, password=hashed, active=True, fs_uniquifier=uuid.uuid4().hex,
                                unit=unit, scope_path=unit.path, roles=[roles[role]]))
        db.session.flush()
        for user in db.session.scalars(select(User).where(User.email.like(f"load-%@{LOAD_DOMAIN}"))):
            if user.password_changed_at is None or user.must_change_password:
                passwords.set_by_owner(user)
            if user.is_authority and not user.tf_totp_secret:
                two_factor.give_demo_secret(user)
        db.session.commit()
        out: dict[str, list[str]] = {"school": [], "county": [], "city": []}
        for email, _n, _u, _r in wanted:
            out[email.split("-")[1]].append(email)
        log(f"accounts: {len(out['school'])} school registrars, {len(out['county'])} county officials, "
            f"{len(out['city'])} city officials")
        return out


# --- change requests ------------------------------------------------------------------------------


class Deadlines:
    """Due dates from the app's own working-day calendar (services/workdays), one call per distinct key."""

    def __init__(self, app: Any):
        self.app = app
        self.known: dict[tuple[date, int], tuple[date, bool]] = {}

    def due(self, start: date, n: int) -> tuple[date, bool]:
        if (start, n) not in self.known:
            from services import workdays

            with self.app.app_context():
                d = workdays.add_workdays(start, n)
            self.known[(start, n)] = (d.due, d.estimated)
        return self.known[(start, n)]


def load_requests(app: Any, conn: psycopg.Connection, per_school: float = 1.0) -> dict[str, int]:
    """COPY the change requests and their steps; returns counts by type/state."""
    from services import clock

    with app.app_context():
        today = clock.today()
    rng = random.Random(SEED)
    deadlines = Deadlines(app)
    units = {r[0]: Unit(*r) for r in conn.execute(
        "SELECT id, path, level, parent_id, supervisor_id, school_kind FROM org_unit")}
    schools = sorted((u for u in units.values() if u.level == "school"), key=lambda u: u.id)
    users_at: dict[int, int] = dict(conn.execute(
        "SELECT DISTINCT ON (unit_id) unit_id, id FROM \"user\" ORDER BY unit_id, id").fetchall())
    fallback_user = conn.execute("SELECT min(id) FROM \"user\"").fetchone()[0]
    if fallback_user is None:
        raise SystemExit("no user in the database: run the generator's tree step first")
    if conn.execute("SELECT count(*) FROM change_request").fetchone()[0]:
        log("change requests already present: left as they are")
        return {}
    t0 = time.perf_counter()
    # Up to 10 enrolled pupils per school, newest first (the ones a school is most likely to move).
    pool: dict[int, list[tuple[int, int]]] = {}
    for school_id, sid, grade in conn.execute(
        "SELECT school_id, id, grade FROM (SELECT school_id, id, grade, row_number() OVER "
        "(PARTITION BY school_id ORDER BY id DESC) AS rn FROM student WHERE status = 'enrolled') s WHERE rn <= 10"
    ):
        pool.setdefault(school_id, []).append((sid, grade))
    log(f"pupil pool of {sum(map(len, pool.values())):,} pupils: {time.perf_counter() - t0:.1f} s")
    by_county: dict[int, list[Unit]] = {}
    for s in schools:
        if s.id in pool:
            by_county.setdefault(s.parent_id or 0, []).append(s)

    next_cr = (conn.execute("SELECT coalesce(max(id), 0) FROM change_request").fetchone()[0] or 0) + 1
    next_step = (conn.execute("SELECT coalesce(max(id), 0) FROM approval_step").fetchone()[0] or 0) + 1
    requests: list[tuple] = []
    steps: list[tuple] = []
    moves: list[tuple[int, int, str]] = []  # completed transfer: pupil → school
    statuses: list[tuple[int, str]] = []  # completed status change: pupil → status
    suspensions: list[tuple] = []
    counts: dict[str, int] = {}

    def who(unit_id: int) -> int:
        return users_at.get(unit_id, fallback_user)

    def take(school_id: int, grades: tuple[int, ...] | None = None) -> tuple[int, int] | None:
        cands = pool.get(school_id) or []
        for i, (_sid, g) in enumerate(cands):
            if grades is None or g in grades:
                return cands.pop(i)
        return None

    def add(ctype: str, state: str, pupil: tuple[int, int], frm: Unit, to: Unit | None, step_units: list[tuple[str, int, int]],
            requester: Unit, payload: dict, reason_code: str | None, reason_text: str | None) -> None:
        nonlocal next_cr, next_step
        n = len(step_units)
        if state.startswith("step"):
            current, status = int(state[4:]), "pending"
        elif state == "overdue":
            current, status = rng.randint(1, n), "pending"
        elif state == "rejected":
            current, status = rng.randint(1, n), "rejected"
        elif state == "withdrawn":
            current, status = rng.randint(1, n), "withdrawn"
        else:  # approved / completed: every step decided
            current, status = n + 1, state
        overdue = state == "overdue"
        # Opened 2–40 days ago; each decided step took 1–4 days.
        age = rng.randint(25, 40) if overdue else rng.randint(current * 2, current * 4 + 6)
        # Opened in the morning, decided later in the day or after.
        created = datetime.combine(today - timedelta(days=age), datetime.min.time()) + timedelta(hours=8, minutes=rng.randint(0, 59))
        day = created.date()
        finished = None
        for seq, (role, unit_id, wd) in enumerate(step_units, start=1):
            started = due = decision = decided_by = decided_at = None
            estimated = False
            if seq <= current:
                started = day
                due, estimated = deadlines.due(started, wd)
            if seq < current or (seq == current and status == "rejected"):
                took = 1 if overdue else rng.randint(0, 3)
                day = min(today, day + timedelta(days=took))
                decision = "rejected" if seq == current else "approved"
                decided_by, decided_at = who(unit_id), datetime.combine(day, datetime.min.time()) + timedelta(hours=rng.randint(10, 17))
                finished = decided_at
            if overdue and seq == current:
                due = min(due, today - timedelta(days=rng.randint(1, 10))) if due else due
            steps.append((next_step, next_cr, seq, role, unit_id, wd, started, due, estimated, decision, decided_by, decided_at,
                          "同意" if decision == "approved" else ("材料不全，不予办理" if decision else None)))
            next_step += 1
        if status == "withdrawn":
            finished = datetime.combine(min(today, day + timedelta(days=1)), datetime.min.time()) + timedelta(hours=15)
        if status == "approved":
            finished = None  # an approved transfer waits for 报到; finished when the pupil reports
        requests.append((
            next_cr, 1, ctype, status, pupil[0], frm.id, to.id if to else None, frm.path, to.path if to else None,
            reason_code, reason_text, json.dumps(payload, ensure_ascii=False), pupil[1],
            current if status == "pending" else None, who(requester.id), requester.id, created,
            finished if status in ("completed", "rejected", "withdrawn") else None,
        ))
        if status == "completed":
            if ctype == "transfer" and to is not None:
                moves.append((pupil[0], to.id, to.path))
            elif ctype == "suspension":
                statuses.append((pupil[0], "suspended"))
                starts = finished.date() if finished else today
                suspensions.append((pupil[0], next_cr, payload["reason_kind"], pupil[1], starts,
                                    date.fromisoformat(payload["ends_on"])))
            elif ctype == "dropout":
                statuses.append((pupil[0], "dropped_out"))
            elif ctype == "abroad":
                statuses.append((pupil[0], "abroad"))
        key = f"{ctype}/{state}"
        counts[key] = counts.get(key, 0) + 1
        next_cr += 1

    reasons = ("hukou_moved", "guardian_job", "migrant_moved", "special")
    for s in schools:
        if s.id not in pool:
            continue
        auth_s = units.get(s.supervisor_id or 0)
        if auth_s is None:
            continue
        # Transfers into s (s is the receiving school, as its registrar starts them).
        for _ in range(rng.choices((1, 2, 3), weights=(4, 4, 2))[0] if rng.random() < per_school else 0):
            near = by_county.get(s.parent_id or 0, [])
            others = [u for u in (near if rng.random() < 0.75 else rng.sample(schools, 20)) if u.id != s.id and u.id in pool]
            if not others:
                continue
            frm = rng.choice(others)
            auth_f = units.get(frm.supervisor_id or 0)
            pupil = take(frm.id, KIND_GRADES.get(s.kind or "", tuple(range(1, 10))))
            if auth_f is None or pupil is None:
                continue
            add("transfer", _pick(rng, TRANSFER_STATES), pupil, frm, s,
                [("receiving_school", s.id, 10), ("receiving_authority", auth_s.id, 10),
                 ("sending_school", frm.id, 10), ("sending_authority", auth_f.id, 10)],
                s, {"hukou_changed": rng.random() < 0.4}, rng.choice(reasons), "随父母工作调动")
        # Status changes of s's own pupils.
        if rng.random() < 0.6 * per_school and (pupil := take(s.id)):
            start = today + timedelta(days=rng.randint(-20, 10))
            add("suspension", _pick(rng, SUSPENSION_STATES), pupil, s, None,
                [("school", s.id, 10), ("authority", auth_s.id, 10)], s,
                {"reason_kind": rng.choice(("illness", "other")), "starts_on": start.isoformat(),
                 "ends_on": (start + timedelta(days=rng.choice((90, 180, 365)))).isoformat()}, None, "因病需长期治疗")
        if rng.random() < 0.25 * per_school and (pupil := take(s.id)):
            add("dropout", _pick(rng, ONE_STEP_STATES), pupil, s, None, [("authority", auth_s.id, 10)], s,
                {"absent_from": (today - timedelta(days=40)).isoformat(), "absent_to": (today - timedelta(days=10)).isoformat(),
                 "township": "城关镇人民政府"}, None, "连续旷课，经多次劝返无效")
        if rng.random() < 0.2 * per_school and (pupil := take(s.id)):
            add("abroad", _pick(rng, ONE_STEP_STATES), pupil, s, None, [("school", s.id, 10)], s,
                {"destination": "日本", "document": "passport", "leaves_on": (today + timedelta(days=20)).isoformat()},
                None, "随父母出国")
    log(f"planned {len(requests):,} requests, {len(steps):,} steps: {time.perf_counter() - t0:.1f} s")

    with conn.cursor() as cur:
        for table, cols, rows in (("change_request", CR_COLUMNS, requests), ("approval_step", STEP_COLUMNS, steps)):
            ident = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), ident)) as copy:
                for row in rows:
                    copy.write_row(row)
        # The township central school of a rural end, as _new_request copies it (none in the generated tree).
        cur.execute("UPDATE change_request cr SET from_central_id = o.central_school_id FROM org_unit o "
                    "WHERE o.id = cr.from_school_id AND o.central_school_id IS NOT NULL")
        cur.execute("UPDATE change_request cr SET to_central_id = o.central_school_id FROM org_unit o "
                    "WHERE o.id = cr.to_school_id AND o.central_school_id IS NOT NULL")
        if moves:
            cur.executemany("UPDATE student SET school_id = %s, scope_path = %s, version_id = version_id + 1 WHERE id = %s",
                            [(sch, path, sid) for sid, sch, path in moves])
        if statuses:
            cur.executemany("UPDATE student SET status = %s, version_id = version_id + 1 WHERE id = %s",
                            [(st, sid) for sid, st in statuses])
        if suspensions:
            cur.executemany("INSERT INTO suspension (student_id, request_id, reason_kind, grade, starts_on, ends_on, extensions) "
                            "VALUES (%s, %s, %s, %s, %s, %s, 0)", suspensions)
        for table in ("change_request", "approval_step"):
            cur.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))").format(
                sql.Literal(table), sql.Identifier(table)))
    conn.commit()
    log(f"written in {time.perf_counter() - t0:.1f} s: {len(moves)} pupils moved, {len(statuses)} status changes")
    return counts
