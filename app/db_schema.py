"""All table modules imported in one place, so metadata is complete."""

from sqlmodel import SQLModel

import app.models  # noqa: F401
import marketplace.models  # noqa: F401
import ratings.models  # noqa: F401

metadata = SQLModel.metadata
