"""Superset's configuration for the tests (SUPERSET_CONFIG_PATH): metadata in the SQLite file that
SUPERSET_METADATA_DB names. Read by Superset's own Python, in its virtualenv (.tools/superset)."""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.environ["SUPERSET_METADATA_DB"]
