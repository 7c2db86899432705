"""The dispatcher process: an APScheduler tick that materialises and sends reminders, a job
that registers newly uploaded follow-up photos onto their baseline (photos/alignment.py), and a
daily job that purges rows whose use is over (housekeeping.py) and one that deletes photo files no
photo needs (photos/uploads.py remove_orphans).

On SIGTERM (supervisord's stop) it claims nothing more, finishes and records the batches in
flight, then exits: nothing is left claimed for a lease to run out.
"""

from __future__ import annotations

import datetime
import logging
import signal
import threading

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.photos import alignment
from anagen.photos import uploads as photo_uploads
from anagen.photos.storage import photo_storage
from anagen.reminders import dispatcher, heartbeat, housekeeping
from anagen.reminders import occurrences as reminders
from anagen.reminders.subscriptions import make_sender
from anagen.webpush.workers import default_sender_processes

log = logging.getLogger(__name__)
# Materialising the rolling window is cheap but needn't run every tick.
MATERIALISE_EVERY = 20
PURGE_EVERY = datetime.timedelta(days=1)
PURGE_FIRST_AFTER = datetime.timedelta(minutes=5)  # a restart does not delay it a whole day
# Photos uploaded since are registered within this many seconds; a job of its own (in its own
# scheduler thread), so registering never delays a reminder.
ALIGN_EVERY_SECONDS = 10.0


def purge(app, now: datetime.datetime | None = None) -> dict[str, int] | None:
    """The daily purges, with the session limits of the app's config; the counts, or None
    when it failed (logged; the next day tries again)."""
    config = app.config
    staff = housekeeping.SessionLimits(
        idle=datetime.timedelta(minutes=config["STAFF_IDLE_MINUTES"]),
        absolute=datetime.timedelta(hours=config["STAFF_ABSOLUTE_HOURS"]),
    )
    patient = housekeeping.SessionLimits(
        idle=datetime.timedelta(days=config["PATIENT_IDLE_DAYS"]),
        absolute=datetime.timedelta(days=config["PATIENT_ABSOLUTE_DAYS"]),
    )
    with app.app_context():
        try:
            counts = housekeeping.purge_all(now or utcnow(), staff, patient)
            db.session.commit()
        except Exception:
            log.exception("daily purge failed")
            db.session.rollback()
            return None
        finally:
            db.session.remove()
    log.info("purged: %s", " ".join(f"{name}={n}" for name, n in counts.items()))
    return counts


def sweep_photo_files(app) -> int | None:
    """Delete photo files no photo needs (left by a crash between writing an upload's files and
    committing its row, or by a withdrawal whose delete failed); how many, or None when it failed
    (logged; the next day tries again)."""
    with app.app_context():
        try:
            removed = photo_uploads.remove_orphans(photo_storage())
        except Exception:
            log.exception("photo file sweep failed")
            return None
        finally:
            db.session.remove()
    if removed:
        log.info("photo files without a photo removed: %d", removed)
    return removed


def align_photos(app, state: dict) -> dict[str, int] | None:
    """Register the photos waiting for it (alignment.register_pending); the counts, or None when
    it failed (logged; the next run tries again)."""
    stop = state.get("stop")
    if stop is not None and stop.is_set():
        return None
    with state.setdefault("aligning", threading.Lock()), app.app_context():
        try:
            counts = alignment.register_pending(stop=stop)
        except Exception:
            log.exception("photo registration failed")
            db.session.rollback()
            return None
        finally:
            db.session.remove()
    if counts:
        log.info("photos registered: %s", " ".join(f"{name}={n}" for name, n in sorted(counts.items())))
    return counts


def tick(app, sender, batch_size: int, state: dict) -> None:
    """One tick: refresh the window now and then, then send until the backlog is gone."""
    stop = state.get("stop")
    busy = state.get("busy")
    if stop is not None and stop.is_set():
        return
    if busy is not None:
        with busy:
            _tick(app, sender, batch_size, state)
    else:
        _tick(app, sender, batch_size, state)


def _tick(app, sender, batch_size: int, state: dict) -> None:
    with app.app_context():
        try:
            if state["ticks"] % MATERIALISE_EVERY == 0:
                created = reminders.materialise_all()
                db.session.commit()
                if created:
                    log.info("materialised %d reminders", created)
            dispatcher.dispatch_until_idle(sender, batch_size, stop=state.get("stop"))
            heartbeat.beat()
        except Exception:
            # A database restart must not kill the process: log, roll back, next tick retries.
            log.exception("dispatcher tick failed")
            db.session.rollback()
        finally:
            state["ticks"] += 1
            db.session.remove()


def run(app, *, interval: float, batch_size: int, once: bool) -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every tick at INFO; the dispatcher logs what it actually did.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if app.config.get("PUSH_SENDER_PROCESSES") is None:
        # Encryption and HTTP in worker processes, so that they run beside (not between) this
        # process's database work.
        app.config["PUSH_SENDER_PROCESSES"] = default_sender_processes()
    sender = make_sender(app)
    stopping = threading.Event()
    state = {"ticks": 0, "stop": stopping, "busy": threading.Lock(), "aligning": threading.Lock()}
    if once:
        tick(app, sender, batch_size, state)
        align_photos(app, state)
        sender.close()
        return
    scheduler = BlockingScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(interval * 4) + 1}
    )
    # One sending job, first run now: two could overlap, one never does (max_instances=1).
    scheduler.add_job(
        tick,
        "interval",
        seconds=interval,
        args=(app, sender, batch_size, state),
        next_run_time=datetime.datetime.now(datetime.UTC),
    )

    def stop(signum, frame):
        # No new claims; the tick in progress finishes and records its batches. The
        # scheduler's own shutdown waits for it (after start() returns, not in the handler).
        stopping.set()
        scheduler.shutdown(wait=False)

    scheduler.add_job(
        purge,
        "interval",
        seconds=PURGE_EVERY.total_seconds(),
        args=(app,),
        next_run_time=datetime.datetime.now(datetime.UTC) + PURGE_FIRST_AFTER,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        sweep_photo_files,
        "interval",
        seconds=PURGE_EVERY.total_seconds(),
        args=(app,),
        next_run_time=datetime.datetime.now(datetime.UTC) + PURGE_FIRST_AFTER,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        align_photos,
        "interval",
        seconds=ALIGN_EVERY_SECONDS,
        args=(app, state),
        next_run_time=datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=ALIGN_EVERY_SECONDS),
    )
    signal.signal(signal.SIGTERM, stop)
    log.info("dispatcher running: tick every %ss, batches of %d", interval, batch_size)
    try:
        scheduler.start()
    finally:
        # shutdown(wait=False) left the job threads running: wait for the tick and the photo
        # registration in flight (it stops between photos).
        with state["busy"], state["aligning"]:
            sender.close()
        log.info("dispatcher stopped")
