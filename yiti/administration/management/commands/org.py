"""``yiti org ...``: the organisation from the command line (units, users, roles, bulk load).

Every change goes through the same services as the web pages and the API, so it is checked
and audited the same way (the actor is the system). Errors are clear ``CommandError``s.

    yiti org units
    yiti org unit-create hz 杭州分公司 --kind branch --parent east
    yiti org unit-move hz north
    yiti org unit-deactivate hz
    yiti org user-create am_hz1 --email a@b.cn --name 王芳 --send-link --unit hz --role account_manager
    printf 'S3cret-pass!\n' | yiti org user-create am_hz2 --password-stdin --unit hz --role account_manager
    yiti org user-deactivate am_hz1
    yiti org grant am_hz1 nb account_manager --from 2027-01-01 --until 2027-07-01
    yiti org revoke am_hz1 nb account_manager
    yiti org load units.csv          # code,name,kind,parent
    yiti org load users.csv          # username,name,email,phone,unit,role,starts_on,ends_on
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiti.administration.services import unit_deactivate, unit_reactivate
from yiti.core.errors import YitiError
from yiti.org.choices import Role, UnitKind
from yiti.org.models import Membership, OrgUnit, User
from yiti.org.services import (
    MembershipInput,
    membership_end,
    membership_grant,
    password_link_send,
    unit_create,
    unit_move,
    unit_rename,
    user_create,
    user_set_active,
    user_set_password,
)

UNIT_COLUMNS = {
    "code": "code",
    "编码": "code",
    "name": "name",
    "名称": "name",
    "kind": "kind",
    "类型": "kind",
    "parent": "parent",
    "上级": "parent",
}
USER_COLUMNS = {
    "username": "username",
    "用户名": "username",
    "name": "name",
    "display_name": "name",
    "姓名": "name",
    "email": "email",
    "邮箱": "email",
    "phone": "phone",
    "电话": "phone",
    "unit": "unit",
    "单位": "unit",
    "role": "role",
    "角色": "role",
    "starts_on": "starts_on",
    "开始": "starts_on",
    "ends_on": "ends_on",
    "结束": "ends_on",
}


def _date(raw: str | None, what: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise CommandError(
            _("%(what)s must be a date like 2027-01-31, not %(raw)s.") % {"what": what, "raw": raw}
        ) from exc


def _unit(code: str) -> OrgUnit:
    unit = OrgUnit.objects.filter(code=code.strip()).first()
    if unit is None:
        raise CommandError(_("No unit with code %(code)s.") % {"code": code})
    return unit


def _user(username: str) -> User:
    user = User.objects.filter(username=username.strip()).first()
    if user is None:
        raise CommandError(_("No user named %(name)s.") % {"name": username})
    return user


def _role(value: str) -> str:
    if value not in Role.values:
        raise CommandError(
            _("Unknown role %(role)s; one of: %(roles)s.")
            % {"role": value, "roles": ", ".join(Role.values)}
        )
    return value


def _read_password(stdin: Any) -> str:
    line = stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CommandError(_("--password-stdin: no password on standard input."))
    return password


class Command(BaseCommand):
    help = "Org units, users and roles: list, create, move, deactivate, grant, revoke, load."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("units", help="The unit tree.")
        users = sub.add_parser("users", help="Users with their roles today.")
        users.add_argument("--all", action="store_true", help="Include deactivated users.")

        p = sub.add_parser("unit-create", help="Create a unit.")
        p.add_argument("code")
        p.add_argument("name")
        p.add_argument("--kind", required=True, choices=UnitKind.values)
        p.add_argument("--parent", help="Parent unit code (none: the company).")
        p = sub.add_parser("unit-rename", help="Rename a unit.")
        p.add_argument("code")
        p.add_argument("name")
        p = sub.add_parser("unit-move", help="Move a unit (with its subtree) under another.")
        p.add_argument("code")
        p.add_argument("parent")
        p = sub.add_parser("unit-deactivate", help="Deactivate a unit and its subtree.")
        p.add_argument("code")
        p = sub.add_parser("unit-reactivate", help="Reactivate a unit and its subtree.")
        p.add_argument("code")

        p = sub.add_parser("user-create", help="Create a user, optionally with a first role.")
        p.add_argument("username")
        p.add_argument("--email", default="")
        p.add_argument("--name", default="", help="Display name.")
        p.add_argument("--phone", default="")
        how = p.add_mutually_exclusive_group()
        how.add_argument(
            "--password-stdin", action="store_true", help="Read the first password from stdin."
        )
        how.add_argument(
            "--send-link", action="store_true", help="E-mail a link to choose a password."
        )
        p.add_argument("--unit", help="Unit code of the first role.")
        p.add_argument("--role", help="The first role.")
        p.add_argument("--superuser", action="store_true")
        p = sub.add_parser("user-deactivate", help="Deactivate a user (tokens stop at once).")
        p.add_argument("username")
        p = sub.add_parser("user-reactivate", help="Reactivate a user.")
        p.add_argument("username")
        p = sub.add_parser("user-password", help="Set a new password or send a link.")
        p.add_argument("username")
        how = p.add_mutually_exclusive_group(required=True)
        how.add_argument("--password-stdin", action="store_true")
        how.add_argument("--send-link", action="store_true")

        p = sub.add_parser("grant", help="Grant a role in a unit.")
        p.add_argument("username")
        p.add_argument("unit")
        p.add_argument("role")
        p.add_argument("--from", dest="starts_on", help="First day (YYYY-MM-DD).")
        p.add_argument("--until", dest="ends_on", help="First day without the role.")
        p = sub.add_parser("revoke", help="End a role (today unless --on).")
        p.add_argument("username")
        p.add_argument("unit")
        p.add_argument("role")
        p.add_argument("--on", dest="ends_on", help="First day without the role.")

        p = sub.add_parser(
            "load",
            help="Bulk load a CSV of units (code,name,kind,parent) or of users "
            "(username,name,email,phone,unit,role,starts_on,ends_on): all rows or none.",
        )
        p.add_argument("file")
        p.add_argument("--send-links", action="store_true", help="E-mail new users a link.")
        p.add_argument("--dry-run", action="store_true", help="Check every row, write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, "_" + options["action"].replace("-", "_"))
        try:
            handler(options)
        except YitiError as exc:
            raise CommandError(exc.message) from exc

    # --- units -------------------------------------------------------------------------------

    def _units(self, options: dict[str, Any]) -> None:
        units = list(OrgUnit.objects.order_by("path"))
        if not units:
            self.stderr.write(_("No units yet: yiti org unit-create CODE NAME --kind company"))
            return
        for u in units:
            state = "" if u.active else f"  [{_('inactive')}]"
            self.stdout.write(f"{'  ' * u.depth}{u.name} ({u.code}, {u.get_kind_display()}){state}")

    def _unit_create(self, options: dict[str, Any]) -> None:
        parent = _unit(options["parent"]) if options.get("parent") else None
        unit = unit_create(
            code=options["code"], name=options["name"], kind=options["kind"], parent=parent
        )
        self.stdout.write(_("Created %(unit)s.") % {"unit": unit.code})

    def _unit_rename(self, options: dict[str, Any]) -> None:
        unit_rename(unit=_unit(options["code"]), name=options["name"])
        self.stdout.write(_("Renamed."))

    def _unit_move(self, options: dict[str, Any]) -> None:
        unit_move(unit=_unit(options["code"]), parent=_unit(options["parent"]))
        self.stdout.write(_("Moved."))

    def _unit_deactivate(self, options: dict[str, Any]) -> None:
        n = unit_deactivate(unit=_unit(options["code"]))
        self.stdout.write(_("%(n)d unit(s) deactivated.") % {"n": n})

    def _unit_reactivate(self, options: dict[str, Any]) -> None:
        n = unit_reactivate(unit=_unit(options["code"]))
        self.stdout.write(_("%(n)d unit(s) reactivated.") % {"n": n})

    # --- users -------------------------------------------------------------------------------

    def _users(self, options: dict[str, Any]) -> None:
        qs = User.objects.order_by("username")
        if not options.get("all"):
            qs = qs.filter(is_active=True)
        roles: dict[int, list[str]] = {}
        for m in Membership.objects.current().select_related("unit"):
            roles.setdefault(m.user_id, []).append(f"{m.role}@{m.unit.code}")
        for u in qs:
            state = "" if u.is_active else f" [{_('deactivated')}]"
            held = ", ".join(roles.get(u.pk, [])) or ("superuser" if u.is_superuser else "-")
            self.stdout.write(f"{u.username}\t{u}\t{held}{state}")

    def _user_create(self, options: dict[str, Any]) -> None:
        if bool(options.get("unit")) != bool(options.get("role")):
            raise CommandError(_("Give --unit and --role together."))
        memberships = []
        if options.get("unit"):
            memberships.append(
                MembershipInput(unit=_unit(options["unit"]), role=_role(options["role"]))
            )
        password = _read_password(self.stdin) if options.get("password_stdin") else None
        user = user_create(
            username=options["username"],
            password=password,
            display_name=options.get("name") or "",
            email=options.get("email") or "",
            phone=options.get("phone") or "",
            is_superuser=options.get("superuser", False),
            memberships=memberships,
            send_link=options.get("send_link", False),
        )
        self.stdout.write(_("Created %(name)s.") % {"name": user.username})
        if not password and not options.get("send_link"):
            self.stderr.write(
                _("No password yet: yiti org user-password %(name)s --send-link")
                % {"name": user.username}
            )

    def _user_deactivate(self, options: dict[str, Any]) -> None:
        user_set_active(user=_user(options["username"]), active=False)
        self.stdout.write(_("Deactivated."))

    def _user_reactivate(self, options: dict[str, Any]) -> None:
        user_set_active(user=_user(options["username"]), active=True)
        self.stdout.write(_("Reactivated."))

    def _user_password(self, options: dict[str, Any]) -> None:
        user = _user(options["username"])
        if options.get("send_link"):
            with transaction.atomic():
                password_link_send(user=user)
            self.stdout.write(_("Link queued for %(email)s.") % {"email": user.email})
        else:
            user_set_password(user=user, password=_read_password(self.stdin))
            self.stdout.write(_("Password set."))

    @property
    def stdin(self) -> Any:
        return getattr(self, "_stdin", None) or sys.stdin

    def execute(self, *args: Any, **options: Any) -> Any:
        self._stdin = options.pop("stdin", None)
        return super().execute(*args, **options)

    # --- roles -------------------------------------------------------------------------------

    def _grant(self, options: dict[str, Any]) -> None:
        membership_grant(
            user=_user(options["username"]),
            unit=_unit(options["unit"]),
            role=_role(options["role"]),
            starts_on=_date(options.get("starts_on"), "--from"),
            ends_on=_date(options.get("ends_on"), "--until"),
        )
        self.stdout.write(_("Granted."))

    def _revoke(self, options: dict[str, Any]) -> None:
        user, unit, role = (
            _user(options["username"]),
            _unit(options["unit"]),
            _role(options["role"]),
        )
        today = timezone.localdate()
        membership = (
            Membership.objects.filter(user=user, unit=unit, role=role)
            .exclude(ends_on__lte=today)
            .order_by("starts_on")
            .first()
        )
        if membership is None:
            raise CommandError(
                _("%(name)s holds no %(role)s role in %(unit)s.")
                % {"name": user.username, "role": role, "unit": unit.code}
            )
        membership_end(membership=membership, ends_on=_date(options.get("ends_on"), "--on"))
        self.stdout.write(_("Ended."))

    # --- bulk load ---------------------------------------------------------------------------

    def _load(self, options: dict[str, Any]) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes nearly anything
            raise CommandError(_("The file is neither UTF-8 nor GB18030 text."))
        reader = csv.reader(io.StringIO(text))
        header = [h.strip().lower() for h in next(reader, [])]
        if not header:
            raise CommandError(_("The file is empty."))
        if "username" in header or "用户名" in header:
            columns, kind = USER_COLUMNS, "users"
            required: tuple[str, ...] = ("username",)
        elif "code" in header or "编码" in header:
            columns, kind = UNIT_COLUMNS, "units"
            required = ("code", "name", "kind")
        else:
            raise CommandError(
                _(
                    "Cannot tell what the file holds: a units file has the columns code, name, "
                    "kind, parent; a users file username, name, email, phone, unit, role, "
                    "starts_on, ends_on."
                )
            )
        keys = [columns.get(h) for h in header]
        missing = [c for c in required if c not in keys]
        if missing:
            raise CommandError(_("Missing column(s): %(cols)s.") % {"cols": ", ".join(missing)})
        rows = []
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            rows.append((number, {k: v.strip() for k, v in zip(keys, values, strict=False) if k}))
        errors: list[str] = []
        with transaction.atomic():
            done = (
                self._load_units(rows, errors)
                if kind == "units"
                else self._load_users(rows, errors, send_links=options["send_links"])
            )
            if errors or options["dry_run"]:
                transaction.set_rollback(True)
        if errors:
            raise CommandError(
                _("Nothing was loaded; fix these rows and run again:")
                + "\n"
                + "\n".join(errors[:200])
                + (f"\n… {len(errors) - 200}" if len(errors) > 200 else "")
            )
        if options["dry_run"]:
            self.stdout.write(
                _("%(n)d rows are valid (dry run: nothing written).") % {"n": len(rows)}
            )
        else:
            self.stdout.write(_("Loaded %(n)d %(kind)s.") % {"n": done, "kind": kind})

    def _load_units(self, rows: list[tuple[int, dict[str, str]]], errors: list[str]) -> int:
        done = 0
        for number, row in rows:
            try:
                parent = None
                if row.get("parent"):
                    parent = OrgUnit.objects.filter(code=row["parent"]).first()
                    if parent is None:
                        raise CommandError(
                            _("parent: no unit with code %(code)s (list parents first).")
                            % {"code": row["parent"]}
                        )
                kind = row.get("kind", "")
                unit_create(
                    code=row.get("code", ""),
                    name=row.get("name", ""),
                    kind=kind,
                    parent=parent,
                )
                done += 1
            except YitiError as exc:
                errors.append(_row_error(number, exc.field, exc.message))
            except CommandError as exc:
                errors.append(_row_error(number, None, str(exc)))
        return done

    def _load_users(
        self, rows: list[tuple[int, dict[str, str]]], errors: list[str], *, send_links: bool
    ) -> int:
        created = 0
        for number, row in rows:
            try:
                username = row.get("username", "")
                membership = None
                if row.get("unit") or row.get("role"):
                    if not (row.get("unit") and row.get("role")):
                        raise CommandError(_("unit and role go together."))
                    membership = MembershipInput(
                        unit=_unit(row["unit"]),
                        role=_role(row["role"]),
                        starts_on=_date(row.get("starts_on"), "starts_on"),
                        ends_on=_date(row.get("ends_on"), "ends_on"),
                    )
                user = User.objects.filter(username=username).first()
                if user is None:
                    user = user_create(
                        username=username,
                        password=None,
                        display_name=row.get("name", ""),
                        email=row.get("email", ""),
                        phone=row.get("phone", ""),
                        memberships=[membership] if membership else [],
                        send_link=send_links and bool(row.get("email")),
                    )
                    created += 1
                elif membership is not None:  # another row of the same user: one more role
                    membership_grant(
                        user=user,
                        unit=membership.unit,
                        role=membership.role,
                        starts_on=membership.starts_on,
                        ends_on=membership.ends_on,
                    )
            except YitiError as exc:
                errors.append(_row_error(number, exc.field, exc.message))
            except CommandError as exc:
                errors.append(_row_error(number, None, str(exc)))
        return created


def _row_error(number: int, field: str | None, message: str) -> str:
    if field:
        return _("row %(row)d, %(field)s: %(message)s") % {
            "row": number,
            "field": field,
            "message": message,
        }
    return _("row %(row)d: %(message)s") % {"row": number, "message": message}
