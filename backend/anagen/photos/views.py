"""Progress photos over HTTP: the patient's own (/api/me/photos) and the clinic's review
(/api/clinic/photos, /api/clinic/patients/<id>/photos and .../outcomes).

Image files are served only here, to the patient and to staff of the patient's clinic, with
`Cache-Control: private, no-store` and `nosniff`; every time staff open or download one, the audit
log says who, which photo and which size.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Response, current_app, request
from flask_smorest import Blueprint
from marshmallow import fields, validate
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from anagen.api.schemas import Instant, StrictBoolean, StrictSchema, instant, message_text
from anagen.auth.policy import account, get_patient, get_photo, record_action, requires
from anagen.extensions import db, limiter
from anagen.models import Patient, Photo
from anagen.photos import (
    fhir,  # noqa: F401  (adds the photos and outcome measures to every FHIR export)
    personal_data,  # noqa: F401  (and to the patient's own data export)
    pipeline,
    review,
    uploads,
)
from anagen.photos import outcomes as outcome_measures
from anagen.photos.storage import photo_storage

# A multipart body carries the file and a few short fields around it.
MULTIPART_OVERHEAD = 16 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
NO_STORE = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class UploadParser(FlaskParser):
    """webargs' parser with a `multipart` location: the form fields and the files of one
    multipart/form-data body, read by one schema (flask-smorest documents it as that body)."""

    __location_map__ = dict(FlaskParser.__location_map__, multipart="load_multipart")

    def load_multipart(self, req, schema):
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)


class PhotoBlueprint(Blueprint):
    ARGUMENTS_PARSER = UploadParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }


me_bp = PhotoBlueprint(
    "me_photos", __name__, url_prefix="/api/me/photos", description="The patient's own photos"
)
clinic_bp = PhotoBlueprint(
    "clinic_photos", __name__, url_prefix="/api/clinic", description="Patients' photos and outcome measures"
)
UPLOAD_ENDPOINTS = {"me_photos.upload_own", "clinic_photos.upload_for_patient"}


def allow_photo_uploads() -> None:
    """Before anything reads the body: the upload routes take a photo, far larger than the app-wide
    MAX_CONTENT_LENGTH; a declared length over the photo limit is refused unread, in plain words."""
    if request.method != "POST" or request.endpoint not in UPLOAD_ENDPOINTS:
        return
    limit = current_app.config["PHOTO_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise pipeline.TooLarge(
            f"This photo is larger than {limit // (1024 * 1024)} MB. Please send a smaller one.",
            {"file": f"more than {limit} bytes"},
        )
    request.max_content_length = limit + MULTIPART_OVERHEAD


def init_app(app) -> None:
    # First of the request hooks: api.read_json_body touches the body with the app-wide limit.
    app.before_request_funcs.setdefault(None, []).insert(0, allow_photo_uploads)


def _limits() -> pipeline.Limits:
    return pipeline.Limits(
        max_bytes=current_app.config["PHOTO_MAX_BYTES"], max_pixels=current_app.config["PHOTO_MAX_PIXELS"]
    )


def _upload_rate() -> str:
    return current_app.config["PHOTO_UPLOAD_RATE_LIMIT"]


def _uploader_key() -> str:
    acct = account()
    return f"photo-upload:{acct.kind}:{acct.id}"


# --- schemas ------------------------------------------------------------------------------------


class GuideSchema(ma.Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    guidance = fields.String(required=True)
    outline = fields.String(required=True, metadata={"description": "The outline's name (one per view kind)"})
    outline_path = fields.String(
        required=True, metadata={"description": "SVG path data in a 0 0 300 400 viewBox, to be stroked"}
    )
    tips = fields.List(fields.String(), required=True)


class TipsSchema(ma.Schema):
    lighting = fields.String(required=True)
    distance = fields.String(required=True)


class AuthorSchema(ma.Schema):
    name = fields.String(required=True)


class CommentSchema(ma.Schema):
    id = fields.Integer(required=True)
    text = fields.String(required=True)
    created_at = Instant(required=True)
    author = fields.Nested(AuthorSchema, required=True)


class StaffRefSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


SIZE_DOC = {
    "description": "Addresses of the photo's images; null once it is withdrawn (its files are deleted)"
}


class ImagesSchema(ma.Schema):
    thumb = fields.String(required=True)
    display = fields.String(required=True)
    master = fields.String(required=True)
    aligned = fields.String(allow_none=True)


class PhotoSchema(ma.Schema):
    """A photo as its patient sees it."""

    BASE = "/api/me/photos"

    id = fields.Integer(required=True)
    checkpoint = fields.String(required=True)
    view = fields.String(required=True)
    checkpoint_label = fields.Function(lambda p: uploads.labels(p)[0], metadata={"type": "string"})
    view_label = fields.Function(lambda p: uploads.labels(p)[1], metadata={"type": "string"})
    status = fields.String(required=True, metadata={"enum": ["active", "withdrawn"]})
    taken_at = Instant(allow_none=True)
    uploaded_at = Instant(required=True)
    uploaded_by = fields.Function(
        lambda p: "clinic" if p.uploaded_by_staff_id else "patient", metadata={"enum": ["patient", "clinic"]}
    )
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    display_width = fields.Integer(allow_none=True)
    display_height = fields.Integer(allow_none=True)
    reviewed_at = Instant(allow_none=True)
    withdrawn_at = Instant(allow_none=True)
    images = fields.Method("_images", allow_none=True, metadata={**SIZE_DOC, "type": "object"})
    comments = fields.List(fields.Nested(CommentSchema), required=True)

    def _images(self, photo: Photo):
        if photo.status == "withdrawn":
            return None
        base = f"{self.BASE}/{photo.id}/image?size="
        return {"thumb": base + "thumb", "display": base + "display", "master": base + "master"}


class RegistrationSchema(ma.Schema):
    status = fields.String(required=True, attribute="registration_status")
    reference_id = fields.Integer(allow_none=True, attribute="registration_reference_id")
    transform = fields.List(fields.List(fields.Float()), allow_none=True, attribute="registration_transform")
    inlier_ratio = fields.Float(allow_none=True, attribute="registration_inlier_ratio")
    inliers = fields.Integer(allow_none=True, attribute="registration_inliers")
    landmarks = fields.Raw(allow_none=True, attribute="registration_landmarks")
    registered_at = Instant(allow_none=True)


class StaffPhotoSchema(PhotoSchema):
    """A photo as the clinic sees it: with its patient, reviewer and registration onto the baseline."""

    BASE = "/api/clinic/photos"

    patient_id = fields.Integer(required=True)
    reviewed_by = fields.Nested(StaffRefSchema, allow_none=True)
    registration = fields.Nested(RegistrationSchema, required=True)

    def get_attribute(self, obj, attr, default):
        # The registration's fields are the photo's own registration_* columns.
        return obj if attr == "registration" else super().get_attribute(obj, attr, default)

    def _images(self, photo: Photo):
        images = super()._images(photo)
        if images is not None:
            images["aligned"] = f"{self.BASE}/{photo.id}/image?size=aligned" if photo.aligned_key else None
        return images


def _checkpoint_schemas(photo_schema: type[ma.Schema], prefix: str):
    view_schema = type(
        f"{prefix}ViewPhotosSchema",
        (ma.Schema,),
        {
            "view": fields.String(required=True),
            "done": fields.Boolean(required=True),
            "photos": fields.List(fields.Nested(photo_schema), required=True),
        },
    )
    checkpoint_schema = type(
        f"{prefix}CheckpointPhotosSchema",
        (ma.Schema,),
        {
            "key": fields.String(required=True),
            "label": fields.String(required=True),
            "ad_hoc": fields.Boolean(required=True),
            "in_clinic": fields.Boolean(required=True),
            "due_at": Instant(allow_none=True),
            "views": fields.List(fields.Nested(view_schema), required=True),
        },
    )
    return checkpoint_schema


class PhotoBookSchema(ma.Schema):
    consent_given = fields.Boolean(required=True)
    views = fields.List(fields.Nested(GuideSchema), required=True)
    tips = fields.Nested(TipsSchema, required=True)
    checkpoints = fields.List(fields.Nested(_checkpoint_schemas(PhotoSchema, "Own")), required=True)


class MeasureSchema(ma.Schema):
    checkpoint = fields.String(required=True)
    checkpoint_label = fields.String(required=True)
    target_area = fields.String(required=True)
    measured_at = Instant(required=True)
    hair_count_per_cm2 = fields.Float(allow_none=True)
    cumulative_thickness_mm_per_cm2 = fields.Float(allow_none=True)
    hair_count_change_pct = fields.Float(
        allow_none=True, metadata={"description": "Change from this area's baseline, %"}
    )
    thickness_change_pct = fields.Float(
        allow_none=True, metadata={"description": "Change from this area's baseline, %"}
    )
    recorded_at = Instant(required=True)
    updated_at = Instant(required=True)


class AreaOutcomesSchema(ma.Schema):
    target_area = fields.String(required=True)
    label = fields.String(required=True)
    measures = fields.List(fields.Nested(MeasureSchema), required=True)


class OutcomesSchema(ma.Schema):
    areas = fields.List(fields.Nested(AreaOutcomesSchema), required=True)


class StaffPhotoBookSchema(ma.Schema):
    views = fields.List(fields.Nested(GuideSchema), required=True)
    tips = fields.Nested(TipsSchema, required=True)
    checkpoints = fields.List(fields.Nested(_checkpoint_schemas(StaffPhotoSchema, "Staff")), required=True)
    outcomes = fields.Nested(OutcomesSchema, required=True)


class ImageFile(fields.Field):
    """The uploaded file of a multipart body."""

    def __init__(self, **kw):
        super().__init__(metadata={"type": "string", "format": "binary"}, **kw)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("Must be a file.")
        return value


class UploadSchema(StrictSchema):
    file = ImageFile(required=True)
    checkpoint = fields.String(required=True, validate=validate.Length(min=1, max=40))
    view = fields.String(required=True, validate=validate.Length(min=1, max=40))
    taken_at = instant(load_default=None, allow_none=False)


class ClinicUploadSchema(UploadSchema):
    consent_in_clinic = fields.Boolean(
        load_default=False,
        truthy={"true", "1"},
        falsy={"false", "0"},
        metadata={
            "description": "The patient agreed in clinic to share photos (needed while they have not agreed "
            "in the app, e.g. at the baseline visit before they set up their account); recorded and audited"
        },
    )


class ConsentSchema(StrictSchema):
    consent = StrictBoolean(required=True)


class ConsentStateSchema(ma.Schema):
    consent_given = fields.Boolean(required=True)


class ImageQuerySchema(StrictSchema):
    """Staff: every rendition, the aligned one included."""

    size = fields.String(load_default="display", validate=validate.OneOf(uploads.SIZES))
    download = fields.Boolean(load_default=False, truthy={"true", "1"}, falsy={"false", "0"})


# The patient sees the photo as sent; the aligned rendition is the clinic's comparison aid.
OWN_SIZES = tuple(size for size in uploads.SIZES if size != "aligned")


class OwnImageQuerySchema(ImageQuerySchema):
    size = fields.String(
        load_default="display",
        validate=validate.OneOf(OWN_SIZES, error="must be one of: " + ", ".join(OWN_SIZES)),
    )


class CommentInSchema(StrictSchema):
    text = message_text(review.MAX_COMMENT)


class PatientRefSchema(ma.Schema):
    id = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)


class AwaitingSchema(ma.Schema):
    photo = fields.Nested(StaffPhotoSchema, required=True)
    patient = fields.Nested(PatientRefSchema, required=True)

    def get_attribute(self, obj, attr, default):
        return obj if attr == "photo" else super().get_attribute(obj, attr, default)


class MeasureInSchema(StrictSchema):
    measured_at = instant(required=True)
    hair_count_per_cm2 = fields.Float(allow_none=True, load_default=None, allow_nan=False)
    cumulative_thickness_mm_per_cm2 = fields.Float(allow_none=True, load_default=None, allow_nan=False)


IMAGE_RESPONSE = {
    "description": "The image (no metadata); `private, no-store`",
    "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES},
}
UPLOAD_ERRORS = (
    (403, "The patient has not agreed to share photos (code photo_consent_required)"),
    (413, "The file is larger than PHOTO_MAX_BYTES (code too_large)"),
    (415, "Not a JPEG, PNG, WebP or HEIC image by its bytes (code unsupported_type)"),
    (422, "Unreadable, truncated, mismatched or polyglot file (invalid_image), over the pixel limit "
     "(too_many_pixels), or an unknown checkpoint or view (invalid_input)"),
    (429, "Too many uploads from this account; see Retry-After"),
)  # fmt: skip


def _upload_errors(bp: Blueprint):
    def decorator(view):
        for status, description in reversed(UPLOAD_ERRORS):
            view = bp.alt_response(status, description=description)(view)
        return view

    return decorator


def _image_response(photo: Photo, size: str, download: bool = False) -> Response:
    key = uploads.file_key(photo, size)
    media_type = uploads.media_type_of(photo, size)
    data = photo_storage().read(key)
    response = Response(data, mimetype=media_type)
    extension = uploads.SUFFIX[media_type]
    disposition = "attachment" if download else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="photo-{photo.id}-{size}.{extension}"'
    response.headers.update(NO_STORE)
    return response


def _upload(patient: Patient, data: dict, staff=None, before_commit=None) -> uploads.Uploaded:
    """The upload of the request's multipart body (the file is read here, within the body limit)."""
    file: FileStorage = data["file"]
    return uploads.upload(
        patient,
        checkpoint=data["checkpoint"],
        view=data["view"],
        data=file.read(),
        declared_type=file.mimetype,
        taken_at=data["taken_at"],
        staff=staff,
        consent_in_clinic=data.get("consent_in_clinic", False),
        store=photo_storage(),
        limits=_limits(),
        before_commit=before_commit,
    )


