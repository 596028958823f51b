"""Process owners' drafts of models, not yet deployed, and their files."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.models.base import Base


class ModelDraft(Base):
    """A process owner's work on a process model, not yet deployed: one per user and process."""

    __tablename__ = "model_drafts"
    __table_args__ = (UniqueConstraint("user_id", "process_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(120))
    #: The deployed version the draft started from (None for a new process).
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_versions.id"))
    #: Where its content came from, recorded as the version's source when deployed: modeller or upload.
    origin: Mapped[str] = mapped_column(String(20), default="modeller", server_default="modeller")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    files: Mapped[list[ModelDraftFile]] = relationship(
        back_populates="draft", cascade="all, delete-orphan", order_by="ModelDraftFile.path"
    )


class ModelDraftFile(Base):
    """One file of a model draft (BPMN, DMN, form or test cases), as last saved."""

    __tablename__ = "model_draft_files"
    __table_args__ = (UniqueConstraint("draft_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("model_drafts.id"))
    path: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    draft: Mapped[ModelDraft] = relationship(back_populates="files")
