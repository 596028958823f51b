"""Deployed process versions (the parsed spec stored once), their files, and each deployment."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.models.base import Base


class ProcessVersion(Base):
    """One deployed bundle (BPMN + DMN + forms), identified by the hash of its content."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    spec_json: Mapped[str] = mapped_column(Text)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(80))
    #: How the version first came in: startup (the workflows/ folder), modeller, upload, api, cli.
    source: Mapped[str] = mapped_column(String(20), default="startup", server_default="startup")
    files: Mapped[list[ModelFile]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="ModelFile.path"
    )


class ModelDeployment(Base):
    """Each time a version was made current, by whom and through which path. Start-up compares the
    workflows/ folder with its own last deployment here, so a restart never undoes a deliberate deploy."""

    __tablename__ = "model_deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120))
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    source: Mapped[str] = mapped_column(String(20))
    deployed_by: Mapped[str] = mapped_column(String(80))
    deployed_at: Mapped[datetime]

    __table_args__ = (Index("ix_model_deployments_process_source", "process_id", "source", "id"),)


class ModelFile(Base):
    """A file of a deployed version, kept verbatim so any version can be exported back to files."""

    __tablename__ = "model_files"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    path: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    version: Mapped[ProcessVersion] = relationship(back_populates="files")