# --- the patient ----------------------------------------------------------------------------------


@me_bp.get("")
@requires("patient")
@me_bp.response(200, PhotoBookSchema)
def own_photos():
    """The course's photo checkpoints and views, how to take each, and the photos sent so far."""
    return uploads.photo_book(account().user)


@me_bp.post("/consent")
@requires("patient")
@me_bp.arguments(ConsentSchema)
@me_bp.response(200, ConsentStateSchema)
def set_consent(data):
    """Agree to share photos with the clinic, or take the agreement back (no new photos then)."""
    acct = account()
    uploads.set_consent(acct.user, data["consent"])
    record_action(
        acct, "photo_consent_given" if data["consent"] else "photo_consent_withdrawn", "patient", acct.id
    )
    db.session.commit()
    return {"consent_given": acct.user.photo_consent_at is not None}


@me_bp.post("")
@requires("patient")
@limiter.limit(_upload_rate, key_func=_uploader_key)
@me_bp.arguments(UploadSchema, location="multipart")
@me_bp.response(201, PhotoSchema)
@me_bp.alt_response(
    200, schema=PhotoSchema, description="The same file was already sent to this view: that photo"
)
@_upload_errors(me_bp)
def upload_own(data):
    """Send a photo for one view of a checkpoint (multipart: file, checkpoint, view, taken_at).

    The type is decided by the file's bytes; the stored images carry no metadata. Sending the
    same file again to the same view answers the photo already there (200)."""
    result = _upload(account().user, data)
    return result.photo, 201 if result.created else 200


