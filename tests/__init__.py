"""The test suite; its folders mirror the packages (ingest/, consulting_crm/) and dbt (dbt/)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout
DATA = ROOT / "tests" / "data"  # checked-in fixture files
