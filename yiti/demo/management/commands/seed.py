"""``yiti seed``: fill the database with a realistic demo company (see yiti/demo/seed.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yiti.demo.company import logins_load, logins_table
from yiti.demo.seed import SeedOptions, SeedRefused, seed, seed_summary


class Command(BaseCommand):
    help = (
        "Seed a demo company (org, users for every role, products) and N customers with contact "
        "points, consent, orders, assignment history and a year of interactions; on the first "
        "seed also service tickets, work orders, care tasks and the last satisfaction reports."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=20_000, help="How many customers.")
        parser.add_argument(
            "--seed", type=int, default=2026, help="Random seed (same seed, same data)."
        )
        parser.add_argument(
            "--interactions-per-customer", type=float, default=6.0, help="Mean per customer."
        )
        parser.add_argument(
            "--orders-per-customer",
            type=float,
            default=3.0,
            help="Mean per customer, over two years.",
        )
        parser.add_argument(
            "--departing-customers",
            type=int,
            default=None,
            help="Customers of the departing account manager am_leaving (default: 2%%, 10..3000).",
        )
        parser.add_argument(
            "--tickets",
            type=int,
            default=300,
            help="Service tickets (with work orders, care tasks and reports) on the first seed; "
            "0 for none.",
        )
        parser.add_argument(
            "--no-value-refit",
            action="store_true",
            help="Do not fit the value model at the end (tiers appear at the next refit).",
        )
        parser.add_argument(
            "--no-campaigns",
            action="store_true",
            help="Do not create the demo offers, segments, contact policy and campaigns.",
        )
        parser.add_argument(
            "--chunk-size", type=int, default=100_000, help="Rows per insert transaction."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Add customers even though the database already has some (the company is reused).",
        )

    def handle(self, *args: object, **opts: object) -> None:
        options = SeedOptions(
            customers=int(opts["customers"]),  # type: ignore[call-overload]
            seed=int(opts["seed"]),  # type: ignore[call-overload]
            interactions_per_customer=float(opts["interactions_per_customer"]),  # type: ignore[arg-type]
            orders_per_customer=float(opts["orders_per_customer"]),  # type: ignore[arg-type]
            departing_customers=opts["departing_customers"],  # type: ignore[arg-type]
            chunk_size=int(opts["chunk_size"]),  # type: ignore[call-overload]
            tickets=int(opts["tickets"]),  # type: ignore[call-overload]
            value_refit=not opts["no_value_refit"],
            campaigns=not opts["no_campaigns"],
        )
        if options.customers < 0:
            raise CommandError("--customers must not be negative")
        verbose = int(opts.get("verbosity", 1)) > 0  # type: ignore[call-overload]

        def progress(message: str) -> None:
            if verbose:
                self.stdout.write(message)
                self.stdout.flush()

        try:
            report = seed(options, force=bool(opts["force"]), progress=progress)
        except SeedRefused as exc:
            raise CommandError(str(exc)) from exc
        if verbose:
            self.stdout.write(seed_summary(report))
            for phase, seconds in report.phases.items():
                self.stdout.write(f"  {phase:<24} {seconds:7.2f} s")
            self.stdout.write("")
            self.stdout.write(logins_table(logins_load()))
