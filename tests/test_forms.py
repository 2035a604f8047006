"""The admin's forms: the cycle's Custom run form (read back from the Prefect API) and the
resume forms."""

from __future__ import annotations

from datetime import date

from services.params import form_fields, form_signature, from_form


def test_cycle_form_as_prefect_stores_it(prefect_server, db_url) -> None:
    """The deployment's schema, read back from the server: fields at the top, pick lists from
    the data, dates without a None switch, named step durations, no frozen start date."""
    from prefect.client.orchestration import get_client

    from deployments.serve import cycle_deployment

    deployment_id = cycle_deployment().apply()
    with get_client(sync_client=True) as client:
        schema = client.read_deployment(deployment_id).parameter_openapi_schema
    props = schema["properties"]
    shown = sorted(props, key=lambda name: props[name]["position"])  # the UI's order
    assert shown == list(form_fields())  # no "params" object to open
    assert "params" not in props
    assert set(schema["required"]) >= {"year", "instrument", "venue"}
    assert "regions" not in schema["required"]  # empty = every active region
    assert "64.72 Kota Samarinda" in props["regions"]["items"]["enum"]
    assert props["regions"]["type"] == "array" and props["assessor_pool"]["type"] == "array"
    assert any(
        a.endswith("<asesor1@contoh.example>") for a in props["assessor_pool"]["items"]["enum"]
    )
    assert "spbe-2020" in props["instrument"]["enum"]
    for name in ("start_date", "session_date"):
        assert props[name]["format"] == "date" and "anyOf" not in props[name]
        assert "default" not in props[name]  # worked out when the run starts
    assert props["lama_isi_kuesioner"] == {
        "type": "integer",
        "title": "Lama langkah: Isi Kuesioner (hari kerja)",
        "default": 7,
        "minimum": 1,
        "position": props["lama_isi_kuesioner"]["position"],
    }
    assert all("anyOf" not in p and "$ref" not in str(p) for p in props.values())


def test_form_values_become_the_cycle_parameters(db_url, sim_clock) -> None:
    sim_clock(date(2026, 3, 9))
    params = from_form(
        {
            "year": 2026,
            "regions": ["64.72 Kota Samarinda", "64.71"],
            "assessor_pool": ["Asesor Contoh Satu <asesor1@contoh.example>"],
            "start_date": None,
            "session_date": None,
            "lama_isi_kuesioner": 10,
            "lama_pemberitahuan": 1,  # as the SOP says: no override
        }
    )
    assert params.regions == ["64.72", "64.71"]
    assert params.assessor_pool == ["asesor1@contoh.example"]
    assert params.start_date == date(2026, 3, 9) and params.session_date is None
    assert params.step_overrides == {"3": 10}
    sim_clock(date(2026, 3, 16))  # a later run: a later start, nothing frozen at import
    assert from_form({}).start_date == date(2026, 3, 16)


def test_flow_parameters_are_the_form_fields() -> None:
    from flows.cycle import cycle_flow

    assert list(form_signature().parameters) == list(form_fields())
    assert list(cycle_flow.parameters.properties) == list(form_fields())
    bound = cycle_flow.validate_parameters({"year": 2027, "regions": ["64.72"]})
    assert bound["year"] == 2027 and bound["regions"] == ["64.72"]
    assert bound["start_date"] is None  # filled in by from_form when the run starts
