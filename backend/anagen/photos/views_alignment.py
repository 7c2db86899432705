"""The clinician's alignment of a follow-up photo onto the baseline of the same view: read where
a photo stands, and align it by two landmark pairs when the automatic registration was not
confident (or not right)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import Instant, StrictSchema
from anagen.auth.policy import account, get_photo, record_action, requires
from anagen.extensions import db
from anagen.photos import alignment, registration

bp = Blueprint(
    "photo_alignment",
    __name__,
    url_prefix="/api/clinic/photos",
    description="Aligning a follow-up photo onto the baseline of the same view",
)


def point() -> fields.List:
    """[x, y] in pixels of a display image (NaN and infinity refused)."""
    return fields.List(
        fields.Float(allow_nan=False),
        required=True,
        validate=validate.Length(equal=2),
        metadata={"description": "[x, y] in pixels of that photo's display image", "example": [412.5, 300.0]},
    )


class LandmarkPairSchema(StrictSchema):
    photo = point()
    reference = point()


class AlignByLandmarksSchema(StrictSchema):
    landmarks = fields.List(
        fields.Nested(LandmarkPairSchema),
        required=True,
        validate=validate.Length(equal=2),
        metadata={"description": "Two points of this photo and the same two points on the baseline"},
    )


class AlignmentSchema(StrictSchema):
    photo_id = fields.Integer(attribute="id")
    status = fields.String(
        attribute="registration_status",
        metadata={"enum": ["not_needed", "pending", "registered", "low_confidence", "manual", "failed"]},
    )
    reference_id = fields.Integer(attribute="registration_reference_id", allow_none=True)
    transform = fields.List(
        fields.List(fields.Float()),
        attribute="registration_transform",
        allow_none=True,
        metadata={"description": "3x3 row-major: this photo's display px -> the reference's display px"},
    )
    css_transform = fields.Method(
        "_css",
        allow_none=True,
        metadata={"description": "The transform as CSS matrix3d() for display-size images (origin 0 0)"},
    )
    inlier_ratio = fields.Float(attribute="registration_inlier_ratio", allow_none=True)
    inliers = fields.Integer(attribute="registration_inliers", allow_none=True)
    landmarks = fields.List(
        fields.Nested(LandmarkPairSchema), attribute="registration_landmarks", allow_none=True
    )
    registered_at = Instant(allow_none=True)
    aligned_image = fields.Method("_aligned", allow_none=True)

    def _css(self, photo):
        matrix = photo.registration_transform
        return registration.css_matrix3d(matrix) if matrix else None

    def _aligned(self, photo):
        return f"/api/clinic/photos/{photo.id}/image?size=aligned" if photo.aligned_key else None


@bp.get("/<int:photo_id>/alignment")
@requires("staff")
@bp.response(200, AlignmentSchema)
def get_alignment(photo_id):
    """Where the photo stands in being aligned onto its baseline: status, transform and quality."""
    return get_photo(account(), photo_id)


@bp.post("/<int:photo_id>/alignment")
@requires("staff")
@bp.arguments(AlignByLandmarksSchema)
@bp.response(200, AlignmentSchema)
@bp.alt_response(409, description="The photo was withdrawn, or there is no baseline of its view")
@bp.alt_response(422, description="Landmarks too close together, outside a photo, or an implausible zoom")
def align(data, photo_id):
    """Align the photo onto the baseline of the same view by two landmark pairs (the exact
    rotation, zoom and shift through them); replaces any automatic registration."""
    acct = account()
    photo = get_photo(acct, photo_id)
    replaced = alignment.align_by_landmarks(photo, data["landmarks"], staff_id=acct.id)
    record_action(acct, "photo_aligned", "photo", photo.id)
    db.session.commit()
    alignment.forget_aligned(replaced)
    return photo