@me_bp.get("/<int:photo_id>")
@requires("patient")
@me_bp.response(200, PhotoSchema)
def own_photo(photo_id):
    """One of the patient's photos, with the clinic's comments."""
    return get_photo(account(), photo_id)


@me_bp.get("/<int:photo_id>/image")
@requires("patient")
@me_bp.arguments(OwnImageQuerySchema, location="query")
@me_bp.doc(responses={"200": IMAGE_RESPONSE})
def own_image(query, photo_id):
    """One of the patient's photos as an image: thumb, display or master size."""
    return _image_response(get_photo(account(), photo_id), query["size"], query["download"])


@me_bp.post("/<int:photo_id>/withdraw")
@requires("patient")
@me_bp.response(200, PhotoSchema)
def withdraw_own(photo_id):
    """Take back a photo sent by mistake: its images are deleted; the clinic sees it was withdrawn."""
    acct = account()
    photo = get_photo(acct, photo_id)
    record_action(acct, "photo_withdrawn", "photo", photo.id)
    return uploads.withdraw(photo, photo_storage())


# --- the clinic -----------------------------------------------------------------------------------


@clinic_bp.get("/patients/<int:patient_id>/photos")
@requires("staff")
@clinic_bp.response(200, StaffPhotoBookSchema)
def patient_photos(patient_id):
    """A patient's photos as a grid of checkpoints and views, with the outcome measures."""
    patient = get_patient(account(), patient_id)
    book = uploads.photo_book(patient)
    return {
        "views": book.views,
        "tips": book.tips,
        "checkpoints": book.checkpoints,
        "outcomes": {"areas": outcome_measures.outcomes(patient)},
    }


