"""Operator commands: `flask --app anagen <command>`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from anagen.extensions import db


def init_app(app) -> None:
    app.cli.add_command(setup_command)
    app.cli.add_command(create_clinic_command)
    app.cli.add_command(demo_cli)
    app.cli.add_command(vapid_cli)
    app.cli.add_command(dispatcher_command)


@click.command("setup")
@with_appcontext
@click.option("--demo/--no-demo", default=False, help="Load the demo clinic if the database is empty.")
def setup_command(demo: bool) -> None:
    """Apply migrations, store the shipped protocols and (optionally) load the demo clinic once."""
    from flask_migrate import upgrade

    from anagen.clinic import demo as demo_service
    from anagen.course.protocols import ensure_builtin_protocols

    upgrade()
    ensure_builtin_protocols()
    db.session.commit()
    if demo and not demo_service.any_clinic():
        logins = demo_service.load_demo()
        db.session.commit()
        _print_logins(logins)
    elif demo and demo_service.any_clinic(slug=demo_service.DEMO_SLUG):
        click.echo("Demo clinic already loaded (patient logins are in the README).")
        _print_logins(demo_service.staff_logins(), loaded=False)
    elif demo:
        click.echo("A clinic exists already: the demo clinic was not loaded.")


@click.command("create-clinic")
@with_appcontext
@click.option("--name", required=True, help="The clinic's name as patients see it.")
@click.option("--slug", required=True, help="Short unique identifier, e.g. phi-clinic.")
@click.option("--time-zone", default="Europe/London", show_default=True)
@click.option("--admin-email", required=True)
@click.option("--admin-name", required=True)
@click.password_option("--admin-password", help="Asked for when not given.")
def create_clinic_command(name, slug, time_zone, admin_email, admin_name, admin_password) -> None:
    """Create a clinic and its first admin."""
    from anagen.clinic.clinics import create_clinic
    from anagen.errors import AnagenError

    try:
        clinic, admin = create_clinic(
            name=name,
            slug=slug,
            time_zone=time_zone,
            admin_email=admin_email,
            admin_name=admin_name,
            admin_password=admin_password,
        )
    except AnagenError as error:
        db.session.rollback()
        details = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {details}".strip()) from None
    db.session.commit()
    click.echo(f"Created clinic {clinic.name!r} (id {clinic.id}) with admin {admin.email}.")


demo_cli = AppGroup("demo", help="The demo clinic.")


@demo_cli.command("load")
def demo_load() -> None:
    """Load the demo clinic with patients at different points of their course."""
    from anagen.clinic import demo as demo_service
    from anagen.course.protocols import ensure_builtin_protocols

    if demo_service.any_clinic(slug=demo_service.DEMO_SLUG):
        raise click.ClickException("The demo clinic is already loaded.")
    ensure_builtin_protocols()
    logins = demo_service.load_demo()
    db.session.commit()
    _print_logins(logins)


def _print_logins(logins: list[tuple[str, str, str]], loaded: bool = True) -> None:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if loaded:
        click.echo("Demo clinic loaded.")
    click.echo(f"Staff workspace: {base}/clinic/   Patient app: {base}/")
    for role, email, password in logins:
        click.echo(f"  {role:<10} {email:<34} {password}")


vapid_cli = AppGroup("vapid", help="VAPID keys for web push.")


@vapid_cli.command("show")
def vapid_show() -> None:
    """Print the public key (generating the key pair on first use)."""
    from anagen.reminders.subscriptions import vapid_keys

    click.echo(vapid_keys().public_key)


@vapid_cli.command("rotate")
@click.confirmation_option(
    prompt="Existing push subscriptions stop working until each device re-subscribes. Go on?"
)
def vapid_rotate() -> None:
    """Generate a new key pair (the old one is kept as a .bak file, mode 0600)."""
    from pathlib import Path

    from anagen.webpush.vapid import rotate

    if current_app.config.get("VAPID_PRIVATE_KEY"):
        raise click.ClickException("VAPID_PRIVATE_KEY is set in the environment: rotate it there.")
    keys = rotate(Path(current_app.instance_path))
    current_app.extensions.pop("anagen_vapid", None)
    click.echo(f"New public key: {keys.public_key}")


@click.command("dispatcher")
@with_appcontext
@click.option("--interval", default=15.0, show_default=True, help="Seconds between ticks.")
@click.option("--batch-size", default=500, show_default=True)
@click.option("--once", is_flag=True, help="Run one tick (materialise + send the backlog) and exit.")
def dispatcher_command(interval: float, batch_size: int, once: bool) -> None:
    """Run the reminder dispatcher: its own process, never inside web workers."""
    from anagen.reminders.loop import run

    run(current_app._get_current_object(), interval=interval, batch_size=batch_size, once=once)
