"""The patient's reminder settings: errors named by the fields sent, and the document's weekday rule."""

from support.factories import make_clinic, make_enrolled_patient

from anagen.protocol import default_protocol


def test_refused_weekdays_are_reported_under_reminder_weekdays(app_ctx, api):
    clinic, _ = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    api.login(patient.email)
    before = api.get("/api/me/settings").get_json()
    for days in ([0, 1], [0, 3, 5], [2, 2], [4], []):
        response = api.patch("/api/me/settings", {"reminder_weekdays": days})
        assert response.status_code == 422, (days, response.get_json())
        fields = response.get_json()["error"]["fields"]
        assert set(fields) == {"reminder_weekdays"}, (days, fields)
    assert api.get("/api/me/settings").get_json() == before


def test_the_document_states_the_weekday_count_the_protocol_accepts(app_ctx, api):
    protocol = default_protocol()
    schemas = api.get("/api/openapi.json").get_json()["components"]["schemas"]
    for name in ("Settings", "Enrol"):
        days = schemas[name]["properties"]["reminder_weekdays"]
        assert days["minItems"] == days["maxItems"] == protocol.applications_per_week, name
        assert days["uniqueItems"] is True
        assert (
            f"applications per week: {protocol.applications_per_week} in the shipped protocol"
            in (days["description"])
        )
        assert "`fields.reminder_weekdays`" in days["description"]