@clinic_bp.post("/patients/<int:patient_id>/photos")
@requires("staff")
@limiter.limit(_upload_rate, key_func=_uploader_key)
@clinic_bp.arguments(ClinicUploadSchema, location="multipart")
@clinic_bp.response(201, StaffPhotoSchema)
@clinic_bp.alt_response(
    200, schema=StaffPhotoSchema, description="The same file was already sent to this view"
)
@_upload_errors(clinic_bp)
def upload_for_patient(data, patient_id):
    """A photo taken in clinic (the baseline), for the patient (multipart as the patient's upload)."""
    acct = account()
    patient = get_patient(acct, patient_id)
    consent_before = patient.photo_consent_at

    def audit(photo: Photo) -> None:
        if consent_before is None:
            record_action(acct, "photo_consent_recorded_in_clinic", "patient", patient.id)
        record_action(acct, "photo_uploaded", "photo", photo.id, patient=patient.id)

    result = _upload(patient, data, staff=acct.user, before_commit=audit)
    return result.photo, 201 if result.created else 200


@clinic_bp.get("/photos/awaiting-review")
@requires("staff")
@clinic_bp.response(200, AwaitingSchema(many=True))
def awaiting_review():
    """The clinic's photos nobody has reviewed yet, oldest first."""
    return review.awaiting_review(account().clinic_id)


