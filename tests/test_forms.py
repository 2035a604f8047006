"""The admin's forms: the cycle's Custom run form (read back from the Prefect API) and the
resume forms."""

from __future__ import annotations

from datetime import date

from services.params import form_fields, form_signature, from_form
from tests.test_console_tour import load_tour


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


def test_the_year_nobody_names_is_the_running_cycles_or_this_year(db_url, sim_clock) -> None:
    """No year is a constant: an empty year is this year (the clock's), the form offers it,
    and the CLI's doors take the running cycle's year (a cycle may run into the next year)."""
    from services.cycle import current_cycle_year
    from services.params import form_schema
    from tests.cycles import new_cycle

    sim_clock(date(2031, 2, 3))
    assert from_form({}).year == 2031
    choices = {"regions": [], "assessor_pool": [], "instrument": ["spbe-2020"]}
    assert form_schema(choices)["properties"]["year"]["default"] == 2031
    assert current_cycle_year() == 2031  # no cycle runs
    new_cycle(2030, date(2030, 11, 2))
    assert current_cycle_year() == 2030


def test_flow_parameters_are_the_form_fields() -> None:
    from flows.cycle import cycle_flow

    assert list(form_signature().parameters) == list(form_fields())
    assert list(cycle_flow.parameters.properties) == list(form_fields())
    bound = cycle_flow.validate_parameters({"year": 2027, "regions": ["64.72"]})
    assert bound["year"] == 2027 and bound["regions"] == ["64.72"]
    assert bound["start_date"] is None  # filled in by from_form when the run starts


# --- the resume forms -----------------------------------------------------------------------


def test_resume_forms_show_only_what_the_admin_decides() -> None:
    import json

    from flows.forms import FORMS, KehadiranForm, TutupSiklusForm

    for form in (*FORMS.values(), TutupSiklusForm):
        schema = form.model_json_schema()
        text = json.dumps(schema)
        assert "melalui" not in schema["properties"]  # the door is hidden
        assert "anyOf" not in text  # no "None" switch
        assert schema.get("additionalProperties") is not False  # a door's hidden key passes
        assert form.model_validate({"melalui": "email"}).melalui == "email"
    nilai = FORMS["nilai"].model_json_schema()["properties"]
    assert not any(p.get("type") == "array" for p in nilai.values())  # a file, not 141 fields
    assert (
        "tautan_berkas" in nilai
        and "tautan_berkas" in FORMS["jawaban"].model_json_schema()["properties"]
    )
    tanggal = KehadiranForm.model_json_schema()["properties"]["tanggal"]
    assert tanggal["format"] == "date" and "default" not in tanggal


def test_scores_by_link_and_the_acceptance_form_shows_the_result(
    db_url, sim_clock, tmp_path
) -> None:
    import pytest

    from assessment.instruments import load_instrument
    from models.db import session_scope
    from models.lookups import active_assessor_ids
    from models.tables import Assessor
    from services import invitation, waits
    from tests.cycles import new_cycle

    codes = [i.code for i in load_instrument("spbe-2020").indicators]
    cycle = new_cycle(2026, date(2026, 7, 1), regions=["64.72"])
    assigned = invitation.assign_for_cycle(cycle, ["64.72"])["64.72"]
    evidence = {c: {"level": 3, "evidence": f"https://contoh.example/{c}"} for c in codes}
    waits.accept("jawaban", cycle, "64.72", {"data": evidence}, "api", "PIC")
    with session_scope() as s:
        emails = [s.get(Assessor, i).email for i in sorted(assigned)]
    for email in emails:  # both agree, through the confirmations' door
        yes = {"pihak": email, "jawaban": "ya", "pernyataan_benturan_kepentingan": "tidak ada"}
        waits.accept("konfirmasi", cycle, "64.72", yes, "api", email)
    with session_scope() as s:
        assert active_assessor_ids(s, cycle, "64.72") == sorted(assigned)
    files = load_tour().FileServer(tmp_path)  # the link an admin pastes into a form
    try:
        for n in range(len(emails)):
            rows = [
                f"{c},{1 if (n == 0 and c == codes[0]) else 4 if c == codes[0] else 3},"
                for c in codes
            ]
            (tmp_path / f"nilai-{n}.csv").write_text("kode,tingkat,catatan\n" + "\n".join(rows))
        with pytest.raises(waits.InputRefused) as bad:
            waits.accept(
                "nilai",
                cycle,
                "64.72",
                {"asesor": emails[0], "tautan_berkas": "nilai.csv"},
                "ui",
                "admin",
            )
        assert "http://" in bad.value.errors[0]
        with pytest.raises(waits.InputRefused) as missing:
            form = {"asesor": emails[0], "tautan_berkas": f"{files.url}/tidak-ada.csv"}
            waits.accept("nilai", cycle, "64.72", form, "ui", "admin")
        assert "tidak dapat dibuka" in missing.value.errors[0]
        for n, email in enumerate(emails):
            form = {"asesor": email, "tautan_berkas": f"{files.url}/nilai-{n}.csv"}
            assert "diterima" in waits.accept("nilai", cycle, "64.72", form, "ui", "admin")
    finally:
        files.close()
    text = waits.form_text("penerimaan", cycle, "64.72", date(2026, 8, 3), [], [])
    assert "Nilai sementara: **" in text and "predikat **" in text
    assert "1 indikator perlu tingkat konsensus" in text
    assert f"Indikator {codes[0]}: tingkat asesor 1, 4" in text
    assert "lalu kirimkan" in text  # the button is "Submit" (V1 UI) or "Resume" (V2)


def test_an_extension_rewrites_the_open_forms_deadline(prefect_server, db_url, sim_clock) -> None:
    """After an extension the Resume dialog reads the new deadline (the stored description)."""
    import json

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.input.run_input import keyset_from_base_key
    from prefect.states import Suspended

    from models.db import session_scope
    from reminders.extensions import grant_extension
    from services import waits
    from tests.cycles import new_cycle

    @flow(name="formulir-uji")
    def waiting() -> None:
        pass

    cycle = new_cycle(2026, date(2026, 7, 1), regions=["64.72"])
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(waiting)
        state = Suspended(pause_key="jawaban-r1-0")
        keyset = keyset_from_base_key("paused-jawaban-r1-0")
        state.state_details.run_input_keyset = keyset
        client.set_flow_run_state(run.id, state, force=True)
        client.create_flow_run_input(run.id, keyset["description"], json.dumps("lama"))
    sim_clock(date(2026, 7, 1))
    waits.open_wait(
        kind="jawaban", cycle_id=cycle, region="64.72", flow_run_id=str(run.id), key="jawaban-r1-0"
    )
    with session_scope() as s:
        ext = grant_extension(
            s,
            cycle_id=cycle,
            region_code="64.72",
            step_no=4,
            new_due=date(2026, 7, 31),
            reason="uji",
            granted_by="admin",
        )
        assert ext.new_due == date(2026, 7, 31)
    with get_client(sync_client=True) as client:
        text = client.read_flow_run_input(run.id, keyset["description"])
    assert "Jumat, 31 Juli 2026" in text and "lama" not in text
