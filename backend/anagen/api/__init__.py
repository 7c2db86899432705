"""The JSON API under /api/, documented by a generated OpenAPI 3 document."""

from __future__ import annotations

import marshmallow as ma
from apispec import BasePlugin
from flask import request
from flask_smorest import Api
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter

from anagen.api.errors import RETRY_AFTER_SECONDS, error_body
from anagen.api.schemas import VisibleText


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = ma.fields.String(required=True, metadata={"description": "What happened, in plain words"})
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        required=True,
        metadata={"description": "Per-field problems, by dotted field name"},
    )


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


# Error answers that any operation may give, documented on every operation so that the
# document lists each status the API really sends (not only a catch-all "default").
# An operation that declares one of these itself keeps its own description.
COMMON_ERRORS = {
    "401": "Not signed in, or the session has ended",
    "403": "Not available to this account, or the CSRF token is missing or out of date",
    "404": "No such record within the account's reach",
    "422": "Some fields are missing or not valid",
    "429": "Too many attempts; see Retry-After",
    "503": f"The database is briefly out of reach; try again after Retry-After ({RETRY_AFTER_SECONDS} s)",
}
BODY_ERRORS = {
    "400": "The request body is not valid JSON, or nested too deeply",
    "413": "The request body is larger than MAX_CONTENT_LENGTH",
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


class CommonErrorsPlugin(BasePlugin):
    """Adds the common error responses, with the one error shape, to every operation."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            declared = {str(code) for code in responses}
            errors = {**COMMON_ERRORS, **(BODY_ERRORS if "requestBody" in operation else {})}
            for status, description in errors.items():
                if status not in declared:
                    responses[status] = {"description": description, "content": ERROR_CONTENT}
            for code, response in responses.items():
                # An error declared with a description only still answers with the error shape.
                is_error = str(code).startswith(("4", "5"))
                if is_error and isinstance(response, dict) and not {"content", "$ref"} & set(response):
                    response["content"] = ERROR_CONTENT


def nullable_nested(self, field, ret, **kwargs) -> dict:
    """A nullable nested schema is that schema or null.

    For OpenAPI 3.0 apispec writes `anyOf: [{type: object, nullable: true}, {$ref}]`,
    whose first branch lets any object through; the API refuses unknown fields. The type
    is stated because OpenAPI 3.0.3 lets `nullable` act only beside an explicit `type`.
    """
    loose = {"type": "object", "nullable": True}
    branches = ret.get("anyOf")
    if isinstance(branches, list) and loose in branches:
        ret.pop("anyOf")
        ret.update(type="object", nullable=True, allOf=[branch for branch in branches if branch != loose])
    return {}


def url_pattern(self, field, ret, **kwargs) -> dict:
    """A URL field documents the URLs it accepts (a safe subset of marshmallow's rule)."""
    rule = next((v for v in field.validators if isinstance(v, ma.validate.URL)), None)
    if rule is None or rule.relative or "pattern" in ret:
        return {}
    schemes = "|".join(sorted(rule.schemes))
    host = r"([a-z0-9]{1,20}\.)+[a-z]{2,6}"
    if not rule.require_tld:
        host = rf"([a-z0-9]{{1,20}}|{host})"
    return {"pattern": rf"^({schemes})://{host}(:[0-9]{{1,5}})?(/[A-Za-z0-9._~%-]*)*$"}


def mapping_size(self, field, ret, **kwargs) -> dict:
    """A length rule on a dict is its number of entries: apispec writes min/maxLength (a string rule)."""
    if isinstance(field, ma.fields.Mapping):
        for length, size in (("minLength", "minProperties"), ("maxLength", "maxProperties")):
            if length in ret:
                ret[size] = ret.pop(length)
    return {}


def visible_text(self, field, ret, **kwargs) -> dict:
    """A name or message documents the characters VisibleText refuses (invisible, bidirectional, control)."""
    rule = next((v for v in field.validators if isinstance(v, VisibleText)), None)
    if rule is None:
        return {}
    return {"pattern": rule.pattern}


def storable_text(self, field, ret, **kwargs) -> dict:
    """Free text documents what StrictSchema refuses: the NUL character, which no column stores."""
    if type(field) is ma.fields.String and "pattern" not in ret and "enum" not in ret:
        return {"pattern": "^[^\\u0000]*$"}
    return {}


class AnagenApi(Api):
    """flask-smorest's Api with the project's one error shape, in responses and in the document."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return error_body(error)


class RecordId(IntegerConverter):
    """`<int:…>` in every route: a positive id the database's integer column can hold.

    Anything else cannot name a record, so it answers 404 instead of reaching the database
    (PostgreSQL's integer ends at 2**31 - 1). The range is checked here rather than with
    werkzeug's own min/max: a value outside those makes its matcher answer 405 when another
    method is routed on the same path.
    """

    MAX = 2**31 - 1
    # ASCII digits only: werkzeug's `\d+` also matches other scripts' digits (Arabic-Indic "١٢",
    # full-width U+FF11), which int() reads, so one record would have many addresses.
    regex = "[0-9]+"

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, *args, **kwargs)
        self.min, self.max = 1, self.MAX  # documented in the OpenAPI document

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= self.MAX:
            raise NotFound()
        return number


def read_json_body() -> None:
    """Read an API request's body once, before anything else looks at it.

    A body over MAX_CONTENT_LENGTH is refused (413) without being read. A JSON body is parsed
    here first (its bytes stay cached for webargs, the value for request.get_json callers such
    as the login limit's key): one nested too deeply for the parser (RecursionError) or holding
    an integer too long to convert (Python's 4,300-digit limit, a ValueError) is a 400 like any
    other malformed JSON, rather than a 500 from whichever reader met it first.
    """
    if not request.path.startswith("/api/"):
        return
    request.stream  # noqa: B018  (werkzeug refuses a declared length over the limit here)
    if not request.is_json or not request.get_data(cache=True):
        return
    try:
        request.get_json()
    except (BadRequest, RecursionError):
        raise BadRequest("The request body is not valid JSON.") from None


def init_app(app, blueprints) -> AnagenApi:
    """One Api per app (tests build many apps), with every resource blueprint attached."""
    app.url_map.converters["int"] = RecordId
    # First of all the request hooks: Flask-Limiter's (registered earlier, by extensions) calls
    # key functions that read the body, such as the login limit's in auth/views.py.
    app.before_request_funcs.setdefault(None, []).insert(0, read_json_body)
    api = AnagenApi(app, spec_kwargs={"extra_plugins": [CommonErrorsPlugin()]})
    api.register_converter(RecordId, lambda c: {"type": "integer", "minimum": c.min, "maximum": c.max})
    for attribute_function in (nullable_nested, url_pattern, mapping_size, visible_text, storable_text):
        api.ma_plugin.converter.add_attribute_function(attribute_function)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    return api