@clinic_bp.get("/photos/<int:photo_id>")
@requires("staff")
@clinic_bp.response(200, StaffPhotoSchema)
def staff_photo(photo_id):
    """One photo of a patient of the clinic."""
    return get_photo(account(), photo_id)


@clinic_bp.get("/photos/<int:photo_id>/image")
@requires("staff")
@clinic_bp.arguments(ImageQuerySchema, location="query")
@clinic_bp.doc(responses={"200": IMAGE_RESPONSE})
def staff_image(query, photo_id):
    """A patient's photo as an image (thumb, display, master or aligned); audited."""
    acct = account()
    photo = get_photo(acct, photo_id)
    response = _image_response(photo, query["size"], query["download"])
    event = "photo_downloaded" if query["download"] else "photo_viewed"
    record_action(acct, event, "photo", photo.id, patient=photo.patient_id, size=query["size"])
    db.session.commit()
    return response


@clinic_bp.post("/photos/<int:photo_id>/review")
@requires("staff")
@clinic_bp.response(200, StaffPhotoSchema)
@clinic_bp.alt_response(409, description="The patient withdrew the photo (code photo_withdrawn)")
def mark_reviewed(photo_id):
    """Mark the photo reviewed (the first review stands)."""
    acct = account()
    photo = get_photo(acct, photo_id)
    review.mark_reviewed(photo, acct.user)
    record_action(acct, "photo_reviewed", "photo", photo.id)
    db.session.commit()
    return photo


@clinic_bp.post("/photos/<int:photo_id>/comments")
@requires("staff")
@clinic_bp.arguments(CommentInSchema)
@clinic_bp.response(201, CommentSchema)
@clinic_bp.alt_response(409, description="The patient withdrew the photo (code photo_withdrawn)")
def comment(data, photo_id):
    """A comment to the patient on their photo (the photo counts as reviewed)."""
    acct = account()
    photo = get_photo(acct, photo_id)
    added = review.add_comment(photo, acct.user, data["text"])
    record_action(acct, "photo_commented", "photo", photo.id)
    db.session.commit()
    return added


@clinic_bp.get("/patients/<int:patient_id>/outcomes")
@requires("staff")
@clinic_bp.response(200, OutcomesSchema)
def patient_outcomes(patient_id):
    """The outcome measures by target area, with the change from each area's baseline."""
    patient = get_patient(account(), patient_id)
    return {"areas": outcome_measures.outcomes(patient)}


@clinic_bp.put("/patients/<int:patient_id>/outcomes/<string:checkpoint>/<string:target_area>")
@requires("staff")
@clinic_bp.arguments(MeasureInSchema)
@clinic_bp.response(200, MeasureSchema)
def put_outcome(data, patient_id, checkpoint, target_area):
    """Record or replace one area's measure at one checkpoint (hair count per cm², cumulative
    thickness in mm/cm², either or both)."""
    acct = account()
    patient = get_patient(acct, patient_id)
    row, created = outcome_measures.put_measure(patient, checkpoint, target_area, staff=acct.user, **data)
    event = "outcome_recorded" if created else "outcome_changed"
    record_action(acct, event, "patient", patient.id, checkpoint=checkpoint, area=target_area)
    db.session.commit()
    area = next(a for a in outcome_measures.outcomes(patient) if a.target_area == target_area)
    return next(m for m in area.measures if m.row.id == row.id)


@clinic_bp.delete("/patients/<int:patient_id>/outcomes/<string:checkpoint>/<string:target_area>")
@requires("staff")
@clinic_bp.response(204)
def delete_outcome(patient_id, checkpoint, target_area):
    """Remove one area's measure at one checkpoint."""
    acct = account()
    patient = get_patient(acct, patient_id)
    outcome_measures.delete_measure(patient, checkpoint, target_area)
    record_action(acct, "outcome_deleted", "patient", patient.id, checkpoint=checkpoint, area=target_area)
    db.session.commit()
