"""Staff: users, their departments, their deputies (责任代理人) and personal API tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40), index=True)
    department: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Part of every session's identity: raising it ends all of the user's sessions (sign-out, new password).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime]


class Department(Base):
    """A department complaints are routed to: its code is what the process model's routing and the users'
    department name; the administrator adds, renames and deactivates them (docs/ARCHITECTURE.md, "Departments")."""

    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Deputy(Base):
    """A deputy appointment (责任代理人): while it runs (`starts_at` ≤ now < `ends_at`, not ended early) the
    deputy sees and works the department's tasks on behalf of the department head who appointed them."""

    __tablename__ = "deputies"
    __table_args__ = (Index("ix_deputies_deputy_period", "deputy_id", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deputy_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    #: Set when the appointment was ended before `ends_at`.
    ended_at: Mapped[datetime | None]


class ApiToken(Base):
    """A personal API token: only the SHA-256 of the secret is kept; it is shown once, when created."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The token's first characters, so people can tell their tokens apart in lists.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: After this the token is refused (NULL: never; tokens made before expiry dates existed).
    expires_at: Mapped[datetime | None]
    #: A read-only token may only read (GET): anything that changes something is refused.
    read_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
