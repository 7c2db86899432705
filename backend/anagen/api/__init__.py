"""The JSON API under /api/, documented by a generated OpenAPI 3 document."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Api

from anagen.api.errors import error_body


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = ma.fields.String(required=True, metadata={"description": "What happened, in plain words"})
    fields = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), required=True,
        metadata={"description": "Per-field problems, by dotted field name"},
    )


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class AnagenApi(Api):
    """flask-smorest's Api with the project's one error shape, in responses and in the document."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return error_body(error)


def api_modules() -> tuple:
    """Every API resource module; each exposes a flask_smorest Blueprint `bp`."""
    from anagen.api import auth, clinic_patients, clinic_staff, invites, me

    return (auth, invites, me, clinic_patients, clinic_staff)


def init_app(app) -> AnagenApi:
    """One Api per app (tests build many apps), with every resource blueprint attached."""
    api = AnagenApi(app)
    for module in api_modules():
        api.register_blueprint(module.bp)
    return api
