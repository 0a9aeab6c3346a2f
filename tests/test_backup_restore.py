"""Backup and restore on PostgreSQL: scripts/backup, then scripts/restore into a fresh
database, gives identical row counts and checksums of every clinical table."""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests import factories
from tests.conftest import skip_or_fail
from tests.demo_data import load_demo

PROJECT = Path(__file__).resolve().parents[1]


def _url(name):
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _checksums(database_url):
    output = subprocess.run(
        [str(PROJECT / ".venv/bin/python"), "manage.py", "clinical_checksums"],
        cwd=PROJECT, capture_output=True, text=True, check=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings.test",
             "DATABASE_URL": database_url},
    )  # fmt: skip
    return json.loads(output.stdout)


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_fresh_database_with_identical_clinical_tables(tmp_path):
    if connection.vendor != "postgresql":
        skip_or_fail("backup and restore need PostgreSQL")
    load_demo()
    patient = factories.PatientFactory(given_name="Zoë", family_name="O'Brien-Ñúñez")
    patient.address = "Flat 2\n“Quoted” Road, tab\there"
    patient.save()
    source = _url(connection.settings_dict["NAME"])
    restored = f"restore_{uuid.uuid4().hex[:10]}"
    dump = tmp_path / "kestrel.dump"
    subprocess.run(
        [str(PROJECT / "scripts/backup"), str(dump)], check=True, timeout=300,
        env={**os.environ, "DATABASE_URL": source}, capture_output=True,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(
            [str(PROJECT / "scripts/restore"), str(dump), _url(restored)],
            check=True, timeout=300, capture_output=True,
        )  # fmt: skip
        before, after = _checksums(source), _checksums(_url(restored))
        assert before == after
        assert before["patients_patient"]["rows"] == 41
        assert before["ledger_ledgerentry"]["rows"] > 0
        assert before["measures_moodjournalentry"]["rows"] > 0
        again = subprocess.run(
            [str(PROJECT / "scripts/restore"), str(dump), _url(restored)],
            timeout=300, capture_output=True, text=True,
        )  # fmt: skip
        assert again.returncode != 0 and "not empty" in again.stderr
        dump.write_bytes(dump.read_bytes()[:-10] + b"corrupted!")
        corrupt = subprocess.run(
            [str(PROJECT / "scripts/restore"), str(dump), _url(restored)],
            timeout=60, capture_output=True, text=True,
        )  # fmt: skip
        assert corrupt.returncode != 0 and "does not match its checksum" in corrupt.stderr
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
