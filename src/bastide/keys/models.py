from __future__ import annotations

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from bastide.db import Base, UTCDateTime


class DataKey(Base):
    """A data key, stored only wrapped by the master key; `wrapped` is wiped on destroy."""

    __tablename__ = "data_key"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(200), nullable=False)
    backend: Mapped[str] = mapped_column(String(20), nullable=False)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    destroyed_at = mapped_column(UTCDateTime(), nullable=True)
