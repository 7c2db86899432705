"""Steps the staff workspace's browser tests share."""

from __future__ import annotations

from support.factories import PASSWORD


def sign_in(page, email, password=PASSWORD):
    page.goto("/clinic/")
    page.heading("Sign in to the clinic workspace")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def age_sessions(staff_id: int, **ago) -> None:
    """Moves the staff member's sessions back in time on the server: `last_seen_at=minutes`
    (idle), `reauth_at=minutes` (password last confirmed)."""
    import datetime as dt

    import sqlalchemy as sa

    from anagen.clock import utcnow
    from anagen.extensions import db
    from anagen.models import UserSession

    db.session.rollback()
    values = {column: utcnow() - dt.timedelta(minutes=minutes) for column, minutes in ago.items()}
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_type == "staff", UserSession.user_id == staff_id)
        .values(**values)
    )
    db.session.commit()


def read_qr(page, selector) -> str:
    """The text of the QR code in `selector`, read from a screenshot as a phone's camera would."""
    import io

    import zxingcpp
    from PIL import Image

    shot = Image.open(io.BytesIO(page.locator(selector).screenshot()))
    found = zxingcpp.read_barcodes(shot)
    assert found, "no QR code in the screenshot"
    return found[0].text
